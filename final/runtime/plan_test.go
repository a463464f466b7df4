package runtime

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	chroot "berth/01-chroot"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(file, []byte(got), 0o644))
	}
	want, err := os.ReadFile(file)
	require.NoError(t, err, "run: go test ./final/runtime/ -run %s -update", t.Name())
	assert.Equal(t, string(want), got, "the plan changed: check it, then run with -update")
}

func TestDefaultSpec(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		s := defaultSpec("/srv/rootfs", []string{"sh", "-c", "true"}, v2)
		var ns []string
		for _, n := range s.Linux.Namespaces {
			ns = append(ns, string(n.Type))
			assert.Empty(t, n.Path)
		}
		var dests []string
		for _, m := range s.Mounts {
			dests = append(dests, m.Destination)
		}
		if v2 {
			assert.Equal(t, []string{"pid", "network", "ipc", "uts", "mount", "cgroup"}, ns)
			assert.Equal(t, []string{"/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"}, dests)
		} else {
			assert.Equal(t, []string{"pid", "network", "ipc", "uts", "mount"}, ns, "no cgroup namespace on a v1 host")
			assert.Equal(t, []string{"/proc", "/dev", "/dev/pts", "/sys", "/dev/mqueue", "/dev/shm"}, dests, "no /sys/fs/cgroup on a v1 host")
		}
		p := s.Process
		assert.Equal(t, []string{"sh", "-c", "true"}, p.Args)
		assert.Equal(t, []string{"PATH=" + DefaultPath}, p.Env)
		assert.Equal(t, "/", p.Cwd)
		assert.Equal(t, specs.User{}, p.User)
		assert.False(t, p.Terminal)
		assert.ElementsMatch(t, DefaultCapabilities, p.Capabilities.Bounding)
		assert.ElementsMatch(t, DefaultCapabilities, p.Capabilities.Effective)
		assert.ElementsMatch(t, DefaultCapabilities, p.Capabilities.Permitted)
		assert.Empty(t, p.Capabilities.Inheritable)
		assert.Empty(t, p.Capabilities.Ambient)
		assert.Equal(t, "/srv/rootfs", s.Root.Path)
		assert.False(t, s.Root.Readonly)
		assert.Empty(t, s.Hostname)
		assert.Equal(t, MaskedPaths, s.Linux.MaskedPaths)
		assert.Equal(t, ReadonlyPaths, s.Linux.ReadonlyPaths)
		assert.Empty(t, s.Linux.Devices, "the default devices are always made: none are listed")
	}
	// Each call returns a spec of its own: the engine edits it.
	a, b := defaultSpec("/r", []string{"x"}, false), defaultSpec("/r", []string{"x"}, false)
	a.Process.Capabilities.Bounding[0] = "CAP_SYS_ADMIN"
	a.Linux.MaskedPaths[0] = "/changed"
	assert.Equal(t, DefaultCapabilities[0], b.Process.Capabilities.Bounding[0])
	assert.Equal(t, MaskedPaths[0], b.Linux.MaskedPaths[0])
}

func TestDockerDefaultCapabilityMask(t *testing.T) {
	m, err := capMask(DefaultCapabilities)
	require.NoError(t, err)
	// What `docker run busybox grep CapEff /proc/self/status` prints.
	assert.Equal(t, "00000000a80425fb", m.String())
	_, err = capMask([]string{"CAP_FLY"})
	assert.ErrorContains(t, err, `unknown capability "CAP_FLY"`)
	n, err := capNumber("net_raw")
	require.NoError(t, err)
	assert.Equal(t, 13, n)
}

// TestDefaultPlan pins the whole plan for Docker's defaults on a cgroup v2
// host: the order of the calls and every flag.
func TestDefaultPlan(t *testing.T) {
	s := defaultSpec("/srv/rootfs", []string{"sh"}, true)
	s.Hostname = "box"
	p, err := Plan(s)
	require.NoError(t, err)
	golden(t, "default-plan.golden", p.String())
}

func TestPlanOrder(t *testing.T) {
	s := defaultSpec("/srv/rootfs", []string{"sh"}, false)
	s.Hostname = "box"
	s.Process.Cwd = "/work"
	s.Root.Readonly = true
	p, err := Plan(s)
	require.NoError(t, err)
	assert.Equal(t, "CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWPID|CLONE_NEWNET", cloneFlagNames(p.CloneFlags))
	calls := make([]string, len(p.Steps))
	for i, st := range p.Steps {
		calls[i] = st.String()
	}
	at := func(prefix string) int {
		t.Helper()
		for i, c := range calls {
			if strings.HasPrefix(c, prefix) {
				return i
			}
		}
		t.Fatalf("no step starts with %s in:\n%s", prefix, p)
		return -1
	}
	assert.Equal(t, `mount("", "/", "", MS_PRIVATE|MS_REC, "")`, calls[0], "private before anything is mounted")
	assert.Equal(t, `mount("/srv/rootfs", "/srv/rootfs", "", MS_BIND|MS_REC, "")`, calls[1])
	order := []string{
		`mount("proc", "/srv/rootfs/proc", "proc", MS_NOSUID|MS_NODEV|MS_NOEXEC, "")`,
		`mount("tmpfs", "/srv/rootfs/dev", "tmpfs", MS_NOSUID|MS_STRICTATIME, "mode=755,size=65536k")`,
		`mount("devpts", "/srv/rootfs/dev/pts", "devpts", MS_NOSUID|MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5")`,
		`mount("sysfs", "/srv/rootfs/sys", "sysfs", MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC, "")`,
		`mount("mqueue", "/srv/rootfs/dev/mqueue", "mqueue", MS_NOSUID|MS_NODEV|MS_NOEXEC, "")`,
		`mount("shm", "/srv/rootfs/dev/shm", "tmpfs", MS_NOSUID|MS_NODEV|MS_NOEXEC, "mode=1777,size=65536k")`,
		`mknod("/srv/rootfs/dev/null", S_IFCHR|0666, makedev(1, 3))`,
		`symlink("pts/ptmx", "/srv/rootfs/dev/ptmx")`,
		`pivot_root(".", ".")`,
		`umount2(".", MNT_DETACH)`,
		`mount("/dev/null", "/proc/kcore", "", MS_BIND, "") if a file`,
		`mount("/proc/sys", "/proc/sys", "", MS_BIND|MS_REC, "")`,
		`mkdir -p "/work"`,
		`mount("", "/", "", MS_RDONLY|MS_REMOUNT|MS_BIND, "")`,
		`sethostname("box")`,
		`ioctl(socket, SIOCSIFFLAGS, {lo, IFF_UP})`,
		`setsid()`,
		`chdir("/work")`,
		`prctl(PR_CAPBSET_DROP, {CAP_DAC_READ_SEARCH,`,
		`setgroups(0, [])`,
		`setgid(0)`,
		`setuid(0)`,
		`capset({effective=00000000a80425fb, permitted=00000000a80425fb, inheritable=0000000000000000})`,
		`execve("sh", ["sh"])`,
	}
	last := -1
	for _, c := range order {
		i := at(c)
		assert.Greater(t, i, last, "%s comes after %s", c, calls[max(last, 0)])
		last = i
	}
	assert.Equal(t, len(calls)-1, at(`execve(`), "execve is the last step")
	assert.NotContains(t, p.String(), "cgroup2", "no cgroup2 mount on a v1 host")
	drop := p.Steps[at("prctl(PR_CAPBSET_DROP")].Caps
	assert.Contains(t, drop, "CAP_SYS_ADMIN")
	for _, c := range DefaultCapabilities {
		assert.NotContains(t, drop, c, "Docker's capabilities stay in the bounding set")
	}
	for _, st := range p.Steps[:at(`chdir("/srv/rootfs")`)] {
		if st.Path != "/" && st.Path != "/srv/rootfs" {
			assert.Equal(t, "/srv/rootfs", st.Root, "before pivot_root, %s is resolved inside the rootfs", st)
		}
	}
	for _, st := range p.Steps[at(`pivot_root`):] {
		assert.Empty(t, st.Root, "after pivot_root, / is the rootfs: %s", st)
	}
}

func TestPlanOptions(t *testing.T) {
	base := func() *specs.Spec { return defaultSpec("/r", []string{"sh"}, false) }
	u32 := func(n uint32) *uint32 { return &n }
	tests := []struct {
		name   string
		edit   func(*specs.Spec)
		want   []string // steps that must be there, in this order
		absent []string // steps that must not be there
	}{
		{"volume, read-only", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: "/var/lib/berth/volumes/v", Options: []string{"rbind", "rprivate", "ro"}})
		}, []string{
			`mkdir -p or touch "/r/data" (as "/var/lib/berth/volumes/v" is)`,
			`mount("/var/lib/berth/volumes/v", "/r/data", "", MS_BIND|MS_REC, "")`,
			`mount("", "/r/data", "", MS_RDONLY|MS_REMOUNT|MS_BIND, "")`,
			`mount("", "/r/data", "", MS_PRIVATE|MS_REC, "")`,
		}, nil},
		{"volume, read-write", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/etc/hosts", Type: "bind", Source: "/run/c1/hosts", Options: []string{"rbind", "rprivate"}})
		}, []string{
			`mount("/run/c1/hosts", "/r/etc/hosts", "", MS_BIND|MS_REC, "")`,
			`mount("", "/r/etc/hosts", "", MS_PRIVATE|MS_REC, "")`,
		}, []string{`mount("", "/r/etc/hosts", "", MS_RDONLY`}},
		{"terminal", func(s *specs.Spec) { s.Process.Terminal = true }, []string{
			`mkdir -p or touch "/r/dev/console" (as "/dev/null" is)`,
			`mount("/proc/self/fd/0", "/r/dev/console", "", MS_BIND, "")`,
			`setsid()`,
			`ioctl(0, TIOCSCTTY, 0)`,
		}, nil},
		{"terminal with a size", func(s *specs.Spec) {
			s.Process.Terminal = true
			s.Process.ConsoleSize = &specs.Box{Height: 40, Width: 120}
		}, []string{`ioctl(0, TIOCSCTTY, 0)`, `ioctl(0, TIOCSWINSZ, {ws_row=40, ws_col=120})`}, nil},
		{"no terminal", func(*specs.Spec) {}, nil, []string{`ioctl(0, TIOCSCTTY, 0)`, "/dev/console"}},
		{"nobody", func(s *specs.Spec) {
			s.Process.User = specs.User{UID: 65534, GID: 65534, AdditionalGids: []uint32{65534}}
		}, []string{
			`setgroups(1, [65534])`, `setgid(65534)`, `setuid(65534)`,
			`capset({effective=0000000000000000, permitted=0000000000000000, inheritable=0000000000000000})`,
		}, []string{`prctl(PR_SET_KEEPCAPS, 1)`, `PR_CAP_AMBIENT_RAISE`}},
		{"ambient for a user", func(s *specs.Spec) {
			s.Process.User = specs.User{UID: 1000, GID: 1000}
			c := s.Process.Capabilities
			c.Ambient, c.Inheritable = []string{"CAP_NET_BIND_SERVICE"}, []string{"CAP_NET_BIND_SERVICE"}
		}, []string{
			`prctl(PR_SET_KEEPCAPS, 1)`, `setuid(1000)`,
			`capset({effective=00000000a80425fb, permitted=00000000a80425fb, inheritable=0000000000000400})`,
			`prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE)`,
		}, nil},
		{"no capabilities", func(s *specs.Spec) { s.Process.Capabilities = nil }, []string{
			`capset({effective=0000000000000000, permitted=0000000000000000, inheritable=0000000000000000})`,
		}, nil},
		{"no_new_privileges", func(s *specs.Spec) { s.Process.NoNewPrivileges = true }, []string{
			`capset(`, `prctl(PR_SET_NO_NEW_PRIVS, 1)`, `execve(`,
		}, nil},
		{"rlimits, umask, oom", func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 4096}}
			s.Process.User.Umask = u32(0o077)
			adj := 500
			s.Process.OOMScoreAdj = &adj
		}, []string{
			`setrlimit(RLIMIT_NOFILE, {cur=1024, max=4096})`,
			`write("/proc/self/oom_score_adj", "500")`,
			`umask(077)`,
			`prctl(PR_CAPBSET_DROP`,
		}, nil},
		{"sysctls in order", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_unprivileged_port_start": "0", "kernel.msgmax": "65536"}
		}, []string{
			`pivot_root(".", ".")`,
			`write("/proc/sys/kernel/msgmax", "65536")`,
			`write("/proc/sys/net/ipv4/ip_unprivileged_port_start", "0")`,
			`mount("/proc/sys", "/proc/sys"`,
		}, nil},
		{"joined network namespace", func(s *specs.Spec) {
			for i, n := range s.Linux.Namespaces {
				if n.Type == specs.NetworkNamespace {
					s.Linux.Namespaces[i].Path = "/run/netns/n1"
				}
			}
		}, []string{
			`setns(open("/run/netns/n1"), CLONE_NEWNET)`,
			`mount("", "/", "", MS_PRIVATE|MS_REC, "")`,
			`mount("sysfs"`,
		}, nil},
		{"device", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: func() *os.FileMode { m := os.FileMode(0o600); return &m }(), UID: u32(1000)}}
		}, []string{
			`mknod("/r/dev/tty", S_IFCHR|0666, makedev(5, 0))`,
			`mknod("/r/dev/fuse", S_IFCHR|0600, makedev(10, 229)) + chown(1000, 0)`,
		}, nil},
		{"domain name", func(s *specs.Spec) { s.Domainname = "example.org" }, []string{`setdomainname("example.org")`}, nil},
		{"rslave root", func(s *specs.Spec) { s.Linux.RootfsPropagation = "rslave" }, []string{`mount("", "/", "", MS_SLAVE|MS_REC, "")`}, nil},
		{"/dev bound from the host", func(s *specs.Spec) {
			s.Mounts[1] = specs.Mount{Destination: "/dev", Type: "bind", Source: "/dev", Options: []string{"rbind"}}
		}, []string{`mount("/dev", "/r/dev", "", MS_BIND|MS_REC, "")`}, []string{`mknod(`, `symlink(`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			tt.edit(s)
			p, err := Plan(s)
			require.NoError(t, err)
			text := p.String()
			last := -1
			for _, w := range tt.want {
				i := strings.Index(text[max(last, 0):], w)
				require.GreaterOrEqual(t, i, 0, "want %s after position %d in:\n%s", w, last, text)
				last = max(last, 0) + i + len(w)
			}
			for _, a := range tt.absent {
				assert.NotContains(t, text, a)
			}
		})
	}
}

func TestTinyInitPlan(t *testing.T) {
	s := defaultSpec("/r", []string{"sh"}, false)
	p, err := Plan(s)
	require.NoError(t, err)
	assert.False(t, p.TinyInit)
	s.Annotations = map[string]string{InitAnnotation: "true"}
	p, err = Plan(s)
	require.NoError(t, err)
	assert.True(t, p.TinyInit)
	assert.Equal(t, chroot.OpExec, p.Steps[len(p.Steps)-1].Op)
	assert.Contains(t, p.String(), "the init stays PID 1")
}

func TestPlanRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(*specs.Spec)
		want string
	}{
		{"no root", func(s *specs.Spec) { s.Root = nil }, "no root.path"},
		{"relative root", func(s *specs.Spec) { s.Root.Path = "rootfs" }, "absolute"},
		{"no process", func(s *specs.Spec) { s.Process = nil }, "no process"},
		{"no command", func(s *specs.Spec) { s.Process.Args = nil }, "no command"},
		{"relative cwd", func(s *specs.Spec) { s.Process.Cwd = "work" }, "process.cwd"},
		{"no linux", func(s *specs.Spec) { s.Linux = nil }, "no linux section"},
		{"no mount namespace", func(s *specs.Spec) { s.Linux.Namespaces = s.Linux.Namespaces[:4] }, "no mount namespace"},
		{"user namespace", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		}, "user namespaces are not supported"},
		{"twice", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.PIDNamespace})
		}, "listed twice"},
		{"unknown namespace", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "fly"})
		}, `unknown namespace type "fly"`},
		{"joined pid namespace", func(s *specs.Spec) { s.Linux.Namespaces[0].Path = "/proc/1/ns/pid" }, "not supported"},
		{"hostname without uts", func(s *specs.Spec) {
			s.Hostname = "box"
			s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.MountNamespace}}
		}, "would rename the host"},
		{"long hostname", func(s *specs.Spec) { s.Hostname = strings.Repeat("h", 65) }, "longer than 64"},
		{"relative mount", func(s *specs.Spec) { s.Mounts = append(s.Mounts, specs.Mount{Destination: "data", Type: "tmpfs"}) }, "must be an absolute path"},
		{"mount on /", func(s *specs.Spec) { s.Mounts = append(s.Mounts, specs.Mount{Destination: "/", Type: "tmpfs"}) }, "onto /"},
		{"bind without source", func(s *specs.Spec) { s.Mounts = append(s.Mounts, specs.Mount{Destination: "/x", Type: "bind"}) }, "has no source"},
		{"cgroup v1", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup"})
		}, "cgroup v1"},
		{"unknown capability", func(s *specs.Spec) { s.Process.Capabilities.Bounding = []string{"CAP_FLY"} }, "CAP_FLY"},
		{"unknown rlimit", func(s *specs.Spec) { s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_FUN"}} }, "RLIMIT_FUN"},
		{"soft above hard", func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 2, Hard: 1}}
		}, "above the hard limit"},
		{"device outside /dev", func(s *specs.Spec) { s.Linux.Devices = []specs.LinuxDevice{{Path: "/etc/x", Type: "c"}} }, "under /dev"},
		{"sysctl with a slash", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"../../etc/passwd": "x"} }, "sysctl"},
		{"shared root", func(s *specs.Spec) { s.Linux.RootfsPropagation = "rshared" }, "rootfsPropagation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := defaultSpec("/r", []string{"sh"}, false)
			tt.edit(s)
			_, err := Plan(s)
			require.Error(t, err)
			assert.ErrorContains(t, err, tt.want)
			assert.ErrorContains(t, err, "runtime: invalid spec")
		})
	}
	_, err := Plan(nil)
	assert.ErrorContains(t, err, "no spec")
}

func TestParseMountOptions(t *testing.T) {
	tests := []struct {
		options     []string
		flags, prop string
		data        string
	}{
		{nil, "0", "0", ""},
		{[]string{"nosuid", "noexec", "nodev"}, "MS_NOSUID|MS_NODEV|MS_NOEXEC", "0", ""},
		{[]string{"ro", "rw"}, "0", "0", ""},
		{[]string{"rw", "ro"}, "MS_RDONLY", "0", ""},
		{[]string{"rbind", "rprivate", "ro"}, "MS_RDONLY|MS_BIND|MS_REC", "MS_PRIVATE|MS_REC", ""},
		{[]string{"bind", "rslave"}, "MS_BIND", "MS_SLAVE|MS_REC", ""},
		{[]string{"nosuid", "strictatime", "mode=755", "size=65536k"}, "MS_NOSUID|MS_STRICTATIME", "0", "mode=755,size=65536k"},
		{[]string{"newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}, "0", "0", "newinstance,ptmxmode=0666,mode=0620,gid=5"},
		{[]string{"defaults", "tmpcopyup", "noatime", "relatime"}, "MS_NOATIME|MS_RELATIME", "0", ""},
		{[]string{"suid", "dev", "exec"}, "0", "0", ""},
	}
	for _, tt := range tests {
		p := parseMountOptions(tt.options)
		assert.Equal(t, tt.flags, MountFlags(p.flags), "%v", tt.options)
		assert.Equal(t, tt.prop, MountFlags(p.propagation), "%v", tt.options)
		assert.Equal(t, tt.data, p.data, "%v", tt.options)
	}
	assert.Equal(t, "MS_BIND|0x80000000", MountFlags(msBind|0x80000000))
}

func TestProcessEnv(t *testing.T) {
	assert.Equal(t, []string{"A=1", "PATH=" + DefaultPath}, processEnv([]string{"A=1"}))
	assert.Equal(t, []string{"PATH=/bin", "A=1"}, processEnv([]string{"PATH=/bin", "A=1"}))
	assert.Equal(t, []string{"PATH=" + DefaultPath}, processEnv(nil))
}
