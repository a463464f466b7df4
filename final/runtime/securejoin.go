package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// maxSymlinks is how many symbolic links a path may go through before
// resolving it gives up, as the kernel's ELOOP limit (path_resolution(7)).
const maxSymlinks = 40

// errLoop is too many symlinks on the way.
var errLoop = syscall.ELOOP

// secureJoin returns the host path of unsafePath inside root, resolving
// every symbolic link and ".." as if root were "/": an absolute link target
// starts again at root, and ".." never climbs above it. A hostile image
// cannot point a mount or a file lookup out of its rootfs this way (make
// /etc a link to /, and /etc/hosts lands on the rootfs's /hosts, not the
// host's /etc/hosts). Components that do not exist are taken as
// directories; the caller creates them.
//
// Only root's contents are trusted not to change while resolving: that
// holds for a container's rootfs before its process runs.
func secureJoin(root, unsafePath string) (string, error) {
	root = filepath.Clean(root)
	// resolved is a clean path relative to root, with no links in it.
	resolved := ""
	rest := strings.Split(unsafePath, "/")
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			resolved = parentOf(resolved)
			continue
		}
		next := c
		if resolved != "" {
			next = resolved + "/" + c
		}
		fi, err := os.Lstat(filepath.Join(root, next))
		if errors.Is(err, fs.ErrNotExist) {
			// Not there (yet): the caller will create it. Carry on, as a
			// later ".." may lead back to something that exists.
			resolved = next
			continue
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			resolved = next
			continue
		}
		links++
		if links > maxSymlinks {
			return "", &fs.PathError{Op: "resolve", Path: unsafePath, Err: errLoop}
		}
		target, err := os.Readlink(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			resolved = "" // absolute: from the container's root
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return filepath.Join(root, resolved), nil
}

// parentOf is the parent of a clean relative path; the root's parent is
// the root.
func parentOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// openInRoot opens name, a path inside root, for reading, resolved with
// secureJoin; the last component must not be a link (it has just been
// resolved: a link there now means something changed under us).
func openInRoot(root, name string) (*os.File, error) {
	p, err := secureJoin(root, name)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s in %s: %w", name, root, err)
	}
	return f, nil
}
