package image

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	unionfs "berth/04-unionfs"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"berth/steps/testkit"
)

// Privileged tests: unpacking ownership and mounting need root.

func TestImportThenUnpackGivesTheFiles(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	s := tbStore(t)
	img, err := Import(bytes.NewReader(tbGzip(t, tbRootfs(t))), s, ImportOptions{Ref: "imported:1"})
	require.NoError(t, err)
	dirs, err := s.Unpack(img, nil)
	require.NoError(t, err)
	require.Len(t, dirs, 1)
	assert.Equal(t, s.LayerPath(img.DiffIDs()[0]), dirs[0], "a one-layer image's chain ID is its diff ID")
	b, err := os.ReadFile(filepath.Join(dirs[0], "bin/hello"))
	require.NoError(t, err)
	assert.Equal(t, "#!/bin/sh\necho hello\n", string(b))
	link, err := os.Readlink(filepath.Join(dirs[0], "etc/alias"))
	require.NoError(t, err)
	assert.Equal(t, "os-release", link)
}

// tbContainer imports a rootfs, unpacks it and prepares a container on
// it, then runs it in the only sense that matters here: its root is
// mounted, changed (a file written, one deleted, a directory replaced) and,
// unless keepRunning, unmounted again.
func tbContainer(t *testing.T, snap unionfs.Snapshotter, keepRunning bool) (s *Store, layers []string, cdir, rootfs string) {
	t.Helper()
	s, err := Open(t.TempDir(), WithSnapshotter(snap))
	require.NoError(t, err)
	img, err := Import(bytes.NewReader(tbTar(t,
		tbDir("bin/"), tbFile("bin/hello", "hello"),
		tbDir("etc/"), tbFile("etc/gone", "deleted by the container"), tbFile("etc/kept", "kept"),
		tbDir("var/"), tbDir("var/cache/"), tbFile("var/cache/old", "hidden by an opaque directory"),
	)), s, ImportOptions{Ref: "base:1"})
	require.NoError(t, err)
	layers, err = s.Unpack(img, nil)
	require.NoError(t, err)

	base := t.TempDir()
	cdir, rootfs = filepath.Join(base, "c"), filepath.Join(base, "rootfs")
	require.NoError(t, os.Mkdir(rootfs, 0o755))
	require.NoError(t, snap.Prepare(layers, cdir))
	mounts, err := snap.Mounts(layers, cdir, rootfs)
	require.NoError(t, err)
	require.NoError(t, unionfs.MountAll(mounts))
	mounted := true
	unmount := func() {
		if mounted {
			assert.NoError(t, unionfs.Unmount(rootfs))
			mounted = false
		}
	}
	t.Cleanup(unmount)
	require.NoError(t, os.WriteFile(filepath.Join(rootfs, "etc/new"), []byte("written by the container"), 0o644))
	require.NoError(t, os.Remove(filepath.Join(rootfs, "etc/gone")))
	require.NoError(t, os.RemoveAll(filepath.Join(rootfs, "var/cache")))
	require.NoError(t, os.Mkdir(filepath.Join(rootfs, "var/cache"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(rootfs, "var/cache/fresh"), []byte("f"), 0o644))
	if !keepRunning {
		unmount()
	}
	return s, layers, cdir, rootfs
}

// tbExported checks an export holds the container's view: its changes in,
// its deletions out, and no whiteout anywhere.
func tbExported(t *testing.T, tarball []byte) {
	t.Helper()
	names, bodies, _ := tbEntries(t, tarball)
	assert.Equal(t, "written by the container", string(bodies["etc/new"]))
	assert.Equal(t, "kept", string(bodies["etc/kept"]))
	assert.Equal(t, "hello", string(bodies["bin/hello"]))
	assert.Equal(t, "f", string(bodies["var/cache/fresh"]))
	assert.NotContains(t, names, "etc/gone")
	assert.NotContains(t, names, "var/cache/old")
	for _, n := range names {
		assert.NotContains(t, n, unionfs.WhiteoutPrefix, "an export is flat: deleted files are absent, not whited out")
	}
}

func mountinfo(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	return string(b)
}

func TestExportStoppedContainer(t *testing.T) {
	for _, snap := range []unionfs.Snapshotter{unionfs.Overlay(), unionfs.Copy()} {
		t.Run(snap.Name(), func(t *testing.T) {
			testkit.RequireRoot(t)
			testkit.CheckResidue(t)
			s, layers, cdir, _ := tbContainer(t, snap, false)
			before := mountinfo(t)
			var buf bytes.Buffer
			require.NoError(t, Export(&buf, s, layers, cdir))
			tbExported(t, buf.Bytes())
			assert.Equal(t, before, mountinfo(t), "the view was mounted in a namespace of its own, gone with it")
			left, err := filepath.Glob(filepath.Join(os.TempDir(), "berth-export-*"))
			require.NoError(t, err)
			assert.Empty(t, left, "the mountpoint is removed")

			// What export writes, import takes back.
			img, err := Import(&buf, s, ImportOptions{Ref: "exported:1"})
			require.NoError(t, err)
			dirs, err := s.Unpack(img, nil)
			require.NoError(t, err)
			b, err := os.ReadFile(filepath.Join(dirs[0], "etc/new"))
			require.NoError(t, err)
			assert.Equal(t, "written by the container", string(b))
		})
	}
}

// A running container's overlay is mounted with its upper and work
// directories; the export's view uses the upper as a lower layer, needs
// no workdir, and leaves the running mount alone.
func TestExportRunningContainer(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	s, layers, cdir, rootfs := tbContainer(t, unionfs.Overlay(), true)
	before := mountinfo(t)
	var buf bytes.Buffer
	require.NoError(t, Export(&buf, s, layers, cdir))
	tbExported(t, buf.Bytes())
	assert.Equal(t, before, mountinfo(t))
	assert.Equal(t, 1, strings.Count(mountinfo(t), rootfs), "the container's own mount is still there, once")

	// The container goes on writing, and a second export sees it.
	require.NoError(t, os.WriteFile(filepath.Join(rootfs, "etc/later"), []byte("later"), 0o644))
	buf.Reset()
	require.NoError(t, Export(&buf, s, layers, cdir))
	_, bodies, _ := tbEntries(t, buf.Bytes())
	assert.Equal(t, "later", string(bodies["etc/later"]))
}

func TestExportRefusesAContainerThatIsNotThere(t *testing.T) {
	s := tbStore(t)
	err := Export(&bytes.Buffer{}, s, []string{t.TempDir()}, filepath.Join(t.TempDir(), "nope"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is the container created?")
}
