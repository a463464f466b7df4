package runtime

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultPath is the PATH a container's process gets when its environment
// has none (Docker's default).
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// InitAnnotation, set to "true" in a spec's annotations, asks for a tiny
// init as PID 1 (Docker's --init): the init starts the command as its child,
// reaps every zombie and forwards every signal to it.
const InitAnnotation = "berth.init"

// MaskedPaths are the files and directories Docker hides from a container:
// a file gets /dev/null bound over it, a directory an empty read-only tmpfs.
var MaskedPaths = []string{
	"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
	"/sys/firmware", "/sys/devices/virtual/powercap",
}

// ReadonlyPaths are the parts of /proc Docker makes read-only: writing to
// them would change the host's kernel, not the container's.
var ReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}

// Default returns a spec with Docker's defaults for a container whose root
// filesystem is mounted at rootfs, running args: namespaces mount, UTS, IPC,
// PID and network (and cgroup when the host runs cgroup v2 only), root with
// Docker's capabilities, the standard /proc, /dev, /sys mounts, and
// Docker's masked and read-only paths. The engine edits the result
// (hostname, environment, user, volumes, network mode...) before Start.
func Default(rootfs string, args []string) *specs.Spec {
	return defaultSpec(rootfs, args, cgroup2Only())
}

// defaultSpec is Default with the host's cgroup mode given, so both kinds
// of host can be tested anywhere.
func defaultSpec(rootfs string, args []string, cgroup2 bool) *specs.Spec {
	caps := func() []string { return append([]string(nil), DefaultCapabilities...) }
	ns := []specs.LinuxNamespace{
		{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace},
		{Type: specs.UTSNamespace}, {Type: specs.MountNamespace},
	}
	// A cgroup namespace only makes sense when /sys/fs/cgroup can be a
	// cgroup2 mount rooted at the container's own cgroup; on a v1 or hybrid
	// host Docker leaves both out.
	if cgroup2 {
		ns = append(ns, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	mounts := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
	}
	if cgroup2 {
		mounts = append(mounts, specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup2", Source: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}})
	}
	mounts = append(mounts,
		specs.Mount{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
	)
	return &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Args: append([]string(nil), args...),
			Env:  []string{"PATH=" + DefaultPath},
			Cwd:  "/",
			User: specs.User{UID: 0, GID: 0},
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps(), Effective: caps(), Permitted: caps(),
			},
			// No rlimits: like Docker's, the process inherits the caller's
			// (raising a hard limit needs CAP_SYS_RESOURCE, which some
			// hosts' root lacks inside a sandbox).
		},
		Root:   &specs.Root{Path: rootfs},
		Mounts: mounts,
		Linux: &specs.Linux{
			Namespaces:    ns,
			MaskedPaths:   append([]string(nil), MaskedPaths...),
			ReadonlyPaths: append([]string(nil), ReadonlyPaths...),
			// Docker's device cgroup rules: deny everything, then allow the
			// default nodes. This runtime does not manage cgroups (the
			// engine does), but runc, given the same bundle, applies them.
			Resources: &specs.LinuxResources{Devices: defaultDeviceRules()},
		},
	}
}

func defaultDeviceRules() []specs.LinuxDeviceCgroup {
	// A nil minor is the wildcard ("c 136:* rwm").
	rule := func(typ string, major int64, minor *int64, access string) specs.LinuxDeviceCgroup {
		return specs.LinuxDeviceCgroup{Allow: true, Type: typ, Major: &major, Minor: minor, Access: access}
	}
	num := func(n int64) *int64 { return &n }
	rules := []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}
	for _, d := range defaultDevices {
		rules = append(rules, rule("c", int64(d.major), num(int64(d.minor)), "rwm"))
	}
	return append(rules,
		rule("c", 5, num(1), "rwm"),    // /dev/console
		rule("c", 5, num(2), "rwm"),    // /dev/pts/ptmx
		rule("c", 136, nil, "rwm"),     // /dev/pts/*
		rule("c", 10, num(200), "rwm"), // /dev/net/tun
	)
}

// device is a character device every container gets in /dev.
type device struct {
	name         string
	major, minor uint32
}

// defaultDevices are the nodes of a container's /dev (the kernel's
// Documentation/admin-guide/devices.txt has the numbers).
var defaultDevices = []device{
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
}

// defaultLinks are the symbolic links a container's /dev holds.
var defaultLinks = [][2]string{
	{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"}, {"core", "/proc/kcore"},
}
