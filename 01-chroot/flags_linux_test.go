package chroot

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"
)

// The plan spells the flags out so it can be printed anywhere; here they are
// checked against the kernel's headers as x/sys/unix has them.
func TestFlagValuesMatchTheKernel(t *testing.T) {
	assert.EqualValues(t, unix.MS_RDONLY, msRdonly)
	assert.EqualValues(t, unix.MS_REMOUNT, msRemount)
	assert.EqualValues(t, unix.MS_NOSUID, msNosuid)
	assert.EqualValues(t, unix.MS_NODEV, msNodev)
	assert.EqualValues(t, unix.MS_NOEXEC, msNoexec)
	assert.EqualValues(t, unix.MS_BIND, msBind)
	assert.EqualValues(t, unix.MS_REC, msRec)
	assert.EqualValues(t, unix.MS_PRIVATE, msPrivate)
	assert.EqualValues(t, unix.MS_STRICTATIME, msStrictatime)
	assert.EqualValues(t, unix.MNT_DETACH, mntDetach)
}
