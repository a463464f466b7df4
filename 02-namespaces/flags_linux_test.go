package namespaces

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"
)

// The plan spells the flags out so it can be built anywhere; here they are
// checked against the kernel's values as x/sys/unix has them.
func TestFlagValuesMatchTheKernel(t *testing.T) {
	want := map[Namespace]int{
		UTS: unix.CLONE_NEWUTS, PID: unix.CLONE_NEWPID, Mount: unix.CLONE_NEWNS, IPC: unix.CLONE_NEWIPC,
		Network: unix.CLONE_NEWNET, User: unix.CLONE_NEWUSER, Cgroup: unix.CLONE_NEWCGROUP,
	}
	for n, flag := range want {
		assert.EqualValues(t, flag, nsInfo[n].flag, n)
	}
	assert.Len(t, nsInfo, len(want))
	assert.EqualValues(t, unix.MS_RDONLY, msRdonly)
	assert.EqualValues(t, unix.MS_NOSUID, msNosuid)
	assert.EqualValues(t, unix.MS_NODEV, msNodev)
	assert.EqualValues(t, unix.MS_NOEXEC, msNoexec)
	assert.EqualValues(t, unix.MS_REMOUNT, msRemount)
	assert.EqualValues(t, unix.MS_BIND, msBind)
	assert.EqualValues(t, unix.MS_REC, msRec)
	assert.EqualValues(t, unix.MS_PRIVATE, msPrivate)
	assert.EqualValues(t, unix.MS_STRICTATIME, msStrictatime)
	assert.EqualValues(t, unix.MNT_DETACH, mntDetach)
}
