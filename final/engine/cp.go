package engine

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// This file is the part of cp that needs no kernel: what a path means to
// docker cp, where an archive lands, how its entries are renamed, and how
// a path is resolved inside a root the way chroot(2) would resolve it.
// cp_root_linux.go does the copying with descriptors; cp_linux.go opens a
// container's root for it.

// PathStat describes a path in a container, as the Docker API's
// X-Docker-Container-Path-Stat header carries it (base64 of this JSON)
// on HEAD and GET /containers/{id}/archive.
type PathStat struct {
	Name       string      `json:"name"`
	Size       int64       `json:"size"`
	Mode       os.FileMode `json:"mode"`
	Mtime      time.Time   `json:"mtime"`
	LinkTarget string      `json:"linkTarget"` // a symlink's target, resolved in the container, absolute
}

// CopyToContainerOptions are PUT /containers/{id}/archive's parameters.
type CopyToContainerOptions struct {
	// AllowOverwriteDirWithFile lets an entry replace a directory with a
	// file, or a file with a directory (the API's noOverwriteDirNonDir=false).
	AllowOverwriteDirWithFile bool
	// CopyUIDGID keeps the archive's owners (cp -a); otherwise every entry
	// belongs to the container's root user.
	CopyUIDGID bool
}

// copyPath is a path as docker cp reads it, split in the directory that is
// resolved following every symbolic link and the entry in it that is not
// followed: `cp c:/etc/link out` copies the link itself.
type copyPath struct {
	Dir   string // absolute and clean
	Base  string // the entry in Dir; "." for Dir itself
	Name  string // the name the archive's top entry gets: Base, or "." for a directory's contents
	Title string // the name a PathStat gives: "/" for the root
}

// splitCopyPath reads p as docker cp does. It is taken as absolute
// ("tmp/x" is "/tmp/x") and cleaned lexically, as docker does, so ".."
// in p never climbs a symlink: only links found on the way are resolved,
// inside the root. A trailing "/" asks for the directory p names, following
// a link; a trailing "/." for its contents, which the archive names ".".
func splitCopyPath(p string) copyPath {
	abs := path.Clean("/" + p)
	switch {
	case p == "." || strings.HasSuffix(p, "/."):
		return copyPath{Dir: abs, Base: ".", Name: ".", Title: "."}
	case abs == "/":
		return copyPath{Dir: "/", Base: ".", Name: ".", Title: "/"}
	case strings.HasSuffix(p, "/"):
		return copyPath{Dir: abs, Base: ".", Name: path.Base(abs), Title: path.Base(abs)}
	}
	return copyPath{Dir: path.Dir(abs), Base: path.Base(abs), Name: path.Base(abs), Title: path.Base(abs)}
}

// ArchiveName is the name the top entry of p's archive has: p's last
// element, or "." when p ends with "/." (or is the root): the entries are
// then the directory's contents.
func ArchiveName(p string) string { return splitCopyPath(p).Name }

// CopyEnd is one end of a copy, as the client sees it before copying.
type CopyEnd struct {
	Path   string // as the user wrote it: a trailing "/" or "/." means something
	Exists bool
	IsDir  bool
	// Name is the source's top entry name in the archive, once renamed
	// (-L copies a link's target under the link's name); "" means
	// ArchiveName(Path).
	Name string
}

// CopyPlan is where a source's archive is unpacked at the destination.
type CopyPlan struct {
	Dir string // the directory the archive is unpacked in; it must exist
	// Rename, if set, is the name the archive's top entry (and what is
	// under it) takes: the destination's own name.
	Rename string
}

// Errors of PlanCopy: docker cp's rules, refused before anything moves.
var (
	ErrCopyDirToFile = errors.New("cannot copy a directory to a file")
	ErrCopyNoDir     = errors.New("the destination directory does not exist")
)

// PlanCopy applies docker cp's rules for where a source lands:
//
//   - a destination directory that exists receives the source: the
//     directory itself (SRC) or its contents (SRC/.);
//   - a file that exists is replaced by a file, and refuses a directory;
//   - a destination that does not exist is created with the source's
//     contents, as a directory or a file, under the destination's name;
//     but a file cannot create DEST/, which must be a directory.
func PlanCopy(src, dst CopyEnd) (CopyPlan, error) {
	d := splitCopyPath(dst.Path)
	parent, name := d.Dir, d.Base
	if d.Base == "." {
		// DEST/ (and DEST/.) is made in DEST's parent.
		parent, name = path.Dir(d.Dir), path.Base(d.Dir)
	}
	switch {
	case dst.Exists && dst.IsDir:
		return CopyPlan{Dir: dst.Path}, nil
	case dst.Exists && src.IsDir:
		return CopyPlan{}, fmt.Errorf("%w: %s is not a directory", ErrCopyDirToFile, dst.Path)
	case !dst.Exists && !src.IsDir && strings.HasSuffix(dst.Path, "/"):
		return CopyPlan{}, fmt.Errorf("%w: %s (create it first, or drop the trailing / to copy to a file of that name)", ErrCopyNoDir, dst.Path)
	}
	return CopyPlan{Dir: parent, Rename: name}, nil
}

// RenameArchive copies the tar stream r to w with its top entry renamed
// from to to: "etc/hosts" becomes "copy/hosts" for from "etc" and to
// "copy". A top entry "." stands for everything: "./x" and "x" become
// "copy/x". Hard links, which name another entry, are renamed the same;
// symbolic links' targets are paths in the destination and stay as they
// are. Entries not under from pass unchanged.
func RenameArchive(w io.Writer, r io.Reader, from, to string) error {
	tr := tar.NewReader(r)
	tw := tar.NewWriter(w)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return fmt.Errorf("engine: reading the archive: %w", err)
		}
		hdr.Name = renameEntry(hdr.Name, from, to)
		if hdr.Typeflag == tar.TypeLink {
			hdr.Linkname = renameEntry(hdr.Linkname, from, to)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("engine: renaming the archive's entries: %w", err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return fmt.Errorf("engine: renaming the archive's entries: %w", err)
		}
	}
	return tw.Close()
}

func renameEntry(name, from, to string) string {
	if from == "." {
		slash := ""
		if strings.HasSuffix(name, "/") {
			slash = "/" // a directory's entry keeps its mark
		}
		rest := strings.Trim(strings.TrimPrefix(name, "./"), "/")
		if rest == "" || rest == "." {
			return to + slash
		}
		return to + "/" + rest + slash
	}
	if name == from || strings.HasPrefix(name, from+"/") {
		return to + name[len(from):]
	}
	return name
}

// maxLinks is how many symbolic links one resolution may follow, as the
// kernel's limit (path_resolution(7)) before ELOOP.
const maxLinks = 40

// lookuper is what resolving a path needs of a filesystem: one name
// looked up in one directory, never following it. The real one
// (cp_root_linux.go) holds O_PATH descriptors and calls openat(2) with
// O_NOFOLLOW; the tests' is a map.
type lookuper[H any] interface {
	// lookup returns name in dir, and its target if it is a symlink.
	lookup(dir H, name string) (h H, target string, isLink bool, err error)
	// mkdir creates directory name in dir.
	mkdir(dir H, name string) error
	// dup returns a handle of its own on h.
	dup(h H) (H, error)
	release(h H)
}

// walkOptions say how walkInRoot treats what it meets.
type walkOptions struct {
	followLast bool // resolve a symlink in the last position too
	mkdir      bool // create missing directories on the way
	lenient    bool // take missing entries as names (for a dangling link's target)
}

// walkInRoot resolves p inside root as chroot(2) would with root as "/":
// one component at a time, "." ignored, ".." going back to the directory
// it came from (never above root), a symlink's target read and walked in
// its place, from root again when absolute. Nothing can lead out: the
// walk only ever steps down from a handle it holds, and ".." pops its own
// stack instead of asking the filesystem for a parent. It returns a new
// handle on the result, which the caller releases, and the result's path
// from root, links resolved (for PathStat.LinkTarget).
//
// With opts.lenient, entries that do not exist are taken as plain names
// and no handle is returned: the path a dangling link would lead to.
func walkInRoot[H any](fsys lookuper[H], root H, p string, opts walkOptions) (H, []string, error) {
	type step struct {
		h       H
		name    string
		virtual bool // not there (lenient): no handle
	}
	var zero H
	var stack []step // below root; root itself is never released here
	top := func() (H, bool) {
		if len(stack) == 0 {
			return root, false
		}
		s := stack[len(stack)-1]
		return s.h, s.virtual
	}
	pop := func() {
		s := stack[len(stack)-1]
		if !s.virtual {
			fsys.release(s.h)
		}
		stack = stack[:len(stack)-1]
	}
	fail := func(err error) (H, []string, error) {
		for len(stack) > 0 {
			pop()
		}
		return zero, nil, err
	}
	rest := strings.Split(p, "/")
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(stack) > 0 {
				pop()
			}
			continue
		}
		dir, virtual := top()
		if virtual {
			stack = append(stack, step{name: c, virtual: true})
			continue
		}
		h, target, isLink, err := fsys.lookup(dir, c)
		if errors.Is(err, fs.ErrNotExist) && opts.mkdir && (len(rest) > 0 || opts.followLast) {
			if err = fsys.mkdir(dir, c); err == nil || errors.Is(err, fs.ErrExist) {
				h, target, isLink, err = fsys.lookup(dir, c)
			}
		}
		if errors.Is(err, fs.ErrNotExist) && opts.lenient {
			stack = append(stack, step{name: c, virtual: true})
			continue
		}
		if err != nil {
			return fail(err)
		}
		// A link is followed unless it ends the path: "a/link/" and
		// "a/link/x" go through it, as the kernel's lookup does.
		if isLink && (len(rest) > 0 || opts.followLast) {
			fsys.release(h)
			if links++; links > maxLinks {
				return fail(&fs.PathError{Op: "resolve", Path: p, Err: unix.ELOOP})
			}
			if strings.HasPrefix(target, "/") {
				for len(stack) > 0 {
					pop()
				}
			}
			rest = append(strings.Split(target, "/"), rest...)
			continue
		}
		stack = append(stack, step{h: h, name: c})
	}
	names := make([]string, len(stack))
	for i, s := range stack {
		names[i] = s.name
	}
	if opts.lenient {
		for len(stack) > 0 {
			pop()
		}
		return zero, names, nil
	}
	var h H
	var err error
	if len(stack) == 0 {
		h, err = fsys.dup(root)
	} else {
		h = stack[len(stack)-1].h
		stack = stack[:len(stack)-1] // handed to the caller, not released
	}
	for len(stack) > 0 {
		pop()
	}
	return h, names, err
}
