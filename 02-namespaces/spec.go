package namespaces

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	chroot "berth/01-chroot"
)

// Namespace is a kind of namespace, named as the OCI runtime specification
// names it.
type Namespace string

const (
	UTS     Namespace = "uts"     // hostname and domain name
	PID     Namespace = "pid"     // process IDs: the command is PID 1
	Mount   Namespace = "mount"   // the mount table
	IPC     Namespace = "ipc"     // System V IPC and POSIX message queues
	Network Namespace = "network" // interfaces, routes, ports, firewall
	User    Namespace = "user"    // user and group IDs, capabilities
	Cgroup  Namespace = "cgroup"  // the root of /proc/self/cgroup
)

// All is every namespace a container gets, in the order Plan lists them.
var All = []Namespace{User, Mount, PID, UTS, IPC, Network, Cgroup}

// nsInfo is what the kernel calls each namespace: the clone(2) flag that
// creates one and the file under /proc/PID/ns that names it.
var nsInfo = map[Namespace]struct {
	flag uintptr
	name string // CLONE_NEW* for printing
	file string // /proc/PID/ns/<file>
}{
	UTS:     {0x04000000, "CLONE_NEWUTS", "uts"},
	PID:     {0x20000000, "CLONE_NEWPID", "pid"},
	Mount:   {0x00020000, "CLONE_NEWNS", "mnt"},
	IPC:     {0x08000000, "CLONE_NEWIPC", "ipc"},
	Network: {0x40000000, "CLONE_NEWNET", "net"},
	User:    {0x10000000, "CLONE_NEWUSER", "user"},
	Cgroup:  {0x02000000, "CLONE_NEWCGROUP", "cgroup"},
}

// ProcFile is the name of the namespace's link under /proc/PID/ns.
func (n Namespace) ProcFile() string { return nsInfo[n].file }

// ParseNamespaces reads a comma-separated list such as "uts,pid,mount";
// "all" means All. It accepts the /proc/PID/ns names too (mnt, net).
func ParseNamespaces(s string) ([]Namespace, error) {
	if s == "all" {
		return append([]Namespace(nil), All...), nil
	}
	var out []Namespace
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		switch f {
		case "mnt":
			f = string(Mount)
		case "net":
			f = string(Network)
		}
		if _, ok := nsInfo[Namespace(f)]; !ok {
			return nil, fmt.Errorf("namespaces: unknown namespace %q (want some of: uts, pid, mount, ipc, network, user, cgroup, or all)", f)
		}
		out = append(out, Namespace(f))
	}
	return out, nil
}

// IDMap maps a range of user or group IDs inside a user namespace onto IDs
// outside it: a line of /proc/PID/uid_map.
type IDMap struct {
	ContainerID uint32 `json:"container_id"`
	HostID      uint32 `json:"host_id"`
	Size        uint32 `json:"size"`
}

func (m IDMap) String() string { return fmt.Sprintf("%d %d %d", m.ContainerID, m.HostID, m.Size) }

// Spec describes a container for this chapter.
type Spec struct {
	Rootfs     string      `json:"rootfs"`   // host path of the root filesystem
	Args       []string    `json:"args"`     // the command, looked up inside the rootfs
	Env        []string    `json:"env"`      // its environment; PATH defaults to chroot.DefaultPath
	Hostname   string      `json:"hostname"` // set in the UTS namespace
	Namespaces []Namespace `json:"namespaces"`
	UIDMap     []IDMap     `json:"uid_map,omitempty"` // with User: who is who
	GIDMap     []IDMap     `json:"gid_map,omitempty"`
	// Init runs the tiny init as PID 1, with the command as its child: it
	// reaps orphaned zombies and forwards signals (Docker's --init).
	Init bool `json:"init"`
	// Cgroup, if set, is a cgroup v2 directory the init starts in
	// (clone3's CLONE_INTO_CGROUP): chapter 03 builds on it.
	Cgroup string `json:"cgroup,omitempty"`
	// Prestart, if set, is called with the init's host PID once it exists
	// in its namespaces and before it reads its configuration, so before
	// it runs anything: the moment to put it into cgroups (chapter 03) or
	// to cable its network namespace (chapter 05). An error stops the
	// start.
	Prestart func(pid int) error `json:"-"`
}

// Has says whether s asks for namespace n.
func (s Spec) Has(n Namespace) bool {
	for _, m := range s.Namespaces {
		if m == n {
			return true
		}
	}
	return false
}

// Validate reports what is wrong with s before anything is done.
func (s Spec) Validate() error {
	switch {
	case s.Rootfs == "" || !filepath.IsAbs(s.Rootfs):
		return fmt.Errorf("namespaces: rootfs %q must be an absolute path", s.Rootfs)
	case len(s.Args) == 0 || s.Args[0] == "":
		return errors.New("namespaces: no command given")
	case !s.Has(Mount):
		return errors.New("namespaces: a container needs a mount namespace: pivot_root happens inside one")
	case s.Hostname != "" && !s.Has(UTS):
		return errors.New("namespaces: a hostname needs a UTS namespace, or it would rename the host")
	case len(s.Hostname) > 64:
		return fmt.Errorf("namespaces: hostname %q is longer than 64 bytes", s.Hostname)
	case s.Init && !s.Has(PID):
		return errors.New("namespaces: the tiny init is PID 1 of a PID namespace: add pid")
	case (len(s.UIDMap) > 0 || len(s.GIDMap) > 0) && !s.Has(User):
		return errors.New("namespaces: uid and gid maps need a user namespace")
	case s.Has(User) && (len(s.UIDMap) == 0 || len(s.GIDMap) == 0):
		return errors.New("namespaces: a user namespace needs a uid map and a gid map (see RootlessMaps)")
	}
	seen := map[Namespace]bool{}
	for _, n := range s.Namespaces {
		if _, ok := nsInfo[n]; !ok {
			return fmt.Errorf("namespaces: unknown namespace %q", n)
		}
		if seen[n] {
			return fmt.Errorf("namespaces: %s listed twice", n)
		}
		seen[n] = true
	}
	for _, m := range append(append([]IDMap(nil), s.UIDMap...), s.GIDMap...) {
		if m.Size == 0 {
			return fmt.Errorf("namespaces: id map %q has size 0", m)
		}
		if uint64(m.HostID)+uint64(m.Size) > 1<<32-1 || uint64(m.ContainerID)+uint64(m.Size) > 1<<32-1 {
			return fmt.Errorf("namespaces: id map %q runs past the largest id", m)
		}
	}
	return nil
}

// RootlessMaps maps root inside a user namespace onto the calling user
// outside it, the only mapping an unprivileged user may write.
func RootlessMaps(uid, gid int) (uidMap, gidMap []IDMap) {
	return []IDMap{{0, uint32(uid), 1}}, []IDMap{{0, uint32(gid), 1}}
}

// Extra operations this chapter's plans add to chapter 01's.
const (
	// OpSethostname sets the UTS namespace's hostname (Path holds it).
	OpSethostname chroot.Op = "sethostname"
	// OpCreate creates an empty file for a device node to be bind-mounted
	// on: in a user namespace mknod(2) is not allowed.
	OpCreate chroot.Op = "creat"
)

// Plan is what the container's init will do, as data.
type Plan struct {
	CloneFlags uintptr       // the namespaces the init is cloned into
	UIDMap     []IDMap       // written to /proc/PID/uid_map before the init runs
	GIDMap     []IDMap       // written to /proc/PID/gid_map (after setgroups)
	Setgroups  string        // "deny" or "allow", written to /proc/PID/setgroups
	Steps      []chroot.Step // the init's system calls, ending with execve
	Init       bool          // a tiny init stays as PID 1 instead of the final execve
}

// CloneFlags returns the clone(2) flags that create the namespaces in ns.
func CloneFlags(ns []Namespace) uintptr {
	var f uintptr
	for _, n := range ns {
		f |= nsInfo[n].flag
	}
	return f
}

// FlagNames renders clone flags as CLONE_NEWUSER|CLONE_NEWNS|...
func FlagNames(flags uintptr) string {
	var names []string
	for _, n := range All {
		if flags&nsInfo[n].flag != 0 {
			names = append(names, nsInfo[n].name)
		}
	}
	if len(names) == 0 {
		return "0"
	}
	return strings.Join(names, "|")
}

// devices are bind-mounted from the host in a user namespace, where mknod
// is refused, and made with mknod otherwise (see chapter 01).
var devices = []struct {
	name         string
	major, minor uint32
}{
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
}

// Mount flags, as in <linux/mount.h> (checked in flags_linux_test.go).
const (
	msRdonly      = 0x1
	msNosuid      = 0x2
	msNodev       = 0x4
	msNoexec      = 0x8
	msRemount     = 0x20
	msBind        = 0x1000
	msRec         = 0x4000
	msPrivate     = 0x40000
	msStrictatime = 0x1000000
	mntDetach     = 0x2
)

// Plan describes what Start will do for s.
func (s Spec) Plan() (Plan, error) {
	if err := s.Validate(); err != nil {
		return Plan{}, err
	}
	root := filepath.Clean(s.Rootfs)
	in := func(p string) string { return filepath.Join(root, p) }
	userns := s.Has(User)
	p := Plan{CloneFlags: CloneFlags(s.Namespaces), Init: s.Init}
	if userns {
		p.UIDMap, p.GIDMap = s.UIDMap, s.GIDMap
		// An unprivileged writer must deny setgroups before writing a gid
		// map (user_namespaces(7)); root may keep it.
		p.Setgroups = "allow"
		if isRootless(s) {
			p.Setgroups = "deny"
		}
	}
	add := func(st chroot.Step) { p.Steps = append(p.Steps, st) }

	if s.Has(UTS) && s.Hostname != "" {
		add(chroot.Step{Op: OpSethostname, Path: s.Hostname, Why: "the UTS namespace has its own hostname"})
	}
	add(chroot.Step{Op: chroot.OpMount, Path: "/", Flags: msPrivate | msRec,
		Why: "stop mount propagation both ways before mounting anything"})
	add(chroot.Step{Op: chroot.OpMount, Source: root, Path: root, Flags: msBind | msRec,
		Why: "pivot_root needs the new root to be a mount point"})
	add(chroot.Step{Op: chroot.OpMount, Source: "proc", Path: in("proc"), FSType: "proc", Flags: msNosuid | msNodev | msNoexec,
		Why: procWhy(s)})
	add(chroot.Step{Op: chroot.OpMount, Source: "tmpfs", Path: in("dev"), FSType: "tmpfs", Flags: msNosuid | msStrictatime, Data: "mode=755,size=65536k",
		Why: "a private /dev"})
	for _, d := range devices {
		if userns {
			add(chroot.Step{Op: OpCreate, Path: in("dev/" + d.name), Mode: 0o666, Why: "a file to bind the host's device on"})
			add(chroot.Step{Op: chroot.OpMount, Source: "/dev/" + d.name, Path: in("dev/" + d.name), Flags: msBind,
				Why: "a user namespace may not mknod: bind the host's node"})
		} else {
			add(chroot.Step{Op: chroot.OpMknod, Path: in("dev/" + d.name), Mode: 0o666, Major: d.major, Minor: d.minor,
				Why: "only the harmless character devices"})
		}
	}
	add(chroot.Step{Op: chroot.OpMkdir, Path: in("dev/pts"), Mode: 0o755, Why: "for the container's own pseudo-terminals"})
	add(chroot.Step{Op: chroot.OpMount, Source: "devpts", Path: in("dev/pts"), FSType: "devpts", Flags: msNosuid | msNoexec,
		Data: "newinstance,ptmxmode=0666,mode=0620", Why: "a new devpts instance: the host's terminals stay invisible"})
	add(chroot.Step{Op: chroot.OpSymlink, Source: "pts/ptmx", Path: in("dev/ptmx"), Why: "/dev/ptmx opens this instance's multiplexer"})
	add(chroot.Step{Op: chroot.OpMkdir, Path: in("dev/shm"), Mode: 0o1777, Why: "POSIX shared memory"})
	add(chroot.Step{Op: chroot.OpMount, Source: "shm", Path: in("dev/shm"), FSType: "tmpfs", Flags: msNosuid | msNodev | msNoexec,
		Data: "mode=1777,size=65536k", Why: "a private /dev/shm"})
	for _, l := range [][2]string{{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}} {
		add(chroot.Step{Op: chroot.OpSymlink, Source: l[1], Path: in("dev/" + l[0]), Why: "the standard links into /proc"})
	}
	if !userns || s.Has(Network) {
		add(chroot.Step{Op: chroot.OpMount, Source: "sysfs", Path: in("sys"), FSType: "sysfs", Flags: msRdonly | msNosuid | msNodev | msNoexec,
			Why: "/sys read-only: it shows this network namespace's interfaces"})
	} else {
		// sysfs may only be mounted by the owner of the network namespace;
		// in a user namespace without its own, borrow the host's, read-only.
		// Not recursive: the host's submounts (/sys/fs/cgroup...) stay out, and
		// the read-only remount below covers everything that comes in.
		add(chroot.Step{Op: chroot.OpMount, Source: "/sys", Path: in("sys"), Flags: msBind, Why: "sysfs belongs to the host's network namespace: bind it"})
		add(chroot.Step{Op: chroot.OpMount, Path: in("sys"), Flags: msBind | msRemount | msRdonly | msNosuid | msNodev | msNoexec, Why: "and make it read-only"})
	}
	add(chroot.Step{Op: chroot.OpMkdir, Path: in(chroot.OldRoot), Mode: 0o700, Why: "somewhere to park the old root"})
	add(chroot.Step{Op: chroot.OpPivotRoot, Path: root, Source: in(chroot.OldRoot), Why: "the rootfs becomes / (chapter 01)"})
	add(chroot.Step{Op: chroot.OpChdir, Path: "/", Why: "leave the old root"})
	add(chroot.Step{Op: chroot.OpUnmount, Path: chroot.OldRoot, Flags: mntDetach, Why: "detach the old root"})
	add(chroot.Step{Op: chroot.OpRmdir, Path: chroot.OldRoot, Why: "remove its mount point"})
	why := "become the command: it is PID 1"
	if s.Init {
		why = "the tiny init starts the command as PID 2, then reaps and forwards signals"
	}
	add(chroot.Step{Op: chroot.OpExec, Args: s.Args, Why: why})
	return p, nil
}

func procWhy(s Spec) string {
	if s.Has(PID) {
		return "a /proc for the new PID namespace: only the container's processes"
	}
	return "a /proc (without a PID namespace it still lists the host's processes)"
}

// isRootless says whether the maps map onto a single id, as an unprivileged
// user's must.
func isRootless(s Spec) bool {
	return len(s.UIDMap) == 1 && s.UIDMap[0].Size == 1 && len(s.GIDMap) == 1 && s.GIDMap[0].Size == 1
}

// String renders the plan as the system calls and file writes it makes.
func (p Plan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "clone(%s)\n", FlagNames(p.CloneFlags))
	if p.UIDMap != nil {
		fmt.Fprintf(&b, "write /proc/PID/uid_map %q\n", joinMaps(p.UIDMap))
		fmt.Fprintf(&b, "write /proc/PID/setgroups %q\n", p.Setgroups)
		fmt.Fprintf(&b, "write /proc/PID/gid_map %q\n", joinMaps(p.GIDMap))
	}
	for i, s := range p.Steps {
		fmt.Fprintf(&b, "%2d. %s\n", i+1, s)
	}
	return b.String()
}

func joinMaps(m []IDMap) string {
	lines := make([]string, len(m))
	for i, x := range m {
		lines[i] = x.String()
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
