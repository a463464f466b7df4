package main

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"berth/steps/testkit"
)

// rootfs runs `steps ARGS...` in-process, its stdout to out.
func rootfs(out io.Writer, args ...string) error {
	return runSteps(context.Background(), strings.NewReader(""), out, args...)
}

// needBusybox skips without a static busybox (fails under make test).
func needBusybox(t *testing.T) string {
	t.Helper()
	p, err := testkit.FindBusybox()
	if err != nil {
		if os.Getenv(testkit.FixturesEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return p
}

func TestRootfsWritesTheCourseRootfsAsATarball(t *testing.T) {
	busybox := needBusybox(t)
	var first bytes.Buffer
	require.NoError(t, rootfs(&first, "rootfs"))

	entries := map[string]*tar.Header{}
	var order []string
	tr := tar.NewReader(bytes.NewReader(first.Bytes()))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		entries[h.Name], order = h, append(order, h.Name)
		assert.Equal(t, 0, h.Uid, "%s belongs to root whoever ran steps", h.Name)
		assert.Equal(t, 0, h.Gid, h.Name)
		assert.Equal(t, rootfsTime.Unix(), h.ModTime.Unix(), h.Name)
	}
	for i := 1; i < len(order); i++ {
		assert.Less(t, order[i-1], order[i], "entries come in name order")
	}
	bb := entries["bin/busybox"]
	require.NotNil(t, bb, "the static busybox")
	want, err := os.ReadFile(busybox)
	require.NoError(t, err)
	assert.Equal(t, int64(len(want)), bb.Size)
	assert.Equal(t, int64(0o755), bb.Mode&0o7777)
	if sh := entries["bin/sh"]; assert.NotNil(t, sh) {
		assert.Equal(t, byte(tar.TypeSymlink), sh.Typeflag)
		assert.Equal(t, "/bin/busybox", sh.Linkname)
	}
	if tmp := entries["tmp/"]; assert.NotNil(t, tmp) {
		assert.Equal(t, byte(tar.TypeDir), tmp.Typeflag)
		assert.Equal(t, int64(0o1777), tmp.Mode&0o7777, "/tmp keeps its sticky bit")
	}
	for _, name := range []string{"etc/passwd", "etc/group", "etc/os-release", "proc/", "sys/", "dev/"} {
		assert.Contains(t, entries, name)
	}

	// The same busybox, the same bytes: the same layer digest every time.
	var second bytes.Buffer
	require.NoError(t, rootfs(&second, "rootfs"))
	assert.Equal(t, first.Bytes(), second.Bytes())

	// -o writes the file, the same bytes.
	out := filepath.Join(t.TempDir(), "rootfs.tar")
	require.NoError(t, rootfs(io.Discard, "rootfs", "-o", out))
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, first.Bytes(), got)
	left, err := filepath.Glob(filepath.Join(filepath.Dir(out), ".rootfs.tar.tmp-*"))
	require.NoError(t, err)
	assert.Empty(t, left, "no temporary file is left")
}

func TestRootfsRefusesATerminal(t *testing.T) {
	needBusybox(t)
	ptmx, tty, err := pty.Open()
	require.NoError(t, err)
	defer ptmx.Close()
	defer tty.Close()
	err = rootfs(tty, "rootfs")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refusing to write a tarball to a terminal")
}
