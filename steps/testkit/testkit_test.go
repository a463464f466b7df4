package testkit

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"berth/steps/testkit/probe"
)

func TestFindBusyboxRefusesADynamicBinary(t *testing.T) {
	dynamic, err := exec.LookPath("ls") // Debian's ls needs libc
	require.NoError(t, err)
	t.Setenv(BusyboxEnv, dynamic)
	_, err = FindBusybox()
	assert.ErrorContains(t, err, "dynamically linked")
	assert.ErrorContains(t, err, BusyboxEnv+"="+dynamic)

	t.Setenv(BusyboxEnv, filepath.Join(t.TempDir(), "missing"))
	_, err = FindBusybox()
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestBuildRootfs(t *testing.T) {
	if _, err := FindBusybox(); err != nil {
		missingFixture(t, err)
	}
	dir := filepath.Join(t.TempDir(), "rootfs")
	require.NoError(t, BuildRootfs(dir))

	fi, err := os.Stat(filepath.Join(dir, "tmp"))
	require.NoError(t, err)
	assert.Equal(t, os.ModeDir|os.ModeSticky|0o777, fi.Mode(), "/tmp must be 1777")
	for _, d := range []string{"proc", "sys", "dev"} {
		entries, err := os.ReadDir(filepath.Join(dir, d))
		require.NoError(t, err)
		assert.Empty(t, entries, "/%s is a mount point and must be empty", d)
	}
	target, err := os.Readlink(filepath.Join(dir, "bin/sh"))
	require.NoError(t, err)
	assert.Equal(t, "/bin/busybox", target)
	passwd, err := os.ReadFile(filepath.Join(dir, "etc/passwd"))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(passwd), "root:x:0:0:"))
	group, err := os.ReadFile(filepath.Join(dir, "etc/group"))
	require.NoError(t, err)
	assert.Contains(t, string(group), "root:x:0:")
	require.NoError(t, checkStatic(filepath.Join(dir, "bin/busybox")))

	// The busybox in the rootfs really runs, through its applet links.
	out, err := exec.Command(filepath.Join(dir, "bin/busybox"), "echo", "hello").Output()
	require.NoError(t, err)
	assert.Equal(t, "hello\n", string(out))
}

func TestRootfsCopiesAreIndependent(t *testing.T) {
	a, b := Rootfs(t), Rootfs(t)
	require.NoError(t, os.WriteFile(filepath.Join(a, "etc/hostname"), []byte("changed\n"), 0o644))
	got, err := os.ReadFile(filepath.Join(b, "etc/hostname"))
	require.NoError(t, err)
	assert.Equal(t, "berth\n", string(got))
	tmpl, err := RootfsTemplate()
	require.NoError(t, err)
	got, err = os.ReadFile(filepath.Join(tmpl, "etc/hostname"))
	require.NoError(t, err)
	assert.Equal(t, "berth\n", string(got), "the template must never change")
}

func TestProbeReportsWhatItSees(t *testing.T) {
	bin := Static(t, ProbePackage)
	require.NoError(t, checkStatic(bin), "the probe must be static to run in any rootfs")
	cmd := exec.Command(bin)
	cmd.Dir = "/"
	out, err := cmd.Output()
	require.NoError(t, err)
	var r probe.Report
	require.NoError(t, json.Unmarshal(out, &r))

	assert.Equal(t, os.Getpid(), r.PPID, "the probe's parent is this test")
	assert.Equal(t, os.Getuid(), r.UID)
	host, _ := os.Hostname()
	assert.Equal(t, host, r.Hostname)
	assert.Equal(t, "/", r.Cwd)
	var st unix.Stat_t
	require.NoError(t, unix.Stat("/proc/self/ns/mnt", &st))
	assert.Equal(t, st.Ino, r.Namespaces["mnt"], "same mount namespace as this test")
	assert.NotEmpty(t, r.Mounts)
	assert.NotEmpty(t, r.Cgroup)
	assert.NotEmpty(t, r.Caps.Bounding)
	var names []string
	for _, i := range r.Interfaces {
		names = append(names, i.Name)
	}
	assert.Contains(t, names, "lo")
}

func TestSnapshotDiff(t *testing.T) {
	before := Snapshot{
		Mounts: []string{"/ ext4 /dev/vda"},
		Links:  []string{"lo", "eth0"},
		Procs:  []string{"10 sleep 100"},
		Rules:  []string{"iptables-save: -A INPUT -j ACCEPT"},
	}
	same := before
	assert.Empty(t, before.Diff(same))

	after := Snapshot{
		Mounts:  []string{"/ ext4 /dev/vda", "/tmp/x tmpfs tmpfs"},
		Links:   []string{"lo"},
		Cgroups: []string{"memory/berth-test"},
		Rules:   []string{"iptables-save: -A INPUT -j ACCEPT", "iptables-save: -A BERTH -j MASQUERADE"},
		Procs:   []string{"11 berth-probe"},
	}
	assert.ElementsMatch(t, []string{
		"left mount: /tmp/x tmpfs tmpfs",
		"gone link: eth0",
		"left cgroup: memory/berth-test",
		"left rule: iptables-save: -A BERTH -j MASQUERADE",
		"left process: 11 berth-probe",
	}, before.Diff(after), "a process that ended is not residue; one that appeared is")
}

func TestSnapshotRoundTrip(t *testing.T) {
	s, err := TakeSnapshot()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "snap.json")
	require.NoError(t, SaveSnapshot(path, s))
	back, err := LoadSnapshot(path)
	require.NoError(t, err)
	assert.Equal(t, s, back)
	assert.NotEmpty(t, s.Mounts)
	assert.Contains(t, s.Links, "lo")
}

// recorder stands in for a test, so CheckResidue's verdict can be checked.
type recorder struct {
	testing.TB
	cleanups []func()
	errs     []string
}

func (r *recorder) Helper()          {}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) finish() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func TestCheckResidueCatchesALeftoverProcess(t *testing.T) {
	rec := &recorder{TB: t}
	CheckResidue(rec)
	sleeper := exec.Command("sleep", "60")
	require.NoError(t, sleeper.Start())
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })

	rec.finish()
	require.Len(t, rec.errs, 1)
	assert.Contains(t, rec.errs[0], fmt.Sprintf("left process: %d sleep 60", sleeper.Process.Pid))

	// And once the process is gone, the same check is satisfied.
	rec2 := &recorder{TB: t}
	CheckResidue(rec2)
	p := exec.Command("sleep", "0.1")
	require.NoError(t, p.Start())
	go p.Wait()
	time.Sleep(300 * time.Millisecond)
	rec2.finish()
	assert.Empty(t, rec2.errs)
}

func TestRequireRootSkipsWithTheCommandToRun(t *testing.T) {
	assert.Equal(t, "needs root (it changes mounts, namespaces or cgroups); run: go test -exec sudo ./03-cgroups/", SkipReason("./03-cgroups/"))
	out := RunTestsAsNobody(t, "^TestCheckResidueCatchesALeftoverMount$")
	assert.Contains(t, out, "--- SKIP: TestCheckResidueCatchesALeftoverMount")
	assert.Contains(t, out, "go test -exec sudo ./steps/testkit/")
}
