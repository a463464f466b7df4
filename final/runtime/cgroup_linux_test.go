package runtime_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"berth/final/runtime"
	"berth/steps/testkit"
)

// cgroup2Root finds a cgroup v2 hierarchy: /sys/fs/cgroup on a v2 host, its
// "unified" directory on a hybrid one.
func cgroup2Root(t *testing.T) string {
	for _, dir := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st unix.Statfs_t
		if unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			return dir
		}
	}
	t.Skip("no cgroup v2 hierarchy on this host (cgroup v1 only): CLONE_INTO_CGROUP needs one")
	return ""
}

func TestCgroupDir(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	root := cgroup2Root(t)
	name := fmt.Sprintf("berth-runtime-test-%d", os.Getpid())
	dir := filepath.Join(root, name)
	require.NoError(t, os.Mkdir(dir, 0o755))
	// Registered first, so it runs last: after the processes are gone.
	t.Cleanup(func() { assert.NoError(t, os.Remove(dir)) })

	spec := newSpec(t, "sleep", "1000")
	var prestartPid int
	p, err := runtime.Start(spec, runtime.StartOptions{CgroupDir: dir, Prestart: func(pid int) error {
		prestartPid = pid
		return nil
	}})
	require.NoError(t, err)
	started(t, p)
	assert.Equal(t, p.Pid, prestartPid)
	cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", p.Pid))
	require.NoError(t, err)
	assert.Contains(t, string(cg), "0::/"+name+"\n", "the init was cloned into the cgroup")

	proc := *spec.Process
	proc.Args = []string{"sleep", "1000"}
	var execPrestart int
	e, err := runtime.Exec(p.Pid, &proc, runtime.ExecOptions{CgroupDir: dir, Prestart: func(pid int) error {
		execPrestart = pid
		return nil
	}})
	require.NoError(t, err)
	started(t, e)
	assert.Equal(t, e.Pid, execPrestart)
	procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{fmt.Sprint(p.Pid), fmt.Sprint(e.Pid)}, strings.Fields(string(procs)))

	for _, x := range []*runtime.Process{e, p} {
		require.NoError(t, x.Signal(unix.SIGKILL))
		_, err := x.Wait()
		require.NoError(t, err)
	}
}
