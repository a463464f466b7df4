package runtime

import (
	"fmt"
	"path"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	chroot "berth/01-chroot"
)

// Op is a system call (or a small group of them) a plan makes. Chapter 01's
// operations (chroot.OpMount, chroot.OpMknod, chroot.OpPivotRoot...) are
// reused; this package adds its own.
type Op = chroot.Op

// The operations chapter 01 does not have.
const (
	OpSetns         Op = "setns"             // join the namespace at Path (Flags: CLONE_NEW*)
	OpMountpoint    Op = "mountpoint"        // create Path as a directory, or an empty file when Source is a file
	OpMkdirAll      Op = "mkdir -p"          // create Path and its missing parents, owned by root
	OpSysctl        Op = "sysctl"            // write Data to /proc/sys/<Path with dots as slashes>
	OpMask          Op = "mask"              // hide Path: /dev/null over a file, an empty read-only tmpfs over a directory
	OpReadonly      Op = "readonly"          // bind Path onto itself, then remount the bind read-only
	OpSethostname   Op = "sethostname"       // Path is the name
	OpSetdomainname Op = "setdomainname"     // Path is the name
	OpLinkUp        Op = "link up"           // ioctl(SIOCSIFFLAGS): bring the interface named Path up
	OpSetsid        Op = "setsid"            // a new session, no controlling terminal yet
	OpSetctty       Op = "ioctl(TIOCSCTTY)"  // make fd 0, a terminal, the controlling terminal
	OpWinsize       Op = "ioctl(TIOCSWINSZ)" // set the terminal's size to Rows x Cols
	OpSetrlimit     Op = "setrlimit"         // Path is RLIMIT_*, Soft and Hard the values
	OpOOMScoreAdj   Op = "oom_score_adj"     // write Data to /proc/self/oom_score_adj
	OpUmask         Op = "umask"             // Mode
	OpCapBsetDrop   Op = "capbset_drop"      // prctl(PR_CAPBSET_DROP) for each of Caps
	OpKeepCaps      Op = "keepcaps"          // prctl(PR_SET_KEEPCAPS, 1): keep permitted caps across setuid
	OpSetgroups     Op = "setgroups"         // IDs
	OpSetgid        Op = "setgid"            // GID
	OpSetuid        Op = "setuid"            // UID
	OpCapset        Op = "capset"            // CapSets
	OpAmbient       Op = "ambient_raise"     // prctl(PR_CAP_AMBIENT_RAISE) for each of Caps
	OpNoNewPrivs    Op = "no_new_privs"      // prctl(PR_SET_NO_NEW_PRIVS, 1)
)

// CapSets are the three capability sets capset(2) sets.
type CapSets struct {
	Effective, Permitted, Inheritable CapMask
}

// Step is one system call of a plan, with its arguments and the reason it
// is there. Only the fields its Op uses are set. The parent sends the plan
// to the init as JSON: the unset fields and the reasons (for people, not
// for the init) stay out of it, which makes it a fifth of the size and
// shortens the init's decoding, on the path of every start.
type Step struct {
	Op Op `json:",omitzero"`
	// Root, when set, says Path is a path inside this root filesystem: it is
	// resolved there, symlinks and ".." included, without ever leaving it.
	Root   string   `json:",omitzero"`
	Path   string   `json:",omitzero"`
	Source string   `json:",omitzero"` // mount source; symlink target; setns namespace file
	FSType string   `json:",omitzero"`
	Flags  uintptr  `json:",omitzero"` // mount, umount2 or clone flags
	Data   string   `json:",omitzero"` // mount data; a value to write
	Mode   uint32   `json:",omitzero"` // mkdir, mknod (with the file type bits) and umask mode
	Major  uint32   `json:",omitzero"`
	Minor  uint32   `json:",omitzero"`
	UID    uint32   `json:",omitzero"` // setuid; a device node's owner
	GID    uint32   `json:",omitzero"` // setgid; a device node's group
	IDs    []uint32 `json:",omitzero"`
	Caps   []string `json:",omitzero"`
	Sets   CapSets  `json:",omitzero"`
	Soft   uint64   `json:",omitzero"`
	Hard   uint64   `json:",omitzero"`
	Rows   uint16   `json:",omitzero"` // terminal size
	Cols   uint16   `json:",omitzero"`
	Args   []string `json:",omitzero"` // execve's argv
	Env    []string `json:",omitzero"` // execve's environment
	Why    string   `json:"-"`
}

// Target is where the step acts, as a host path before pivot_root: the
// lexical join of Root and Path. The init resolves it safely instead.
func (s Step) Target() string {
	if s.Root == "" {
		return s.Path
	}
	return path.Join(s.Root, s.Path)
}

// String renders the step as the system call it makes, as strace would.
func (s Step) String() string {
	t := s.Target()
	switch s.Op {
	case OpSetns:
		return fmt.Sprintf("setns(open(%q), %s)", s.Source, cloneFlagNames(s.Flags))
	case chroot.OpMount:
		return fmt.Sprintf("mount(%q, %q, %q, %s, %q)", s.Source, t, s.FSType, MountFlags(s.Flags), s.Data)
	case OpMountpoint:
		if s.Source != "" {
			return fmt.Sprintf("mkdir -p or touch %q (as %q is)", t, s.Source)
		}
		return fmt.Sprintf("mkdir -p %q", t)
	case OpMkdirAll:
		return fmt.Sprintf("mkdir -p %q (mode %#o)", t, s.Mode)
	case chroot.OpMknod:
		owner := ""
		if s.UID != 0 || s.GID != 0 {
			owner = fmt.Sprintf(" + chown(%d, %d)", s.UID, s.GID)
		}
		return fmt.Sprintf("mknod(%q, %s|%#o, makedev(%d, %d))%s", t, fileType(s.Mode), s.Mode&0o7777, s.Major, s.Minor, owner)
	case chroot.OpSymlink:
		return fmt.Sprintf("symlink(%q, %q)", s.Source, t)
	case chroot.OpPivotRoot:
		return fmt.Sprintf("pivot_root(%q, %q)", t, s.Source)
	case chroot.OpUnmount:
		flags := "0"
		if s.Flags == mntDetach {
			flags = "MNT_DETACH"
		}
		return fmt.Sprintf("umount2(%q, %s)", t, flags)
	case OpSysctl:
		return fmt.Sprintf("write(%q, %q)", "/proc/sys/"+strings.ReplaceAll(s.Path, ".", "/"), s.Data)
	case OpMask:
		return fmt.Sprintf("mount(\"/dev/null\", %q, \"\", MS_BIND, \"\") if a file, mount(\"tmpfs\", it, \"tmpfs\", MS_RDONLY, \"\") if a directory", t)
	case OpReadonly:
		return fmt.Sprintf("mount(%q, %q, \"\", MS_BIND|MS_REC, \"\"), mount(\"\", it, \"\", MS_RDONLY|MS_REMOUNT|MS_BIND, \"\") if it exists", t, t)
	case OpSethostname, OpSetdomainname:
		return fmt.Sprintf("%s(%q)", s.Op, s.Path)
	case OpLinkUp:
		return fmt.Sprintf("ioctl(socket, SIOCSIFFLAGS, {%s, IFF_UP})", s.Path)
	case OpSetsid:
		return "setsid()"
	case OpSetctty:
		return "ioctl(0, TIOCSCTTY, 0)"
	case OpWinsize:
		return fmt.Sprintf("ioctl(0, TIOCSWINSZ, {ws_row=%d, ws_col=%d})", s.Rows, s.Cols)
	case OpSetrlimit:
		return fmt.Sprintf("setrlimit(%s, {cur=%d, max=%d})", s.Path, s.Soft, s.Hard)
	case OpOOMScoreAdj:
		return fmt.Sprintf("write(\"/proc/self/oom_score_adj\", %q)", s.Data)
	case OpUmask:
		return fmt.Sprintf("umask(%#o)", s.Mode)
	case OpCapBsetDrop:
		return fmt.Sprintf("prctl(PR_CAPBSET_DROP, %s)", capList(s.Caps))
	case OpKeepCaps:
		return "prctl(PR_SET_KEEPCAPS, 1)"
	case OpSetgroups:
		return fmt.Sprintf("setgroups(%d, %v)", len(s.IDs), s.IDs)
	case OpSetgid:
		return fmt.Sprintf("setgid(%d)", s.GID)
	case OpSetuid:
		return fmt.Sprintf("setuid(%d)", s.UID)
	case OpCapset:
		return fmt.Sprintf("capset({effective=%s, permitted=%s, inheritable=%s})", s.Sets.Effective, s.Sets.Permitted, s.Sets.Inheritable)
	case OpAmbient:
		return fmt.Sprintf("prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, %s)", capList(s.Caps))
	case OpNoNewPrivs:
		return "prctl(PR_SET_NO_NEW_PRIVS, 1)"
	case chroot.OpExec:
		return fmt.Sprintf("execve(%q, %q)", s.Args[0], s.Args)
	}
	return fmt.Sprintf("%s(%q)", s.Op, t)
}

func capList(caps []string) string {
	if len(caps) == 1 {
		return caps[0]
	}
	return "{" + strings.Join(caps, ", ") + "}"
}

func fileType(mode uint32) string {
	switch mode &^ 0o7777 {
	case sIFBLK:
		return "S_IFBLK"
	case sIFIFO:
		return "S_IFIFO"
	}
	return "S_IFCHR"
}

// File type bits of a mknod mode (<sys/stat.h>).
const (
	sIFCHR = 0o020000
	sIFBLK = 0o060000
	sIFIFO = 0o010000
)

// InitPlan is what a container's init does, as data: the namespaces it is
// cloned into and every system call it makes, ending with execve.
type InitPlan struct {
	Root       string  // host path of the root filesystem
	CloneFlags uintptr // CLONE_NEW* for the namespaces the spec creates
	Steps      []Step
	// TinyInit says the last step (execve) is made by a child while the
	// init stays PID 1, reaping zombies and forwarding signals.
	TinyInit bool
}

// String renders the plan as strace would show it, one numbered call a line.
func (p InitPlan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "clone(%s)\n", cloneFlagNames(p.CloneFlags))
	for i, s := range p.Steps {
		fmt.Fprintf(&b, "%2d. %s\n", i+1, s)
	}
	if p.TinyInit {
		b.WriteString("    (execve in a child: the init stays PID 1, reaps zombies, forwards signals)\n")
	}
	return b.String()
}

// namespaceKind is a kind of namespace as the kernel knows it.
type namespaceKind struct {
	typ  specs.LinuxNamespaceType
	flag uintptr // the clone(2) flag that creates one
	name string  // the flag's name, for printing
	file string  // its file under /proc/PID/ns
}

// nsKinds are the namespaces a spec may ask for.
var nsKinds = []namespaceKind{
	{specs.MountNamespace, 0x00020000, "CLONE_NEWNS", "mnt"},
	{specs.CgroupNamespace, 0x02000000, "CLONE_NEWCGROUP", "cgroup"},
	{specs.UTSNamespace, 0x04000000, "CLONE_NEWUTS", "uts"},
	{specs.IPCNamespace, 0x08000000, "CLONE_NEWIPC", "ipc"},
	{specs.UserNamespace, 0x10000000, "CLONE_NEWUSER", "user"},
	{specs.PIDNamespace, 0x20000000, "CLONE_NEWPID", "pid"},
	{specs.NetworkNamespace, 0x40000000, "CLONE_NEWNET", "net"},
	{specs.TimeNamespace, 0x00000080, "CLONE_NEWTIME", "time"},
}

func cloneFlagNames(flags uintptr) string {
	var names []string
	for _, k := range nsKinds {
		if flags&k.flag != 0 {
			names = append(names, k.name)
		}
	}
	if len(names) == 0 {
		return "0"
	}
	return strings.Join(names, "|")
}

// specError is a spec this runtime cannot run, with what to change.
func specError(format string, args ...any) error {
	return fmt.Errorf("runtime: invalid spec: "+format, args...)
}

// Plan describes, without doing anything, what the init of a container
// running spec does: pure, so it can be printed (--dry-run) and tested
// without root.
func Plan(spec *specs.Spec) (InitPlan, error) {
	if err := validate(spec); err != nil {
		return InitPlan{}, err
	}
	root := path.Clean(spec.Root.Path)
	p := InitPlan{Root: root, TinyInit: spec.Annotations[InitAnnotation] == "true"}
	add := func(s Step) { p.Steps = append(p.Steps, s) }
	in := func(s Step) Step { s.Root = root; return s }

	// 1. Namespaces: new ones come from clone; existing ones (a path) are
	// joined first, so that everything after happens inside them (sysfs
	// shows the joined network namespace's interfaces).
	newNS := map[specs.LinuxNamespaceType]bool{}
	for _, ns := range spec.Linux.Namespaces {
		k := nsKind(ns.Type)
		if ns.Path == "" {
			p.CloneFlags |= k.flag
			newNS[ns.Type] = true
			continue
		}
		add(Step{Op: OpSetns, Source: ns.Path, Flags: k.flag, Why: "join an existing " + string(ns.Type) + " namespace"})
	}

	// 2. The mount namespace: private, and the rootfs a mount point.
	prop := uintptr(msPrivate | msRec)
	if rp := spec.Linux.RootfsPropagation; rp != "" {
		prop = mountOptions[rp].flag
	}
	add(Step{Op: chroot.OpMount, Path: "/", Flags: prop,
		Why: "stop mount propagation to the host before mounting anything (systemd makes / shared; pivot_root refuses a shared parent)"})
	add(Step{Op: chroot.OpMount, Source: root, Path: root, Flags: msBind | msRec,
		Why: "pivot_root needs the new root to be a mount point: bind the rootfs onto itself"})

	// 3. spec.Mounts, in order, inside the root.
	devBound := false
	for _, m := range spec.Mounts {
		steps, err := mountSteps(m)
		if err != nil {
			return InitPlan{}, err
		}
		for _, s := range steps {
			add(in(s))
		}
		if path.Clean(m.Destination) == "/dev" && parseMountOptions(m.Options).flags&msBind != 0 {
			devBound = true
		}
	}

	// 4. /dev: the default nodes, the spec's devices, the links, the console.
	if !devBound {
		for _, d := range defaultDevices {
			add(in(Step{Op: chroot.OpMknod, Path: "/dev/" + d.name, Mode: sIFCHR | 0o666, Major: d.major, Minor: d.minor,
				Why: "a default device node (kept if the image has one)"}))
		}
		for _, d := range spec.Linux.Devices {
			s, err := deviceStep(d)
			if err != nil {
				return InitPlan{}, err
			}
			add(in(s))
		}
		for _, l := range defaultLinks {
			add(in(Step{Op: chroot.OpSymlink, Source: l[1], Path: "/dev/" + l[0], Why: "a standard link in /dev"}))
		}
		if spec.Process.Terminal {
			add(in(Step{Op: OpMountpoint, Path: "/dev/console", Source: "/dev/null", Why: "an empty file to bind the terminal on"}))
			add(in(Step{Op: chroot.OpMount, Source: "/proc/self/fd/0", Path: "/dev/console", Flags: msBind,
				Why: "the container's console is its terminal (fd 0, the pty slave)"}))
		}
	}

	// 5. pivot_root with "." as both arguments: no directory for the old
	// root is needed in the image (which may be read-only, or hostile).
	add(Step{Op: chroot.OpChdir, Path: root, Why: "stand in the new root"})
	add(Step{Op: chroot.OpPivotRoot, Path: ".", Source: ".", Why: "the rootfs becomes /; the old root is stacked on top of it"})
	add(Step{Op: chroot.OpUnmount, Path: ".", Flags: mntDetach, Why: "detach the old root: nothing of the host's tree stays reachable"})
	add(Step{Op: chroot.OpChdir, Path: "/", Why: "into the new root"})

	// 6. Kernel settings, masks and read-only parts, now that /proc and
	// /sys are the container's.
	keys := make([]string, 0, len(spec.Linux.Sysctl))
	for k := range spec.Linux.Sysctl {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		add(Step{Op: OpSysctl, Path: k, Data: spec.Linux.Sysctl[k], Why: "a namespaced kernel setting"})
	}
	for _, m := range spec.Linux.MaskedPaths {
		add(Step{Op: OpMask, Path: path.Clean(m), Why: "hide it (skipped if missing)"})
	}
	for _, r := range spec.Linux.ReadonlyPaths {
		add(Step{Op: OpReadonly, Path: path.Clean(r), Why: "writing here would reach the host's kernel (skipped if missing)"})
	}

	// 7. The working directory exists before the root may become
	// read-only (Docker creates WorkingDir, owned by root).
	if dir := cwd(spec.Process); dir != "/" {
		add(Step{Op: OpMkdirAll, Path: dir, Mode: 0o755, Why: "the working directory, created if missing"})
	}
	if spec.Root.Readonly {
		add(Step{Op: chroot.OpMount, Path: "/", Flags: msBind | msRemount | msRdonly, Why: "a read-only root filesystem"})
	}

	// 8. Names, and the loopback.
	if spec.Hostname != "" {
		add(Step{Op: OpSethostname, Path: spec.Hostname, Why: "the UTS namespace's hostname"})
	}
	if spec.Domainname != "" {
		add(Step{Op: OpSetdomainname, Path: spec.Domainname, Why: "the UTS namespace's NIS domain name"})
	}
	if newNS[specs.NetworkNamespace] {
		// As runc does. The network a caller adds from outside comes on
		// top; a container without one (--network none) still has lo.
		add(Step{Op: OpLinkUp, Path: "lo", Why: "a new network namespace starts with its loopback down"})
	}

	// 9. The process itself.
	steps, err := processSteps(spec.Process)
	if err != nil {
		return InitPlan{}, err
	}
	p.Steps = append(p.Steps, steps...)
	if p.TinyInit {
		p.Steps[len(p.Steps)-1].Why = "in a child of the tiny init, which stays PID 1"
	}
	return p, nil
}

func cwd(p *specs.Process) string {
	if p.Cwd == "" {
		return "/"
	}
	return path.Clean(p.Cwd)
}

// nsKind returns the kind of namespace named t (a zero flag if unknown).
func nsKind(t specs.LinuxNamespaceType) namespaceKind {
	for _, k := range nsKinds {
		if k.typ == t {
			return k
		}
	}
	return namespaceKind{}
}

// nsKindOfFlag returns the kind of namespace flag creates.
func nsKindOfFlag(flag uintptr) namespaceKind {
	for _, k := range nsKinds {
		if k.flag == flag {
			return k
		}
	}
	return namespaceKind{}
}

// validate reports what in spec this runtime cannot run.
func validate(spec *specs.Spec) error {
	switch {
	case spec == nil:
		return specError("no spec")
	case spec.Root == nil || spec.Root.Path == "":
		return specError("no root.path: set it to the host path of the mounted root filesystem")
	case !path.IsAbs(spec.Root.Path):
		return specError("root.path %q must be an absolute path", spec.Root.Path)
	case spec.Linux == nil:
		return specError("no linux section: a container needs at least a mount namespace")
	}
	if err := validateProcess(spec.Process); err != nil {
		return err
	}
	seen := map[specs.LinuxNamespaceType]bool{}
	for _, ns := range spec.Linux.Namespaces {
		k := nsKind(ns.Type)
		switch {
		case k.flag == 0:
			return specError("unknown namespace type %q", ns.Type)
		case seen[ns.Type]:
			return specError("namespace %q listed twice", ns.Type)
		case ns.Type == specs.UserNamespace || ns.Type == specs.TimeNamespace:
			return specError("%s namespaces are not supported by berth's runtime: remove it", ns.Type)
		case ns.Path != "" && (ns.Type == specs.MountNamespace || ns.Type == specs.PIDNamespace):
			return specError("joining an existing %s namespace (%s) is not supported: a container gets a new one", ns.Type, ns.Path)
		}
		seen[ns.Type] = true
	}
	if !seen[specs.MountNamespace] {
		return specError("no mount namespace: pivot_root happens inside one; add {\"type\": \"mount\"}")
	}
	if (spec.Hostname != "" || spec.Domainname != "") && !seen[specs.UTSNamespace] {
		return specError("a hostname needs a UTS namespace, or it would rename the host")
	}
	if len(spec.Hostname) > 64 {
		return specError("hostname %q is longer than 64 bytes", spec.Hostname)
	}
	switch spec.Linux.RootfsPropagation {
	case "", "private", "rprivate", "slave", "rslave":
	default:
		return specError("rootfsPropagation %q is not supported (use rprivate or rslave)", spec.Linux.RootfsPropagation)
	}
	for k := range spec.Linux.Sysctl {
		if k == "" || strings.ContainsAny(k, "/") || strings.Contains(k, "..") {
			return specError("sysctl %q: a name is dotted (net.ipv4.ip_forward), without slashes or ..", k)
		}
	}
	for _, m := range spec.Mounts {
		if !path.IsAbs(m.Destination) {
			return specError("mount destination %q must be an absolute path", m.Destination)
		}
	}
	return nil
}

func validateProcess(p *specs.Process) error {
	switch {
	case p == nil:
		return specError("no process")
	case len(p.Args) == 0 || p.Args[0] == "":
		return specError("no command: process.args is empty")
	case p.Cwd != "" && !path.IsAbs(p.Cwd):
		return specError("process.cwd %q must be an absolute path", p.Cwd)
	case p.ConsoleSize != nil && !p.Terminal:
		return specError("process.consoleSize needs process.terminal")
	}
	return nil
}

// mountSteps turns one OCI mount into the calls that make it inside the
// root (paths relative to the root: Plan sets Root).
func mountSteps(m specs.Mount) ([]Step, error) {
	dest := path.Clean(m.Destination)
	if dest == "/" {
		return nil, specError("a mount onto / would hide the root filesystem: use root.path")
	}
	o := parseMountOptions(m.Options)
	bind := o.flags&msBind != 0 || m.Type == "bind"
	var steps []Step
	if bind {
		if m.Source == "" {
			return nil, specError("bind mount to %s has no source", dest)
		}
		steps = append(steps,
			Step{Op: OpMountpoint, Path: dest, Source: m.Source, Why: "a directory, or a file for a file's bind mount"},
			Step{Op: chroot.OpMount, Source: m.Source, Path: dest, Flags: msBind | o.flags&msRec, Why: "a bind mount (" + m.Source + ")"})
		// A bind mount ignores every other flag: read-only, nosuid and the
		// rest need a remount of the new bind.
		if rest := o.flags &^ (msBind | msRec | msRemount); rest != 0 {
			steps = append(steps, Step{Op: chroot.OpMount, Path: dest, Flags: msBind | msRemount | rest,
				Why: "a bind takes its flags (read-only...) only on remount"})
		}
	} else {
		switch m.Type {
		case "":
			return nil, specError("mount to %s has no type", dest)
		case "cgroup":
			return nil, specError("cgroup v1 mounts (%s) are not supported: leave /sys/fs/cgroup out on a cgroup v1 host", dest)
		}
		src := m.Source
		if src == "" {
			src = m.Type
		}
		steps = append(steps,
			Step{Op: OpMountpoint, Path: dest, Why: "the mount point"},
			Step{Op: chroot.OpMount, Source: src, Path: dest, FSType: m.Type, Flags: o.flags, Data: o.data, Why: "a " + m.Type + " filesystem"})
	}
	if o.propagation != 0 {
		steps = append(steps, Step{Op: chroot.OpMount, Path: dest, Flags: o.propagation, Why: "the mount's propagation"})
	}
	return steps, nil
}

// deviceStep creates one of the spec's linux.devices.
func deviceStep(d specs.LinuxDevice) (Step, error) {
	if !path.IsAbs(d.Path) || !strings.HasPrefix(path.Clean(d.Path), "/dev/") {
		return Step{}, specError("device path %q must be under /dev", d.Path)
	}
	var typ uint32
	switch d.Type {
	case "c", "u":
		typ = sIFCHR
	case "b":
		typ = sIFBLK
	case "p":
		typ = sIFIFO
	default:
		return Step{}, specError("device %s has unknown type %q (want c, b, u or p)", d.Path, d.Type)
	}
	mode := uint32(0o666)
	if d.FileMode != nil {
		mode = uint32(*d.FileMode) & 0o7777
	}
	s := Step{Op: chroot.OpMknod, Path: path.Clean(d.Path), Mode: typ | mode, Major: uint32(d.Major), Minor: uint32(d.Minor), Why: "a device the spec asks for"}
	if d.UID != nil {
		s.UID = *d.UID
	}
	if d.GID != nil {
		s.GID = *d.GID
	}
	return s, nil
}

// rlimits maps the spec's names to resource numbers (<sys/resource.h>).
var rlimits = map[string]int{
	"RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
	"RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
	"RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
	"RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}

// processSteps are the calls that turn the init (or an exec'd joiner) into
// the process p describes, ending with execve. Start and Exec share them.
func processSteps(p *specs.Process) ([]Step, error) {
	if err := validateProcess(p); err != nil {
		return nil, err
	}
	var steps []Step
	add := func(s Step) { steps = append(steps, s) }

	add(Step{Op: OpSetsid, Why: "a session of its own: signals from the caller's terminal stay out"})
	if p.Terminal {
		add(Step{Op: OpSetctty, Why: "the terminal on fd 0 becomes the controlling terminal (job control, ^C)"})
		if cs := p.ConsoleSize; cs != nil {
			add(Step{Op: OpWinsize, Rows: uint16(cs.Height), Cols: uint16(cs.Width), Why: "the console size the spec asks for"})
		}
	}
	for _, r := range p.Rlimits {
		if _, ok := rlimits[r.Type]; !ok {
			return nil, specError("unknown rlimit %q", r.Type)
		}
		if r.Soft > r.Hard {
			return nil, specError("rlimit %s: soft limit %d is above the hard limit %d", r.Type, r.Soft, r.Hard)
		}
		add(Step{Op: OpSetrlimit, Path: r.Type, Soft: r.Soft, Hard: r.Hard, Why: "raising a hard limit needs CAP_SYS_RESOURCE: before the capabilities go"})
	}
	if p.OOMScoreAdj != nil {
		add(Step{Op: OpOOMScoreAdj, Data: fmt.Sprint(*p.OOMScoreAdj), Why: "how eagerly the OOM killer picks it"})
	}
	umask := uint32(0o022)
	if p.User.Umask != nil {
		umask = *p.User.Umask & 0o777
	}
	add(Step{Op: OpUmask, Mode: umask, Why: "the file creation mask (the caller's would leak in)"})
	add(Step{Op: chroot.OpChdir, Path: cwd(p), Why: "the working directory"})

	// Capabilities: the spec names them; a nil set means none at all.
	caps := p.Capabilities
	if caps == nil {
		caps = &specs.LinuxCapabilities{}
	}
	var sets CapSets
	bounding, err := capMask(caps.Bounding)
	if err == nil {
		sets.Effective, err = capMask(caps.Effective)
	}
	if err == nil {
		sets.Permitted, err = capMask(caps.Permitted)
	}
	if err == nil {
		sets.Inheritable, err = capMask(caps.Inheritable)
	}
	var ambient CapMask
	if err == nil {
		ambient, err = capMask(caps.Ambient)
	}
	if err != nil {
		return nil, specError("process.capabilities: %w", err)
	}
	var drop []string
	for i, c := range capNames {
		if !bounding.Has(i) {
			drop = append(drop, c)
		}
	}
	if len(drop) > 0 {
		add(Step{Op: OpCapBsetDrop, Caps: drop, Why: "no process in the container can ever regain these (needs CAP_SETPCAP: before setuid)"})
	}
	u := p.User
	nonRoot := u.UID != 0
	if nonRoot && ambient != 0 {
		add(Step{Op: OpKeepCaps, Why: "keep the permitted set across setuid, for the ambient capabilities"})
	}
	add(Step{Op: OpSetgroups, IDs: append([]uint32{}, u.AdditionalGids...), Why: "the supplementary groups (the caller's must not leak in)"})
	add(Step{Op: OpSetgid, GID: u.GID, Why: "the primary group"})
	add(Step{Op: OpSetuid, UID: u.UID, Why: "the user; from root to another user the kernel clears the effective and permitted sets"})
	if nonRoot && ambient == 0 {
		// Docker's semantics: a user other than root has no capabilities
		// (the kernel has just cleared them). Say so explicitly, the
		// inheritable set included.
		sets = CapSets{}
	}
	add(Step{Op: OpCapset, Sets: sets, Why: "the spec's capability sets"})
	if ambient != 0 {
		add(Step{Op: OpAmbient, Caps: ambient.Names(), Why: "ambient capabilities survive execve for a non-root user"})
	}
	if p.NoNewPrivileges {
		add(Step{Op: OpNoNewPrivs, Why: "execve can never grant privileges again (setuid binaries, file capabilities)"})
	}
	add(Step{Op: chroot.OpExec, Args: p.Args, Env: processEnv(p.Env), Why: "become the command, looked up in the container's PATH"})
	return steps, nil
}

// processEnv is the command's environment: exactly the spec's, plus PATH
// if it has none (the caller's PATH may name directories the image lacks).
func processEnv(env []string) []string {
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			return env
		}
	}
	return append(append([]string(nil), env...), "PATH="+DefaultPath)
}
