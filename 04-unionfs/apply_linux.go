package unionfs

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// whiteoutMode says what a whiteout entry becomes.
type whiteoutMode int

const (
	// asOverlay records whiteouts the way overlayfs reads them: a 0/0
	// character device for a deleted entry, the opaque xattr on a directory.
	asOverlay whiteoutMode = iota
	// byDeletion applies them: the entry below is removed (copy snapshotter).
	byDeletion
)

// unpackNew applies the tarball r to a fresh directory dir. It works in a
// sibling temporary directory, started from a copy of base (if any), and
// renames it to dir only once the whole archive is in: a truncated or
// hostile archive leaves nothing that could be mistaken for a layer.
func unpackNew(r io.Reader, dir, base string, mode whiteoutMode) (retErr error) {
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("unionfs: unpacking into %s: it already exists", dir)
	}
	// The store's directory may be new; the layer itself appears only once
	// it is complete.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("unionfs: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".partial-")
	if err != nil {
		return fmt.Errorf("unionfs: %w", err)
	}
	defer func() {
		if retErr != nil {
			os.RemoveAll(tmp)
		}
	}()
	if base != "" {
		if err := copyTree(base, tmp); err != nil {
			return err
		}
	} else if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := apply(r, tmp, mode); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// unpacker applies one archive to one directory.
type unpacker struct {
	root    *os.Root
	dir     string
	mode    whiteoutMode
	written map[string]bool      // entries this archive made (for opaque dirs)
	dirs    map[string]time.Time // directory mtimes, set last
	made    map[string]bool      // directories known to exist
	fresh   bool                 // dir started empty: only this archive's entries are in the way
	euid    int
	buf     []byte
}

// apply unpacks the tarball r into dir. Every path is resolved inside dir
// through os.Root, which walks it one component at a time and refuses any
// step out of dir (a "..", an absolute symlink, a symlink climbing out), so
// no entry, symlink or hard link can reach outside it, whatever the
// archive holds.
func apply(r io.Reader, dir string, mode whiteoutMode) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("unionfs: %w", err)
	}
	defer root.Close()
	u := &unpacker{root: root, dir: dir, mode: mode, written: map[string]bool{}, dirs: map[string]time.Time{},
		made: map[string]bool{".": true}, fresh: mode == asOverlay, euid: os.Geteuid(), buf: make([]byte, 1<<20)}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("unionfs: reading the layer: %w (truncated or corrupt archive)", err)
		}
		if err := u.entry(hdr, tr); err != nil {
			return fmt.Errorf("unionfs: entry %q: %w", hdr.Name, err)
		}
	}
	// Directory times last: creating their contents moved them.
	for name, mtime := range u.dirs {
		u.times(name, mtime, true)
	}
	return nil
}

func (u *unpacker) entry(hdr *tar.Header, body io.Reader) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	dir, base := path.Split(name)
	dir = path.Clean("./" + dir)
	switch {
	case base == OpaqueMarker:
		return u.opaque(dir)
	case strings.HasPrefix(base, WhiteoutPrefix):
		target := strings.TrimPrefix(base, WhiteoutPrefix)
		if target == "" || target == "." || target == ".." {
			return errors.New("a whiteout must name an entry")
		}
		return u.whiteout(dir, target)
	case name == ".":
		if hdr.Typeflag == tar.TypeDir {
			return u.meta(".", hdr)
		}
		return errors.New("the layer's root must be a directory")
	}
	if !u.made[dir] {
		if err := u.root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		u.made[dir] = true
	}
	// Whatever is in the way goes, except a directory that stays one. In a
	// fresh layer only this archive's own entries can be in the way.
	if !u.fresh || u.written[name] || u.made[name] {
		if fi, err := u.root.Lstat(name); err == nil && !(fi.IsDir() && hdr.Typeflag == tar.TypeDir) {
			if err := u.root.RemoveAll(name); err != nil {
				return err
			}
			delete(u.made, name)
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := u.root.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		u.made[name] = true
	case tar.TypeReg, tar.TypeRegA:
		u.written[name] = true
		return u.regular(name, hdr, body)
	case tar.TypeSymlink:
		// The target is stored as it is: a symlink may point anywhere, and
		// it is following it out that os.Root refuses.
		if err := u.root.Symlink(hdr.Linkname, name); err != nil {
			return err
		}
	case tar.TypeLink:
		old, err := cleanName(hdr.Linkname)
		if err != nil {
			return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
		}
		if err := u.root.Link(old, name); err != nil {
			return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
		}
		u.written[name] = true
		return nil // a hard link shares its target's metadata
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if err := u.mknod(name, hdr); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unsupported entry type %q", hdr.Typeflag)
	}
	u.written[name] = true
	return u.meta(name, hdr)
}

// regular writes a file's contents and sets its metadata through the open
// descriptor: one path resolution per file, whatever it carries.
func (u *unpacker) regular(name string, hdr *tar.Header, body io.Reader) (retErr error) {
	f, err := u.root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err := f.Close(); retErr == nil {
			retErr = err
		}
	}()
	if _, err := io.CopyBuffer(onlyWriter{f}, onlyReader{body}, u.buf); err != nil {
		return err
	}
	fd := int(f.Fd())
	if u.euid == 0 {
		if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
			return err
		}
	}
	// After chown: changing the owner clears setuid and setgid.
	if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
		return err
	}
	for k, v := range hdr.PAXRecords {
		if attr, ok := layerXattr(k); ok {
			if err := unix.Fsetxattr(fd, attr, []byte(v), 0); err != nil {
				return fmt.Errorf("setting xattr %s: %w", attr, err)
			}
		}
	}
	t := unix.NsecToTimeval(hdr.ModTime.UnixNano())
	return unix.Futimes(fd, []unix.Timeval{t, t})
}

// onlyReader and onlyWriter hide the other methods of the tar reader and
// the file (*os.File's ReadFrom would copy 32 KiB at a time) so that
// io.CopyBuffer uses the 1 MiB buffer it is given: fewer, larger writes.
type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }

// layerXattr says which extended attribute a tar record sets, if any.
// overlayfs's own trusted.overlay.* attributes are never taken from an
// archive: a layer says "opaque" with .wh..wh..opq, and an attribute such
// as trusted.overlay.redirect would let a layer steer overlayfs's lookups.
func layerXattr(record string) (string, bool) {
	attr, ok := strings.CutPrefix(record, "SCHILY.xattr.")
	if !ok || strings.HasPrefix(attr, "trusted.overlay.") {
		return "", false
	}
	return attr, true
}

// meta sets ownership, mode, extended attributes and times.
func (u *unpacker) meta(name string, hdr *tar.Header) error {
	isLink := hdr.Typeflag == tar.TypeSymlink
	if u.euid == 0 {
		if err := u.root.Lchown(name, hdr.Uid, hdr.Gid); err != nil {
			return err
		}
	}
	if !isLink {
		// After chown: changing the owner clears setuid and setgid.
		if err := u.root.Chmod(name, hdr.FileInfo().Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return err
		}
		if err := u.xattrs(name, hdr); err != nil {
			return err
		}
	}
	if hdr.Typeflag == tar.TypeDir {
		u.dirs[name] = hdr.ModTime
		return nil
	}
	return u.times(name, hdr.ModTime, false)
}

// parent opens the directory holding name, inside the root, for the *at
// system calls os.Root does not offer.
func (u *unpacker) parent(name string) (*os.File, string, error) {
	dir, base := path.Split(name)
	f, err := u.root.Open(path.Clean("./" + dir))
	return f, base, err
}

func (u *unpacker) mknod(name string, hdr *tar.Header) error {
	mode := uint32(hdr.Mode & 0o7777)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode |= unix.S_IFCHR
	case tar.TypeBlock:
		mode |= unix.S_IFBLK
	default:
		mode |= unix.S_IFIFO
	}
	d, base, err := u.parent(name)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Mknodat(int(d.Fd()), base, mode, int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))))
}

// xattrs sets the extended attributes tar carries as SCHILY.xattr records.
func (u *unpacker) xattrs(name string, hdr *tar.Header) error {
	var f *os.File
	for k, v := range hdr.PAXRecords {
		attr, ok := layerXattr(k)
		if !ok {
			continue
		}
		if f == nil {
			var err error
			if f, err = u.root.Open(name); err != nil {
				return err
			}
			defer f.Close()
		}
		if err := unix.Fsetxattr(int(f.Fd()), attr, []byte(v), 0); err != nil {
			return fmt.Errorf("setting xattr %s: %w", attr, err)
		}
	}
	return nil
}

func (u *unpacker) times(name string, mtime time.Time, isDir bool) error {
	d, base, err := u.parent(name)
	if err != nil {
		return err
	}
	defer d.Close()
	if base == "" {
		base = "."
	}
	ts := []unix.Timespec{unix.NsecToTimespec(mtime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	return unix.UtimesNanoAt(int(d.Fd()), base, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// whiteout records or applies the deletion of dir/name. A whiteout hides
// only what the layers below hold: an entry of the same archive stays (the
// OCI layer format says so), whichever comes first.
func (u *unpacker) whiteout(dir, name string) error {
	target := path.Join(dir, name)
	if u.written[target] {
		return nil
	}
	// Recorded as this archive's, so that an entry of the same name later
	// in the archive replaces the whiteout instead of failing on it.
	u.written[target] = true
	if u.mode == byDeletion {
		return u.root.RemoveAll(target)
	}
	if err := u.root.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	d, base, err := u.parent(target)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Mknodat(int(d.Fd()), base, unix.S_IFCHR, 0) // 0/0: overlayfs's whiteout
}

// opaque hides everything the lower layers have in dir.
func (u *unpacker) opaque(dir string) error {
	if err := u.root.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if u.mode == byDeletion {
		entries, err := fs.ReadDir(u.root.FS(), dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			child := path.Join(dir, e.Name())
			if !u.written[child] {
				if err := u.root.RemoveAll(child); err != nil {
					return err
				}
			}
		}
		return nil
	}
	f, err := u.root.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Fsetxattr(int(f.Fd()), OpaqueXattr, []byte("y"), 0)
}
