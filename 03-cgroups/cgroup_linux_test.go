package cgroup_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	namespaces "berth/02-namespaces"
	cgroup "berth/03-cgroups"
	"berth/steps/testkit"
)

var groups int

// group creates a cgroup with limits r for the test, destroyed at its end.
func group(t *testing.T, r cgroup.Resources) cgroup.Manager {
	t.Helper()
	l, err := cgroup.DetectLayout()
	require.NoError(t, err)
	host, err := l.Host()
	require.NoError(t, err)
	require.NoError(t, r.Validate(host))
	groups++
	m, err := l.Manager(fmt.Sprintf("test-%s-%d-%d", strings.ToLower(t.Name()), os.Getpid(), groups))
	require.NoError(t, err)
	require.NoError(t, m.Create())
	t.Cleanup(func() {
		assert.NoError(t, m.Destroy())
		for _, d := range m.Paths() {
			assert.NoDirExists(t, d)
		}
	})
	require.NoError(t, m.Apply(r))
	return m
}

// start runs a shell command in a container inside group m: the init joins
// the group before it runs anything.
func start(t *testing.T, m cgroup.Manager, command string, stdout *bytes.Buffer) *namespaces.Container {
	t.Helper()
	rootfs := testkit.Rootfs(t)
	require.NoError(t, testkit.InstallBinary(rootfs, testkit.Static(t, "berth/03-cgroups/hog"), "/bin/hog"))
	s := namespaces.Spec{
		Rootfs: rootfs, Args: []string{"sh", "-c", command},
		Namespaces: []namespaces.Namespace{namespaces.Mount, namespaces.PID, namespaces.UTS},
		Prestart:   m.Add,
	}
	var out *bytes.Buffer = stdout
	if out == nil {
		out = &bytes.Buffer{}
	}
	c, err := namespaces.Start(s, nil, out, out)
	require.NoError(t, err)
	t.Cleanup(func() { c.Signal(unix.SIGKILL); c.Wait() })
	return c
}

func TestMemoryHogIsOOMKilled(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	m := group(t, cgroup.Resources{Memory: 32 << 20, MemorySwap: 32 << 20})
	before, err := m.Stats()
	require.NoError(t, err)

	var out bytes.Buffer
	c := start(t, m, "exec hog mem 64", &out) // twice the limit
	err = c.Wait()
	assert.Equal(t, 137, namespaces.ExitCode(err), "the OOM killer's SIGKILL: %v", err)
	assert.NotContains(t, out.String(), "all allocated")
	assert.Contains(t, out.String(), "hog: 16 MiB", "it got some way before the limit")

	after, err := m.Stats()
	require.NoError(t, err)
	assert.Greater(t, after.OOMKills, before.OOMKills, "the OOM kill is counted")
	assert.LessOrEqual(t, after.MemoryPeak, uint64(32<<20)+1<<20, "usage never went far past the limit")

	// The host is unharmed: a container without the limit runs the same.
	free := group(t, cgroup.Resources{Memory: 256 << 20})
	c = start(t, free, "exec hog mem 64", nil)
	assert.NoError(t, c.Wait(), "with room, the same command succeeds")

	// Raising both limits of a v1 group must write memory+swap first.
	require.NoError(t, m.Apply(cgroup.Resources{Memory: 512 << 20, MemorySwap: 512 << 20}), "raising a limit")
}

func TestForkBombStopsAtThePidsLimit(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	const limit = 16
	m := group(t, cgroup.Resources{PidsLimit: limit})
	var out bytes.Buffer
	c := start(t, m, "exec hog fork 200", &out)

	require.Eventually(t, func() bool { return strings.Contains(out.String(), "hog: forked") }, 20*time.Second, 20*time.Millisecond)
	t.Log(out.String())
	st, err := m.Stats()
	require.NoError(t, err)
	assert.EqualValues(t, limit, st.Pids, "the bomb fills the group to its limit, and no further")
	assert.Greater(t, st.PidsRefused, uint64(100), "the kernel refused the rest")
	assert.Contains(t, out.String(), fmt.Sprintf("refused %d", st.PidsRefused))
	require.NoError(t, m.Destroy(), "destroy kills all of them")
	assert.Equal(t, 137, namespaces.ExitCode(c.Wait()))
}

func TestCPUQuota(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	m := group(t, cgroup.Resources{CPUs: 0.5})
	start(t, m, "while :; do :; done", nil)

	// Measured from the group's own accounting over a few seconds.
	time.Sleep(500 * time.Millisecond) // let the spinner start
	s0, err := m.Stats()
	require.NoError(t, err)
	t0 := time.Now()
	time.Sleep(3 * time.Second)
	s1, err := m.Stats()
	require.NoError(t, err)
	used := float64(s1.CPUUsage-s0.CPUUsage) / float64(time.Since(t0))
	t.Logf("used %.3f CPU under --cpus 0.5; throttled %d times", used, s1.Throttled)
	assert.InDelta(t, 0.5, used, 0.1, "--cpus 0.5 allows half a CPU")
	assert.Greater(t, s1.Throttled, s0.Throttled, "the spinner hits its quota")
}

func TestCpusetPinsTheProcess(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	l, err := cgroup.DetectLayout()
	require.NoError(t, err)
	host, err := l.Host()
	require.NoError(t, err)
	cpu := host.CPUs[len(host.CPUs)-1]
	m := group(t, cgroup.Resources{CpusetCPUs: fmt.Sprint(cpu)})
	var out bytes.Buffer
	c := start(t, m, "grep Cpus_allowed_list /proc/self/status", &out)
	require.NoError(t, c.Wait())
	assert.Equal(t, fmt.Sprintf("Cpus_allowed_list:\t%d\n", cpu), out.String())
}

func TestDestroyKillsAndRemoves(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	m := group(t, cgroup.Resources{PidsLimit: 100})
	var out bytes.Buffer
	c := start(t, m, "sleep 60 & sleep 60 & echo started; wait", &out)
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "started") }, 10*time.Second, 10*time.Millisecond)
	st, err := m.Stats()
	require.NoError(t, err)
	assert.EqualValues(t, 3, st.Pids)

	require.NoError(t, m.Destroy())
	assert.Equal(t, 137, namespaces.ExitCode(c.Wait()))
	for _, d := range m.Paths() {
		assert.NoDirExists(t, d)
	}
	require.NoError(t, m.Destroy(), "idempotent")
}

func TestBadInputCreatesNothing(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	l, err := cgroup.DetectLayout()
	require.NoError(t, err)
	host, err := l.Host()
	require.NoError(t, err)
	err = cgroup.Resources{Memory: 1 << 20, CpusetCPUs: "64"}.Validate(host)
	assert.ErrorContains(t, err, "the minimum is 6 MiB")
	assert.ErrorContains(t, err, "--cpuset-cpus 64: 64 is not available on this host")
	_, err = l.Manager("../../etc")
	assert.ErrorContains(t, err, "invalid group name")
}

func TestPrivilegedTestsSkipForNormalUsers(t *testing.T) {
	out := testkit.RunTestsAsNobody(t, "^(TestCPUQuota|TestDestroyKillsAndRemoves)$")
	assert.Equal(t, 2, strings.Count(out, "--- SKIP"), out)
	assert.Contains(t, out, "go test -exec sudo ./03-cgroups/")
}
