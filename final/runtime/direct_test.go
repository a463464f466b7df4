package runtime

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	chroot "berth/01-chroot"
)

// Docker's default container splits for a direct start: the mounts on the
// thread, /proc once the command exists, its masks after it, the user and
// session for the fork.
func TestPlanDirectSplitsTheDefaultPlan(t *testing.T) {
	s := defaultSpec("/srv/rootfs", []string{"sh"}, false)
	s.Hostname = "box"
	s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 2048}}
	s.Process.OOMScoreAdj = new(int)
	*s.Process.OOMScoreAdj = 500
	s.Linux.Sysctl = map[string]string{"net.ipv4.ip_unprivileged_port_start": "0"}
	p, err := Plan(s)
	require.NoError(t, err)
	d, why := planDirect(p)
	require.Empty(t, why)

	assert.Equal(t, p.CloneFlags, d.flags)
	assert.Equal(t, `mount("proc", "/srv/rootfs/proc", "proc", MS_NOSUID|MS_NODEV|MS_NOEXEC, "")`, d.procMount.String())
	var thread []string
	for _, st := range d.thread {
		thread = append(thread, st.String())
		assert.NotEqual(t, "proc", st.FSType, "/proc waits for the command")
		assert.NotContains(t, []Op{OpMask, OpReadonly, OpSysctl, OpSetsid, OpSetuid, OpSetgid, OpSetgroups, OpCapset, OpSetrlimit, OpOOMScoreAdj}, st.Op)
	}
	assert.Contains(t, thread, `pivot_root(".", ".")`)
	assert.Contains(t, thread, `sethostname("box")`)
	assert.Contains(t, thread, `ioctl(socket, SIOCSIFFLAGS, {lo, IFF_UP})`)
	require.NotEmpty(t, d.after)
	assert.Equal(t, OpSysctl, d.after[0].Op, "the sysctls, masks and read-only paths, in plan order")
	for _, st := range d.after[1:] {
		assert.Contains(t, []Op{OpMask, OpReadonly}, st.Op)
	}
	require.Len(t, d.child, 2)
	assert.Equal(t, OpSetrlimit, d.child[0].Op)
	assert.Equal(t, OpOOMScoreAdj, d.child[1].Op)
	assert.True(t, d.setsid)
	assert.Equal(t, uint32(0), d.uid)
	assert.Equal(t, chroot.OpExec, d.exe.Op)
	assert.Equal(t, []string{"sh"}, d.exe.Args)
}

// What a forked child cannot be given goes through the re-executed init.
func TestPlanDirectRefuses(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*specs.Spec)
		why   string
		works bool
	}{
		{"terminal", func(s *specs.Spec) { s.Process.Terminal = true }, "console", false},
		{"tiny init", func(s *specs.Spec) { s.Annotations = map[string]string{InitAnnotation: "true"} }, "tiny init", false},
		{"a namespace to join", func(s *specs.Spec) {
			for i, ns := range s.Linux.Namespaces {
				if ns.Type == specs.NetworkNamespace {
					s.Linux.Namespaces[i].Path = "/run/netns/x"
				}
			}
		}, "setns", false},
		{"a cgroup namespace", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.CgroupNamespace})
		}, "cgroup namespace", false},
		{"ambient capabilities", func(s *specs.Spec) {
			s.Process.User.UID = 1000
			s.Process.Capabilities.Ambient = []string{"CAP_NET_BIND_SERVICE"}
			s.Process.Capabilities.Inheritable = []string{"CAP_NET_BIND_SERVICE"}
		}, "keepcaps", false},
		{"root with less than its bounding set", func(s *specs.Spec) {
			s.Process.Capabilities.Effective = []string{"CAP_CHOWN"}
			s.Process.Capabilities.Permitted = []string{"CAP_CHOWN"}
		}, "bounding set", false},
		{"root with inheritable capabilities", func(s *specs.Spec) {
			s.Process.Capabilities.Inheritable = []string{"CAP_CHOWN"}
		}, "bounding set", false},
		{"/proc mounted with options", func(s *specs.Spec) {
			for i, m := range s.Mounts {
				if m.Type == "proc" {
					s.Mounts[i].Options = append(s.Mounts[i].Options, "hidepid=2")
				}
			}
		}, "options", false},
		{"a mount inside /proc", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/proc/driver", Type: "tmpfs", Source: "tmpfs"})
		}, "inside /proc", false},
		{"another user", func(s *specs.Spec) { s.Process.User = specs.User{UID: 65534, GID: 65534, AdditionalGids: []uint32{1}} }, "", true},
		{"another user with resource limits", func(s *specs.Spec) {
			s.Process.User = specs.User{UID: 65534, GID: 65534}
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 10, Hard: 10}}
		}, "resource limits", false},
		{"a read-only root", func(s *specs.Spec) { s.Root.Readonly = true }, "", true},
		{"no_new_privs", func(s *specs.Spec) { s.Process.NoNewPrivileges = true }, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := defaultSpec("/srv/rootfs", []string{"sh"}, false)
			tt.edit(s)
			p, err := Plan(s)
			require.NoError(t, err)
			d, why := planDirect(p)
			if tt.works {
				assert.Empty(t, why)
				assert.Equal(t, s.Process.User.UID, d.uid)
				assert.Equal(t, s.Process.User.GID, d.gid)
				assert.ElementsMatch(t, s.Process.User.AdditionalGids, d.groups)
				return
			}
			assert.Contains(t, why, tt.why)
		})
	}
}
