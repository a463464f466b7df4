package runtime_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"berth/final/runtime"
	"berth/steps/testkit"
)

// sleeper starts a container that sleeps, for processes to be exec'd into.
func sleeper(t *testing.T) (*specs.Spec, *runtime.Process) {
	t.Helper()
	spec := newSpec(t, "sleep", "1000")
	p, err := runtime.Start(spec, runtime.StartOptions{})
	require.NoError(t, err)
	return spec, started(t, p)
}

// nsLinks reads a process's namespace links: equal links, same namespace.
func nsLinks(t *testing.T, pid int) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range []string{"mnt", "pid", "pid_for_children", "uts", "ipc", "net", "cgroup"} {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, n))
		require.NoError(t, err)
		out[n] = l
	}
	return out
}

func TestExec(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	spec, init := sleeper(t)

	proc := *spec.Process
	proc.Args = []string{"sh", "-c", `hostname; echo ppid=$PPID; tr '\0' ' ' < /proc/1/cmdline; echo; ps -o pid,args; ls /; grep ^CapEff /proc/self/status`}
	out, st, err := execRun(t, init.Pid, &proc)
	require.NoError(t, err)
	assert.Equal(t, 0, st.Code, out)
	l := lines(out)
	assert.Equal(t, "box", l[0], "the container's UTS namespace")
	assert.Equal(t, "ppid=0", l[1], "its parent (the caller) is outside the PID namespace")
	assert.Equal(t, "sleep 1000 ", l[2], "PID 1 is the container's init")
	assert.Regexp(t, `(?m)^\s*1 sleep 1000$`, out, "ps sees the container's processes")
	assert.Contains(t, out, "\nlinuxrc\n", "the container's root filesystem")
	assert.Contains(t, out, "CapEff:\t"+dockerCaps)

	// A long-running exec'd process: in every namespace of the init, and a
	// direct child of ours that Signal and Wait act on.
	proc.Args = []string{"sleep", "1000"}
	p, err := runtime.Exec(init.Pid, &proc, runtime.ExecOptions{})
	require.NoError(t, err)
	started(t, p)
	assert.Equal(t, nsLinks(t, init.Pid), nsLinks(t, p.Pid))
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid))
	require.NoError(t, err)
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	assert.Equal(t, fmt.Sprint(os.Getpid()), fields[1], "the exec'd command is our child")
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.Pid))
	require.NoError(t, err)
	assert.Equal(t, "/bin/busybox", exe, "the command itself, not a supervisor")
	require.NoError(t, p.Signal(unix.SIGTERM))
	st, err = p.Wait()
	require.NoError(t, err)
	assert.Equal(t, runtime.ExitStatus{Code: 143, Signal: unix.SIGTERM}, st)

	// Exec borrows a thread of ours to enter the namespaces: if it ended
	// that thread, and it was the one that had started the init, the init
	// would get its parent-death signal.
	proc.Args = []string{"true"}
	for i := 0; i < 10; i++ {
		_, st, err := execRun(t, init.Pid, &proc)
		require.NoError(t, err)
		require.Equal(t, 0, st.Code)
	}
	require.NoError(t, init.Signal(0), "the container outlives its exec'd processes")
	container := nsLinks(t, init.Pid)
	assert.Equal(t, nsLinks(t, os.Getpid()), func() map[string]string {
		// Every thread of ours is back in our namespaces, but the one
		// that started the init directly (it stays in the container's
		// until the init is waited for).
		tasks, err := os.ReadDir("/proc/self/task")
		require.NoError(t, err)
		var last map[string]string
		for _, task := range tasks {
			tid := 0
			fmt.Sscan(task.Name(), &tid)
			links := map[string]string{}
			for _, n := range []string{"mnt", "pid", "pid_for_children", "uts", "ipc", "net", "cgroup"} {
				l, err := os.Readlink(fmt.Sprintf("/proc/self/task/%d/ns/%s", tid, n))
				require.NoError(t, err)
				links[n] = l
			}
			if links["mnt"] == container["mnt"] {
				continue
			}
			if last != nil && !assert.Equal(t, last, links, "thread %d", tid) {
				break
			}
			last = links
		}
		return last
	}())
}

func TestExecProcessSettings(t *testing.T) {
	testkit.RequireRoot(t)
	spec, init := sleeper(t)
	u, _, err := runtime.ResolveUser(spec.Root.Path, "nobody")
	require.NoError(t, err)
	proc := &specs.Process{
		Args:         []string{"sh", "-c", `id -u; pwd; echo "$FOO|$PATH"; grep ^CapEff /proc/self/status; exit 7`},
		Env:          []string{"FOO=bar"},
		Cwd:          "/tmp",
		User:         u,
		Capabilities: spec.Process.Capabilities,
	}
	out, st, err := execRun(t, init.Pid, proc)
	require.NoError(t, err)
	assert.Equal(t, runtime.ExitStatus{Code: 7}, st)
	assert.Equal(t, []string{"65534", "/tmp", "bar|" + runtime.DefaultPath, "CapEff:\t0000000000000000"}, lines(out))

	proc.NoNewPrivileges = true
	proc.User = specs.User{}
	proc.Args = []string{"grep", "^NoNewPrivs", "/proc/self/status"}
	out, _, err = execRun(t, init.Pid, proc)
	require.NoError(t, err)
	assert.Equal(t, "NoNewPrivs:\t1\n", out)

	proc.Args = []string{"nosuchcommand"}
	_, _, err = execRun(t, init.Pid, proc)
	se := startError(t, err)
	assert.Equal(t, 127, se.ExitCode)

	proc.Args = []string{"true"}
	proc.Cwd = "/nonexistent"
	_, _, err = execRun(t, init.Pid, proc)
	se = startError(t, err)
	assert.Equal(t, 125, se.ExitCode, "exec does not create the working directory")
	assert.ErrorIs(t, err, unix.ENOENT)
	assert.Contains(t, se.Step, `chdir("/nonexistent")`)
}

func TestExecTerminal(t *testing.T) {
	testkit.RequireRoot(t)
	spec, init := sleeper(t)
	proc := *spec.Process
	proc.Terminal = true
	// The terminal is the caller's pty, from the host's devpts: inside, it
	// has no name (tty says "not a tty"), but it is fd 0 and the
	// controlling terminal (tty_nr, field 7 of /proc/self/stat).
	proc.Args = []string{"sh", "-c", "test -t 0 && echo terminal; cut -d' ' -f7 /proc/self/stat; stty size"}
	stdio, read := withPty(t, 24, 132)
	p, err := runtime.Exec(init.Pid, &proc, runtime.ExecOptions{Stdio: stdio})
	require.NoError(t, err)
	started(t, p)
	out := read()
	st, err := p.Wait()
	require.NoError(t, err)
	assert.Equal(t, 0, st.Code, out)
	l := lines(out)
	require.Len(t, l, 3, out)
	assert.Equal(t, "terminal", l[0])
	assert.NotEqual(t, "0", l[1], "a controlling terminal")
	assert.Equal(t, "24 132", l[2])
}

func TestExecRefuses(t *testing.T) {
	testkit.RequireRoot(t)
	spec, init := sleeper(t)
	proc := *spec.Process
	require.NoError(t, init.Signal(unix.SIGKILL))
	_, err := init.Wait()
	require.NoError(t, err)
	_, err = runtime.Exec(init.Pid, &proc, runtime.ExecOptions{})
	se := startError(t, err)
	assert.Contains(t, se.Msg, "is the container running?")

	proc.Args = nil
	_, err = runtime.Exec(1, &proc, runtime.ExecOptions{})
	assert.ErrorContains(t, err, "no command")
	_, err = runtime.Exec(0, spec.Process, runtime.ExecOptions{})
	assert.ErrorContains(t, err, "invalid PID 0")
}
