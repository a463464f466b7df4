package engine

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// CopyRoot is a directory tree cp reads from and writes to, every path in
// it resolved as if its root were "/": a container's root filesystem
// (cp_linux.go opens one), or the host's own "/" (HostRoot), where that
// is plain path resolution. The same code serves both sides of a copy;
// only the root differs.
//
// Nothing is ever looked up by a path the kernel resolves from the host's
// "/": the root is an open descriptor, paths are resolved under it with
// openat2(2)'s RESOLVE_IN_ROOT (or, where the kernel lacks it, walkInRoot
// one openat(2) at a time), and every file is then reached from its
// parent's descriptor with O_NOFOLLOW or AT_SYMLINK_NOFOLLOW. A symbolic
// link in a container, absolute or full of "..", resolves inside the
// container, as it would for a process chroot'ed there, even if the
// container swaps directories for links while the copy runs.
type CopyRoot struct {
	fd int
	// guard refuses the kernel's own filesystems (a running container's
	// /proc, /sys, cgroups...): writing there would write to the host's
	// kernel, and docker cp does not copy them either.
	guard   bool
	release func() // what else Close lets go (a container's lock, its view)
	once    sync.Once
}

// ExtractOptions say how Extract writes an archive's entries.
type ExtractOptions struct {
	// KeepOwners gives every entry the archive's uid and gid (cp -a).
	// Otherwise entries belong to Owner, or, when Owner is nil, to
	// whoever runs the copy (docker cp's files on the host).
	KeepOwners bool
	Owner      *Owner
	// OverwriteDirWithFile lets an entry replace a directory with a file
	// or a file with a directory; otherwise that is an error.
	OverwriteDirWithFile bool
}

// Owner is a numeric owner.
type Owner struct{ UID, GID int }

// HostRoot is the host's "/", for the client's half of a copy.
func HostRoot() (*CopyRoot, error) {
	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("engine: opening /: %w", err)
	}
	return &CopyRoot{fd: fd}, nil
}

// Close lets the root go.
func (r *CopyRoot) Close() error {
	r.once.Do(func() {
		unix.Close(r.fd)
		if r.release != nil {
			r.release()
		}
	})
	return nil
}

// Sub opens dir, a directory of r, as a root of its own: paths in it
// resolve as if dir were "/". The client unpacks what comes out of a
// container in a Sub of its destination, so that no link among the copied
// files can lead the entries after it out of the destination.
func (r *CopyRoot) Sub(dir string) (*CopyRoot, error) {
	fd, err := r.open(path.Clean("/"+dir), false)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: %s is not a directory", ErrInvalid, dir)
	}
	return &CopyRoot{fd: fd, guard: r.guard}, nil
}

// useOpenat2 is false in tests that exercise the fallback walk.
var useOpenat2 = true

// errNoOpenat2 means the kernel (or a seccomp filter) refuses openat2(2).
var errNoOpenat2 = errors.New("openat2 unavailable")

// open resolves p inside the root, following every link, and returns an
// O_PATH descriptor of what it names. With mkdir, missing directories are
// created on the way, inside the root too.
func (r *CopyRoot) open(p string, mkdir bool) (int, error) {
	if useOpenat2 {
		fd, err := openInRoot(r.fd, p)
		switch {
		case err == nil:
			return fd, nil
		case errors.Is(err, errNoOpenat2), mkdir && errors.Is(err, fs.ErrNotExist):
			// The walk does the same, one component at a time, and can
			// create what is missing.
		default:
			return -1, err
		}
	}
	fd, _, err := walkInRoot[int](fdLookup{}, r.fd, p, walkOptions{followLast: true, mkdir: mkdir})
	if err != nil {
		return -1, fmt.Errorf("resolving %s: %w", p, err)
	}
	return fd, nil
}

// openInRoot is openat2(2) with RESOLVE_IN_ROOT: the kernel resolves p as
// if root were the process's root directory, ".." stopping at it and
// absolute links starting from it. RESOLVE_NO_MAGICLINKS refuses
// /proc/PID/root-style links, which would jump anywhere.
func openInRoot(root int, p string) (int, error) {
	if p == "" {
		p = "/"
	}
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	for range 32 {
		fd, err := unix.Openat2(root, p, &how)
		switch err {
		case nil:
			return fd, nil
		case unix.EAGAIN:
			// A rename or a mount raced the lookup; the kernel refuses
			// to guess and asks for another try.
			continue
		case unix.ENOSYS, unix.E2BIG, unix.EPERM:
			// Before Linux 5.6, or under a seccomp filter.
			return -1, errNoOpenat2
		}
		return -1, &fs.PathError{Op: "openat2", Path: p, Err: err}
	}
	return -1, errNoOpenat2
}

// fdLookup is walkInRoot's filesystem: O_PATH descriptors, each name
// opened from its parent's with O_NOFOLLOW.
type fdLookup struct{}

func (fdLookup) lookup(dir int, name string) (int, string, bool, error) {
	fd, err := unix.Openat(dir, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "", false, &fs.PathError{Op: "openat", Path: name, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, "", false, &fs.PathError{Op: "fstat", Path: name, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return fd, "", false, nil
	}
	// An O_PATH descriptor of a link reads its target with an empty path.
	target, err := readlinkat(fd, "")
	if err != nil {
		unix.Close(fd)
		return -1, "", false, &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return fd, target, true, nil
}

func (fdLookup) mkdir(dir int, name string) error {
	if err := unix.Mkdirat(dir, name, 0o755); err != nil {
		return &fs.PathError{Op: "mkdir", Path: name, Err: err}
	}
	return nil
}

func (fdLookup) dup(h int) (int, error) { return unix.FcntlInt(uintptr(h), unix.F_DUPFD_CLOEXEC, 0) }

func (fdLookup) release(h int) {
	if h >= 0 {
		unix.Close(h)
	}
}

func readlinkat(dir int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dir, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// kernelFS names the filesystem of fd if it is one of the kernel's own
// (proc, sysfs, cgroup...): "" otherwise.
func kernelFS(fd int) string {
	var s unix.Statfs_t
	if unix.Fstatfs(fd, &s) != nil {
		return ""
	}
	switch s.Type {
	case unix.PROC_SUPER_MAGIC:
		return "proc"
	case unix.SYSFS_MAGIC:
		return "sysfs"
	case unix.CGROUP_SUPER_MAGIC, unix.CGROUP2_SUPER_MAGIC:
		return "cgroup"
	case unix.DEVPTS_SUPER_MAGIC:
		return "devpts"
	case unix.SECURITYFS_MAGIC, unix.SELINUX_MAGIC, unix.SMACK_MAGIC:
		return "securityfs"
	case unix.DEBUGFS_MAGIC, unix.TRACEFS_MAGIC:
		return "debugfs"
	case unix.BPF_FS_MAGIC, unix.PSTOREFS_MAGIC, unix.EFIVARFS_MAGIC, unix.BINFMTFS_MAGIC, unix.NSFS_MAGIC:
		return "a kernel filesystem"
	case 0x19800202: // MQUEUE_MAGIC
		return "mqueue"
	}
	return ""
}

// guarded refuses fd if it is on a kernel filesystem and the root guards.
func (r *CopyRoot) guarded(fd int, p string) error {
	if !r.guard {
		return nil
	}
	if name := kernelFS(fd); name != "" {
		return fmt.Errorf("%w: %s is on %s, the kernel's own filesystem: cp copies files, not kernel state (read it with `berth exec CONTAINER cat`)", ErrInvalid, p, name)
	}
	return nil
}

// Stat describes p, as docker cp reads it (splitCopyPath): a link at the
// end is described, not followed, and its target resolved in the root.
func (r *CopyRoot) Stat(p string) (PathStat, error) {
	sp := splitCopyPath(p)
	dir, err := r.open(sp.Dir, false)
	if err != nil {
		return PathStat{}, err
	}
	defer unix.Close(dir)
	return r.statAt(dir, sp, p)
}

// statAt is Stat of sp.Base in the directory dir, already resolved.
func (r *CopyRoot) statAt(dir int, sp copyPath, p string) (PathStat, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(dir, sp.Base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return PathStat{}, &fs.PathError{Op: "lstat", Path: p, Err: err}
	}
	ps := PathStat{Name: sp.Title, Size: st.Size, Mode: fileMode(st.Mode), Mtime: time.Unix(st.Mtim.Unix())}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		_, names, err := walkInRoot[int](fdLookup{}, r.fd, path.Join(sp.Dir, sp.Base), walkOptions{followLast: true, lenient: true})
		if err != nil {
			return ps, fmt.Errorf("resolving the link %s: %w", p, err)
		}
		ps.LinkTarget = "/" + strings.Join(names, "/")
	}
	return ps, nil
}

// fileMode turns a stat(2) mode into Go's, as os.Lstat does.
func fileMode(m uint32) os.FileMode {
	mode := os.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= os.ModeDir
	case unix.S_IFLNK:
		mode |= os.ModeSymlink
	case unix.S_IFCHR:
		mode |= os.ModeDevice | os.ModeCharDevice
	case unix.S_IFBLK:
		mode |= os.ModeDevice
	case unix.S_IFIFO:
		mode |= os.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= os.ModeSocket
	}
	if m&unix.S_ISUID != 0 {
		mode |= os.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		mode |= os.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= os.ModeSticky
	}
	return mode
}

// Archive writes p as a tar stream, read from the returned reader: the
// entry itself (a link as a link) named ArchiveName(p), and, for a
// directory, everything under it. Close the reader to stop early.
func (r *CopyRoot) Archive(p string) (io.ReadCloser, PathStat, error) {
	sp := splitCopyPath(p)
	dir, err := r.open(sp.Dir, false)
	if err != nil {
		return nil, PathStat{}, err
	}
	st, err := r.statAt(dir, sp, p)
	if err == nil {
		err = r.guarded(dir, sp.Dir)
	}
	if err != nil {
		unix.Close(dir)
		return nil, st, err
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer unix.Close(dir)
		tw := &treeWriter{tw: tar.NewWriter(pw), guard: r.guard, links: map[[2]uint64]string{}, buf: make([]byte, 1<<20)}
		err := tw.add(dir, sp.Base, sp.Name)
		if err == nil {
			err = tw.tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return &archiveReader{PipeReader: pr, done: done}, st, nil
}

// archiveReader is an archive being written: Close stops the writer and
// waits for it, so its descriptors are closed when Close returns.
type archiveReader struct {
	*io.PipeReader
	done chan struct{}
}

func (a *archiveReader) Close() error {
	a.PipeReader.CloseWithError(errors.New("engine: the archive's reader closed"))
	<-a.done
	return nil
}

// treeWriter writes entries from descriptors: each name is opened from
// its parent directory's descriptor, never following a link, and checked
// to be what stat said it was.
type treeWriter struct {
	tw    *tar.Writer
	guard bool
	links map[[2]uint64]string // (device, inode) -> first name, for hard links
	buf   []byte
}

// add writes name, an entry of the directory dir, as arc, and what is
// under it.
func (w *treeWriter) add(dir int, name, arc string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "lstat", Path: arc, Err: err}
	}
	hdr := &tar.Header{
		Name: arc, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
		ModTime: time.Unix(st.Mtim.Unix()), Format: tar.FormatPAX,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return w.dir(dir, name, arc, hdr)
	case unix.S_IFREG:
		return w.file(dir, name, hdr, &st)
	case unix.S_IFLNK:
		target, err := readlinkat(dir, name)
		if err != nil {
			return &fs.PathError{Op: "readlink", Path: arc, Err: err}
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	default:
		return nil // a socket: tar has no entry for it, and it means nothing copied
	}
	return w.tw.WriteHeader(hdr)
}

func (w *treeWriter) file(dir int, name string, hdr *tar.Header, st *unix.Stat_t) error {
	hdr.Typeflag = tar.TypeReg
	if st.Nlink > 1 {
		key := [2]uint64{st.Dev, st.Ino}
		if first, ok := w.links[key]; ok {
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
			return w.tw.WriteHeader(hdr)
		}
		w.links[key] = hdr.Name
	}
	// O_NONBLOCK: should a fifo have taken the file's place, opening it
	// must not wait for a writer.
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: hdr.Name, Err: err}
	}
	f := os.NewFile(uintptr(fd), hdr.Name)
	defer f.Close()
	var now unix.Stat_t
	if err := unix.Fstat(fd, &now); err != nil {
		return &fs.PathError{Op: "fstat", Path: hdr.Name, Err: err}
	}
	if now.Dev != st.Dev || now.Ino != st.Ino || now.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%s changed while it was being copied", hdr.Name)
	}
	hdr.Size = now.Size
	if err := addXattrs(fd, hdr); err != nil {
		return err
	}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.CopyBuffer(onlyWriter{w.tw}, io.LimitReader(onlyReader{f}, hdr.Size), w.buf)
	if err != nil {
		return fmt.Errorf("reading %s: %w", hdr.Name, err)
	}
	// A file that shrank while it was read: the header promised its
	// size, so the rest is zeros, as tar(1) does.
	for n < hdr.Size {
		z := min(int64(len(w.buf)), hdr.Size-n)
		clear(w.buf[:z])
		m, err := w.tw.Write(w.buf[:z])
		if err != nil {
			return err
		}
		n += int64(m)
	}
	return nil
}

// onlyReader and onlyWriter hide ReadFrom and WriteTo, so io.CopyBuffer
// uses the buffer it is given.
type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }

func (w *treeWriter) dir(dir int, name, arc string, hdr *tar.Header) error {
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: arc, Err: err}
	}
	f := os.NewFile(uintptr(fd), arc)
	defer f.Close()
	hdr.Typeflag = tar.TypeDir
	if !strings.HasSuffix(hdr.Name, "/") {
		hdr.Name += "/"
	}
	if err := addXattrs(fd, hdr); err != nil {
		return err
	}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if w.guard && kernelFS(fd) != "" {
		return nil // the mount point goes, empty, as in docker's view
	}
	names, err := f.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("listing %s: %w", arc, err)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := w.add(fd, n, strings.TrimSuffix(arc, "/")+"/"+n); err != nil {
			return err
		}
	}
	return nil
}

// addXattrs records fd's extended attributes as SCHILY.xattr records,
// less overlayfs's trusted.overlay.* bookkeeping.
func addXattrs(fd int, hdr *tar.Header) error {
	size, err := unix.Flistxattr(fd, nil)
	if err != nil || size == 0 {
		if errors.Is(err, unix.ENOTSUP) {
			err = nil
		}
		return err
	}
	buf := make([]byte, size)
	if size, err = unix.Flistxattr(fd, buf); err != nil {
		return fmt.Errorf("listing the xattrs of %s: %w", hdr.Name, err)
	}
	for _, attr := range strings.Split(strings.TrimRight(string(buf[:size]), "\x00"), "\x00") {
		if attr == "" || strings.HasPrefix(attr, "trusted.overlay.") {
			continue
		}
		n, err := unix.Fgetxattr(fd, attr, nil)
		if err != nil {
			continue // gone meanwhile
		}
		v := make([]byte, n)
		if n, err = unix.Fgetxattr(fd, attr, v); err != nil {
			continue
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords["SCHILY.xattr."+attr] = string(v[:n])
	}
	return nil
}

// Extract unpacks the tar stream content in dir, a directory that must
// exist (docker's extraction point). Each entry's parent is resolved in
// the root (created if missing) and the entry made from its descriptor:
// a name that climbs out of dir with ".." is refused; a symbolic link on
// the way leads somewhere inside the root, never out of it.
func (r *CopyRoot) Extract(dir string, content io.Reader, opts ExtractOptions) error {
	dst := path.Clean("/" + dir)
	fd, err := r.open(dst, false)
	if err != nil {
		return err
	}
	var st unix.Stat_t
	err = unix.Fstat(fd, &st)
	if err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		err = fmt.Errorf("%w: %s is not a directory: an archive is unpacked in a directory", ErrInvalid, dir)
	}
	if err == nil {
		err = r.guarded(fd, dst)
	}
	unix.Close(fd)
	if err != nil {
		return err
	}
	x := &extractor{root: r, dir: dst, opts: opts, dirTimes: map[string]time.Time{}, buf: make([]byte, 1<<20)}
	tr := tar.NewReader(content)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, tar.ErrInsecurePath) {
			err = nil // judged by entryName, berth's rule
		}
		if err != nil {
			return fmt.Errorf("reading the archive: %w", err)
		}
		if err := x.entry(hdr, tr); err != nil {
			return fmt.Errorf("unpacking %q: %w", hdr.Name, err)
		}
	}
	return x.setDirTimes()
}

// extractor unpacks one archive in one directory of a root.
type extractor struct {
	root     *CopyRoot
	dir      string // where, in the root
	opts     ExtractOptions
	dirTimes map[string]time.Time // directory mtimes, set once their contents are in
	buf      []byte
}

// entryName cleans an archive entry's name into a path relative to the
// extraction directory, refusing one that climbs out of it.
func entryName(name string) (string, error) {
	if strings.Contains(name, "\x00") {
		return "", errors.New("a NUL byte in the name")
	}
	p := path.Clean(name)
	if path.IsAbs(p) {
		p = path.Clean(p[1:]) // "/etc/x" is "etc/x", as tar(1) takes it
		if p == "" {
			p = "."
		}
	}
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("%q climbs out of the destination", name)
	}
	return p, nil
}

func (x *extractor) owner(hdr *tar.Header) (int, int, bool) {
	switch {
	case x.opts.KeepOwners:
		return hdr.Uid, hdr.Gid, true
	case x.opts.Owner != nil:
		return x.opts.Owner.UID, x.opts.Owner.GID, true
	}
	return 0, 0, false
}

// parent opens, creating it if needed, the directory rel of the
// extraction directory.
func (x *extractor) parent(rel string) (int, error) {
	p := path.Join(x.dir, rel)
	fd, err := x.root.open(p, true)
	if err != nil {
		return -1, err
	}
	// Checked on the descriptor every time: the container may have
	// swapped a directory checked before for a link into /proc.
	if err := x.root.guarded(fd, p); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func (x *extractor) entry(hdr *tar.Header, body io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		return nil // PAX defaults, already applied by the reader
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
	default:
		return fmt.Errorf("unsupported entry type %q", hdr.Typeflag)
	}
	name, err := entryName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "." {
		// The extraction directory itself (an archive of DIR/.): it
		// exists, and keeps its own owner, mode and times, as docker's.
		if hdr.Typeflag != tar.TypeDir {
			return errors.New("the archive's top entry \".\" must be a directory")
		}
		return nil
	}
	base := path.Base(name)
	parent, err := x.parent(path.Dir(name))
	if err != nil {
		return err
	}
	defer unix.Close(parent)

	// What is in the way: a directory stays a directory; anything else is
	// replaced, but a directory is never replaced by a file, nor a file
	// by a directory, unless allowed (docker's noOverwriteDirNonDir).
	var st unix.Stat_t
	if err := unix.Fstatat(parent, base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
		isDir, wantDir := st.Mode&unix.S_IFMT == unix.S_IFDIR, hdr.Typeflag == tar.TypeDir
		switch {
		case isDir && wantDir:
		case isDir != wantDir && !x.opts.OverwriteDirWithFile:
			if isDir {
				return fmt.Errorf("%w: cannot overwrite directory %s with a non-directory", ErrConflict, path.Join(x.dir, name))
			}
			return fmt.Errorf("%w: cannot overwrite non-directory %s with a directory", ErrConflict, path.Join(x.dir, name))
		default:
			if err := removeAt(parent, base); err != nil {
				return err
			}
		}
	}

	uid, gid, chown := x.owner(hdr)
	mode := uint32(hdr.Mode & 0o7777)
	switch hdr.Typeflag {
	case tar.TypeReg:
		return x.regular(parent, base, hdr, body)
	case tar.TypeDir:
		if err := unix.Mkdirat(parent, base, 0o700); err != nil && err != unix.EEXIST {
			return &fs.PathError{Op: "mkdir", Path: hdr.Name, Err: err}
		}
		fd, err := unix.Openat(parent, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return &fs.PathError{Op: "open", Path: hdr.Name, Err: err}
		}
		defer unix.Close(fd)
		if err := fdMeta(fd, hdr, uid, gid, chown); err != nil {
			return err
		}
		x.dirTimes[name] = hdr.ModTime
		return nil
	case tar.TypeSymlink:
		// The target is stored as written: it means something only in
		// the root it lands in, where following it stays inside.
		if err := unix.Symlinkat(hdr.Linkname, parent, base); err != nil {
			return &fs.PathError{Op: "symlink", Path: hdr.Name, Err: err}
		}
		if chown {
			if err := unix.Fchownat(parent, base, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return &fs.PathError{Op: "lchown", Path: hdr.Name, Err: err}
			}
		}
		return setTimes(parent, base, hdr.ModTime)
	case tar.TypeLink:
		target, err := entryName(hdr.Linkname)
		if err != nil {
			return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
		}
		tdir, err := x.root.open(path.Join(x.dir, path.Dir(target)), false)
		if err != nil {
			return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
		}
		defer unix.Close(tdir)
		// No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink.
		if err := unix.Linkat(tdir, path.Base(target), parent, base, 0); err != nil {
			return &fs.PathError{Op: "link", Path: hdr.Name, Err: err}
		}
		return nil // a hard link shares its target's metadata
	}
	// A device or a fifo.
	kind := uint32(unix.S_IFIFO)
	switch hdr.Typeflag {
	case tar.TypeChar:
		kind = unix.S_IFCHR
	case tar.TypeBlock:
		kind = unix.S_IFBLK
	}
	dev := int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
	if err := unix.Mknodat(parent, base, kind|mode, dev); err != nil {
		return &fs.PathError{Op: "mknod", Path: hdr.Name, Err: err}
	}
	if chown {
		if err := unix.Fchownat(parent, base, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &fs.PathError{Op: "lchown", Path: hdr.Name, Err: err}
		}
	}
	// mknod's mode went through the umask; chmod(2) would follow a link
	// swapped in meanwhile, so the node is reached by an O_PATH
	// descriptor, through /proc/self/fd, which names that inode only.
	node, err := unix.Openat(parent, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: hdr.Name, Err: err}
	}
	defer unix.Close(node)
	var nst unix.Stat_t
	if err := unix.Fstat(node, &nst); err != nil || nst.Mode&unix.S_IFMT != kind {
		return fmt.Errorf("%s changed while it was being made", hdr.Name)
	}
	if err := unix.Chmod(fmt.Sprintf("/proc/self/fd/%d", node), mode); err != nil {
		return &fs.PathError{Op: "chmod", Path: hdr.Name, Err: err}
	}
	return setTimes(parent, base, hdr.ModTime)
}

// regular writes a file through the descriptor that created it: O_EXCL
// never follows a link, and ownership, mode, attributes and time are set
// on that same descriptor.
func (x *extractor) regular(parent int, base string, hdr *tar.Header, body io.Reader) error {
	fd, err := unix.Openat(parent, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return &fs.PathError{Op: "create", Path: hdr.Name, Err: err}
	}
	f := os.NewFile(uintptr(fd), hdr.Name)
	defer f.Close()
	if _, err := io.CopyBuffer(onlyWriter{f}, onlyReader{body}, x.buf); err != nil {
		return fmt.Errorf("writing %s: %w", hdr.Name, err)
	}
	uid, gid, chown := x.owner(hdr)
	if err := fdMeta(fd, hdr, uid, gid, chown); err != nil {
		return err
	}
	return setTimes(parent, base, hdr.ModTime)
}

// fdMeta sets owner (then mode: chown clears setuid and setgid) and
// extended attributes through an open descriptor.
func fdMeta(fd int, hdr *tar.Header, uid, gid int, chown bool) error {
	if chown {
		if err := unix.Fchown(fd, uid, gid); err != nil {
			return &fs.PathError{Op: "chown", Path: hdr.Name, Err: err}
		}
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
		return &fs.PathError{Op: "chmod", Path: hdr.Name, Err: err}
	}
	for k, v := range hdr.PAXRecords {
		attr, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		// overlayfs's own attributes steer its lookups: never from an archive.
		if !ok || strings.HasPrefix(attr, "trusted.overlay.") {
			continue
		}
		if err := unix.Fsetxattr(fd, attr, []byte(v), 0); err != nil && err != unix.ENOTSUP {
			return fmt.Errorf("setting xattr %s on %s: %w", attr, hdr.Name, err)
		}
	}
	return nil
}

// setTimes sets name's times, not following it.
func setTimes(dir int, name string, mtime time.Time) error {
	ts := unix.NsecToTimespec(mtime.UnixNano())
	if err := unix.UtimesNanoAt(dir, name, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "utimes", Path: name, Err: err}
	}
	return nil
}

// setDirTimes dates the directories last, deepest first: writing their
// contents moved their times.
func (x *extractor) setDirTimes() error {
	names := make([]string, 0, len(x.dirTimes))
	for n := range x.dirTimes {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return strings.Count(names[i], "/") > strings.Count(names[j], "/") })
	for _, n := range names {
		fd, err := x.root.open(path.Join(x.dir, n), false)
		if err != nil {
			return err
		}
		err = setTimes(fd, ".", x.dirTimes[n])
		unix.Close(fd)
		if err != nil {
			return err
		}
	}
	return nil
}

// removeAt removes name in dir and, for a directory, what it holds,
// reaching everything from descriptors.
func removeAt(dir int, name string) error {
	err := unix.Unlinkat(dir, name, 0)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EISDIR && err != unix.EPERM {
		return &fs.PathError{Op: "unlink", Path: name, Err: err}
	}
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(fd), name)
	if fsName := kernelFS(fd); fsName != "" {
		f.Close()
		return fmt.Errorf("%w: not removing %s: it is on %s, the kernel's own filesystem", ErrInvalid, name, fsName)
	}
	names, err := f.Readdirnames(-1)
	if err == nil {
		for _, n := range names {
			if err = removeAt(fd, n); err != nil {
				break
			}
		}
	}
	f.Close()
	if err != nil {
		return err
	}
	if err := unix.Unlinkat(dir, name, unix.AT_REMOVEDIR); err != nil && err != unix.ENOENT {
		return &fs.PathError{Op: "rmdir", Path: name, Err: err}
	}
	return nil
}
