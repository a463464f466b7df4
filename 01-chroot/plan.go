package chroot

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Mode says how the root is changed.
type Mode string

const (
	// ModeChroot changes the root with chroot(2) only: simple, and escapable.
	ModeChroot Mode = "chroot"
	// ModePivotRoot moves the process into a new mount namespace and swaps
	// the root mount with pivot_root(2): the old root is gone for good.
	ModePivotRoot Mode = "pivot_root"
)

// OldRoot is where pivot_root parks the old root inside the new one before
// it is unmounted and removed.
const OldRoot = "/.oldroot"

// DefaultPath is the PATH a jailed command gets when the caller sets none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Jail describes a command to run inside a rootfs.
type Jail struct {
	Rootfs string   // host path of the root filesystem
	Mode   Mode     // ModeChroot or ModePivotRoot
	Args   []string // the command and its arguments, resolved inside the rootfs
	Env    []string // the command's environment; PATH defaults to DefaultPath
}

// Op is a system call a plan makes.
type Op string

const (
	OpChdir     Op = "chdir"
	OpChroot    Op = "chroot"
	OpMount     Op = "mount"
	OpMkdir     Op = "mkdir"
	OpMknod     Op = "mknod"
	OpSymlink   Op = "symlink"
	OpPivotRoot Op = "pivot_root"
	OpUnmount   Op = "umount2"
	OpRmdir     Op = "rmdir"
	OpExec      Op = "execve"
)

// Step is one system call of a plan, with the arguments it will be given and
// why it is there.
type Step struct {
	Op     Op
	Path   string   // the target: directory, mount point, node or new root
	Source string   // mount source; pivot_root's put_old; symlink's target
	FSType string   // mount filesystem type
	Flags  uintptr  // mount or umount2 flags
	Data   string   // mount options
	Mode   uint32   // mkdir and mknod permissions
	Major  uint32   // mknod device numbers
	Minor  uint32   //
	Args   []string // execve arguments
	Why    string
}

// Plan is what the init process does, in order, before the command runs.
type Plan struct {
	// NewMountNamespace says the init process is started in a new mount
	// namespace (CLONE_NEWNS), so that its mounts are invisible to the host.
	NewMountNamespace bool
	Steps             []Step
}

// device is a character device every program may expect in /dev.
type device struct {
	name         string
	major, minor uint32
}

// devices are the nodes of a minimal /dev (see the kernel's
// Documentation/admin-guide/devices.txt for the numbers).
var devices = []device{
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
}

// Validate reports what is wrong with j before anything is done.
func (j Jail) Validate() error {
	switch {
	case j.Rootfs == "":
		return errors.New("chroot: no rootfs given")
	case !filepath.IsAbs(j.Rootfs):
		return fmt.Errorf("chroot: rootfs %q must be an absolute path", j.Rootfs)
	case j.Mode != ModeChroot && j.Mode != ModePivotRoot:
		return fmt.Errorf("chroot: unknown mode %q (want %q or %q)", j.Mode, ModeChroot, ModePivotRoot)
	case len(j.Args) == 0 || j.Args[0] == "":
		return errors.New("chroot: no command given")
	}
	return nil
}

// Plan describes, without doing anything, the system calls that put a
// process into the jail and start the command.
func (j Jail) Plan() (Plan, error) {
	if err := j.Validate(); err != nil {
		return Plan{}, err
	}
	root := filepath.Clean(j.Rootfs)
	if j.Mode == ModeChroot {
		return Plan{Steps: []Step{
			{Op: OpChdir, Path: root, Why: "stand inside the rootfs, so that \".\" is the new root"},
			{Op: OpChroot, Path: ".", Why: "make \".\" the root: every absolute path now starts there"},
			{Op: OpChdir, Path: "/", Why: "move the working directory to the new root"},
			{Op: OpExec, Args: j.Args, Why: "replace this process with the command, looked up inside the rootfs"},
		}}, nil
	}
	steps := []Step{
		{Op: OpMount, Path: "/", Flags: msPrivate | msRec,
			Why: "stop mount propagation both ways before mounting anything (systemd makes / shared)"},
		{Op: OpMount, Source: root, Path: root, Flags: msBind | msRec,
			Why: "pivot_root needs the new root to be a mount point: bind-mount the rootfs onto itself"},
		{Op: OpMount, Source: "proc", Path: filepath.Join(root, "proc"), FSType: "proc", Flags: msNosuid | msNodev | msNoexec,
			Why: "a fresh /proc for ps, top and /proc/self"},
		{Op: OpMount, Source: "tmpfs", Path: filepath.Join(root, "dev"), FSType: "tmpfs", Flags: msNosuid | msStrictatime, Data: "mode=755,size=65536k",
			Why: "an empty, private /dev instead of the host's"},
	}
	for _, d := range devices {
		steps = append(steps, Step{Op: OpMknod, Path: filepath.Join(root, "dev", d.name), Mode: 0o666, Major: d.major, Minor: d.minor,
			Why: "only the harmless character devices"})
	}
	for _, l := range [][2]string{{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}} {
		steps = append(steps, Step{Op: OpSymlink, Source: l[1], Path: filepath.Join(root, "dev", l[0]), Why: "the standard links into /proc"})
	}
	steps = append(steps,
		Step{Op: OpMkdir, Path: filepath.Join(root, OldRoot), Mode: 0o700, Why: "somewhere under the new root to park the old one"},
		Step{Op: OpPivotRoot, Path: root, Source: filepath.Join(root, OldRoot), Why: "the rootfs becomes / and the old root moves to " + OldRoot},
		Step{Op: OpChdir, Path: "/", Why: "leave the old root: the working directory may still point into it"},
		Step{Op: OpUnmount, Path: OldRoot, Flags: mntDetach, Why: "detach the old root: nothing of the host's filesystem stays reachable"},
		Step{Op: OpRmdir, Path: OldRoot, Why: "remove the now empty mount point"},
		Step{Op: OpExec, Args: j.Args, Why: "replace this process with the command, looked up inside the rootfs"},
	)
	return Plan{NewMountNamespace: true, Steps: steps}, nil
}

// String renders a step as the system call it makes, as strace would.
func (s Step) String() string {
	switch s.Op {
	case OpMount:
		return fmt.Sprintf("mount(%q, %q, %q, %s, %q)", s.Source, s.Path, s.FSType, MountFlags(s.Flags), s.Data)
	case OpUnmount:
		return fmt.Sprintf("umount2(%q, %s)", s.Path, UnmountFlags(s.Flags))
	case OpPivotRoot:
		return fmt.Sprintf("pivot_root(%q, %q)", s.Path, s.Source)
	case OpMkdir:
		return fmt.Sprintf("mkdir(%q, %#o)", s.Path, s.Mode)
	case OpMknod:
		return fmt.Sprintf("mknod(%q, S_IFCHR|%#o, makedev(%d, %d))", s.Path, s.Mode, s.Major, s.Minor)
	case OpSymlink:
		return fmt.Sprintf("symlink(%q, %q)", s.Source, s.Path)
	case OpExec:
		return fmt.Sprintf("execve(%q, %q)", s.Args[0], s.Args)
	default:
		return fmt.Sprintf("%s(%q)", s.Op, s.Path)
	}
}

// String renders the whole plan, one numbered system call a line.
func (p Plan) String() string {
	var b strings.Builder
	if p.NewMountNamespace {
		b.WriteString("clone(CLONE_NEWNS): the init process starts in a new mount namespace\n")
	}
	for i, s := range p.Steps {
		fmt.Fprintf(&b, "%2d. %s\n", i+1, s)
	}
	return b.String()
}

// Mount flag values, as in <linux/mount.h>. They are repeated here, rather
// than taken from x/sys/unix, so that a plan can be built and printed on any
// system; flags_linux_test.go checks they match the kernel's.
const (
	msRdonly      = 0x1
	msRemount     = 0x20
	msNosuid      = 0x2
	msNodev       = 0x4
	msNoexec      = 0x8
	msBind        = 0x1000
	msRec         = 0x4000
	msPrivate     = 0x40000
	msStrictatime = 0x1000000
	mntDetach     = 0x2
)

var mountFlagNames = []struct {
	flag uintptr
	name string
}{
	{msRdonly, "MS_RDONLY"}, {msNosuid, "MS_NOSUID"}, {msNodev, "MS_NODEV"}, {msNoexec, "MS_NOEXEC"},
	{msRemount, "MS_REMOUNT"}, {msBind, "MS_BIND"},
	{msPrivate, "MS_PRIVATE"}, {msStrictatime, "MS_STRICTATIME"}, {msRec, "MS_REC"},
}

// MountFlags renders mount(2) flags the way the man page spells them:
// MS_BIND|MS_REC. Bits it has no name for are shown in hex.
func MountFlags(f uintptr) string {
	if f == 0 {
		return "0"
	}
	var names []string
	for _, n := range mountFlagNames {
		if f&n.flag != 0 {
			names = append(names, n.name)
			f &^= n.flag
		}
	}
	if f != 0 {
		names = append(names, fmt.Sprintf("%#x", f))
	}
	return strings.Join(names, "|")
}

// UnmountFlags renders umount2(2) flags.
func UnmountFlags(f uintptr) string {
	switch f {
	case 0:
		return "0"
	case mntDetach:
		return "MNT_DETACH"
	}
	return fmt.Sprintf("%#x", f)
}
