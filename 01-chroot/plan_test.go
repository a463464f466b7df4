package chroot_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	chroot "berth/01-chroot"
)

func TestValidate(t *testing.T) {
	ok := chroot.Jail{Rootfs: "/srv/rootfs", Mode: chroot.ModePivotRoot, Args: []string{"/bin/sh"}}
	tests := []struct {
		name    string
		mutate  func(*chroot.Jail)
		wantErr string
	}{
		{"valid", func(*chroot.Jail) {}, ""},
		{"no rootfs", func(j *chroot.Jail) { j.Rootfs = "" }, "no rootfs"},
		{"relative rootfs", func(j *chroot.Jail) { j.Rootfs = "rootfs" }, "absolute path"},
		{"unknown mode", func(j *chroot.Jail) { j.Mode = "jail" }, `unknown mode "jail"`},
		{"no command", func(j *chroot.Jail) { j.Args = nil }, "no command"},
		{"empty command", func(j *chroot.Jail) { j.Args = []string{""} }, "no command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := ok
			tt.mutate(&j)
			err := j.Validate()
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.wantErr)
			_, planErr := j.Plan()
			assert.Error(t, planErr, "Plan must refuse what Validate refuses")
		})
	}
}

func TestChrootPlan(t *testing.T) {
	p, err := chroot.Jail{Rootfs: "/srv/rootfs/", Mode: chroot.ModeChroot, Args: []string{"ls", "/"}}.Plan()
	require.NoError(t, err)
	assert.False(t, p.NewMountNamespace, "a chroot jail needs no mount namespace")
	assert.Equal(t, " 1. chdir(\"/srv/rootfs\")\n"+
		" 2. chroot(\".\")\n"+
		" 3. chdir(\"/\")\n"+
		" 4. execve(\"ls\", [\"ls\" \"/\"])\n", p.String())
}

func TestPivotRootPlan(t *testing.T) {
	p, err := chroot.Jail{Rootfs: "/srv/rootfs", Mode: chroot.ModePivotRoot, Args: []string{"sh"}}.Plan()
	require.NoError(t, err)
	require.True(t, p.NewMountNamespace, "pivot_root must happen in a mount namespace of its own")

	calls := make([]string, len(p.Steps))
	index := map[chroot.Op]int{}
	for i, s := range p.Steps {
		calls[i] = s.String()
		if _, seen := index[s.Op]; !seen {
			index[s.Op] = i
		}
		assert.NotEmpty(t, s.Why, "step %d (%s) must say why it is there", i+1, s)
	}
	// Order matters: private before any mount, bind before pivot_root,
	// chdir before unmounting the old root, unmount before rmdir, exec last.
	assert.Equal(t, `mount("", "/", "", MS_PRIVATE|MS_REC, "")`, calls[0])
	assert.Equal(t, `mount("/srv/rootfs", "/srv/rootfs", "", MS_BIND|MS_REC, "")`, calls[1])
	assert.Contains(t, calls, `mount("proc", "/srv/rootfs/proc", "proc", MS_NOSUID|MS_NODEV|MS_NOEXEC, "")`)
	assert.Contains(t, calls, `mount("tmpfs", "/srv/rootfs/dev", "tmpfs", MS_NOSUID|MS_STRICTATIME, "mode=755,size=65536k")`)
	assert.Contains(t, calls, `mknod("/srv/rootfs/dev/null", S_IFCHR|0666, makedev(1, 3))`)
	assert.Contains(t, calls, `symlink("/proc/self/fd", "/srv/rootfs/dev/fd")`)
	assert.Contains(t, calls, `pivot_root("/srv/rootfs", "/srv/rootfs/.oldroot")`)
	assert.Contains(t, calls, `umount2("/.oldroot", MNT_DETACH)`)
	assert.Less(t, index[chroot.OpMkdir], index[chroot.OpPivotRoot])
	assert.Less(t, index[chroot.OpPivotRoot], index[chroot.OpChdir])
	assert.Less(t, index[chroot.OpChdir], index[chroot.OpUnmount])
	assert.Less(t, index[chroot.OpUnmount], index[chroot.OpRmdir])
	assert.Equal(t, chroot.OpExec, p.Steps[len(p.Steps)-1].Op)
	for _, s := range p.Steps[:index[chroot.OpPivotRoot]] {
		if s.Op == chroot.OpMount && s.Path != "/" {
			assert.Contains(t, s.Path, "/srv/rootfs", "before pivot_root, mounts go under the rootfs only: %s", s)
		}
	}
}

func TestMountFlags(t *testing.T) {
	tests := []struct {
		flags uintptr
		want  string
	}{
		{0, "0"},
		{0x1000, "MS_BIND"},
		{0x1000 | 0x4000, "MS_BIND|MS_REC"},
		{0x40000 | 0x4000, "MS_PRIVATE|MS_REC"},
		{0x2 | 0x80000000, "MS_NOSUID|0x80000000"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, chroot.MountFlags(tt.flags))
	}
	assert.Equal(t, "MNT_DETACH", chroot.UnmountFlags(2))
	assert.Equal(t, "0x4", chroot.UnmountFlags(4))
}
