package cgroup

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadAndWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "memory.max")
	require.NoError(t, writeFile(p, "268435456"))
	b, err := readFile(p)
	require.NoError(t, err)
	assert.Equal(t, "268435456", string(b))
	require.NoError(t, writeFile(p, "max"), "a second write replaces the first")
	b, _ = readFile(p)
	assert.Equal(t, "max", string(b))

	long := strings.Repeat("12345\n", 1000) // a big cgroup.procs: more than one read
	require.NoError(t, os.WriteFile(p, []byte(long), 0o644))
	b, err = readFile(p)
	require.NoError(t, err)
	assert.Equal(t, long, string(b))

	_, err = readFile(filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, "missing")
	err = writeFile(filepath.Join(dir, "no", "such"), "1")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, `writing "1" to `+filepath.Join(dir, "no", "such"))
}

// BenchmarkReadFile reads the root cgroup's cgroup.procs as os.ReadFile
// does and as readFile does: the difference is the runtime poller's two
// epoll_ctl calls, which cgroupfs files let it make.
func BenchmarkReadFile(b *testing.B) {
	l, err := DetectLayout()
	if err != nil {
		b.Skip(err)
	}
	dir := l.V2
	if l.Mode != "v2" {
		dir = l.V1["pids"]
	}
	p := filepath.Join(dir, "cgroup.procs")
	if _, err := os.Stat(p); err != nil {
		b.Skip(err)
	}
	b.Run("os.ReadFile", func(b *testing.B) {
		for b.Loop() {
			os.ReadFile(p)
		}
	})
	b.Run("readFile", func(b *testing.B) {
		for b.Loop() {
			readFile(p)
		}
	})
}
