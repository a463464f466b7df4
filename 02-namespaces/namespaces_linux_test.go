package namespaces_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	chroot "berth/01-chroot"
	namespaces "berth/02-namespaces"
	"berth/steps/testkit"
	"berth/steps/testkit/probe"
)

// container is a test's rootfs with the probe installed.
type container struct {
	rootfs, probe string
}

func newContainer(t *testing.T) container {
	t.Helper()
	rootfs := testkit.Rootfs(t)
	return container{rootfs: rootfs, probe: testkit.InstallProbe(t, rootfs)}
}

// spec is a container with every namespace but user.
func (c container) spec(args ...string) namespaces.Spec {
	var ns []namespaces.Namespace
	for _, n := range namespaces.All {
		if n != namespaces.User {
			ns = append(ns, n)
		}
	}
	return namespaces.Spec{Rootfs: c.rootfs, Args: args, Hostname: "box", Namespaces: ns}
}

func run(t *testing.T, s namespaces.Spec) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := namespaces.Run(context.Background(), s, nil, &stdout, &stderr)
	if stderr.Len() > 0 {
		t.Logf("stderr: %s", stderr.String())
	}
	return stdout.String(), err
}

func runProbe(t *testing.T, s namespaces.Spec) probe.Report {
	t.Helper()
	out, err := run(t, s)
	require.NoError(t, err)
	var r probe.Report
	require.NoError(t, json.Unmarshal([]byte(out), &r), out)
	return r
}

func TestUTSNamespace(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	c := newContainer(t)
	host, err := os.Hostname()
	require.NoError(t, err)

	r := runProbe(t, c.spec(c.probe))
	assert.Equal(t, "box", r.Hostname)
	out, err := run(t, c.spec("sh", "-c", "hostname changed-inside && hostname"))
	require.NoError(t, err)
	assert.Equal(t, "changed-inside\n", out)
	after, err := os.Hostname()
	require.NoError(t, err)
	assert.Equal(t, host, after, "a hostname changed inside must not reach the host")
}

func TestPIDNamespace(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	c := newContainer(t)
	r := runProbe(t, c.spec(c.probe))
	assert.Equal(t, 1, r.PID, "the command is PID 1")
	assert.Equal(t, 0, r.PPID, "PID 1's parent is outside the namespace")

	// A glob and echo are the shell's own: no other process runs while
	// /proc is listed (ls and grep in a pipeline raced each other).
	out, err := run(t, c.spec("sh", "-c", fmt.Sprintf("set -- /proc/[0-9]*; echo $#; test -e /proc/%d && echo host-pid-visible; true", os.Getpid())))
	require.NoError(t, err)
	assert.Equal(t, "1\n", out, "only the shell is in the container's /proc; the host's processes are not")

	// Chapter 01's hole is closed: /proc/PID/root of a host process is gone.
	out, err = run(t, c.spec("sh", "-c", "ls /proc/$PPID/root 2>&1 || echo no-parent-visible"))
	require.NoError(t, err)
	assert.Contains(t, out, "no-parent-visible")
}

func TestMountNamespace(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	c := newContainer(t)
	before, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)

	out, err := run(t, c.spec("sh", "-c", "mkdir -p /mnt/x && mount -t tmpfs inside /mnt/x && grep -c inside /proc/mounts"))
	require.NoError(t, err)
	assert.Equal(t, "1\n", out)

	after, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after), "mounts made inside stay inside")

	r := runProbe(t, c.spec(c.probe))
	targets := map[string]string{}
	for _, m := range r.Mounts {
		targets[m.Target] = m.FSType
	}
	assert.Equal(t, map[string]string{"/": targets["/"], "/proc": "proc", "/dev": "tmpfs", "/dev/pts": "devpts", "/dev/shm": "tmpfs", "/sys": "sysfs"}, targets)
}

func TestIPCNamespace(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	c := newContainer(t)
	id, err := unix.SysvShmGet(unix.IPC_PRIVATE, 4096, unix.IPC_CREAT|0o600)
	require.NoError(t, err)
	t.Cleanup(func() { unix.SysvShmCtl(id, unix.IPC_RMID, nil) })
	host, err := os.ReadFile("/proc/sysvipc/shm")
	require.NoError(t, err)
	require.Contains(t, shmIDs(string(host)), strconv.Itoa(id))

	out, err := run(t, c.spec("cat", "/proc/sysvipc/shm"))
	require.NoError(t, err)
	assert.NotContains(t, shmIDs(out), strconv.Itoa(id), "the host's shared memory segment must not be visible inside")
}

// shmIDs returns the shmid column of /proc/sysvipc/shm.
func shmIDs(table string) []string {
	var ids []string
	sc := bufio.NewScanner(strings.NewReader(table))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 1 && f[1] != "shmid" {
			ids = append(ids, f[1])
		}
	}
	return ids
}

func TestNetworkNamespace(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	c := newContainer(t)
	r := runProbe(t, c.spec(c.probe))
	require.Len(t, r.Interfaces, 1, "a new network namespace has only the loopback interface")
	assert.Equal(t, "lo", r.Interfaces[0].Name)
	assert.False(t, r.Interfaces[0].Up, "and it starts down")
}

func TestUserNamespaceMapsRootOntoAnUnprivilegedRange(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	c := newContainer(t)
	// Root inside is uid 100000 outside: it must be able to reach the rootfs
	// and own it (Docker's userns-remap chowns image layers the same way).
	testkit.OpenToAll(t, c.rootfs)
	require.NoError(t, testkit.ChownTree(c.rootfs, 100000, 100000))
	s := c.spec("sh", "-c", "cat /proc/self/uid_map; id -u; touch /tmp/made-inside")
	s.Namespaces = append(s.Namespaces, namespaces.User)
	s.UIDMap = []namespaces.IDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.GIDMap = []namespaces.IDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}

	out, err := run(t, s)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	assert.Equal(t, []string{"0", "100000", "65536"}, strings.Fields(lines[0]))
	assert.Equal(t, "0", lines[1], "root inside")
	fi, err := os.Stat(filepath.Join(c.rootfs, "tmp/made-inside"))
	require.NoError(t, err)
	assert.EqualValues(t, 100000, fi.Sys().(*syscall.Stat_t).Uid, "root inside is uid 100000 outside")
}

// TestRootless runs a container as the unprivileged user nobody: the user
// namespace makes it root inside, with every capability there and none
// outside.
func TestRootless(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	c := newContainer(t)
	testkit.OpenToAll(t, c.rootfs)
	// A rootless user owns the rootfs it runs, as when it unpacks an image.
	require.NoError(t, testkit.ChownTree(c.rootfs, testkit.NobodyUID, testkit.NobodyUID))
	out := testkit.RunTestsAsNobody(t, "^$", rootlessEnv+"="+c.rootfs)
	var res rootlessResult
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	require.Empty(t, res.Err)
	assert.Equal(t, 0, res.Probe.UID, "root inside")
	assert.Equal(t, 1, res.Probe.PID)
	assert.Equal(t, "rootless", res.Probe.Hostname)
	assert.Equal(t, res.Probe.Caps.Bounding, res.Probe.Caps.Effective, "every capability, inside its own namespaces")
	assert.Empty(t, res.Touch)
	assert.Contains(t, res.Denied, "renamed\n", "its own UTS namespace: root inside may rename it")
	assert.Contains(t, res.Denied, "Operation not permitted", "but no device nodes: those belong to the host's user namespace")
	fi, err := os.Stat(filepath.Join(c.rootfs, "root/made-by-root-inside"))
	require.NoError(t, err)
	assert.EqualValues(t, testkit.NobodyUID, fi.Sys().(*syscall.Stat_t).Uid, "root inside is nobody outside")
}

// rootlessResult is what rootlessScenario reports to TestRootless.
type rootlessResult struct {
	Probe  probe.Report `json:"probe"`
	Touch  string       `json:"touch"`  // the error of touching /root, if any
	Denied string       `json:"denied"` // what hostname and mknod printed
	Err    string       `json:"err"`
}

// rootlessScenario runs as nobody (see TestMain): three rootless containers,
// whose results it prints as JSON for TestRootless to check.
func rootlessScenario(rootfs string) int {
	var res rootlessResult
	uidMap, gidMap := namespaces.RootlessMaps(os.Getuid(), os.Getgid())
	spec := func(args ...string) namespaces.Spec {
		return namespaces.Spec{Rootfs: rootfs, Args: args, Hostname: "rootless", Namespaces: namespaces.All, UIDMap: uidMap, GIDMap: gidMap}
	}
	var out bytes.Buffer
	if err := namespaces.Run(context.Background(), spec(testkit.ProbeInRootfs), nil, &out, os.Stderr); err != nil {
		res.Err = err.Error()
	} else if err := json.Unmarshal(out.Bytes(), &res.Probe); err != nil {
		res.Err = err.Error()
	}
	if err := namespaces.Run(context.Background(), spec("touch", "/root/made-by-root-inside"), nil, nil, os.Stderr); err != nil {
		res.Touch = err.Error()
	}
	out.Reset()
	namespaces.Run(context.Background(), spec("sh", "-c", "hostname renamed 2>&1 && hostname; mknod /dev/evil c 8 0 2>&1; true"), nil, &out, os.Stderr)
	res.Denied = out.String()
	json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// cgroup2Root finds where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup
// on pure v2, /sys/fs/cgroup/unified on hybrid), or skips.
func cgroup2Root(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if ok && strings.HasPrefix(post, "cgroup2 ") {
			return strings.Fields(pre)[4]
		}
	}
	t.Skip("no cgroup v2 hierarchy is mounted (pure cgroup v1 host)")
	return ""
}

func TestCgroupNamespace(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	c := newContainer(t)
	dir := filepath.Join(cgroup2Root(t), fmt.Sprintf("berth-test-cgns-%d", os.Getpid()))
	require.NoError(t, os.Mkdir(dir, 0o755))
	t.Cleanup(func() { assert.NoError(t, os.Remove(dir)) })
	name := "/" + filepath.Base(dir)

	s := c.spec("sh", "-c", "grep '^0::' /proc/self/cgroup")
	s.Cgroup = dir
	s.Namespaces = []namespaces.Namespace{namespaces.Mount, namespaces.PID, namespaces.UTS}
	out, err := run(t, s)
	require.NoError(t, err)
	assert.Equal(t, "0::"+name+"\n", out, "without a cgroup namespace the host's path shows")

	s.Namespaces = append(s.Namespaces, namespaces.Cgroup)
	out, err = run(t, s)
	require.NoError(t, err)
	assert.Equal(t, "0::/\n", out, "with one, the container's cgroup is its root")
}

func TestJoinEntersTheSameNamespaces(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	c := newContainer(t)
	ctr, err := namespaces.Start(c.spec("sleep", "60"), nil, nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { ctr.Signal(unix.SIGKILL); ctr.Wait() })
	want, err := namespaces.Inodes(ctr.Pid)
	require.NoError(t, err)

	var out bytes.Buffer
	all := []namespaces.Namespace{namespaces.Mount, namespaces.PID, namespaces.UTS, namespaces.IPC, namespaces.Network, namespaces.Cgroup}
	err = namespaces.Join(context.Background(), namespaces.JoinSpec{Pid: ctr.Pid, Namespaces: all, Args: []string{c.probe}}, nil, &out, nil)
	require.NoError(t, err)
	var r probe.Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &r))
	for _, n := range all {
		assert.Equal(t, want[n], r.Namespaces[n.ProcFile()], "%s namespace", n)
	}
	assert.Equal(t, "box", r.Hostname)
	assert.Greater(t, r.PID, 1, "a process that joins is not PID 1")
	assert.Contains(t, r.Root, "bin", "it sees the container's root")
	assert.NotContains(t, r.Root, ".oldroot")

	err = namespaces.Join(context.Background(), namespaces.JoinSpec{Pid: ctr.Pid, Namespaces: all, Args: []string{"sh", "-c", "exit 7"}}, nil, nil, nil)
	assert.Equal(t, 7, namespaces.ExitCode(err), "the joined command's exit code comes back")
	err = namespaces.Join(context.Background(), namespaces.JoinSpec{Pid: ctr.Pid, Namespaces: all, Args: []string{"nope"}}, nil, nil, nil)
	assert.Equal(t, 127, namespaces.ExitCode(err))
	assert.ErrorContains(t, err, "nope: command not found in the rootfs")
	assert.ErrorIs(t, namespaces.Join(context.Background(), namespaces.JoinSpec{Pid: ctr.Pid, Namespaces: []namespaces.Namespace{namespaces.User}, Args: []string{"sh"}}, nil, nil, nil), namespaces.ErrJoinUser)
}

func TestExitCodesAndChildErrors(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	c := newContainer(t)
	_, err := run(t, c.spec("sh", "-c", "exit 3"))
	assert.Equal(t, &namespaces.ExitError{Code: 3}, err)

	_, err = run(t, c.spec("no-such-command"))
	var step *chroot.StepError
	require.ErrorAs(t, err, &step)
	assert.Equal(t, 127, step.ExitCode)
	assert.ErrorContains(t, err, "no-such-command: command not found in the rootfs")

	require.NoError(t, os.WriteFile(filepath.Join(c.rootfs, "not-executable"), []byte("#!/bin/sh\n"), 0o644))
	_, err = run(t, c.spec("/not-executable"))
	require.ErrorAs(t, err, &step)
	assert.Equal(t, 126, step.ExitCode)
	assert.ErrorIs(t, err, unix.EACCES)

	// A failure inside the child, before the command: which step, which
	// call, which path, and the errno, all back in the parent.
	require.NoError(t, os.Remove(filepath.Join(c.rootfs, "sys")))
	_, err = run(t, c.spec("true"))
	require.ErrorAs(t, err, &step)
	assert.Equal(t, 125, step.ExitCode)
	assert.Contains(t, step.Call, `mount("sysfs", "`+c.rootfs+`/sys"`)
	assert.ErrorIs(t, err, unix.ENOENT)
}

func TestSignals(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	c := newContainer(t)

	// Without an init, the command is PID 1: the kernel drops SIGTERM, for
	// which sleep has no handler. Only SIGKILL ends it.
	ctr, err := namespaces.Start(c.spec("sleep", "60"), nil, nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { ctr.Signal(unix.SIGKILL); ctr.Wait() })
	require.NoError(t, ctr.Signal(unix.SIGTERM))
	assert.False(t, exitsWithin(ctr, 500*time.Millisecond), "PID 1 without a handler ignores SIGTERM")
	require.NoError(t, ctr.Signal(unix.SIGKILL))
	assert.Equal(t, &namespaces.ExitError{Code: 137, Signal: unix.SIGKILL}, ctr.Wait())

	// With the tiny init, SIGTERM reaches the command, which dies of it.
	s := c.spec("sleep", "60")
	s.Init = true
	ctr, err = namespaces.Start(s, nil, nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { ctr.Signal(unix.SIGKILL); ctr.Wait() })
	waitForChild(t, ctr.Pid)
	require.NoError(t, ctr.Signal(unix.SIGTERM))
	require.True(t, exitsWithin(ctr, 10*time.Second))
	assert.Equal(t, &namespaces.ExitError{Code: 143}, ctr.Wait(), "the init exits as its command did: 128+15")

	// Without a PID namespace the command is an ordinary process.
	s = c.spec("sleep", "60")
	s.Namespaces = []namespaces.Namespace{namespaces.Mount, namespaces.UTS}
	ctr, err = namespaces.Start(s, nil, nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { ctr.Signal(unix.SIGKILL); ctr.Wait() })
	require.NoError(t, ctr.Signal(unix.SIGTERM))
	assert.Equal(t, &namespaces.ExitError{Code: 143, Signal: unix.SIGTERM}, ctr.Wait())
}

func exitsWithin(c *namespaces.Container, d time.Duration) bool {
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// waitForChild waits until the init has started its command, so a signal
// sent now is one the tiny init forwards.
func waitForChild(t *testing.T, pid int) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if len(namespaces.Children(pid)) > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d started no child", pid)
}

func TestZombies(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	c := newContainer(t)
	// Two orphans, re-parented to PID 1 when their subshells exit; PID 1 then
	// becomes sleep, which never waits for children.
	orphans := "(sleep 0.2 &); (sleep 0.2 &); exec sleep 60"

	ctr, err := namespaces.Start(c.spec("sh", "-c", orphans), nil, nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { ctr.Signal(unix.SIGKILL); ctr.Wait() })
	assert.Eventually(t, func() bool { return namespaces.Zombies(ctr.Pid) == 2 }, 10*time.Second, 20*time.Millisecond,
		"without an init, the orphans stay zombies")
	ctr.Signal(unix.SIGKILL)
	ctr.Wait()

	s := c.spec("sh", "-c", orphans)
	s.Init = true
	ctr, err = namespaces.Start(s, nil, nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { ctr.Signal(unix.SIGKILL); ctr.Wait() })
	// The init's only child left is the command once the orphans are reaped.
	assert.Eventually(t, func() bool { return len(namespaces.Children(ctr.Pid)) == 1 }, 10*time.Second, 20*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // past the orphans' lifetime
	assert.Equal(t, 0, namespaces.Zombies(ctr.Pid), "the tiny init reaps them")
	assert.Len(t, namespaces.Children(ctr.Pid), 1)
}

func TestPrivilegedTestsSkipForNormalUsers(t *testing.T) {
	out := testkit.RunTestsAsNobody(t, "^(TestPIDNamespace|TestJoinEntersTheSameNamespaces)$")
	assert.Equal(t, 2, strings.Count(out, "--- SKIP"), out)
	assert.Contains(t, out, "go test -exec sudo ./02-namespaces/")
}

func TestPrestartRunsBeforeTheInit(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	c := newContainer(t)
	marker := filepath.Join(c.rootfs, "prestart-was-here")
	s := c.spec("cat", "/prestart-was-here")
	var seen int
	s.Prestart = func(pid int) error {
		seen = pid
		// The init exists, in its namespaces, and has not yet pivoted.
		ns, err := namespaces.Inodes(pid)
		if err != nil {
			return err
		}
		self, err := namespaces.Inodes(os.Getpid())
		if err != nil {
			return err
		}
		if ns[namespaces.UTS] == self[namespaces.UTS] {
			return fmt.Errorf("prestart ran before the namespaces existed")
		}
		return os.WriteFile(marker, []byte(strconv.Itoa(pid)), 0o644)
	}
	out, err := run(t, s)
	require.NoError(t, err)
	assert.NotZero(t, seen)
	assert.Equal(t, strconv.Itoa(seen), out, "what prestart did is there when the command runs")

	s.Prestart = func(int) error { return fmt.Errorf("no cgroup for you") }
	_, err = run(t, s)
	assert.ErrorContains(t, err, "prestart: no cgroup for you")
}

// A container with a user namespace of its own cannot be joined from Go;
// joining its other namespaces alone would make the command the host's
// root inside them, so Join refuses.
func TestJoinRefusesAUserNamespacedContainer(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	c := newContainer(t)
	testkit.OpenToAll(t, c.rootfs)
	require.NoError(t, testkit.ChownTree(c.rootfs, 100000, 100000))
	s := c.spec("sleep", "60")
	s.Namespaces = append(s.Namespaces, namespaces.User)
	s.UIDMap = []namespaces.IDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.GIDMap = s.UIDMap
	ctr, err := namespaces.Start(s, nil, nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { ctr.Signal(unix.SIGKILL); ctr.Wait() })

	err = namespaces.Join(context.Background(), namespaces.JoinSpec{Pid: ctr.Pid,
		Namespaces: []namespaces.Namespace{namespaces.Mount, namespaces.PID}, Args: []string{"touch", "/tmp/as-host-root"}}, nil, nil, nil)
	assert.ErrorIs(t, err, namespaces.ErrJoinUser)
	assert.NoFileExists(t, filepath.Join(c.rootfs, "tmp/as-host-root"))
}

func TestJoinCancelledLeavesNothingBehind(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	c := newContainer(t)
	ctr, err := namespaces.Start(c.spec("sleep", "60"), nil, nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { ctr.Signal(unix.SIGKILL); ctr.Wait() })

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	all := []namespaces.Namespace{namespaces.Mount, namespaces.PID, namespaces.UTS}
	go func() {
		done <- namespaces.Join(ctx, namespaces.JoinSpec{Pid: ctr.Pid, Namespaces: all, Args: []string{"sleep", "60"}}, nil, nil, nil)
	}()
	// The joined sleep is PID 2 of the container: wait until it runs.
	require.Eventually(t, func() bool { return sleepsIn(ctr.Pid) == "2" }, 10*time.Second, 20*time.Millisecond)
	cancel()
	<-done
	assert.Eventually(t, func() bool { return sleepsIn(ctr.Pid) == "1" }, 10*time.Second, 20*time.Millisecond,
		"the joined command dies with its joiner")
}

// sleepsIn counts the sleep processes in the container whose init is pid,
// through the container's own /proc.
func sleepsIn(pid int) string {
	out, _ := exec.Command("sh", "-c", fmt.Sprintf("cat /proc/%d/root/proc/[0-9]*/comm 2>/dev/null | grep -c sleep", pid)).Output()
	return strings.TrimSpace(string(out))
}
