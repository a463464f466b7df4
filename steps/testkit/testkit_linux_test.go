package testkit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestCheckResidueCatchesALeftoverMount(t *testing.T) {
	RequireRoot(t)
	// The recorded check lets go of the host lock when rec.finish runs its
	// cleanups, before this test's unmount. Held around the whole test, the
	// lock keeps the unmount inside it too: a test of another package
	// checking its own residue must not see this mount come or go.
	unlock, err := lockHost()
	require.NoError(t, err)
	t.Cleanup(unlock)
	rec := &recorder{TB: t}
	CheckResidue(rec)
	dir := t.TempDir()
	require.NoError(t, unix.Mount("tmpfs", dir, "tmpfs", 0, ""))
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })

	rec.finish()
	require.Len(t, rec.errs, 1)
	assert.Contains(t, rec.errs[0], "left mount: "+dir+" tmpfs tmpfs")
}

func TestHostLockExcludesOthersAndNests(t *testing.T) {
	// A private lock file: the real one is shared with every test binary of
	// the run, and one of them could take it the moment this test lets go.
	path := filepath.Join(t.TempDir(), "host.lock")
	real := hostLockPath
	hostLockPath = func() (string, error) { return path, nil }
	t.Cleanup(func() { hostLockPath = real })

	unlock1, err := lockHost()
	require.NoError(t, err)
	unlock2, err := lockHost() // a subtest inside a checked test
	require.NoError(t, err)

	other, err := os.Open(path)
	require.NoError(t, err)
	defer other.Close()
	// Another open file description stands for another test binary.
	assert.ErrorIs(t, unix.Flock(int(other.Fd()), unix.LOCK_EX|unix.LOCK_NB), unix.EWOULDBLOCK)
	unlock2()
	assert.ErrorIs(t, unix.Flock(int(other.Fd()), unix.LOCK_EX|unix.LOCK_NB), unix.EWOULDBLOCK, "still held by the outer test")
	unlock1()
	require.NoError(t, unix.Flock(int(other.Fd()), unix.LOCK_EX|unix.LOCK_NB), "released after the outer test")
	require.NoError(t, unix.Flock(int(other.Fd()), unix.LOCK_UN))
}
