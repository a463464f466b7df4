package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	chroot "berth/01-chroot"
)

// do makes one step's system calls.
// credsOnAllThreads says whether credential changes must reach every
// thread of this process. syscall's credential calls change them all, by
// stopping every thread in turn (slow: milliseconds); x/sys's change only
// the calling thread. That is enough for a process that execs next, from
// the thread that made the change: execve keeps that thread's credentials
// and ends the others. The tiny init stays a Go program, with threads that
// must not stay root: it sets this.
var credsOnAllThreads bool

func do(s Step) error {
	target := s.Path
	if s.Root != "" {
		// Inside the rootfs: resolve without leaving it, whatever links the
		// image holds.
		var err error
		if target, err = secureJoin(s.Root, s.Path); err != nil {
			return fmt.Errorf("resolving %s inside %s: %w", s.Path, s.Root, err)
		}
	}
	switch s.Op {
	case OpSetns:
		fd, err := unix.Open(s.Source, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("opening the namespace: %w", err)
		}
		defer unix.Close(fd)
		return unix.Setns(fd, int(s.Flags))
	case chroot.OpMount:
		flags := s.Flags
		if flags&(msBind|msRemount) == msBind|msRemount {
			flags |= lockedFlags(target)
		}
		source := s.Source
		if strings.HasPrefix(source, "/proc/self/fd/") {
			// The descriptor's mount belongs to the caller's mount
			// namespace, and the kernel binds only from this one
			// (EINVAL): bind the same path in our copy of the tree.
			var err error
			if source, err = os.Readlink(source); err != nil {
				return fmt.Errorf("finding the terminal on fd 0: %w", err)
			}
		}
		return mountError(unix.Mount(source, target, s.FSType, flags, s.Data), s)
	case OpMountpoint:
		return mountpoint(target, s.Source)
	case OpMkdirAll:
		if err := os.MkdirAll(target, os.FileMode(s.Mode)); err != nil {
			return fmt.Errorf("creating the working directory: %w", err)
		}
		return nil
	case chroot.OpMknod:
		return mknod(target, s)
	case chroot.OpSymlink:
		if err := unix.Symlink(s.Source, target); err != nil && !errors.Is(err, unix.EEXIST) {
			return err
		}
		return nil
	case chroot.OpChdir:
		return unix.Chdir(target)
	case chroot.OpPivotRoot:
		return unix.PivotRoot(target, s.Source)
	case chroot.OpUnmount:
		return unix.Unmount(target, int(s.Flags))
	case OpSysctl:
		return os.WriteFile("/proc/sys/"+strings.ReplaceAll(s.Path, ".", "/"), []byte(s.Data), 0)
	case OpMask:
		return mask(target)
	case OpReadonly:
		return readonly(target)
	case OpSethostname:
		return unix.Sethostname([]byte(s.Path))
	case OpSetdomainname:
		return unix.Setdomainname([]byte(s.Path))
	case OpLinkUp:
		return linkUp(s.Path)
	case OpSetsid:
		_, err := unix.Setsid()
		return err
	case OpSetctty:
		if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
			return fmt.Errorf("fd 0 must be a terminal (the pty slave) when process.terminal is true: %w", err)
		}
		return nil
	case OpWinsize:
		return unix.IoctlSetWinsize(0, unix.TIOCSWINSZ, &unix.Winsize{Row: s.Rows, Col: s.Cols})
	case OpSetrlimit:
		// syscall's Setrlimit, not x/sys's: it also stops the Go runtime
		// from restoring its own saved RLIMIT_NOFILE at execve.
		return syscall.Setrlimit(rlimits[s.Path], &syscall.Rlimit{Cur: s.Soft, Max: s.Hard})
	case OpOOMScoreAdj:
		return os.WriteFile("/proc/self/oom_score_adj", []byte(s.Data), 0)
	case OpUmask:
		unix.Umask(int(s.Mode))
		return nil
	case OpCapBsetDrop:
		for _, name := range s.Caps {
			n, err := capNumber(name)
			if err != nil {
				return err
			}
			// EINVAL: a capability this kernel does not have.
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(n), 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
				return fmt.Errorf("dropping %s: %w", name, err)
			}
		}
		return nil
	case OpKeepCaps:
		return unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0)
	case OpSetgroups:
		gids := make([]int, len(s.IDs))
		for i, g := range s.IDs {
			gids[i] = int(g)
		}
		if credsOnAllThreads {
			return syscall.Setgroups(gids)
		}
		return unix.Setgroups(gids)
	case OpSetgid:
		if credsOnAllThreads {
			return syscall.Setgid(int(s.GID))
		}
		return unix.Setgid(int(s.GID))
	case OpSetuid:
		if credsOnAllThreads {
			return syscall.Setuid(int(s.UID))
		}
		return unix.Setuid(int(s.UID))
	case OpCapset:
		return capset(s.Sets)
	case OpAmbient:
		for _, name := range s.Caps {
			n, err := capNumber(name)
			if err != nil {
				return err
			}
			if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(n), 0, 0); err != nil {
				return fmt.Errorf("raising ambient %s (it must be permitted and inheritable too): %w", name, err)
			}
		}
		return nil
	case OpNoNewPrivs:
		return unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
	}
	return fmt.Errorf("unknown step %q", s.Op)
}

// linkUp sets IFF_UP on the interface named name, through any socket of
// this network namespace: one ioctl, where netlink would need a socket,
// a request and its answer.
func linkUp(name string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("reading %s's flags: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// mountError adds what to check to a failed mount.
func mountError(err error, s Step) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOENT) && s.Flags&msBind != 0 && s.Source != "":
		return fmt.Errorf("bind source %s does not exist: %w", s.Source, err)
	case errors.Is(err, unix.ENODEV):
		return fmt.Errorf("the kernel has no %q filesystem: %w", s.FSType, err)
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("not permitted (the runtime must run as root): %w", err)
	}
	return err
}

// lockedFlags are the flags of the mount at path that a bind remount must
// repeat: MS_REMOUNT sets the mount's flags to exactly those given, and
// dropping nosuid, nodev or noexec would weaken it (in a user namespace,
// the kernel refuses to).
func lockedFlags(path string) uintptr {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0
	}
	var f uintptr
	for _, m := range []struct{ st, ms uintptr }{
		{unix.ST_NOSUID, msNosuid}, {unix.ST_NODEV, msNodev}, {unix.ST_NOEXEC, msNoexec},
		{unix.ST_NOATIME, msNoatime}, {unix.ST_NODIRATIME, msNodiratime}, {unix.ST_RELATIME, msRelatime},
	} {
		if uintptr(st.Flags)&m.st != 0 {
			f |= m.ms
		}
	}
	return f
}

// mountpoint creates what a mount needs at path: nothing if something is
// there, an empty file when the source of a bind mount is not a directory,
// else a directory; missing parents are created too.
func mountpoint(path, source string) error {
	if _, err := os.Lstat(path); err == nil {
		return nil
	}
	file := false
	if source != "" {
		fi, err := os.Stat(source)
		if err != nil {
			return fmt.Errorf("bind source: %w", err)
		}
		file = !fi.IsDir()
	}
	if !file {
		return os.MkdirAll(path, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// mknod makes a device node, keeping one the image already has there.
func mknod(path string, s Step) error {
	err := unix.Mknod(path, s.Mode, int(unix.Mkdev(s.Major, s.Minor)))
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	if err != nil {
		return err
	}
	// mknod's mode went through the umask.
	if err := unix.Chmod(path, s.Mode&0o7777); err != nil {
		return err
	}
	if s.UID != 0 || s.GID != 0 {
		return unix.Chown(path, int(s.UID), int(s.GID))
	}
	return nil
}

// mask hides path: /dev/null over a file, an empty read-only tmpfs over a
// directory. A path the kernel does not have is skipped.
func mask(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return unix.Mount("tmpfs", path, "tmpfs", msRdonly, "")
	}
	return unix.Mount("/dev/null", path, "", msBind, "")
}

// readonly makes path read-only with a bind mount onto itself; a missing
// path is skipped.
func readonly(path string) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := unix.Mount(path, path, "", msBind|msRec, ""); err != nil {
		return err
	}
	return unix.Mount("", path, "", msBind|msRemount|msRdonly|lockedFlags(path), "")
}

// capset sets the calling thread's capability sets (capset(2), version 3:
// two 32-bit words per set).
func capset(s CapSets) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for i := 0; i < 2; i++ {
		shift := uint(32 * i)
		data[i].Effective = uint32(uint64(s.Effective) >> shift)
		data[i].Permitted = uint32(uint64(s.Permitted) >> shift)
		data[i].Inheritable = uint32(uint64(s.Inheritable) >> shift)
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("the effective set must be within the permitted one: %w", err)
	}
	return nil
}
