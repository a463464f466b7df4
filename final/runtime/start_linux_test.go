package runtime_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"berth/final/runtime"
	"berth/steps/testkit"
)

// dockerCaps is what /proc/self/status shows for Docker's default
// capabilities.
const dockerCaps = "00000000a80425fb"

func TestDefaultContainer(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	host, err := os.Hostname()
	require.NoError(t, err)

	out := mustRun(t, newSpec(t, "sh", "-c", `hostname; echo pid=$$; grep ^Cap /proc/self/status; ls -A /dev | tr '\n' ' '; echo; cat /sys/class/net/lo/flags`))
	l := lines(out)
	require.Len(t, l, 9, out)
	assert.Equal(t, "box", l[0])
	assert.Equal(t, "pid=1", l[1], "the command is PID 1 of its namespace")
	assert.Equal(t, []string{
		"CapInh:\t0000000000000000",
		"CapPrm:\t" + dockerCaps,
		"CapEff:\t" + dockerCaps,
		"CapBnd:\t" + dockerCaps,
		"CapAmb:\t0000000000000000",
	}, l[2:7])
	assert.Equal(t, "core fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero", strings.TrimSpace(l[7]),
		"only the default nodes and links (no /dev/console without a terminal)")
	assert.Equal(t, "0x9", l[8], "the new network namespace's lo is up (IFF_UP|IFF_LOOPBACK)")

	after, err := os.Hostname()
	require.NoError(t, err)
	assert.Equal(t, host, after)
}

func TestMaskedAndReadonlyPaths(t *testing.T) {
	testkit.RequireRoot(t)
	script := `
		for f in /proc/keys /proc/timer_list /proc/kcore; do [ -e $f ] && echo "$f $(wc -c < $f)"; done
		echo "firmware $(ls -A /sys/firmware | wc -l)"
		echo x > /proc/sys/kernel/hostname || echo proc-sys-refused
		mkdir /sys/berth || echo sys-refused
		echo c > /proc/sysrq-trigger || echo sysrq-refused
		grep -E ' /proc/(sys|bus|irq|fs) ' /proc/self/mountinfo | cut -d' ' -f5,6
		true`
	out := mustRun(t, newSpec(t, "sh", "-c", script))
	assert.Contains(t, out, "/proc/keys 0\n", "a masked file reads empty: it is /dev/null")
	assert.Contains(t, out, "/proc/timer_list 0\n")
	if _, err := os.Stat("/proc/kcore"); err == nil {
		assert.Contains(t, out, "/proc/kcore 0\n")
	} else {
		t.Log("this kernel has no /proc/kcore: its mask is skipped")
	}
	assert.Contains(t, out, "firmware 0\n", "a masked directory is an empty tmpfs")
	assert.Contains(t, out, "Read-only file system")
	assert.Contains(t, out, "proc-sys-refused")
	assert.Contains(t, out, "sys-refused")
	assert.Contains(t, out, "sysrq-refused")
	for _, p := range []string{"/proc/sys", "/proc/bus", "/proc/irq", "/proc/fs"} {
		if _, err := os.Stat(p); err == nil {
			assert.Regexp(t, p+` ro,nosuid,nodev,noexec`, out, "read-only, keeping proc's own flags")
		}
	}
}

func TestUserNobody(t *testing.T) {
	testkit.RequireRoot(t)
	spec := newSpec(t, "sh", "-c", "id -u; id -g; id -G; grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status")
	u, home, err := runtime.ResolveUser(spec.Root.Path, "nobody")
	require.NoError(t, err)
	assert.Equal(t, "/nonexistent", home)
	spec.Process.User = u
	assert.Equal(t, []string{"65534", "65534", "65534", "CapPrm:\t0000000000000000", "CapEff:\t0000000000000000", "CapBnd:\t" + dockerCaps},
		lines(mustRun(t, spec)), "a user other than root has no capabilities; the bounding set still limits what setuid binaries get")
}

func TestCwdEnvAndUmask(t *testing.T) {
	testkit.RequireRoot(t)
	spec := newSpec(t, "sh", "-c", `pwd; echo "$FOO|$PATH|$HOME"; umask`)
	spec.Process.Cwd = "/work/deep"
	spec.Process.Env = []string{"FOO=bar"}
	assert.Equal(t, []string{"/work/deep", "bar|" + runtime.DefaultPath + "|", "0022"}, lines(mustRun(t, spec)),
		"the environment is exactly the spec's, plus PATH")
	fi, err := os.Stat(filepath.Join(spec.Root.Path, "work/deep"))
	require.NoError(t, err, "the working directory is created in the rootfs")
	assert.True(t, fi.IsDir())
	assert.Equal(t, uint32(0), fi.Sys().(*syscall.Stat_t).Uid, "owned by root")
}

func TestReadonlyRoot(t *testing.T) {
	testkit.RequireRoot(t)
	spec := newSpec(t, "sh", "-c", "touch /x || echo root-refused; touch /tmp/x || echo tmp-refused; touch /dev/shm/x && echo shm-ok; pwd")
	spec.Root.Readonly = true
	spec.Process.Cwd = "/created/before"
	out := mustRun(t, spec)
	assert.Contains(t, out, "Read-only file system")
	assert.Contains(t, out, "root-refused")
	assert.Contains(t, out, "tmp-refused")
	assert.Contains(t, out, "shm-ok", "the tmpfs mounts stay writable")
	assert.Contains(t, out, "/created/before", "the working directory is made before the root turns read-only")
	_, err := os.Stat(filepath.Join(spec.Root.Path, "x"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestExitCodes(t *testing.T) {
	testkit.RequireRoot(t)
	spec := newSpec(t, "sh", "-c", "exit 3")
	root := spec.Root.Path
	_, st, err := run(t, spec)
	require.NoError(t, err)
	assert.Equal(t, runtime.ExitStatus{Code: 3}, st)

	require.NoError(t, os.WriteFile(filepath.Join(root, "bin/notexec"), []byte("#!/bin/sh\necho hi\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "bin/garbage"), []byte("\x00\x01\x02 not a program"), 0o755))
	tests := []struct {
		args  []string
		code  int
		errno unix.Errno
		msg   string
	}{
		{[]string{"/bin/notexec"}, 126, unix.EACCES, "permission denied"},
		{[]string{"notexec"}, 126, unix.EACCES, "permission denied"},
		{[]string{"/tmp"}, 126, unix.EISDIR, "is a directory"},
		{[]string{"/bin/garbage"}, 126, unix.ENOEXEC, "exec format error"},
		{[]string{"nosuchcommand"}, 127, unix.ENOENT, "executable file not found in $PATH"},
		{[]string{"/no/such/file"}, 127, unix.ENOENT, "no such file"},
	}
	for _, tt := range tests {
		spec.Process.Args = tt.args
		_, _, err := run(t, spec)
		se := startError(t, err)
		assert.Equal(t, tt.code, se.ExitCode, "%v: %v", tt.args, err)
		assert.Equal(t, tt.errno, se.Errno, "%v: %v", tt.args, err)
		assert.ErrorIs(t, err, tt.errno)
		assert.Contains(t, se.Msg, tt.msg)
		assert.Contains(t, se.Step, "execve(")
	}

	spec.Process.Args = []string{"sleep", "100"}
	p, err := runtime.Start(spec, runtime.StartOptions{})
	require.NoError(t, err)
	started(t, p)
	require.NoError(t, p.Signal(unix.SIGKILL))
	st, err = p.Wait()
	require.NoError(t, err)
	assert.Equal(t, runtime.ExitStatus{Code: 137, Signal: unix.SIGKILL}, st)
	st2, err := p.Wait()
	require.NoError(t, err)
	assert.Equal(t, st, st2, "Wait may be called again")
	assert.ErrorIs(t, p.Signal(unix.SIGTERM), os.ErrProcessDone)
}

func TestSetupFailures(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	spec := newSpec(t, "true")
	spec.Mounts = append(spec.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: "/nonexistent/berth-volume", Options: []string{"rbind"}})
	_, _, err := run(t, spec)
	se := startError(t, err)
	assert.Equal(t, 125, se.ExitCode)
	assert.Contains(t, se.Step, "/data")
	assert.ErrorIs(t, err, unix.ENOENT)

	spec = newSpec(t, "true")
	var seen int
	var inOwnMount bool
	boom := errors.New("no network for you")
	_, err = runtime.Start(spec, runtime.StartOptions{Prestart: func(pid int) error {
		seen = pid
		ours, _ := os.Readlink("/proc/self/ns/mnt")
		theirs, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
		inOwnMount = theirs != "" && theirs != ours
		return boom
	}})
	se = startError(t, err)
	assert.Equal(t, "prestart", se.Step)
	assert.Equal(t, 125, se.ExitCode)
	assert.ErrorIs(t, err, boom)
	assert.NotZero(t, seen)
	assert.True(t, inOwnMount, "prestart sees the init in its new namespaces")
	_, err = os.Stat(fmt.Sprintf("/proc/%d", seen))
	assert.ErrorIs(t, err, os.ErrNotExist, "a failed prestart kills the init")

	spec.Root.Path = filepath.Join(t.TempDir(), "missing")
	_, err = runtime.Start(spec, runtime.StartOptions{})
	se = startError(t, err)
	assert.Equal(t, 125, se.ExitCode)
	assert.ErrorIs(t, err, unix.ENOENT)

	spec.Root.Path = "/r"
	spec.Process.Args = nil
	_, err = runtime.Start(spec, runtime.StartOptions{})
	assert.ErrorContains(t, err, "no command")
}

func TestTerminal(t *testing.T) {
	testkit.RequireRoot(t)
	for _, tiny := range []bool{false, true} {
		t.Run(fmt.Sprintf("tiny init %v", tiny), func(t *testing.T) {
			spec := newSpec(t, "sh", "-c", "tty; stty size; ls /dev/console; cut -d' ' -f7 /proc/self/stat")
			spec.Process.Terminal = true
			if tiny {
				spec.Annotations = map[string]string{runtime.InitAnnotation: "true"}
			}
			stdio, read := withPty(t, 33, 77)
			p, err := runtime.Start(spec, runtime.StartOptions{Stdio: stdio})
			require.NoError(t, err)
			started(t, p)
			out := read()
			st, err := p.Wait()
			require.NoError(t, err)
			assert.Equal(t, 0, st.Code, out)
			l := lines(out)
			require.Len(t, l, 4, out)
			assert.Contains(t, []string{"/dev/console", "/dev/pts/0"}, l[0], "fd 0 is a terminal inside")
			assert.Equal(t, "33 77", l[1], "the size set on the master reaches the container")
			assert.Equal(t, "/dev/console", l[2])
			assert.NotEqual(t, "0", l[3], "the terminal is the controlling terminal (tty_nr)")
		})
	}
}

func TestHostileMountDestination(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	spec := newSpec(t, "sh", "-c", "cat /hosts; cat /etc/hosts; ls /")
	root := spec.Root.Path
	// The image makes /etc a link to /: a runtime that follows it on the
	// host would mount onto, and create files in, the host's root.
	require.NoError(t, os.RemoveAll(filepath.Join(root, "etc")))
	require.NoError(t, os.Symlink("/", filepath.Join(root, "etc")))
	hosts := filepath.Join(t.TempDir(), "hosts")
	require.NoError(t, os.WriteFile(hosts, []byte("10.9.8.7 from-the-engine\n"), 0o644))
	hostHosts, err := os.ReadFile("/etc/hosts")
	require.NoError(t, err)
	created := fmt.Sprintf("berth-hostile-%d", os.Getpid())
	spec.Mounts = append(spec.Mounts,
		specs.Mount{Destination: "/etc/hosts", Type: "bind", Source: hosts, Options: []string{"rbind", "rprivate", "ro"}},
		specs.Mount{Destination: "/etc/" + created, Type: "bind", Source: hosts, Options: []string{"rbind", "rprivate"}},
	)
	out := mustRun(t, spec)
	assert.Equal(t, 2, strings.Count(out, "10.9.8.7 from-the-engine"), "the bind mount landed on the rootfs's /hosts: %s", out)
	assert.Contains(t, out, created)

	_, err = os.Lstat("/" + created)
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing was created in the host's /")
	_, err = os.Lstat(filepath.Join(root, created))
	assert.NoError(t, err, "the mount point was created inside the rootfs")
	after, err := os.ReadFile("/etc/hosts")
	require.NoError(t, err)
	assert.Equal(t, string(hostHosts), string(after))
}

func TestTinyInit(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	// The subshell exits at once, orphaning its sleep: the orphan is
	// re-parented to PID 1, which must reap it when it ends.
	spec := newSpec(t, "sh", "-c", `(sleep 0.1 &); sleep 0.5
		echo zombies=$(grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | wc -l)
		echo ppid=$PPID; tr '\0' ' ' < /proc/1/cmdline; echo`)
	spec.Annotations = map[string]string{runtime.InitAnnotation: "true"}
	out := mustRun(t, spec)
	assert.Contains(t, out, "zombies=0\n")
	assert.Contains(t, out, "ppid=1\n", "the command is the child of the tiny init")
	assert.Contains(t, out, "berth-runtime-init")

	spec.Process.Args = []string{"sh", "-c", `trap 'echo got-term; exit 5' TERM; echo ready; while :; do sleep 0.05; done`}
	p, r := startLong(t, spec)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)
	require.NoError(t, p.Signal(unix.SIGTERM))
	st, err := p.Wait()
	require.NoError(t, err)
	assert.Equal(t, runtime.ExitStatus{Code: 5}, st, "the signal reached the command, and its code is the container's")
	rest, _ := r.ReadString('\n')
	assert.Equal(t, "got-term\n", rest)
}

func TestRelativeRootAndSharedNetwork(t *testing.T) {
	testkit.RequireRoot(t)
	spec := newSpec(t, "sh", "-c", "ls /sys/class/net | wc -l")
	// --network host: no network namespace of its own.
	var ns []specs.LinuxNamespace
	for _, n := range spec.Linux.Namespaces {
		if n.Type != specs.NetworkNamespace {
			ns = append(ns, n)
		}
	}
	spec.Linux.Namespaces = ns
	// A relative root is relative to the working directory, as runc's is
	// to the bundle.
	wd, err := os.Getwd()
	require.NoError(t, err)
	rel, err := filepath.Rel(wd, spec.Root.Path)
	require.NoError(t, err)
	spec.Root.Path = rel
	hostLinks, err := os.ReadDir("/sys/class/net")
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("%d\n", len(hostLinks)), mustRun(t, spec), "the host's interfaces")
	assert.Equal(t, rel, spec.Root.Path, "Start does not change the caller's spec")
}

func TestSignalDispositionsReset(t *testing.T) {
	testkit.RequireRoot(t)
	// A caller that ignores SIGINT and SIGPIPE (nohup, a daemon) must not
	// pass that on to the container.
	signal.Ignore(unix.SIGINT, unix.SIGPIPE)
	defer signal.Reset(unix.SIGINT, unix.SIGPIPE)
	// And signal 32, which sudo ignores and Go cannot catch: raw
	// sigaction, restored afterwards.
	var old, ign [4]uint64
	ign[0] = 1 // SIG_IGN
	unix.RawSyscall6(unix.SYS_RT_SIGACTION, 32, 0, uintptr(unsafe.Pointer(&old)), 8, 0, 0)
	defer unix.RawSyscall6(unix.SYS_RT_SIGACTION, 32, uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
	for _, reExec := range []bool{false, true} {
		unix.RawSyscall6(unix.SYS_RT_SIGACTION, 32, uintptr(unsafe.Pointer(&ign)), 0, 8, 0, 0)
		r, w, err := os.Pipe()
		require.NoError(t, err)
		p, err := runtime.Start(newSpec(t, "grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"),
			runtime.StartOptions{Stdio: runtime.Stdio{Stdout: w, Stderr: w}, ReExec: reExec})
		w.Close()
		require.NoError(t, err)
		out, _ := io.ReadAll(r)
		r.Close()
		st, err := p.Wait()
		require.NoError(t, err)
		require.Equal(t, 0, st.Code)
		assert.Equal(t, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n", string(out), "re-executed: %v", reExec)
		if !reExec && runtime.DirectSupported() {
			assert.Empty(t, runtime.LastReExec(), "started directly all the same")
		}
	}
}

// TestParentDeathKillsTheContainer starts a container from a helper
// process (this test binary, see parentScenario) and kills the helper: the
// container's init must die with it (Pdeathsig), as a container whose
// monitor died must not be left running. Both with and without the tiny
// init, and for a user other than root (a change of user clears the
// parent-death signal: the init sets it again).
func TestParentDeathKillsTheContainer(t *testing.T) {
	testkit.RequireRoot(t)
	for _, tiny := range []string{"", "tiny"} {
		rootfs := testkit.Rootfs(t)
		cmd := exec.Command("/proc/self/exe")
		cmd.Env = []string{parentEnv + "=" + rootfs + ":" + tiny}
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		var pid int
		_, err = fmt.Fscan(out, &pid)
		require.NoError(t, err, "the helper prints the init's PID")
		require.NoError(t, cmd.Process.Kill())
		cmd.Wait()
		gone := false
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			// Dead, even if not yet reaped by whoever inherited it.
			if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err != nil || strings.Contains(string(stat), ") Z ") {
				gone = true
				break
			}
		}
		if !gone {
			t.Errorf("tiny init %q: the container outlived the process that started it", tiny)
			unix.Kill(pid, unix.SIGKILL)
		}
	}
}
