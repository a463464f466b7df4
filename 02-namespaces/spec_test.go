package namespaces_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	chroot "berth/01-chroot"
	namespaces "berth/02-namespaces"
)

func TestParseNamespaces(t *testing.T) {
	tests := []struct {
		in      string
		want    []namespaces.Namespace
		wantErr string
	}{
		{"all", namespaces.All, ""},
		{"uts,pid", []namespaces.Namespace{namespaces.UTS, namespaces.PID}, ""},
		{"mnt, net", []namespaces.Namespace{namespaces.Mount, namespaces.Network}, ""},
		{"uts,time", nil, `unknown namespace "time"`},
		{"", nil, `unknown namespace ""`},
	}
	for _, tt := range tests {
		got, err := namespaces.ParseNamespaces(tt.in)
		if tt.wantErr != "" {
			assert.ErrorContains(t, err, tt.wantErr, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func validSpec() namespaces.Spec {
	return namespaces.Spec{Rootfs: "/srv/rootfs", Args: []string{"sh"}, Hostname: "box",
		Namespaces: []namespaces.Namespace{namespaces.Mount, namespaces.UTS, namespaces.PID}}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*namespaces.Spec)
		wantErr string
	}{
		{"valid", func(*namespaces.Spec) {}, ""},
		{"relative rootfs", func(s *namespaces.Spec) { s.Rootfs = "rootfs" }, "absolute path"},
		{"no command", func(s *namespaces.Spec) { s.Args = nil }, "no command"},
		{"no mount namespace", func(s *namespaces.Spec) { s.Namespaces = []namespaces.Namespace{namespaces.UTS} }, "needs a mount namespace"},
		{"hostname without uts", func(s *namespaces.Spec) { s.Namespaces = []namespaces.Namespace{namespaces.Mount} }, "would rename the host"},
		{"long hostname", func(s *namespaces.Spec) { s.Hostname = strings.Repeat("h", 65) }, "longer than 64"},
		{"init without pid", func(s *namespaces.Spec) {
			s.Init = true
			s.Namespaces = []namespaces.Namespace{namespaces.Mount, namespaces.UTS}
		}, "add pid"},
		{"maps without user", func(s *namespaces.Spec) { s.UIDMap = []namespaces.IDMap{{0, 1000, 1}} }, "need a user namespace"},
		{"user without maps", func(s *namespaces.Spec) { s.Namespaces = append(s.Namespaces, namespaces.User) }, "needs a uid map"},
		{"twice", func(s *namespaces.Spec) { s.Namespaces = append(s.Namespaces, namespaces.PID) }, "pid listed twice"},
		{"unknown", func(s *namespaces.Spec) { s.Namespaces = append(s.Namespaces, "time") }, `unknown namespace "time"`},
		{"empty map", func(s *namespaces.Spec) {
			s.Namespaces = append(s.Namespaces, namespaces.User)
			s.UIDMap = []namespaces.IDMap{{0, 1000, 0}}
			s.GIDMap = []namespaces.IDMap{{0, 1000, 1}}
		}, "size 0"},
		{"map past the end", func(s *namespaces.Spec) {
			s.Namespaces = append(s.Namespaces, namespaces.User)
			s.UIDMap = []namespaces.IDMap{{0, 4294967000, 65536}}
			s.GIDMap = []namespaces.IDMap{{0, 1000, 1}}
		}, "past the largest id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			tt.mutate(&s)
			err := s.Validate()
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestFlagNames(t *testing.T) {
	assert.Equal(t, "CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWPID|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWNET|CLONE_NEWCGROUP",
		namespaces.FlagNames(namespaces.CloneFlags(namespaces.All)))
	assert.Equal(t, "CLONE_NEWNS|CLONE_NEWUTS", namespaces.FlagNames(namespaces.CloneFlags([]namespaces.Namespace{namespaces.UTS, namespaces.Mount})))
	assert.Equal(t, "0", namespaces.FlagNames(0))
}

func ops(p namespaces.Plan) []string {
	var out []string
	for _, s := range p.Steps {
		out = append(out, s.String())
	}
	return out
}

func TestPlanForRoot(t *testing.T) {
	p, err := validSpec().Plan()
	require.NoError(t, err)
	calls := ops(p)
	assert.Equal(t, `sethostname("box")`, calls[0], "the hostname first")
	assert.Equal(t, `mount("", "/", "", MS_PRIVATE|MS_REC, "")`, calls[1], "private before any mount")
	assert.Contains(t, calls, `mknod("/srv/rootfs/dev/null", S_IFCHR|0666, makedev(1, 3))`)
	assert.Contains(t, calls, `mount("devpts", "/srv/rootfs/dev/pts", "devpts", MS_NOSUID|MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620")`)
	assert.Contains(t, calls, `symlink("pts/ptmx", "/srv/rootfs/dev/ptmx")`)
	assert.Contains(t, calls, `mount("shm", "/srv/rootfs/dev/shm", "tmpfs", MS_NOSUID|MS_NODEV|MS_NOEXEC, "mode=1777,size=65536k")`)
	assert.Contains(t, calls, `mount("sysfs", "/srv/rootfs/sys", "sysfs", MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC, "")`)
	assert.Contains(t, calls, `pivot_root("/srv/rootfs", "/srv/rootfs/.oldroot")`)
	assert.Equal(t, chroot.OpExec, p.Steps[len(p.Steps)-1].Op)
	assert.Nil(t, p.UIDMap)
	assert.Equal(t, "clone(CLONE_NEWNS|CLONE_NEWPID|CLONE_NEWUTS)\n", strings.SplitAfterN(p.String(), "\n", 2)[0])
	for _, s := range p.Steps {
		assert.NotEmpty(t, s.Why, "%s must say why", s)
		assert.NotEqual(t, namespaces.OpCreate, s.Op, "root may mknod: no bind-mounted devices")
	}
}

func TestPlanInAUserNamespace(t *testing.T) {
	s := validSpec()
	s.Namespaces = append(s.Namespaces, namespaces.User)
	s.UIDMap, s.GIDMap = namespaces.RootlessMaps(1000, 1000)
	p, err := s.Plan()
	require.NoError(t, err)
	calls := ops(p)
	for _, c := range calls {
		assert.False(t, strings.HasPrefix(c, "mknod"), "a user namespace may not mknod: %s", c)
	}
	assert.Contains(t, calls, `creat("/srv/rootfs/dev/null")`)
	assert.Contains(t, calls, `mount("/dev/null", "/srv/rootfs/dev/null", "", MS_BIND, "")`)
	assert.Contains(t, calls, `mount("/sys", "/srv/rootfs/sys", "", MS_BIND, "")`, "no network namespace of its own: sysfs is borrowed, without the host's submounts")
	assert.Contains(t, calls, `mount("", "/srv/rootfs/sys", "", MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC|MS_REMOUNT|MS_BIND, "")`)
	assert.Equal(t, "deny", p.Setgroups, "an unprivileged user must deny setgroups")
	assert.Contains(t, p.String(), "write /proc/PID/uid_map \"0 1000 1\"\nwrite /proc/PID/setgroups \"deny\"\nwrite /proc/PID/gid_map \"0 1000 1\"\n")

	s.UIDMap = []namespaces.IDMap{{0, 100000, 65536}}
	s.GIDMap = []namespaces.IDMap{{0, 100000, 65536}}
	s.Namespaces = append(s.Namespaces, namespaces.Network)
	p, err = s.Plan()
	require.NoError(t, err)
	assert.Equal(t, "allow", p.Setgroups, "root mapping a range may keep setgroups")
	assert.Contains(t, ops(p), `mount("sysfs", "/srv/rootfs/sys", "sysfs", MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC, "")`, "its own network namespace: a sysfs of its own")
}

func TestExitCode(t *testing.T) {
	assert.Equal(t, 0, namespaces.ExitCode(nil))
	assert.Equal(t, 3, namespaces.ExitCode(&namespaces.ExitError{Code: 3}))
	assert.Equal(t, 127, namespaces.ExitCode(&chroot.StepError{ExitCode: 127}))
	assert.Equal(t, 125, namespaces.ExitCode(assert.AnError))
	assert.Equal(t, "killed by SIGTERM (exit code 143)", (&namespaces.ExitError{Code: 143, Signal: 15}).Error())
}
