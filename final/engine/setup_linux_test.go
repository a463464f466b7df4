package engine

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	unionfs "berth/04-unionfs"
)

// The mark of a volatile mount goes if it was made since the host booted,
// and stops the start if it is older: the layer may then be torn.
func TestClearVolatileMarker(t *testing.T) {
	cdir := t.TempDir()
	assert.NoError(t, clearVolatileMarker(cdir), "no mark, nothing to do")

	marker := unionfs.VolatileMarker(cdir)
	require.NoError(t, os.MkdirAll(filepath.Join(marker, "dirty"), 0o755))
	require.NoError(t, clearVolatileMarker(cdir))
	assert.NoDirExists(t, marker, "made in this boot: removed")

	require.NoError(t, os.MkdirAll(filepath.Join(marker, "dirty"), 0o755))
	var si unix.Sysinfo_t
	require.NoError(t, unix.Sysinfo(&si))
	before := time.Now().Add(-time.Duration(si.Uptime)*time.Second - time.Hour)
	require.NoError(t, os.Chtimes(marker, before, before))
	err := clearVolatileMarker(cdir)
	assert.ErrorIs(t, err, ErrConflict)
	assert.ErrorContains(t, err, "berth rm")
	assert.DirExists(t, marker, "made before the host restarted: kept")
}
