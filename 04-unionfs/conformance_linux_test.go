package unionfs_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	unionfs "berth/04-unionfs"
	"berth/steps/testkit"
)

var snapshotters = []unionfs.Snapshotter{unionfs.Overlay(), unionfs.Copy()}

// forEach runs a conformance test against every snapshotter.
func forEach(t *testing.T, test func(t *testing.T, s unionfs.Snapshotter)) {
	for _, s := range snapshotters {
		t.Run(s.Name(), func(t *testing.T) {
			testkit.RequireRoot(t)
			testkit.CheckResidue(t)
			test(t, s)
		})
	}
}

// stack unpacks the tarballs as layers, each on top of the previous.
func stack(t *testing.T, s unionfs.Snapshotter, tarballs ...[]byte) []string {
	t.Helper()
	base := t.TempDir()
	var layers []string
	for i, tb := range tarballs {
		dir := filepath.Join(base, fmt.Sprintf("layer%d", i))
		require.NoError(t, s.Unpack(bytes.NewReader(tb), dir, layers), "layer %d", i)
		layers = append(layers, dir)
	}
	return layers
}

// container prepares and mounts a container on layers; it returns its
// directory and its root filesystem, unmounted when the test ends.
func container(t *testing.T, s unionfs.Snapshotter, layers []string) (cdir, rootfs string) {
	t.Helper()
	base := t.TempDir()
	cdir, rootfs = filepath.Join(base, "c"), filepath.Join(base, "rootfs")
	require.NoError(t, os.Mkdir(rootfs, 0o755))
	require.NoError(t, s.Prepare(layers, cdir))
	mounts, err := s.Mounts(layers, cdir, rootfs)
	require.NoError(t, err)
	require.NoError(t, unionfs.MountAll(mounts))
	t.Cleanup(func() { assert.NoError(t, unionfs.Unmount(rootfs)) })
	return cdir, rootfs
}

// The image of the conformance suite: a base, a layer that modifies and
// deletes, and one that recreates a deleted directory.
func imageLayers(t *testing.T) [][]byte {
	base := layer(t,
		dir("etc/"), file("etc/passwd", "root:x:0:0\n", 0o644),
		entry{name: "etc/shadow", body: "secret", typ: '0', mode: 0o640, uid: 0, gid: 42},
		dir("app/"), file("app/bin", "v1", 0o755), file("app/suid", "s", 0o4755),
		dir("app/data/"), file("app/data/a", "a", 0o644), file("app/data/b", "b", 0o644),
		dir("lib/"), file("lib/x.so", "elf", 0o644), symlink("lib/current", "x.so"), hardlink("lib/x-hard.so", "lib/x.so"),
		dir("old/"), file("old/f", "old", 0o644),
		dir("opq/"), file("opq/hidden", "h", 0o644),
		entry{name: "tagged", body: "t", typ: '0', mode: 0o600, uid: 1000, gid: 1000, xattrs: map[string]string{"user.comment": "hello"}},
	)
	modify := layer(t,
		dir("app/"), file("app/bin", "v2", 0o755),
		whiteout("etc/.wh.shadow"),
		whiteout(".wh.old"),
		dir("opq/"), whiteout("opq/.wh..wh..opq"), file("opq/fresh", "f", 0o644),
	)
	recreate := layer(t, dir("old/"), file("old/new", "n", 0o644))
	return [][]byte{base, modify, recreate}
}

func TestLayersStackAsOne(t *testing.T) {
	forEach(t, func(t *testing.T, s unionfs.Snapshotter) {
		_, rootfs := container(t, s, stack(t, s, imageLayers(t)...))
		v := view(t, rootfs)

		assert.Contains(t, v, "etc/passwd")
		assert.NotContains(t, v, "etc/shadow", "a whiteout deletes a lower file")
		assert.Contains(t, v["app/bin"], fmt.Sprintf("%x", sha256sum("v2")), "an upper layer's version wins")
		assert.Contains(t, v, "old/new", "a deleted directory recreated")
		assert.NotContains(t, v, "old/f", "without what the deleted one held")
		assert.Contains(t, v, "opq/fresh")
		assert.NotContains(t, v, "opq/hidden", "an opaque directory hides the lower contents")
		assert.Equal(t, "120777 0:0 -> x.so", v["lib/current"], "symlinks")
		assert.Contains(t, v["lib/x-hard.so"]+v["lib/x.so"], "linked-to", "hard links share one inode")
		assert.True(t, strings.HasPrefix(v["app/suid"], "104755 "), "setuid survives: %s", v["app/suid"])
		assert.True(t, strings.HasPrefix(v["etc/shadow"]+v["tagged"], "100600 1000:1000"), "owner: %s", v["tagged"])
		assert.Contains(t, v["tagged"], "user.comment=hello", "extended attributes")
	})
}

func TestCopyOnWriteLeavesLayersAlone(t *testing.T) {
	forEach(t, func(t *testing.T, s unionfs.Snapshotter) {
		layers := stack(t, s, imageLayers(t)...)
		before := map[string]map[string]string{}
		for _, l := range layers {
			before[l] = view(t, l)
		}
		cdir, rootfs := container(t, s, layers)
		require.NoError(t, os.WriteFile(filepath.Join(rootfs, "etc/passwd"), []byte("changed\n"), 0o644))
		require.NoError(t, os.Remove(filepath.Join(rootfs, "app/data/a")))
		for _, l := range layers {
			assert.Equal(t, before[l], view(t, l), "layer %s must not change", l)
		}
		if s.Name() == "overlay" {
			b, err := os.ReadFile(filepath.Join(unionfs.Upper(cdir), "etc/passwd"))
			require.NoError(t, err)
			assert.Equal(t, "changed\n", string(b), "the changed file was copied up")
		}
	})
}

func TestDiffReproducesTheContainer(t *testing.T) {
	forEach(t, func(t *testing.T, s unionfs.Snapshotter) {
		layers := stack(t, s, imageLayers(t)...)
		cdir, rootfs := container(t, s, layers)
		require.NoError(t, os.WriteFile(filepath.Join(rootfs, "new-file"), []byte("new"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(rootfs, "etc/passwd"), []byte("changed\n"), 0o644))
		require.NoError(t, os.Remove(filepath.Join(rootfs, "app/data/a")))
		require.NoError(t, os.RemoveAll(filepath.Join(rootfs, "lib")))
		require.NoError(t, os.Mkdir(filepath.Join(rootfs, "opq2"), 0o750))
		want := view(t, rootfs)

		var diff bytes.Buffer
		require.NoError(t, s.Diff(&diff, layers, cdir))
		entries := tarEntries(t, bytes.NewReader(diff.Bytes()))
		for _, name := range []string{"new-file", "etc/passwd", "app/data/.wh.a", ".wh.lib", "opq2"} {
			assert.Contains(t, entries, name)
		}
		assert.NotContains(t, entries, "app/bin", "only what changed")
		assert.NotContains(t, entries, "lib/x.so", "a deleted directory is one whiteout")

		// The diff, as a layer on top of the image, is the container.
		next := filepath.Join(t.TempDir(), "commit")
		require.NoError(t, s.Unpack(bytes.NewReader(diff.Bytes()), next, layers))
		_, again := container(t, s, append(layers, next))
		assert.Equal(t, want, view(t, again))
	})
}

func TestLayerRoundTrip(t *testing.T) {
	forEach(t, func(t *testing.T, s unionfs.Snapshotter) {
		base := imageLayers(t)[0]
		dir := filepath.Join(t.TempDir(), "layer")
		require.NoError(t, s.Unpack(bytes.NewReader(base), dir, nil))
		// A layer directory read back as a container on nothing: the same layer.
		var back bytes.Buffer
		empty := t.TempDir()
		cdir := t.TempDir()
		if s.Name() == "overlay" {
			require.NoError(t, os.Rename(dir, unionfs.Upper(cdir)))
		} else {
			require.NoError(t, os.Rename(dir, unionfs.FS(cdir)))
		}
		require.NoError(t, s.Diff(&back, []string{empty}, cdir))
		assert.Equal(t, tarEntries(t, bytes.NewReader(base)), tarEntries(t, &back))
	})
}

func TestAWhiteoutHidesOnlyLowerLayers(t *testing.T) {
	forEach(t, func(t *testing.T, s unionfs.Snapshotter) {
		base := layer(t, file("old", "lower", 0o644), file("kept-first", "lower", 0o644), file("kept-after", "lower", 0o644))
		// The OCI layer format: a whiteout applies to the layers below, never
		// to an entry of its own archive, whichever comes first.
		top := layer(t,
			whiteout(".wh.old"),
			file("kept-first", "mine", 0o644), whiteout(".wh.kept-first"),
			whiteout(".wh.kept-after"), file("kept-after", "mine", 0o644),
			entry{name: "dir/", typ: '5', mode: 0o755, xattrs: map[string]string{unionfs.OpaqueXattr: "y"}},
			file("dir/f", "f", 0o644),
		)
		layers := stack(t, s, base, top)
		_, rootfs := container(t, s, layers)
		v := view(t, rootfs)
		assert.NotContains(t, v, "old", "a lower file is hidden")
		for _, name := range []string{"kept-first", "kept-after"} {
			b, err := os.ReadFile(filepath.Join(rootfs, name))
			require.NoError(t, err, name)
			assert.Equal(t, "mine", string(b), name)
		}
		// (Looked for in the layer: overlayfs hides its own attributes from
		// the merged view.)
		assert.Empty(t, xattr(filepath.Join(layers[1], "dir"), unionfs.OpaqueXattr), "overlayfs's own attributes are never taken from an archive")
	})
}

func TestTarExportsTheMergedView(t *testing.T) {
	forEach(t, func(t *testing.T, s unionfs.Snapshotter) {
		_, rootfs := container(t, s, stack(t, s, imageLayers(t)...))
		want := view(t, rootfs)
		// docker export: the container as one flat layer, no whiteouts left.
		var flat bytes.Buffer
		require.NoError(t, unionfs.Tar(&flat, rootfs))
		for name := range tarEntries(t, bytes.NewReader(flat.Bytes())) {
			assert.False(t, strings.HasPrefix(filepath.Base(name), unionfs.WhiteoutPrefix), "a flat export holds no whiteouts: %s", name)
		}
		dir := filepath.Join(t.TempDir(), "flat")
		require.NoError(t, s.Unpack(bytes.NewReader(flat.Bytes()), dir, nil))
		assert.Equal(t, want, view(t, dir))
	})
}

func TestOverlayWhiteoutRoundTrip(t *testing.T) {
	testkit.RequireRoot(t)
	modify := imageLayers(t)[1]
	cdir := t.TempDir()
	require.NoError(t, unionfs.Overlay().Unpack(bytes.NewReader(modify), unionfs.Upper(cdir), nil))
	var back bytes.Buffer
	require.NoError(t, unionfs.Overlay().Diff(&back, []string{t.TempDir()}, cdir))
	got, want := tarEntries(t, &back), tarEntries(t, bytes.NewReader(modify))
	for name, desc := range want {
		if strings.HasPrefix(filepath.Base(name), unionfs.WhiteoutPrefix) {
			// A marker's only meaning is its name.
			assert.Contains(t, got, name, "whiteouts and opaque markers survive: 0/0 devices and the opaque xattr turn back into .wh. entries")
			continue
		}
		assert.Equal(t, desc, got[name], name)
	}
	for name, desc := range got {
		if _, ok := want[name]; !ok {
			assert.True(t, strings.HasPrefix(desc, "5 "), "only the directories that hold whiteouts may be added: %s", name)
		}
	}
}

func TestManyLayers(t *testing.T) {
	forEach(t, func(t *testing.T, s unionfs.Snapshotter) {
		var tarballs [][]byte
		for i := 0; i < 128; i++ {
			tarballs = append(tarballs, layer(t, file(fmt.Sprintf("layer-%03d", i), fmt.Sprint(i), 0o644), file("top", fmt.Sprint(i), 0o644)))
		}
		layers := stack(t, s, tarballs...)
		mounts, err := s.Mounts(layers, "/c", "/r")
		require.NoError(t, err)
		if s.Name() == "overlay" {
			assert.Greater(t, len(strings.Join(mounts[0].Options, ",")), os.Getpagesize(), "more options than one page: mount(2) alone could not")
		}
		_, rootfs := container(t, s, layers)
		v := view(t, rootfs)
		assert.Len(t, v, 129)
		b, err := os.ReadFile(filepath.Join(rootfs, "top"))
		require.NoError(t, err)
		assert.Equal(t, "127", string(b), "the topmost layer wins")
	})
}

func sha256sum(s string) [32]byte {
	var out [32]byte
	copy(out[:], sha256New(s))
	return out
}

// TestVolatileOverlay: a volatile overlay works as any other, says so in
// mountinfo, and leaves its mark, which makes overlayfs refuse the same
// directories until the mark is gone.
func TestVolatileOverlay(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	s := unionfs.Overlay()
	layers := stack(t, s, imageLayers(t)...)
	base := t.TempDir()
	cdir, rootfs := filepath.Join(base, "c"), filepath.Join(base, "rootfs")
	require.NoError(t, os.Mkdir(rootfs, 0o755))
	require.NoError(t, s.Prepare(layers, cdir))
	mounts, err := s.Mounts(layers, cdir, rootfs)
	require.NoError(t, err)
	mount := func() error {
		err := unionfs.MountAll(unionfs.Volatile(mounts))
		if err == nil {
			t.Cleanup(func() { unionfs.Unmount(rootfs) })
		}
		return err
	}

	require.NoError(t, mount())
	assert.Contains(t, superOptions(t, rootfs), "volatile")
	assert.DirExists(t, unionfs.VolatileMarker(cdir))
	f, err := os.Create(filepath.Join(rootfs, "written"))
	require.NoError(t, err)
	_, err = f.WriteString("kept while the host runs")
	require.NoError(t, err)
	require.NoError(t, f.Sync(), "fsync succeeds, doing nothing")
	require.NoError(t, f.Close())
	require.NoError(t, unionfs.Unmount(rootfs))
	b, err := os.ReadFile(filepath.Join(unionfs.Upper(cdir), "written"))
	require.NoError(t, err)
	assert.Equal(t, "kept while the host runs", string(b))

	assert.Error(t, mount(), "the mark makes overlayfs refuse the directories")
	require.NoError(t, os.RemoveAll(unionfs.VolatileMarker(cdir)))
	require.NoError(t, mount(), "without the mark they mount again")
	b, err = os.ReadFile(filepath.Join(rootfs, "written"))
	require.NoError(t, err)
	assert.Equal(t, "kept while the host runs", string(b))
}

// superOptions is the superblock options mountinfo lists for target.
func superOptions(t *testing.T, target string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if f := strings.Fields(pre); ok && len(f) > 4 && f[4] == target {
			if g := strings.Fields(post); len(g) > 2 {
				return g[2]
			}
		}
	}
	t.Fatalf("%s is not a mount point", target)
	return ""
}
