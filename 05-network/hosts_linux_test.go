package network

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A peer's hosts file is rewritten where it is; one whose directory is
// gone belongs to a container that is gone, and is skipped.
func TestWriteInPlace(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "hosts")
	require.NoError(t, os.WriteFile(p, []byte("old\n"), 0o644))
	var before, after os.FileInfo
	before, _ = os.Stat(p)
	require.NoError(t, writeInPlace(p, []byte("new\n")))
	b, _ := os.ReadFile(p)
	assert.Equal(t, "new\n", string(b))
	after, _ = os.Stat(p)
	assert.True(t, os.SameFile(before, after), "the same file, as a bind mount needs")

	assert.NoError(t, writeInPlace(filepath.Join(dir, "gone", "hosts"), []byte("x\n")))
	assert.NoDirExists(t, filepath.Join(dir, "gone"))
	assert.Error(t, writeInPlace(filepath.Join(p, "hosts"), []byte("x\n")), "other errors still count")
}
