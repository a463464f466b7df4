package engine

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestSplitCopyPathReadsPathsAsDockerCp(t *testing.T) {
	tests := []struct {
		in   string
		want copyPath
	}{
		{"/etc/hosts", copyPath{Dir: "/etc", Base: "hosts", Name: "hosts", Title: "hosts"}},
		{"etc/hosts", copyPath{Dir: "/etc", Base: "hosts", Name: "hosts", Title: "hosts"}},
		{"/etc/", copyPath{Dir: "/etc", Base: ".", Name: "etc", Title: "etc"}},
		{"/etc/.", copyPath{Dir: "/etc", Base: ".", Name: ".", Title: "."}},
		{"/", copyPath{Dir: "/", Base: ".", Name: ".", Title: "/"}},
		{".", copyPath{Dir: "/", Base: ".", Name: ".", Title: "."}},
		{"", copyPath{Dir: "/", Base: ".", Name: ".", Title: "/"}},
		// ".." is lexical, as docker cleans it: it never climbs a link.
		{"/a/../../etc/passwd", copyPath{Dir: "/etc", Base: "passwd", Name: "passwd", Title: "passwd"}},
		{"../../..", copyPath{Dir: "/", Base: ".", Name: ".", Title: "/"}},
		{"/a//b/./c", copyPath{Dir: "/a/b", Base: "c", Name: "c", Title: "c"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, splitCopyPath(tt.in), tt.in)
	}
}

func TestPlanCopyFollowsDockersRules(t *testing.T) {
	file := CopyEnd{Path: "/src/file", Exists: true}
	dir := CopyEnd{Path: "/src/dir", Exists: true, IsDir: true}
	contents := CopyEnd{Path: "/src/dir/.", Exists: true, IsDir: true}
	tests := []struct {
		name     string
		src, dst CopyEnd
		want     CopyPlan
		err      error
	}{
		{"file into a directory", file, CopyEnd{Path: "/d", Exists: true, IsDir: true}, CopyPlan{Dir: "/d"}, nil},
		{"file over a file", file, CopyEnd{Path: "/d/f", Exists: true}, CopyPlan{Dir: "/d", Rename: "f"}, nil},
		{"file to a new name", file, CopyEnd{Path: "/d/new"}, CopyPlan{Dir: "/d", Rename: "new"}, nil},
		{"file to a new DIR/", file, CopyEnd{Path: "/d/new/"}, CopyPlan{}, ErrCopyNoDir},
		{"directory into a directory", dir, CopyEnd{Path: "/d", Exists: true, IsDir: true}, CopyPlan{Dir: "/d"}, nil},
		{"contents into a directory", contents, CopyEnd{Path: "/d", Exists: true, IsDir: true}, CopyPlan{Dir: "/d"}, nil},
		{"directory to a new name", dir, CopyEnd{Path: "/d/new"}, CopyPlan{Dir: "/d", Rename: "new"}, nil},
		{"directory to a new DIR/", dir, CopyEnd{Path: "/d/new/"}, CopyPlan{Dir: "/d", Rename: "new"}, nil},
		{"contents to a new name", contents, CopyEnd{Path: "/d/new"}, CopyPlan{Dir: "/d", Rename: "new"}, nil},
		{"directory over a file", dir, CopyEnd{Path: "/d/f", Exists: true}, CopyPlan{}, ErrCopyDirToFile},
		{"to the root", file, CopyEnd{Path: "/", Exists: true, IsDir: true}, CopyPlan{Dir: "/"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PlanCopy(tt.src, tt.dst)
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// archive writes a tar of the given headers (regular files get body
// "data").
func archive(t *testing.T, hdrs ...tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if h.Typeflag == tar.TypeReg {
			h.Size = 4
		}
		require.NoError(t, tw.WriteHeader(&h))
		if h.Typeflag == tar.TypeReg {
			_, err := tw.Write([]byte("data"))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

func TestRenameArchiveRenamesTheTopEntry(t *testing.T) {
	in := archive(t,
		tar.Header{Name: "etc/", Typeflag: tar.TypeDir},
		tar.Header{Name: "etc/hosts", Typeflag: tar.TypeReg},
		tar.Header{Name: "etc/hosts2", Typeflag: tar.TypeLink, Linkname: "etc/hosts"},
		tar.Header{Name: "etc/abs", Typeflag: tar.TypeSymlink, Linkname: "/etc/hosts"},
		tar.Header{Name: "etcetera", Typeflag: tar.TypeReg},
	)
	var out bytes.Buffer
	require.NoError(t, RenameArchive(&out, bytes.NewReader(in), "etc", "copy"))
	hdrs := readArchive(t, out.Bytes())
	assert.Equal(t, []string{"copy/", "copy/hosts", "copy/hosts2", "copy/abs", "etcetera"}, names(hdrs))
	assert.Equal(t, "copy/hosts", hdrs[2].Linkname, "a hard link names an entry: renamed too")
	assert.Equal(t, "/etc/hosts", hdrs[3].Linkname, "a symlink's target is a path at the destination: kept")
	assert.Equal(t, "data", hdrs[1].body)

	// "." stands for everything: a directory's contents take a name.
	in = archive(t,
		tar.Header{Name: "./", Typeflag: tar.TypeDir},
		tar.Header{Name: "./a", Typeflag: tar.TypeReg},
		tar.Header{Name: "b", Typeflag: tar.TypeReg},
	)
	out.Reset()
	require.NoError(t, RenameArchive(&out, bytes.NewReader(in), ".", "new"))
	assert.Equal(t, []string{"new/", "new/a", "new/b"}, names(readArchive(t, out.Bytes())))
}

type entry struct {
	tar.Header
	body string
}

func readArchive(t *testing.T, b []byte) []entry {
	t.Helper()
	var out []entry
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		body, err := io.ReadAll(tr)
		require.NoError(t, err)
		out = append(out, entry{*h, string(body)})
	}
}

func names(es []entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

// fakeNode is a file, directory or symlink of fakeFS.
type fakeNode struct {
	name     string
	dir      map[string]*fakeNode // nil unless a directory
	link     string               // a symlink's target
	isLink   bool
	released int
}

// fakeFS is an in-memory filesystem for walkInRoot: it counts the
// handles it gives out and gets back.
type fakeFS struct {
	root *fakeNode
	open int
}

// newFakeFS lays out paths: "d/" a directory, "l -> target" a link,
// anything else a file; parents are made as needed.
func newFakeFS(paths ...string) *fakeFS {
	f := &fakeFS{root: &fakeNode{name: "/", dir: map[string]*fakeNode{}}}
	for _, p := range paths {
		name, target, isLink := strings.Cut(p, " -> ")
		parts := strings.Split(strings.Trim(name, "/"), "/")
		n := f.root
		for i, part := range parts {
			child, ok := n.dir[part]
			if !ok {
				child = &fakeNode{name: part}
				n.dir[part] = child
			}
			last := i == len(parts)-1
			switch {
			case !last || strings.HasSuffix(name, "/"):
				if child.dir == nil {
					child.dir = map[string]*fakeNode{}
				}
			case isLink:
				child.isLink, child.link = true, target
			}
			n = child
		}
	}
	return f
}

func (f *fakeFS) lookup(dir *fakeNode, name string) (*fakeNode, string, bool, error) {
	if dir.dir == nil {
		return nil, "", false, &fs.PathError{Op: "lookup", Path: name, Err: unix.ENOTDIR}
	}
	n, ok := dir.dir[name]
	if !ok {
		return nil, "", false, &fs.PathError{Op: "lookup", Path: name, Err: unix.ENOENT}
	}
	f.open++
	return n, n.link, n.isLink, nil
}

func (f *fakeFS) mkdir(dir *fakeNode, name string) error {
	if _, ok := dir.dir[name]; ok {
		return &fs.PathError{Op: "mkdir", Path: name, Err: unix.EEXIST}
	}
	dir.dir[name] = &fakeNode{name: name, dir: map[string]*fakeNode{}}
	return nil
}

func (f *fakeFS) dup(h *fakeNode) (*fakeNode, error) { f.open++; return h, nil }
func (f *fakeFS) release(h *fakeNode)                { f.open-- }

// hostile is a container root whose links all try to lead out of it.
func hostile() *fakeFS {
	return newFakeFS(
		"etc/passwd", "usr/lib/libc.so", "real/file", "data/", "tmp/",
		"etcdir -> /etc/..",            // absolute, then up: the root
		"up -> ../../../../..",         // far above the root
		"abs-host -> /tmp/../../../..", // absolute, then further up
		"lib -> usr/lib",
		"data/ln -> ../real",
		"data/deep -> ../../../../real/file",
		"loop1 -> loop2", "loop2 -> loop1",
		"dangling -> /nowhere/file",
		"usr/lib/self -> .",
		"file-as-dir -> real/file",
	)
}

func TestWalkInRootStaysInside(t *testing.T) {
	f := hostile()
	tests := []struct{ in, want string }{
		{"/", ""},
		{"", ""},
		{"/usr/lib", "usr/lib"},
		{"/etcdir/etc/passwd", "etc/passwd"},
		{"/up/etc/passwd", "etc/passwd"},
		{"/abs-host/real/file", "real/file"},
		{"/../../etc/passwd", "etc/passwd"},
		{"/lib/libc.so", "usr/lib/libc.so"},
		{"/data/ln/file", "real/file"},
		{"/data/deep", "real/file"},
		{"/usr/lib/self/self/libc.so", "usr/lib/libc.so"},
		// ".." after a link goes back from where the link led, as the
		// kernel's lookup does, not lexically.
		{"/lib/../lib/libc.so", "usr/lib/libc.so"},
		{"/data/ln/../etc/passwd", "etc/passwd"},
	}
	for _, tt := range tests {
		h, where, err := walkInRoot[*fakeNode](f, f.root, tt.in, walkOptions{followLast: true})
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, strings.Join(where, "/"), tt.in)
		want := f.root
		for _, part := range where {
			want = want.dir[part]
			if want.isLink {
				t.Fatalf("%s: the result goes through a link", tt.in)
			}
		}
		assert.Same(t, want, h, tt.in)
		f.release(h)
	}
	assert.Zero(t, f.open, "every handle the walk took was given back")
}

func TestWalkInRootErrors(t *testing.T) {
	f := hostile()
	_, _, err := walkInRoot[*fakeNode](f, f.root, "/loop1/x", walkOptions{followLast: true})
	assert.ErrorIs(t, err, unix.ELOOP)
	_, _, err = walkInRoot[*fakeNode](f, f.root, "/etc/missing/x", walkOptions{followLast: true})
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, _, err = walkInRoot[*fakeNode](f, f.root, "/file-as-dir/x", walkOptions{followLast: true})
	assert.ErrorIs(t, err, unix.ENOTDIR)
	_, _, err = walkInRoot[*fakeNode](f, f.root, "/dangling", walkOptions{followLast: true})
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Zero(t, f.open, "a failed walk gives back what it took")
}

func TestWalkInRootLastLink(t *testing.T) {
	f := hostile()
	h, where, err := walkInRoot[*fakeNode](f, f.root, "/data/ln", walkOptions{})
	require.NoError(t, err)
	assert.True(t, h.isLink, "without followLast the link itself")
	assert.Equal(t, []string{"data", "ln"}, where)
	f.release(h)
	// A trailing slash goes through the link.
	h, where, err = walkInRoot[*fakeNode](f, f.root, "/data/ln/", walkOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"real"}, where)
	f.release(h)
	assert.Zero(t, f.open)
}

func TestWalkInRootLenientResolvesDanglingLinks(t *testing.T) {
	f := hostile()
	_, where, err := walkInRoot[*fakeNode](f, f.root, "/dangling", walkOptions{followLast: true, lenient: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"nowhere", "file"}, where)
	_, where, err = walkInRoot[*fakeNode](f, f.root, "/up/nowhere/../../etc", walkOptions{followLast: true, lenient: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"etc"}, where)
	assert.Zero(t, f.open)
}

func TestWalkInRootMkdirCreatesInside(t *testing.T) {
	f := hostile()
	h, where, err := walkInRoot[*fakeNode](f, f.root, "/up/made/here", walkOptions{followLast: true, mkdir: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"made", "here"}, where)
	assert.Same(t, f.root.dir["made"].dir["here"], h, "made in the root, where the link led")
	f.release(h)
	// Through a dangling absolute link: its target is made, inside.
	_, where, err = walkInRoot[*fakeNode](f, f.root, "/dangling/x", walkOptions{followLast: true, mkdir: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"nowhere", "file", "x"}, where)
	assert.NotNil(t, f.root.dir["nowhere"].dir["file"].dir["x"])
}
