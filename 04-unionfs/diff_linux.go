package unionfs

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// layerWriter writes layer tarball entries from files on disk.
type layerWriter struct {
	tw    *tar.Writer
	links map[[2]uint64]string // (dev, inode) -> first name, for hard links
}

func newLayerWriter(w io.Writer) *layerWriter {
	return &layerWriter{tw: tar.NewWriter(w), links: map[[2]uint64]string{}}
}

// file writes the entry for the file at abs, named name in the layer.
// Everything that can find the file gone is done before the header is
// written, so that a file which vanished (skipVanished) leaves nothing
// half-written behind it.
func (lw *layerWriter) file(abs, name string) error {
	var st unix.Stat_t
	if err := unix.Lstat(abs, &st); err != nil {
		return err
	}
	fi, err := os.Lstat(abs)
	if err != nil {
		return err
	}
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(abs); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name = name
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
	hdr.Uname, hdr.Gname = "", "" // numeric ids only: the host's names mean nothing in an image
	hdr.ModTime = time.Unix(st.Mtim.Unix()).UTC()
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	hdr.Format = tar.FormatPAX
	attrs, err := listXattrs(abs)
	if err != nil {
		return err
	}
	for k, v := range attrs {
		if strings.HasPrefix(k, "trusted.overlay.") {
			continue // overlayfs's bookkeeping, not the file's
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords["SCHILY.xattr."+k] = string(v)
	}
	key := [2]uint64{st.Dev, st.Ino}
	linked := fi.Mode().IsRegular() && st.Nlink > 1
	if first, ok := lw.links[key]; linked && ok {
		hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
		return lw.tw.WriteHeader(hdr)
	}
	var f *os.File
	if fi.Mode().IsRegular() {
		// Opened before the header: once open, the content can be read
		// whatever happens to the name.
		if f, err = os.Open(abs); err != nil {
			return err
		}
		defer f.Close()
	}
	if linked {
		lw.links[key] = name // only once its entry is sure to be written
	}
	if err := lw.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if f != nil {
		// Exactly the size the header announced: a file that a running
		// container appends to while it is read (a commit without
		// --pause) must not overrun its entry, nor a file it truncates
		// leave it short. What was read is the file as of that moment.
		n, err := io.CopyN(lw.tw, f, hdr.Size)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if _, err := io.CopyN(lw.tw, zeros{}, hdr.Size-n); err != nil {
			return err
		}
	}
	return nil
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// marker writes an empty whiteout or opaque entry.
func (lw *layerWriter) marker(name string) error {
	return lw.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Format: tar.FormatPAX})
}

func (lw *layerWriter) close() error { return lw.tw.Close() }

// isWhiteout says whether st is overlayfs's whiteout: a 0/0 char device.
func isWhiteout(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0
}

func isOpaque(path string) bool {
	v := make([]byte, 1)
	n, err := unix.Lgetxattr(path, OpaqueXattr, v)
	return err == nil && n == 1 && v[0] == 'y'
}

// skipVanished lets a walk go on past a file that its directory listed
// and that is gone by the time it is read: a running container, committed
// without --pause or exported, removed or renamed it meanwhile. What is no
// longer there is not part of the layer (docker commit --pause=false
// leaves such files out too). The walk's root is another matter: its
// absence is an error, never an empty layer.
func skipVanished(root, p string, err error) error {
	if p != root && errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Tar writes the whole tree under dir as one layer tarball, in name order:
// a root filesystem made into a base layer, or a container's merged view
// exported (docker export). Hard links inside dir stay hard links.
func Tar(w io.Writer, dir string) error {
	lw := newLayerWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return skipVanished(dir, p, err)
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		return skipVanished(dir, p, lw.file(p, rel))
	})
	if err != nil {
		return fmt.Errorf("unionfs: tar of %s: %w", dir, err)
	}
	return lw.close()
}

// diffUpper writes an overlay upper directory as a layer: overlayfs's
// whiteouts and opaque directories become .wh. entries again.
func diffUpper(w io.Writer, upper string) error {
	lw := newLayerWriter(w)
	err := filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return skipVanished(upper, p, err)
		}
		rel, _ := filepath.Rel(upper, p)
		if rel == "." {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return skipVanished(upper, p, err)
		}
		if isWhiteout(&st) {
			dir, base := filepath.Split(rel)
			return lw.marker(dir + WhiteoutPrefix + base)
		}
		if err := lw.file(p, rel); err != nil {
			return skipVanished(upper, p, err)
		}
		if d.IsDir() && isOpaque(p) {
			return lw.marker(rel + "/" + OpaqueMarker)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("unionfs: diff of %s: %w", upper, err)
	}
	return lw.close()
}

// diffTrees writes what changed from lower to upper, two full trees, as a
// layer: the copy snapshotter's diff, found by comparing.
func diffTrees(w io.Writer, lower, upper string) error {
	type change struct {
		name     string
		whiteout bool
	}
	var changes []change
	err := filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(upper, p)
		if rel == "." {
			return nil
		}
		if !same(p, filepath.Join(lower, rel)) {
			changes = append(changes, change{name: rel})
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = filepath.WalkDir(lower, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(lower, p)
		if rel == "." {
			return nil
		}
		if _, err := os.Lstat(filepath.Join(upper, rel)); os.IsNotExist(err) {
			changes = append(changes, change{name: rel, whiteout: true})
			if d.IsDir() {
				return filepath.SkipDir // one whiteout hides the whole directory
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].name < changes[j].name })
	lw := newLayerWriter(w)
	for _, c := range changes {
		if c.whiteout {
			dir, base := filepath.Split(c.name)
			err = lw.marker(dir + WhiteoutPrefix + base)
		} else {
			err = lw.file(filepath.Join(upper, c.name), c.name)
		}
		if err != nil {
			return fmt.Errorf("unionfs: diff: %w", err)
		}
	}
	return lw.close()
}

// same says whether two paths hold the same entry, by what a layer keeps:
// type, mode, owner, size, modification time, link target, device and
// extended attributes. Like containerd's, it trusts size and mtime for
// contents.
func same(a, b string) bool {
	var sa, sb unix.Stat_t
	if unix.Lstat(a, &sa) != nil || unix.Lstat(b, &sb) != nil {
		return false
	}
	if sa.Mode != sb.Mode || sa.Uid != sb.Uid || sa.Gid != sb.Gid || sa.Rdev != sb.Rdev {
		return false
	}
	if sa.Mode&unix.S_IFMT == unix.S_IFDIR {
		return xattrsEqual(a, b) // a directory's contents are compared entry by entry
	}
	if sa.Size != sb.Size || sa.Mtim != sb.Mtim {
		return false
	}
	if sa.Mode&unix.S_IFMT == unix.S_IFLNK {
		la, _ := os.Readlink(a)
		lb, _ := os.Readlink(b)
		return la == lb
	}
	return xattrsEqual(a, b)
}

func xattrsEqual(a, b string) bool {
	xa, err1 := listXattrs(a)
	xb, err2 := listXattrs(b)
	if err1 != nil || err2 != nil || len(xa) != len(xb) {
		return false
	}
	for k, v := range xa {
		if string(xb[k]) != string(v) {
			return false
		}
	}
	return true
}
