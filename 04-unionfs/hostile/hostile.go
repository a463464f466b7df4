// Package hostile generates layer tarballs that try to write outside the
// directory they are unpacked into, or that are broken, for chapter 04's
// tests (see testdata/README.md). Each Case says what a safe unpacker must
// do with it. Nothing here is committed as a binary: the archives are made
// by this code every time.
package hostile

import (
	"archive/tar"
	"bytes"
)

// Case is one hostile archive.
type Case struct {
	Name    string
	Archive []byte
	// Refuse says the unpack must fail, with an error containing Entry:
	// the offending entry's name. When false, the archive must unpack,
	// with everything contained inside the target.
	Refuse bool
	Entry  string
	// Outside is the path, relative to the target's parent, that the
	// archive tries to create or change there.
	Outside string
}

type hdr = tar.Header

func build(entries []hdr, bodies map[string]string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		h := h
		body := bodies[h.Name]
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		tw.WriteHeader(&h)
		tw.Write([]byte(body))
	}
	tw.Close()
	return buf.Bytes()
}

// Cases are the hostile archives. The target directory is "target"; its
// parent holds "victim", a file the archives try to reach.
func Cases() []Case {
	reg := func(name string) hdr { return hdr{Name: name, Typeflag: tar.TypeReg} }
	full := build([]hdr{reg("a"), reg("b")}, map[string]string{"a": "aaaa", "b": "bbbb"})
	return []Case{
		{Name: "dot-dot path", Refuse: true, Entry: "../escaped", Outside: "escaped",
			Archive: build([]hdr{reg("../escaped")}, map[string]string{"../escaped": "x"})},
		{Name: "dot-dot inside a path", Refuse: true, Entry: "a/../../escaped", Outside: "escaped",
			Archive: build([]hdr{{Name: "a/", Typeflag: tar.TypeDir}, reg("a/../../escaped")}, nil)},
		{Name: "absolute path is contained", Refuse: false, Outside: "victim",
			Archive: build([]hdr{reg("/victim")}, map[string]string{"/victim": "overwritten"})},
		{Name: "symlink out, then written through", Refuse: true, Entry: "link/victim", Outside: "victim",
			Archive: build([]hdr{{Name: "link", Typeflag: tar.TypeSymlink, Linkname: ".."}, reg("link/victim")},
				map[string]string{"link/victim": "overwritten"})},
		{Name: "absolute symlink, then written through", Refuse: true, Entry: "etc/victim", Outside: "victim",
			Archive: build([]hdr{{Name: "etc", Typeflag: tar.TypeSymlink, Linkname: "/"}, reg("etc/victim")},
				map[string]string{"etc/victim": "overwritten"})},
		{Name: "hard link to a file outside", Refuse: true, Entry: "hl", Outside: "victim",
			Archive: build([]hdr{{Name: "hl", Typeflag: tar.TypeLink, Linkname: "../victim"}}, nil)},
		{Name: "hard link through a symlink out", Refuse: true, Entry: "hl", Outside: "victim",
			Archive: build([]hdr{{Name: "up", Typeflag: tar.TypeSymlink, Linkname: ".."}, {Name: "hl", Typeflag: tar.TypeLink, Linkname: "up/victim"}}, nil)},
		{Name: "symlink replaces a directory mid-archive", Refuse: true, Entry: "d/victim", Outside: "victim",
			Archive: build([]hdr{{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755}, {Name: "d", Typeflag: tar.TypeSymlink, Linkname: "../"}, reg("d/victim")},
				map[string]string{"d/victim": "overwritten"})},
		{Name: "whiteout climbing out", Refuse: true, Entry: "../.wh.victim", Outside: "victim",
			Archive: build([]hdr{reg("../.wh.victim")}, nil)},
		{Name: "whiteout through a symlink out", Refuse: true, Entry: "up/.wh.victim", Outside: "victim",
			Archive: build([]hdr{{Name: "up", Typeflag: tar.TypeSymlink, Linkname: ".."}, reg("up/.wh.victim")}, nil)},
		// The directory entry replaces the symlink, inside the target:
		// contained, and the parent's mode is untouched.
		{Name: "chmod through a symlink out", Refuse: false, Outside: "victim",
			Archive: build([]hdr{{Name: "up", Typeflag: tar.TypeSymlink, Linkname: ".."}, {Name: "up/", Typeflag: tar.TypeDir, Mode: 0o777}}, nil)},
		{Name: "truncated archive", Refuse: true, Entry: "truncated",
			Archive: full[:len(full)-1024-700]},
		{Name: "corrupt header", Refuse: true, Entry: "corrupt",
			Archive: append(bytes.Repeat([]byte("garbage!"), 64), full...)},
	}
}
