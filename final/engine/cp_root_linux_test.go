package engine

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"berth/steps/testkit"
)

const secret = "HOST SECRET\n"

// hostileTree makes dir/root, a "container" whose links all lead out of
// it, and beside it dir/outside, the "host", holding a canary file. Every
// place a link would reach outside has a decoy inside, so a resolution
// that stays inside finds something.
func hostileTree(t *testing.T) (rootDir, outside string) {
	t.Helper()
	dir := t.TempDir()
	rootDir, outside = filepath.Join(dir, "root"), filepath.Join(dir, "outside")
	for _, d := range []string{rootDir + "/etc", rootDir + "/data", rootDir + "/outside", outside} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	files := map[string]string{
		outside + "/canary":       secret,
		rootDir + "/canary":       "inside\n",
		rootDir + "/etc/passwd":   "root:x:0:0::/root:/bin/sh\n",
		rootDir + "/outside/file": "decoy inside\n",
	}
	for p, body := range files {
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	links := map[string]string{
		"etcdir":      "/etc/..",              // absolute, then up
		"up":          "../../../../..",       // relative, far above the root
		"data/up":     "../../..",             // relative, from a subdirectory
		"abs-outside": outside,                // the host directory, by its host path
		"rel-outside": "../outside",           // the host directory, relatively
		"canary-link": outside + "/canary",    // the canary itself, absolutely
		"dot-canary":  "../../outside/canary", // and relatively
	}
	for l, target := range links {
		require.NoError(t, os.Symlink(target, filepath.Join(rootDir, l)))
	}
	return rootDir, outside
}

// openRoot opens dir as a container root would be: guarded.
func openRoot(t *testing.T, dir string) *CopyRoot {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	require.NoError(t, err)
	r := &CopyRoot{fd: fd, guard: true}
	t.Cleanup(func() { r.Close() })
	return r
}

// bothResolvers runs f with openat2(2) and with the fallback walk.
func bothResolvers(t *testing.T, f func(t *testing.T)) {
	for _, with := range []bool{true, false} {
		name := "openat2"
		if !with {
			name = "walk"
		}
		t.Run(name, func(t *testing.T) {
			useOpenat2 = with
			defer func() { useOpenat2 = true }()
			f(t)
		})
	}
}

// readArchiveOf archives p in r and reads it back.
func readArchiveOf(t *testing.T, r *CopyRoot, p string) ([]entry, PathStat) {
	t.Helper()
	rc, st, err := r.Archive(p)
	require.NoError(t, err, p)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err, p)
	return readArchive(t, b), st
}

func TestCopyRootReadsInsideTheRoot(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		rootDir, outside := hostileTree(t)
		r := openRoot(t, rootDir)
		for p, want := range map[string]string{
			"/up/canary":                     "inside\n",
			"/data/up/canary":                "inside\n",
			"/etcdir/canary":                 "inside\n",
			"/../../../canary":               "inside\n",
			"/rel-outside/file":              "decoy inside\n",
			"/etcdir/etc/../up/etc/passwd":   "root:x:0:0::/root:/bin/sh\n",
			"/abs-outside/../../../canary":   "inside\n",
			"/up/up/up/outside/../canary":    "inside\n",
			"/data/up/rel-outside/file":      "decoy inside\n",
			"/data/up/etcdir/data/up/canary": "inside\n",
		} {
			es, _ := readArchiveOf(t, r, p)
			require.Len(t, es, 1, p)
			assert.Equal(t, want, es[0].body, p)
		}
		// The host's path of the canary, through an absolute link, is a
		// path in the container, where nothing is.
		_, _, err := r.Archive("/abs-outside/canary")
		assert.ErrorIs(t, err, fs.ErrNotExist)
		_, _, err = r.Archive("/canary-link/")
		assert.ErrorIs(t, err, fs.ErrNotExist)

		// A link at the end is copied as a link, its target as written.
		es, st := readArchiveOf(t, r, "/canary-link")
		require.Len(t, es, 1)
		assert.Equal(t, byte(tar.TypeSymlink), es[0].Typeflag)
		assert.Equal(t, outside+"/canary", es[0].Linkname)
		assert.Equal(t, "/"+filepath.Join(outside[1:], "canary"), st.LinkTarget, "resolved in the root: a path inside it")
		st, err = r.Stat("/dot-canary")
		require.NoError(t, err)
		assert.Equal(t, "/outside/canary", st.LinkTarget, `"../.." stops at the root`)
		st, err = r.Stat("/up")
		require.NoError(t, err)
		assert.Equal(t, "/", st.LinkTarget)

		// Nothing read the host's canary: archive the whole root.
		es, _ = readArchiveOf(t, r, "/")
		for _, e := range es {
			assert.NotEqual(t, secret, e.body, "%s carries the host's canary", e.Name)
		}
	})
}

// tarOf writes headers (regular files get body "from the archive").
func tarOf(t *testing.T, hdrs ...tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		body := "from the archive\n"
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		require.NoError(t, tw.WriteHeader(&h))
		if h.Typeflag == tar.TypeReg {
			_, err := tw.Write([]byte(body))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

// listTree lists what is under dir, for "nothing was written there".
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		out = append(out, p)
		return nil
	})
	sort.Strings(out)
	return out
}

func TestCopyRootWritesInsideTheRoot(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		rootDir, outside := hostileTree(t)
		before := listTree(t, outside)
		r := openRoot(t, rootDir)

		// An extraction point reached through links lands inside.
		for _, dst := range []string{"/up", "/data/up", "/rel-outside", "/abs-outside/../..", "/etcdir"} {
			require.NoError(t, r.Extract(dst, bytes.NewReader(tarOf(t, tar.Header{Name: "new", Typeflag: tar.TypeReg})), ExtractOptions{}), dst)
		}
		assert.FileExists(t, filepath.Join(rootDir, "new"))
		assert.FileExists(t, filepath.Join(rootDir, "outside/new"))

		// Entries that lead out through links the archive itself makes,
		// or the container has, stay in.
		hostile := tarOf(t,
			tar.Header{Name: "esc", Typeflag: tar.TypeSymlink, Linkname: outside},
			tar.Header{Name: "esc/pwned", Typeflag: tar.TypeReg},
			tar.Header{Name: "rel-outside/pwned", Typeflag: tar.TypeReg},
			tar.Header{Name: "up/pwned2", Typeflag: tar.TypeReg},
			tar.Header{Name: "hl", Typeflag: tar.TypeLink, Linkname: "canary-link"},
			tar.Header{Name: "/abs/pwned", Typeflag: tar.TypeReg},
		)
		require.NoError(t, r.Extract("/", bytes.NewReader(hostile), ExtractOptions{}))
		assert.FileExists(t, filepath.Join(rootDir, outside, "pwned"), "through the archive's link: made in the root")
		assert.FileExists(t, filepath.Join(rootDir, "outside/pwned"))
		assert.FileExists(t, filepath.Join(rootDir, "pwned2"))
		assert.FileExists(t, filepath.Join(rootDir, "abs/pwned"), "an absolute name is taken from the destination")
		fi, err := os.Lstat(filepath.Join(rootDir, "hl"))
		require.NoError(t, err)
		assert.Equal(t, fs.ModeSymlink, fi.Mode().Type(), "a hard link to a symlink links the symlink, never its target")
		var st unix.Stat_t
		require.NoError(t, unix.Stat(filepath.Join(outside, "canary"), &st))
		assert.EqualValues(t, 1, st.Nlink, "the host's canary got no second name")

		// Names that climb out are refused.
		for _, bad := range []tar.Header{
			{Name: "../pwned", Typeflag: tar.TypeReg},
			{Name: "a/../../pwned", Typeflag: tar.TypeReg},
			{Name: "hl2", Typeflag: tar.TypeLink, Linkname: "../../outside/canary"},
		} {
			err := r.Extract("/data", bytes.NewReader(tarOf(t, bad)), ExtractOptions{})
			assert.ErrorContains(t, err, "climbs out", bad.Name)
		}
		assert.Equal(t, before, listTree(t, outside), "nothing was written on the host")
		b, _ := os.ReadFile(filepath.Join(outside, "canary"))
		assert.Equal(t, secret, string(b))
	})
}

// TestCopyRootSurvivesASwapRace swaps a directory of the "container" with
// a link to the host, over and over, while reading and writing through
// it: a resolution that checked a path and then used it would, some
// time, read the canary or write on the host. Descriptors never do.
func TestCopyRootSurvivesASwapRace(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		rootDir, outside := hostileTree(t)
		require.NoError(t, os.MkdirAll(filepath.Join(rootDir, "swap"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(rootDir, "swap/canary"), []byte("inside\n"), 0o644))
		require.NoError(t, os.Symlink(outside, filepath.Join(rootDir, "swap-abs")))
		require.NoError(t, os.Symlink("../outside", filepath.Join(rootDir, "swap-rel")))
		before := listTree(t, outside)
		r := openRoot(t, rootDir)

		var stop atomic.Bool
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, b, c := filepath.Join(rootDir, "swap"), filepath.Join(rootDir, "swap-abs"), filepath.Join(rootDir, "swap-rel")
			for i := 0; !stop.Load(); i++ {
				other := b
				if i%2 == 1 {
					other = c
				}
				unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, other, unix.RENAME_EXCHANGE)
			}
		}()
		reads, writes := 0, 0
		deadline := time.Now().Add(400 * time.Millisecond)
		for time.Now().Before(deadline) {
			if rc, _, err := r.Archive("/swap/canary"); err == nil {
				b, _ := io.ReadAll(rc)
				rc.Close()
				es := readArchive(t, b)
				if len(es) == 1 {
					require.NotEqual(t, secret, es[0].body, "read the host's canary through the swap")
					reads++
				}
			}
			if r.Extract("/swap", bytes.NewReader(tarOf(t, tar.Header{Name: "written", Typeflag: tar.TypeReg})), ExtractOptions{OverwriteDirWithFile: true}) == nil {
				writes++
			}
		}
		stop.Store(true)
		wg.Wait()
		t.Logf("%d reads, %d writes through the swapping directory", reads, writes)
		assert.Positive(t, reads+writes, "the race let some copies through")
		assert.Equal(t, before, listTree(t, outside), "nothing was written on the host")
	})
}

// realTree makes a tree of every kind of entry a layer may hold that a
// user can make: files, directories, links, a hard link, a fifo.
func realTree(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "src")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub/deeper"), 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a"), []byte("alpha\n"), 0o640))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub/deeper/b"), []byte("beta\n"), 0o600))
	require.NoError(t, os.Link(filepath.Join(dir, "a"), filepath.Join(dir, "sub/a-again")))
	require.NoError(t, os.Symlink("../a", filepath.Join(dir, "sub/rel")))
	require.NoError(t, os.Symlink("/etc/shadow", filepath.Join(dir, "abs")))
	require.NoError(t, unix.Mkfifo(filepath.Join(dir, "fifo"), 0o640))
	require.NoError(t, os.Chmod(filepath.Join(dir, "sub"), 0o755|os.ModeSetgid))
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for _, p := range []string{"a", "sub/deeper/b", "sub/deeper", "sub", "fifo"} {
		require.NoError(t, os.Chtimes(filepath.Join(dir, p), old, old))
	}
	return dir
}

func TestArchiveThenExtractKeepsTheTree(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		src := realTree(t)
		host, err := HostRoot()
		require.NoError(t, err)
		defer host.Close()

		es, st := readArchiveOf(t, host, src)
		assert.True(t, st.Mode.IsDir())
		assert.Equal(t, "src", st.Name)
		assert.Equal(t, []string{"src/", "src/a", "src/abs", "src/fifo", "src/sub/", "src/sub/a-again", "src/sub/deeper/", "src/sub/deeper/b", "src/sub/rel"}, names(es))
		byName := map[string]entry{}
		for _, e := range es {
			byName[e.Name] = e
		}
		assert.Equal(t, byte(tar.TypeLink), byName["src/sub/a-again"].Typeflag)
		assert.Equal(t, "src/a", byName["src/sub/a-again"].Linkname)
		assert.Equal(t, byte(tar.TypeFifo), byName["src/fifo"].Typeflag)
		assert.Equal(t, "/etc/shadow", byName["src/abs"].Linkname, "a link is archived, not followed")
		assert.Equal(t, int64(0o2755), byName["src/sub/"].Mode)

		// Back out elsewhere, and the trees are the same.
		dst := filepath.Join(t.TempDir(), "dst")
		require.NoError(t, os.Mkdir(dst, 0o755))
		rc, _, err := host.Archive(src)
		require.NoError(t, err)
		require.NoError(t, host.Extract(dst, rc, ExtractOptions{}))
		rc.Close()
		for _, p := range []string{"a", "sub", "sub/deeper", "sub/deeper/b", "sub/rel", "abs", "fifo", "sub/a-again"} {
			want, err := os.Lstat(filepath.Join(src, p))
			require.NoError(t, err)
			got, err := os.Lstat(filepath.Join(dst, "src", p))
			require.NoError(t, err, p)
			assert.Equal(t, want.Mode(), got.Mode(), p)
			if !want.IsDir() && want.Mode().Type() != fs.ModeSymlink {
				assert.Equal(t, want.ModTime(), got.ModTime(), p)
			}
		}
		got, err := os.Lstat(filepath.Join(dst, "src/sub/deeper"))
		require.NoError(t, err)
		assert.Equal(t, time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC), got.ModTime().UTC(), "directory times are set after their contents")
		var s1, s2 unix.Stat_t
		require.NoError(t, unix.Stat(filepath.Join(dst, "src/a"), &s1))
		require.NoError(t, unix.Stat(filepath.Join(dst, "src/sub/a-again"), &s2))
		assert.Equal(t, s1.Ino, s2.Ino, "the hard link is one again")

		// "/." archives the contents.
		es, _ = readArchiveOf(t, host, src+"/sub/.")
		assert.Equal(t, []string{"./", "./a-again", "./deeper/", "./deeper/b", "./rel"}, names(es))
	})
}

func TestExtractOverwriteRules(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "isdir/keep"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "isfile"), []byte("old"), 0o644))
	r := openRoot(t, dir)
	x := func(opts ExtractOptions, hdrs ...tar.Header) error {
		return r.Extract("/", bytes.NewReader(tarOf(t, hdrs...)), opts)
	}
	assert.ErrorIs(t, x(ExtractOptions{}, tar.Header{Name: "isdir", Typeflag: tar.TypeReg}), ErrConflict)
	assert.ErrorIs(t, x(ExtractOptions{}, tar.Header{Name: "isfile", Typeflag: tar.TypeDir}), ErrConflict)
	assert.DirExists(t, filepath.Join(dir, "isdir/keep"), "a refused entry changed nothing")

	// A directory over a directory merges; a file replaces a file.
	require.NoError(t, x(ExtractOptions{}, tar.Header{Name: "isdir/", Typeflag: tar.TypeDir, Mode: 0o700}, tar.Header{Name: "isdir/new", Typeflag: tar.TypeReg}, tar.Header{Name: "isfile", Typeflag: tar.TypeReg}))
	assert.DirExists(t, filepath.Join(dir, "isdir/keep"))
	assert.FileExists(t, filepath.Join(dir, "isdir/new"))
	b, _ := os.ReadFile(filepath.Join(dir, "isfile"))
	assert.Equal(t, "from the archive\n", string(b))

	// Allowed, the other kind goes.
	require.NoError(t, x(ExtractOptions{OverwriteDirWithFile: true}, tar.Header{Name: "isdir", Typeflag: tar.TypeReg}))
	fi, err := os.Lstat(filepath.Join(dir, "isdir"))
	require.NoError(t, err)
	assert.True(t, fi.Mode().IsRegular())

	// Missing parents are made; the extraction point must exist and be a
	// directory.
	require.NoError(t, x(ExtractOptions{}, tar.Header{Name: "p/q/r", Typeflag: tar.TypeReg}))
	assert.FileExists(t, filepath.Join(dir, "p/q/r"))
	assert.ErrorIs(t, r.Extract("/nope", bytes.NewReader(tarOf(t)), ExtractOptions{}), fs.ErrNotExist)
	assert.ErrorIs(t, r.Extract("/isfile", bytes.NewReader(tarOf(t)), ExtractOptions{}), ErrInvalid)

	// The extraction point keeps its own mode when the archive has ".".
	require.NoError(t, os.Chmod(dir, 0o711))
	require.NoError(t, x(ExtractOptions{}, tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o777}))
	fi, err = os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o711), fi.Mode().Perm())
}

func TestExtractOwnersAndDevices(t *testing.T) {
	testkit.RequireRoot(t)
	dir := t.TempDir()
	r := openRoot(t, dir)
	archive := tarOf(t,
		tar.Header{Name: "owned", Typeflag: tar.TypeReg, Uid: 1234, Gid: 5678, Mode: 0o4755},
		tar.Header{Name: "null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Mode: 0o666, Uid: 1234},
		tar.Header{Name: "pipe", Typeflag: tar.TypeFifo, Mode: 0o666},
		tar.Header{Name: "ln", Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow", Uid: 1234, Gid: 1234},
	)
	var st unix.Stat_t
	require.NoError(t, r.Extract("/", bytes.NewReader(archive), ExtractOptions{KeepOwners: true}))
	require.NoError(t, unix.Lstat(filepath.Join(dir, "owned"), &st))
	assert.EqualValues(t, 1234, st.Uid)
	assert.EqualValues(t, 5678, st.Gid)
	assert.EqualValues(t, 0o4755, st.Mode&0o7777, "setuid set after the chown that would clear it")
	require.NoError(t, unix.Lstat(filepath.Join(dir, "null"), &st))
	assert.EqualValues(t, unix.S_IFCHR, st.Mode&unix.S_IFMT)
	assert.EqualValues(t, unix.Mkdev(1, 3), st.Rdev)
	assert.EqualValues(t, 0o666, st.Mode&0o777, "the umask does not cut the archive's mode")
	require.NoError(t, unix.Lstat(filepath.Join(dir, "ln"), &st))
	assert.EqualValues(t, 1234, st.Uid, "the link itself is chowned")
	require.NoError(t, unix.Stat("/etc/shadow", &st))
	assert.EqualValues(t, 0, st.Uid, "never its target")

	// Without -a, the container's root owns everything.
	dir2 := t.TempDir()
	r2 := openRoot(t, dir2)
	require.NoError(t, r2.Extract("/", bytes.NewReader(archive), ExtractOptions{Owner: &Owner{}}))
	require.NoError(t, unix.Lstat(filepath.Join(dir2, "owned"), &st))
	assert.EqualValues(t, 0, st.Uid)
	assert.EqualValues(t, 0, st.Gid)

	// And a device archived is a device.
	es, _ := readArchiveOf(t, r, "/null")
	require.Len(t, es, 1)
	assert.Equal(t, byte(tar.TypeChar), es[0].Typeflag)
	assert.EqualValues(t, 1, es[0].Devmajor)
	assert.EqualValues(t, 3, es[0].Devminor)
}

func TestGuardedRootRefusesKernelFilesystems(t *testing.T) {
	testkit.RequireRoot(t) // unpacking writes owners and replaces entries
	proc := openRoot(t, "/proc")
	err := proc.Extract("/", bytes.NewReader(tarOf(t, tar.Header{Name: "x", Typeflag: tar.TypeReg})), ExtractOptions{})
	assert.ErrorIs(t, err, ErrInvalid)
	assert.ErrorContains(t, err, "proc")
	_, _, err = proc.Archive("/self/status")
	assert.ErrorIs(t, err, ErrInvalid)

	// A tree with the kernel's filesystem mounted in it archives the
	// mount point, empty.
	root := openRoot(t, "/")
	rc, _, err := root.Archive("/proc")
	require.NoError(t, err)
	b, err := io.ReadAll(rc)
	rc.Close()
	require.NoError(t, err)
	assert.Equal(t, []string{"proc/"}, names(readArchive(t, b)))

	// Replacing a directory never deletes through a kernel filesystem
	// (nothing in /proc can be deleted anyway: this is safe to try).
	err = root.Extract("/", bytes.NewReader(tarOf(t, tar.Header{Name: "proc", Typeflag: tar.TypeReg})), ExtractOptions{OverwriteDirWithFile: true})
	assert.ErrorIs(t, err, ErrInvalid)
	assert.FileExists(t, "/proc/self/status")
}

func TestArchiveReaderClosedEarlyStopsTheWriter(t *testing.T) {
	host, err := HostRoot()
	require.NoError(t, err)
	defer host.Close()
	rc, _, err := host.Archive(realTree(t))
	require.NoError(t, err)
	buf := make([]byte, 10)
	_, err = rc.Read(buf)
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { rc.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop the archive's writer")
	}
	_, err = rc.Read(buf)
	assert.ErrorIs(t, err, io.ErrClosedPipe, "a closed archive reads no more")
}

func TestSubIsARootOfItsOwn(t *testing.T) {
	testkit.RequireRoot(t) // the hostile tree is made and unpacked into as root
	rootDir, outside := hostileTree(t)
	host, err := HostRoot()
	require.NoError(t, err)
	defer host.Close()
	sub, err := host.Sub(rootDir)
	require.NoError(t, err)
	defer sub.Close()
	// A link in the archive, then an entry through it: inside the Sub.
	archive := tarOf(t,
		tar.Header{Name: "d/", Typeflag: tar.TypeDir},
		tar.Header{Name: "d/out", Typeflag: tar.TypeSymlink, Linkname: "../../outside"},
		tar.Header{Name: "d/out/pwned", Typeflag: tar.TypeReg},
	)
	require.NoError(t, sub.Extract("/", bytes.NewReader(archive), ExtractOptions{}))
	assert.FileExists(t, filepath.Join(rootDir, "outside/pwned"))
	assert.NoFileExists(t, filepath.Join(outside, "pwned"))
	_, err = host.Sub(filepath.Join(rootDir, "canary"))
	assert.ErrorIs(t, err, ErrInvalid)
}
