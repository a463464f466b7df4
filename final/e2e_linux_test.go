package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	unionfs "berth/04-unionfs"
	network "berth/05-network"
	"berth/final/runtime"
	"berth/steps/testkit"
)

// These tests drive the built berth binary as a user would, each with its
// own state directory (--root) and inside a network namespace made for it,
// so that its bridges, veth pairs and rules never touch the host's.

// berth is one engine under test: the binary, its root, its namespace.
type berth struct {
	t        testing.TB
	bin      string
	root     string
	execRoot string // "": berth's own choice, ROOT/run
	netns    string
}

// newBerth builds berth, gives it a temporary root with a busybox image
// imported as "busybox", and registers the check that nothing is left:
// no container, no monitor, no mount, no cgroup.
func newBerth(t testing.TB) *berth {
	t.Helper()
	return newBerthExec(t, "")
}

// newBerthOnRun is newBerth with berth's default layout: its state in a
// temporary root, its exec root in a directory made under /run.
func newBerthOnRun(t testing.TB) *berth {
	t.Helper()
	testkit.RequireRoot(t)
	dir, err := os.MkdirTemp("/run", "berth-test-")
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, os.RemoveAll(dir)) })
	return newBerthExec(t, dir)
}

func newBerthExec(t testing.TB, execRoot string) *berth {
	t.Helper()
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	b := &berth{t: t, bin: testkit.Static(t, "berth/final"), root: t.TempDir(), execRoot: execRoot, netns: testkit.NetNS(t)}
	t.Cleanup(b.cleanup)
	// testkit.Rootfs skips without busybox, but fails under make test
	// (BERTH_REQUIRE_FIXTURES), so CI never hides these tests.
	rootfs := testkit.Rootfs(t)
	var tarball bytes.Buffer
	require.NoError(t, unionfs.Tar(&tarball, rootfs))
	cmd := b.cmd("import", "-", "busybox")
	cmd.Stdin = &tarball
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "berth import: %s", out)
	require.Regexp(t, `^sha256:[0-9a-f]{64}\n$`, string(out))
	return b
}

// cmd is berth ARGS... run inside the test's network namespace.
func (b *berth) cmd(args ...string) *exec.Cmd {
	full := []string{"--net=" + b.netns, b.bin, "--root", b.root}
	if b.execRoot != "" {
		full = append(full, "--exec-root", b.execRoot)
	}
	full = append(full, args...)
	return exec.Command("nsenter", full...)
}

// run runs berth and returns its stdout, stderr and exit code.
func (b *berth) run(args ...string) (string, string, int) {
	b.t.Helper()
	var out, errb bytes.Buffer
	cmd := b.cmd(args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		b.t.Fatalf("berth %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// ok runs berth, requires it to succeed, and returns its stdout.
func (b *berth) ok(args ...string) string {
	b.t.Helper()
	out, errs, code := b.run(args...)
	require.Equal(b.t, 0, code, "berth %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out, errs)
	return out
}

// inspect returns a container's inspect document.
func (b *berth) inspect(name string) map[string]any {
	b.t.Helper()
	var docs []map[string]any
	require.NoError(b.t, json.Unmarshal([]byte(b.ok("inspect", name)), &docs))
	require.Len(b.t, docs, 1)
	return docs[0]
}

// cleanup removes every container left, then checks that no monitor of
// this root survives (they leave the test's process tree, so the residue
// check would not see them) and that nothing is mounted under the root.
func (b *berth) cleanup() {
	t := b.t
	if ids := strings.Fields(b.ok("ps", "-aq", "--no-trunc")); len(ids) > 0 {
		out, errs, code := b.run(append([]string{"rm", "-f", "-v"}, ids...)...)
		assert.Equal(t, 0, code, "rm -f: %s %s", out, errs)
	}
	for i := 0; ; i++ {
		shims := b.shims()
		if len(shims) == 0 {
			break
		}
		if i == 50 {
			t.Errorf("monitors of %s still running: %v", b.root, shims)
			for _, pid := range shims {
				unix.Kill(pid, unix.SIGKILL)
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	assert.NotContains(t, string(mounts), b.root, "something is still mounted under berth's root")
	// Networks are removed so that the namespace's bridges go with their
	// rules; the namespace itself is released by NetNS's cleanup.
	for _, n := range strings.Fields(b.ok("network", "ls", "-q")) {
		b.run("network", "rm", n)
	}
}

// shims lists the PIDs of the monitors whose root is b's.
func (b *berth) shims() []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		args := strings.Split(string(cmdline), "\x00")
		if len(args) > 2 && args[0] == "berth-shim" && args[1] == b.root {
			pids = append(pids, pid)
		}
	}
	return pids
}

// httpGet fetches path from addr as a client on the test's "host" (its
// network namespace) would. The connection is made on the thread that
// entered the namespace: http.Client would dial from another goroutine,
// in the host's namespace.
func (b *berth) httpGet(addr, path string) (string, error) {
	var body string
	err := network.InNamespace(b.netns, func() error {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, addr)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		bb, err := io.ReadAll(resp.Body)
		body = string(bb)
		return err
	})
	return body, err
}

func TestRunRemoveEcho(t *testing.T) {
	b := newBerth(t)
	assert.Equal(t, "hello from berth\n", b.ok("run", "--rm", "busybox", "echo", "hello from berth"))
	assert.Empty(t, strings.TrimSpace(b.ok("ps", "-aq")), "--rm removed it")
}

// The writable layer of a --rm container is thrown away when it exits:
// its overlay is volatile (chapter 04), and only its.
func TestRemoveMeansVolatile(t *testing.T) {
	b := newBerth(t)
	assert.Contains(t, rootOptions(t, b.ok("run", "--rm", "busybox", "cat", "/proc/self/mountinfo")), "volatile", "volatile, or fsync=volatile on newer kernels")
	assert.NotContains(t, rootOptions(t, b.ok("run", "--name", "kept", "busybox", "cat", "/proc/self/mountinfo")), "volatile")
	b.ok("rm", "kept")
}

// rootOptions is the superblock options of / in a container's mountinfo.
func rootOptions(t *testing.T, mountinfo string) string {
	t.Helper()
	for _, line := range strings.Split(mountinfo, "\n") {
		pre, post, _ := strings.Cut(line, " - ")
		if f, g := strings.Fields(pre), strings.Fields(post); len(f) > 4 && f[4] == "/" && len(g) > 2 {
			return g[0] + " " + g[2]
		}
	}
	t.Fatalf("no / in the container's mountinfo:\n%s", mountinfo)
	return ""
}

// --network none is a network namespace with lo alone, up; host is the
// namespace berth runs in (here: the test's).
func TestNetworkNoneAndHost(t *testing.T) {
	b := newBerth(t)
	assert.Equal(t, "lo 0x9\n", b.ok("run", "--rm", "--network", "none", "busybox", "sh", "-c",
		"for l in /sys/class/net/*; do echo ${l##*/} $(cat $l/flags); done"))
	theirs := strings.TrimSpace(b.ok("run", "--rm", "--network", "host", "busybox", "readlink", "/proc/1/ns/net"))
	var st unix.Stat_t // the test's namespace is a bind-mounted nsfs file: its inode names it
	require.NoError(t, unix.Stat(b.netns, &st))
	assert.Equal(t, fmt.Sprintf("net:[%d]", st.Ino), theirs, "--network host: the namespace berth runs in")
}

// info describes the host and the engine as docker's does, and says how
// containers start here: directly, or through the re-executed init.
func TestInfo(t *testing.T) {
	b := newBerth(t)
	out := b.ok("info")
	for _, want := range []string{"Containers: 0\n", "Images: 1\n", "Storage Driver: overlay\n", "Default Runtime: berth\n",
		"Berth Root Dir: " + b.root + "\n", "Kernel Version: "} {
		assert.Contains(t, out, want)
	}
	assert.Regexp(t, `Cgroup Version: [12]\n`, out)
	start := "Container Start: re-executed init"
	if runtime.DirectSupported() {
		start = "Container Start: direct"
	}
	assert.Contains(t, out, start)
	field := b.ok("info", "-f", "{{.ContainerStart}}")
	assert.True(t, strings.HasPrefix(field, strings.TrimPrefix(start, "Container Start: ")), "info -f: %q", field)
}

func TestExitCodes(t *testing.T) {
	b := newBerth(t)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"run", "--rm", "busybox", "true"}, 0, ""},
		{[]string{"run", "--rm", "busybox", "sh", "-c", "exit 3"}, 3, ""},
		{[]string{"run", "--rm", "busybox", "/etc/passwd"}, 126, "passwd"},
		{[]string{"run", "--rm", "busybox", "no-such-command"}, 127, "no-such-command"},
		{[]string{"run", "--rm", "no-such-image"}, 125, "berth import"},
		{[]string{"run", "--rm", "--memory", "lots", "busybox", "true"}, 125, "memory"},
		{[]string{"run", "--rm", "--cpus", "99", "busybox", "true"}, 125, "cpus"},
		{[]string{"run", "--rm", "-v", "/no/such/dir:/x", "busybox", "true"}, 125, "/no/such/dir"},
		{[]string{"run", "--rm", "--network", "nowhere", "busybox", "true"}, 125, "nowhere"},
		{[]string{"run", "--rm", "--no-such-flag", "busybox", "true"}, 125, "no-such-flag"},
	} {
		out, errs, code := b.run(tc.args...)
		assert.Equal(t, tc.code, code, "%v\nstdout: %s\nstderr: %s", tc.args, out, errs)
		if tc.msg != "" {
			assert.Contains(t, errs, tc.msg, "%v: the message names what is wrong", tc.args)
		}
	}
	// Nothing half-created is left by the failures.
	assert.Empty(t, strings.TrimSpace(b.ok("ps", "-aq")))
	entries, err := os.ReadDir(filepath.Join(b.root, "containers"))
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, e.IsDir(), "left behind: %s", e.Name())
	}
}

func TestBadInput(t *testing.T) {
	b := newBerth(t)
	b.ok("run", "-d", "--name", "web", "busybox", "sleep", "1000")
	_, errs, code := b.run("run", "-d", "--name", "web", "busybox", "true")
	assert.Equal(t, 125, code)
	assert.Contains(t, errs, "already in use")
	_, errs, code = b.run("rm", "web")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errs, "running")
	b.ok("stop", "-t", "1", "web")
	out := b.ok("stop", "web") // stopping a stopped container is fine, as in Docker
	assert.Equal(t, "web\n", out)
	_, errs, code = b.run("rm", "nothing-here")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errs, "No such container")
	_, errs, code = b.run("exec", "web", "true")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errs, "not running")
	b.ok("rm", "web")
}

func TestDetachedLifecycle(t *testing.T) {
	b := newBerth(t)
	id := strings.TrimSpace(b.ok("run", "-d", "--name", "ticker", "busybox", "sh", "-c",
		`trap 'echo got TERM; exit 0' TERM; echo started; echo oops >&2; while true; do sleep 0.1; done`))
	require.Regexp(t, `^[0-9a-f]{64}$`, id)
	waitFor(t, func() bool { return strings.Contains(b.ok("logs", "ticker"), "started") })

	// The bundle the runtime was given, written beside the running
	// container: a valid OCI spec with the container's command.
	var spec struct {
		Process struct{ Args []string }
		Root    struct{ Path string }
	}
	bundle := filepath.Join(b.root, "run", id[:12], "config.json")
	waitFor(t, func() bool {
		data, err := os.ReadFile(bundle)
		return err == nil && json.Unmarshal(data, &spec) == nil
	})
	assert.Equal(t, "sh", spec.Process.Args[0])
	assert.Equal(t, filepath.Join(b.root, "containers", id, "rootfs"), spec.Root.Path)

	ps := b.ok("ps")
	assert.Contains(t, ps, id[:12])
	assert.Contains(t, ps, "ticker")
	assert.Contains(t, ps, "Up ")

	out, errs, _ := b.run("logs", "ticker")
	assert.Equal(t, "started\n", out)
	assert.Equal(t, "oops\n", errs, "stderr is kept apart")
	assert.Regexp(t, `^\d{4}-\d\d-\d\dT[0-9:.]+Z started\n$`, b.ok("logs", "-t", "--tail", "2", "ticker"), "the last two lines: started on stdout, oops on stderr")

	// exec: same container, its hostname, its files, its exit code.
	assert.Equal(t, id[:12]+"\n", b.ok("exec", "ticker", "hostname"))
	_, _, code := b.run("exec", "ticker", "sh", "-c", "exit 4")
	assert.Equal(t, 4, code)
	assert.Equal(t, "/tmp\nnobody\n", b.ok("exec", "-w", "/tmp", "-u", "nobody", "ticker", "sh", "-c", "pwd; whoami"))
	assert.Equal(t, "B=2\n", b.ok("exec", "-e", "B=2", "ticker", "sh", "-c", "env | grep ^B="))

	// exec -d returns at once; its command runs on.
	assert.Empty(t, b.ok("exec", "-d", "ticker", "sh", "-c", "sleep 0.3; echo later > /tmp/later"))
	_, _, code = b.run("exec", "ticker", "cat", "/tmp/later")
	assert.NotEqual(t, 0, code, "not yet written: exec -d did not wait")
	waitFor(t, func() bool { out, _, _ := b.run("exec", "ticker", "cat", "/tmp/later"); return out == "later\n" })

	top := b.ok("top", "ticker")
	assert.Contains(t, top, "sleep")

	b.ok("stop", "ticker")
	waitFor(t, func() bool { _, err := os.Stat(bundle); return errors.Is(err, fs.ErrNotExist) }) // it lives while the container runs
	state := b.inspect("ticker")["State"].(map[string]any)
	assert.Equal(t, "exited", state["Status"])
	assert.Equal(t, float64(0), state["ExitCode"])
	assert.Contains(t, b.ok("logs", "ticker"), "got TERM")
	assert.Contains(t, b.ok("ps", "-a"), "Exited (0)")
	b.ok("rm", "ticker")
	assert.Empty(t, strings.TrimSpace(b.ok("ps", "-aq")))
}

// A signal sent to an attached `berth run` reaches the container's
// command (docker's --sig-proxy), whose trap decides the exit code; berth
// itself stays to report it.
func TestRunProxiesSignals(t *testing.T) {
	b := newBerth(t)
	for _, rm := range []bool{true, false} { // the monitor in berth itself, and the shared one
		args := []string{"run", "--name", fmt.Sprintf("proxy%v", rm), "busybox", "sh", "-c",
			`trap 'echo got TERM; exit 7' TERM; echo ready; while true; do sleep 0.1; done`}
		if rm {
			args = append([]string{"run", "--rm"}, args[1:]...)
		}
		cmd := b.cmd(args...)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		r := bufio.NewReader(stdout)
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "ready\n", line)
		require.NoError(t, cmd.Process.Signal(unix.SIGTERM))
		rest, _ := io.ReadAll(r)
		err = cmd.Wait()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "berth ended by the trap's exit code, not killed")
		assert.Equal(t, 7, ee.ExitCode(), "rm=%v", rm)
		assert.Equal(t, "got TERM\n", string(rest))
		if !rm {
			b.ok("rm", fmt.Sprintf("proxy%v", rm))
		}
	}
	assert.Empty(t, strings.TrimSpace(b.ok("ps", "-aq")))
}

// --cpuset-cpus pins the container to its CPUs; without it the container
// runs on the host's, and on cgroup v1 berth makes no cpuset group for it.
func TestCpuset(t *testing.T) {
	b := newBerth(t)
	host, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	allowed := regexp.MustCompile(`Cpus_allowed_list:\s*(\S+)`)
	assert.Equal(t, allowed.FindStringSubmatch(string(host))[1]+"\n",
		b.ok("run", "--rm", "busybox", "sh", "-c", `grep Cpus_allowed_list /proc/self/status | cut -f2`))
	assert.Equal(t, "0\n", b.ok("run", "--rm", "--cpuset-cpus", "0", "busybox", "sh", "-c", `grep Cpus_allowed_list /proc/self/status | cut -f2`))
	id := strings.TrimSpace(b.ok("run", "-d", "busybox", "sleep", "100"))
	if _, err := os.Stat("/sys/fs/cgroup/cpuset/cpuset.cpus"); err == nil { // a v1 cpuset hierarchy
		_, err := os.Stat("/sys/fs/cgroup/cpuset/berth/" + id)
		assert.ErrorIs(t, err, os.ErrNotExist, "no cpuset group without --cpuset-cpus")
	}
	b.ok("rm", "-f", id)
}

func TestLimits(t *testing.T) {
	b := newBerth(t)
	// tail keeps the line it is reading in memory, and /dev/zero has no
	// newline: it grows until the OOM killer stops it.
	_, _, code := b.run("run", "--name", "hog", "-m", "16m", "--memory-swap", "16m", "busybox", "tail", "/dev/zero")
	assert.Equal(t, 137, code)
	state := b.inspect("hog")["State"].(map[string]any)
	assert.Equal(t, true, state["OOMKilled"])
	b.ok("rm", "hog")

	// Twelve background sleeps: fine without a limit, refused with 8.
	spawn := `for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 2 & done; echo all spawned`
	out, errs, code := b.run("run", "--rm", "busybox", "sh", "-c", spawn)
	assert.Equal(t, 0, code, errs)
	assert.Equal(t, "all spawned\n", out)
	out, errs, code = b.run("run", "--rm", "--pids-limit", "8", "busybox", "sh", "-c", spawn)
	assert.NotEqual(t, 0, code, "the pids limit holds: %s", out)
	assert.Contains(t, errs, "can't fork", "the shell was refused a process")
	assert.NotContains(t, out, "all spawned")
}

func TestPublishedPort(t *testing.T) {
	b := newBerth(t)
	b.ok("run", "-d", "--name", "web", "-p", "8080:80", "busybox", "sh", "-c",
		"mkdir /www && echo hello through the port > /www/index.html && exec httpd -f -p 80 -h /www")
	assert.Contains(t, b.ok("ps"), "0.0.0.0:8080->80/tcp")
	var body string
	waitFor(t, func() bool {
		var err error
		body, err = b.httpGet("127.0.0.1:8080", "/")
		return err == nil
	})
	assert.Equal(t, "hello through the port\n", body)
	b.ok("rm", "-f", "web")
}

func TestNamedVolumeOutlivesContainer(t *testing.T) {
	b := newBerth(t)
	b.ok("volume", "create", "data")
	b.ok("run", "--rm", "-v", "data:/data", "busybox", "sh", "-c", "echo kept > /data/file")
	assert.Equal(t, "kept\n", b.ok("run", "--rm", "-v", "data:/data:ro", "busybox", "cat", "/data/file"))
	_, _, code := b.run("run", "--rm", "-v", "data:/data:ro", "busybox", "touch", "/data/x")
	assert.NotEqual(t, 0, code, ":ro is read-only")
	assert.Contains(t, b.ok("volume", "ls"), "data")
	// A bind mount of a host directory.
	dir := t.TempDir()
	b.ok("run", "--rm", "-v", dir+":/host", "busybox", "sh", "-c", "echo from the container > /host/f")
	got, err := os.ReadFile(filepath.Join(dir, "f"))
	require.NoError(t, err)
	assert.Equal(t, "from the container\n", string(got))
	b.ok("volume", "rm", "data")
}

func TestUserNetworkByName(t *testing.T) {
	b := newBerth(t)
	b.ok("network", "create", "backend")
	b.ok("run", "-d", "--name", "api", "--network", "backend", "busybox", "sh", "-c",
		"mkdir /www && echo api answers > /www/index.html && exec httpd -f -p 80 -h /www")
	var out string
	waitFor(t, func() bool {
		o, _, code := b.run("run", "--rm", "--network", "backend", "busybox", "wget", "-qO-", "http://api/")
		out = o
		return code == 0
	})
	assert.Equal(t, "api answers\n", out)
	_, errs, code := b.run("network", "rm", "backend")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errs, "api", "a network in use is not removed")
	b.ok("rm", "-f", "api")
	b.ok("network", "rm", "backend")
}

func TestInteractiveTerminal(t *testing.T) {
	b := newBerth(t)
	cmd := b.cmd("run", "-it", "--rm", "--name", "shell", "busybox", "sh")
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 90})
	require.NoError(t, err)
	defer ptmx.Close()
	term := newScreen(ptmx)

	fmt.Fprintf(ptmx, "echo $((6*7))\r")
	term.waitFor(t, "42")
	fmt.Fprintf(ptmx, "stty size\r")
	term.waitFor(t, "30 90")
	require.NoError(t, pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 100}))
	// The CLI sees SIGWINCH and passes the new size on.
	waitFor(t, func() bool {
		fmt.Fprintf(ptmx, "stty size\r")
		return term.has("40 100")
	})
	// A real terminal: the pty's slave is the shell's stdin. (berth makes
	// it the container's /dev/console; Docker's runc allocates it in the
	// container's own devpts, where it is /dev/pts/0.)
	fmt.Fprintf(ptmx, "[ -t 0 ] && [ -t 1 ] && echo is-a-tty\r")
	term.waitFor(t, "is-a-tty")
	fmt.Fprintf(ptmx, "exit 5\r")
	err = cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 5, ee.ExitCode())
}

func TestDetachKeys(t *testing.T) {
	b := newBerth(t)
	cmd := b.cmd("run", "-it", "--name", "stay", "busybox", "sh")
	ptmx, err := pty.Start(cmd)
	require.NoError(t, err)
	defer ptmx.Close()
	term := newScreen(ptmx)
	// Quotes split the word: what is typed (echoed at once by the
	// terminal) does not show "ready", only the shell's answer does.
	fmt.Fprintf(ptmx, "echo rea''dy\r")
	term.waitFor(t, "ready")
	ptmx.Write([]byte{0x10, 0x11}) // ctrl-p ctrl-q
	require.NoError(t, cmd.Wait(), "the CLI detaches with 0")
	assert.Contains(t, b.ok("ps"), "stay", "the container runs on")
	b.ok("rm", "-f", "stay")
}

func TestStdinPipe(t *testing.T) {
	b := newBerth(t)
	cmd := b.cmd("run", "-i", "--rm", "busybox", "tr", "a-z", "A-Z")
	cmd.Stdin = strings.NewReader("shout\n")
	out, err := cmd.Output()
	require.NoError(t, err)
	assert.Equal(t, "SHOUT\n", string(out))
}

func TestParallelRuns(t *testing.T) {
	b := newBerth(t)
	const n = 20
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := b.cmd("run", "-d", "busybox", "sleep", "1000").CombinedOutput()
			ids[i], errs[i] = strings.TrimSpace(string(out)), err
		}()
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i], ids[i])
	}
	names, addrs := map[string]bool{}, map[string]bool{}
	for _, id := range ids {
		doc := b.inspect(id)
		name := doc["Name"].(string)
		ip := doc["NetworkSettings"].(map[string]any)["IPAddress"].(string)
		assert.False(t, names[name], "duplicate name %s", name)
		assert.False(t, addrs[ip], "duplicate address %s", ip)
		assert.NotEmpty(t, ip)
		names[name], addrs[ip] = true, true
	}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := b.cmd("rm", "-f", ids[i]).CombinedOutput()
			errs[i] = err
			if err != nil {
				errs[i] = fmt.Errorf("%w: %s", err, out)
			}
		}()
	}
	wg.Wait()
	for i := range n {
		assert.NoError(t, errs[i])
	}
	assert.Empty(t, strings.TrimSpace(b.ok("ps", "-aq")))
	alloc, _ := os.ReadDir(filepath.Join(b.root, "network", "endpoints"))
	for _, a := range alloc {
		sub, _ := os.ReadDir(filepath.Join(b.root, "network", "endpoints", a.Name()))
		assert.Empty(t, sub, "endpoints left on %s", a.Name())
	}
}

// Killing the CLI mid-run must not lose the container: its monitor holds
// it, and ps, logs and rm still tell and do the right thing.
func TestKillCLIDuringDetachedRun(t *testing.T) {
	b := newBerth(t)
	for _, delay := range []time.Duration{0, 5 * time.Millisecond, 20 * time.Millisecond, 60 * time.Millisecond} {
		cmd := b.cmd("run", "-d", "busybox", "sh", "-c", "echo alive; sleep 1000")
		require.NoError(t, cmd.Start())
		time.Sleep(delay)
		killTree(cmd)
		cmd.Wait()
	}
	// Whatever point each was killed at, every container is either
	// created (never started) or running, and can be removed.
	out := b.ok("ps", "-a")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		assert.Regexp(t, `Up |Created`, line)
	}
	for _, id := range strings.Fields(b.ok("ps", "-q")) {
		waitFor(t, func() bool { return b.ok("logs", id) == "alive\n" })
	}
}

func TestKillCLIDuringAttachedRun(t *testing.T) {
	b := newBerth(t)
	cmd := b.cmd("run", "--name", "orphan", "busybox", "sh", "-c", "echo started; sleep 1000")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "started\n", line)
	killTree(cmd)
	cmd.Wait()
	// As with Docker, the container outlives its client. (Its output can
	// reach the client a moment before its monitor records it running.)
	waitFor(t, func() bool { return strings.Contains(b.ok("ps"), "orphan") })
	assert.Equal(t, "started\n", b.ok("logs", "orphan"))
	b.ok("rm", "-f", "orphan")
	assert.Empty(t, strings.TrimSpace(b.ok("ps", "-aq")))
}

// A container only created, never started, is removed without complaint:
// there is no mount, cgroup or endpoint to undo.
func TestCreateThenRemove(t *testing.T) {
	b := newBerth(t)
	b.ok("create", "--name", "idle", "busybox", "true")
	b.ok("create", "--name", "idle-none", "--network", "none", "busybox", "true")
	assert.Equal(t, "idle\nidle-none\n", b.ok("rm", "idle", "idle-none"))
	assert.Empty(t, strings.TrimSpace(b.ok("ps", "-aq")))
}

// berth run --rm in the foreground monitors its container itself: killing
// that berth kills the container too (nothing would remove it otherwise),
// and the next berth command reports it exited and cleans up after it.
func TestKillCLIDuringForegroundRemoveRun(t *testing.T) {
	b := newBerth(t)
	cmd := b.cmd("run", "--rm", "--name", "tied", "busybox", "sh", "-c", "echo started; sleep 1000")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "started\n", line)
	assert.Empty(t, b.shims(), "run --rm in the foreground needs no berth-shim")
	killTree(cmd)
	cmd.Wait()
	waitFor(t, func() bool { return strings.Contains(b.ok("ps", "-a"), "Exited (137)") })
	state := b.inspect("tied")["State"].(map[string]any)
	assert.Contains(t, state["Error"], "monitor")
	assert.Equal(t, "started\n", b.ok("logs", "tied"))
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	assert.NotContains(t, string(mounts), b.root, "the next berth command unmounts the dead container's rootfs")
	// Its volatile layer was never removed, and its mark is still there:
	// the host did not restart since, so it starts again.
	b.ok("start", "tied")
	waitFor(t, func() bool { return b.ok("logs", "tied") == "started\nstarted\n" })
	b.ok("rm", "-f", "tied")
}

// Killing a container's monitor kills the container with it, and the next
// berth command reports it exited and cleans up after it.
func TestMonitorKilled(t *testing.T) {
	b := newBerth(t)
	b.ok("run", "-d", "--name", "lost", "busybox", "sleep", "1000")
	shims := b.shims()
	require.Len(t, shims, 1)
	require.NoError(t, unix.Kill(shims[0], unix.SIGKILL))
	waitFor(t, func() bool { return len(b.shims()) == 0 })
	state := b.inspect("lost")["State"].(map[string]any)
	assert.Equal(t, "exited", state["Status"])
	assert.Equal(t, float64(137), state["ExitCode"])
	assert.Contains(t, state["Error"], "monitor")
	b.ok("rm", "lost")
}

// killTree kills berth's CLI with SIGKILL, and nsenter if it forked
// berth. (nsenter --net execs it: then the process is berth itself, and a
// child of it may be the berth-shim it started, which must live on.)
func killTree(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	children, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
	for _, c := range strings.Fields(string(children)) {
		pid, err := strconv.Atoi(c)
		if err != nil {
			continue
		}
		if argv, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.HasPrefix(string(argv), "berth-shim\x00") {
			continue
		}
		unix.Kill(pid, syscall.SIGKILL)
	}
	cmd.Process.Kill()
}

// waitFor polls cond for up to 10 seconds: readiness, not timing, is what
// is waited for.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("condition not met after 10 s")
}

func regexpFind(pattern, s string) string {
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if len(m) < 2 {
		return ""
	}
	return m[1]
}

// screen collects what a terminal shows.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func newScreen(r io.Reader) *screen {
	s := &screen{}
	go func() {
		p := make([]byte, 4096)
		for {
			n, err := r.Read(p)
			s.mu.Lock()
			s.buf.Write(p[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return s
}

func (s *screen) has(text string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Contains(s.buf.String(), text)
}

func (s *screen) waitFor(t testing.TB, text string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if s.has(text) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Fatalf("the terminal never showed %q; it shows:\n%s", text, s.buf.String())
}
