package unionfs

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// copyTree copies src into dst (which exists) keeping everything a layer
// holds: types, modes, ownership, times, extended attributes, device nodes
// and hard links.
func copyTree(src, dst string) error {
	type inode struct{ dev, ino uint64 }
	links := map[inode]string{}
	var dirs []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			if rel != "." {
				if err := os.Mkdir(target, 0o700); err != nil {
					return err
				}
			}
			dirs = append(dirs, rel)
		case unix.S_IFLNK:
			dest, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(dest, target); err != nil {
				return err
			}
		case unix.S_IFREG:
			key := inode{st.Dev, st.Ino}
			if first, ok := links[key]; ok && st.Nlink > 1 {
				return os.Link(first, target)
			}
			links[key] = target
			if err := copyFile(p, target); err != nil {
				return err
			}
		default: // devices, fifos, overlay whiteouts
			if err := unix.Mknod(target, st.Mode, int(st.Rdev)); err != nil {
				return err
			}
		}
		return copyMeta(p, target, &st, st.Mode&unix.S_IFMT == unix.S_IFDIR)
	})
	if err != nil {
		return fmt.Errorf("unionfs: copying %s: %w", src, err)
	}
	// Directory times last, deepest first: filling them moved them.
	for i := len(dirs) - 1; i >= 0; i-- {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(src, dirs[i]), &st); err == nil {
			setTimes(filepath.Join(dst, dirs[i]), &st)
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// copyMeta gives dst src's owner, mode, extended attributes and times.
func copyMeta(src, dst string, st *unix.Stat_t, isDir bool) error {
	if err := unix.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil && os.Geteuid() == 0 {
		return err
	}
	isLink := st.Mode&unix.S_IFMT == unix.S_IFLNK
	if !isLink {
		if err := unix.Chmod(dst, st.Mode&0o7777); err != nil {
			return err
		}
	}
	attrs, err := listXattrs(src)
	if err != nil {
		return err
	}
	for name, value := range attrs {
		if err := unix.Lsetxattr(dst, name, value, 0); err != nil {
			return fmt.Errorf("setting xattr %s on %s: %w", name, dst, err)
		}
	}
	if !isDir {
		return setTimes(dst, st)
	}
	return nil
}

func setTimes(path string, st *unix.Stat_t) error {
	ts := []unix.Timespec{st.Atim, st.Mtim}
	return unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// listXattrs reads every extended attribute of path (not following a
// symlink).
func listXattrs(path string) (map[string][]byte, error) {
	size, err := unix.Llistxattr(path, nil)
	if err != nil || size == 0 {
		if err == unix.ENOTSUP {
			err = nil
		}
		return nil, err
	}
	buf := make([]byte, size)
	size, err = unix.Llistxattr(path, buf)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, name := range splitNul(buf[:size]) {
		v := make([]byte, 256)
		n, err := unix.Lgetxattr(path, name, v)
		if err == unix.ERANGE {
			n, err = unix.Lgetxattr(path, name, nil)
			if err == nil {
				v = make([]byte, n)
				n, err = unix.Lgetxattr(path, name, v)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("reading xattr %s of %s: %w", name, path, err)
		}
		out[name] = v[:n]
	}
	return out, nil
}

func splitNul(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == 0 {
			if i > start {
				out = append(out, string(b[start:i]))
			}
			start = i + 1
		}
	}
	return out
}
