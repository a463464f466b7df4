package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"berth/steps/testkit"
)

var demoDir = regexp.MustCompile(`rootfs: (/\S+)/rootfs`)

func runSteps(ctx context.Context, in io.Reader, out io.Writer, args ...string) error {
	cmd := newRootCommand()
	cmd.SetArgs(args)
	cmd.SetIn(in)
	cmd.SetOut(out)
	cmd.SetErr(out)
	return cmd.ExecuteContext(ctx)
}

func TestDemo1RunsWithoutATerminal(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	var out testkit.SyncBuffer
	err := runSteps(context.Background(), strings.NewReader(""), &out, "demo", "1")
	require.NoError(t, err, out.String())

	s := out.String()
	for _, beat := range []string{"1. A root filesystem", "2. chroot(2)", "3. The classic escape", "4. pivot_root(2)", "5. The host's mount table is unchanged"} {
		assert.Contains(t, s, beat)
	}
	assert.Contains(t, s, "read: /", "the chroot escape reads the host's file")
	assert.Contains(t, s, "no such file or directory", "the pivot_root escape does not")
	assert.NotContains(t, s, "[Enter]", "without --pause the demo never waits")
	m := demoDir.FindStringSubmatch(s)
	require.NotNil(t, m, s)
	assert.NoDirExists(t, m[1], "the demo removes what it made")
}

func TestDemo1InterruptedCleansUp(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	stdin, typing := io.Pipe()
	defer typing.Close()
	var out testkit.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runSteps(ctx, stdin, &out, "demo", "1", "--pause") }()

	// Press Enter once: beat 1 builds the rootfs; stop at beat 2's prompt,
	// as a student pressing Ctrl-C would.
	waitFor(t, &out, "[Enter] ", 1)
	typing.Write([]byte("\n"))
	waitFor(t, &out, "[Enter] ", 2)
	m := demoDir.FindStringSubmatch(out.String())
	require.NotNil(t, m, out.String())
	assert.DirExists(t, m[1])
	cancel()

	select {
	case err := <-done:
		assert.Equal(t, exitError{130}, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the demo did not stop after the interrupt")
	}
	assert.Contains(t, out.String(), "interrupted: everything the demo made has been undone")
	assert.NoDirExists(t, m[1])
}

func waitFor(t *testing.T, out *testkit.SyncBuffer, s string, count int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for strings.Count(out.String(), s) < count {
		if time.Now().After(deadline) {
			t.Fatalf("waited for %q x%d; the demo printed:\n%s", s, count, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDemoRefusesUnknownChapters(t *testing.T) {
	var out bytes.Buffer
	assert.ErrorContains(t, runSteps(context.Background(), nil, &out, "demo", "x"), `"x" is not a chapter number`)
	assert.ErrorContains(t, runSteps(context.Background(), nil, &out, "demo", "9"), "there is no chapter 9")
	assert.ErrorContains(t, runSteps(context.Background(), nil, &out, "demo", "8"), "there is no chapter 8")
	assert.ErrorContains(t, runSteps(context.Background(), nil, &out, "demo", "0"), "there is no chapter 0")
}

func TestDoctorPrintsEveryCheck(t *testing.T) {
	var out bytes.Buffer
	err := runSteps(context.Background(), nil, &out, "doctor")
	for _, name := range []string{"root", "kernel", "cgroups", "overlayfs", "user namespaces", "veth+bridge", "iptables/nft", "docker-registry", "skopeo", "umoci", "busybox", "propagation of /", "wsl2"} {
		assert.Contains(t, out.String(), name)
	}
	if os.Geteuid() != 0 {
		assert.Equal(t, exitError{1}, err, "root is a core requirement")
		assert.Contains(t, out.String(), "fix (core): re-run as root")
	}
}

func TestListShowsEveryChapter(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, runSteps(context.Background(), nil, &out, "list"))
	for _, c := range chapters {
		assert.Contains(t, out.String(), c.Title)
		assert.Contains(t, out.String(), c.Doc)
	}
	assert.Contains(t, out.String(), "ready")
	assert.NotContains(t, out.String(), "planned", "every chapter, the final one included, is written")
	assert.Contains(t, out.String(), "./final")
}

func TestDemo2RunsWithoutATerminal(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	var out testkit.SyncBuffer
	err := runSteps(context.Background(), strings.NewReader(""), &out, "demo", "2")
	require.NoError(t, err, out.String())
	s := out.String()
	for _, beat := range []string{"Namespaces are files in /proc", "The plan", "PID: the command is PID 1", "only a loopback", "PID 1's duties", "Joining a running container", "A user namespace"} {
		assert.Contains(t, s, beat)
	}
	assert.Contains(t, s, "zombies under PID 1, without an init\n      | 2\n")
	assert.Contains(t, s, "zombies under PID 1, with the tiny init (--init)\n      | 0\n")
	assert.Contains(t, s, "still running after 1s: SIGTERM was dropped")
	assert.Contains(t, s, "exited: exit status 143")
	assert.Regexp(t, `\|\s+0\s+100000\s+65536\n`, s)
	assert.Contains(t, s, "      | 100000\n", "the file made by root inside belongs to uid 100000 outside")
	assert.NotContains(t, s, "[Enter]")
}

func TestDemo3RunsWithoutATerminal(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	var out testkit.SyncBuffer
	err := runSteps(context.Background(), strings.NewReader(""), &out, "demo", "3")
	require.NoError(t, err, out.String())
	s := out.String()
	assert.Contains(t, s, "exited: killed by SIGKILL (exit code 137)", "the hog is OOM-killed")
	assert.Regexp(t, `before: 0  after: [1-9]`, s, "the OOM counter moves")
	assert.Contains(t, s, "16 tasks in the group", "the bomb is held at the limit")
	assert.Regexp(t, `0\.[4-6]\d CPU`, s, "half a CPU")
	assert.Contains(t, s, "no such file or directory", "destroyed groups leave no directory")
}

func TestDemo4RunsWithoutATerminal(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	var out testkit.SyncBuffer
	err := runSteps(context.Background(), strings.NewReader(""), &out, "demo", "4")
	require.NoError(t, err, out.String())
	s := out.String()
	assert.Regexp(t, `overlay on / type overlay \(.*lowerdir=\S+/2-app:\S+/1-base,upperdir=`, s, "inside A, / is the overlay, top layer first")
	assert.Contains(t, s, "container B $ cat /etc/motd\n      | welcome to berth\n    host", "B does not see A's change")
	assert.Contains(t, s, "upper/etc/motd\n      | welcome to berth\n      | A was here\n", "A's change was copied up")
	assert.Regexp(t, `c---------\s+0,\s+0 etc/os-release   <- whiteout`, s)
	assert.Contains(t, s, "app   <- trusted.overlay.opaque=y")
	assert.Contains(t, s, "etc/.wh.os-release   <- whiteout")
	assert.Contains(t, s, "app/.wh..wh..opq   <- opaque")
	assert.Regexp(t, `stored in containers/A/upper\s+\d+ KiB`, s, "a container stores kilobytes, not the image")
	assert.NotContains(t, s, "[Enter]")
}

func TestDemo5RunsWithoutATerminal(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	var out testkit.SyncBuffer
	err := runSteps(context.Background(), strings.NewReader(""), &out, "demo", "5")
	require.NoError(t, err, out.String())
	s := out.String()
	assert.Contains(t, s, "routes: 0", "none: no route at all")
	assert.Contains(t, s, "2 packets transmitted, 2 packets received", "ping by name between two containers")
	assert.Contains(t, s, "outside: you are 192.0.2.1:", "the outside sees the host's address")
	assert.Equal(t, 2, strings.Count(s, "      | hello from web"), "through the published port, from outside and from 127.0.0.1")
	assert.Contains(t, s, "-j DNAT --to-destination 10.89.0.2:80")
	assert.Contains(t, s, "BERTH rules left: 0")
}

func TestDemo6RunsWithoutATerminal(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	var out testkit.SyncBuffer
	err := runSteps(context.Background(), strings.NewReader(""), &out, "demo", "6")
	require.NoError(t, err, out.String())
	s := out.String()
	for _, beat := range []string{"1. An image, made by hand", "2. A registry on the loopback", "3. Pull it back",
		"4. The store is an OCI image layout", "5. Unpacking", "6. Pull again", "7. Damage a blob"} {
		assert.Contains(t, s, beat)
	}
	assert.Regexp(t, `> PUT http://127\.0\.0\.1:\d+/v2/course/busybox/manifests/1\.0`, s, "the push ends with the manifest")
	assert.Contains(t, s, "the same bytes that were pushed")
	assert.Contains(t, s, `"org.opencontainers.image.ref.name": "127.0.0.1:`)
	assert.Contains(t, s, "etc/os-release: Dc--------- (a whiteout)")
	assert.Contains(t, s, "Pulled from a registry by berth, chapter 06.", "the container sees the top layer's motd")
	assert.Equal(t, 2, strings.Count(s, ": Already exists"), "the second pull downloads nothing")
	assert.Contains(t, s, "(corrupted or tampered with: pull or load the image again)")
	m := regexp.MustCompile(`work directory: (/\S+)`).FindStringSubmatch(s)
	require.NotNil(t, m, s)
	assert.NoDirExists(t, m[1], "the demo removes what it made")
}

func TestDemo7RunsWithoutATerminal(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	var out testkit.SyncBuffer
	err := runSteps(context.Background(), strings.NewReader(""), &out, "demo", "7")
	require.NoError(t, err, out.String())
	s := out.String()
	for _, beat := range []string{"1. One binary, one state directory", "2. berth run: every chapter in one command",
		"3. What a container sees", "4. A web server in the background", "5. Asking the engine about it",
		"6. Where it lives", "7. The monitor: berth-shim", "8. stop and rm", "9. Nothing left"} {
		assert.Contains(t, s, beat)
	}
	assert.Regexp(t, `berth import - busybox\n      \| sha256:[0-9a-f]{64}\n`, s)
	assert.Contains(t, s, "host $ berth run --rm busybox echo 'hello from berth'\n      | hello from berth\n")
	assert.Regexp(t, `\$ hostname\n      \| [0-9a-f]{12}\n`, s, "the hostname is the short ID")
	assert.Regexp(t, `\n      \|     1 root     sh\n`, s, "the shell is PID 1")
	assert.Contains(t, s, "CapEff:\t00000000a80425fb", "Docker's 14 default capabilities")
	assert.Contains(t, s, "overlay / overlay")
	assert.Contains(t, s, "host $ curl -s http://127.0.0.1:8080/\n      | hello from web\n", "through the published port")
	assert.Contains(t, s, "0.0.0.0:8080->80/tcp")
	assert.Contains(t, s, "serving /www on port 80")
	assert.Regexp(t, `\|     1 root     httpd -f -v -p 80 -h /www\n`, s, "exec sees the container's PID namespace")
	assert.Regexp(t, `/ 32MiB`, s, "stats shows the memory limit")
	assert.Regexp(t, `\{"log":"serving /www on port 80\\n","stream":"stdout","time":"`, s, "the json-file log")
	assert.Contains(t, s, "berth-shim ")
	assert.Contains(t, s, "shim.sock")
	assert.Regexp(t, `monitor-[0-9a-f]{8}\.sock\n`, s, "the shared monitor's socket")
	if m := regexp.MustCompile(`\|\s+(\d+)\s+\d+\s+\d+\s+\d+ berth-shim /`).FindStringSubmatch(s); assert.NotNil(t, m, "the monitor in ps") {
		children := regexp.MustCompile(`\|\s+\d+\s+`+m[1]+`\s+\d+\s+\d+ (httpd|sleep) `).FindAllStringSubmatch(s, -1)
		assert.Len(t, children, 2, "one monitor is the parent of web's and sleeper's inits")
	}
	assert.Contains(t, s, "Exited (137)")
	assert.Regexp(t, `monitors \(berth-shim ROOT\):\s+0\n`, s)
	assert.Regexp(t, `monitor sockets, locks \(ROOT/run/monitor-\*\):\s+0\n`, s)
	assert.Regexp(t, `mounts under ROOT:\s+0\n`, s)
	assert.Regexp(t, `cgroup \S+/[0-9a-f]{12}… \(\d hierarch(y|ies)\):\s+gone\n`, s)
	assert.NotContains(t, s, "still there")
	assert.NotContains(t, s, "[Enter]")
	m := regexp.MustCompile(`ROOT:  (/\S+)`).FindStringSubmatch(s)
	require.NotNil(t, m, s)
	assert.NoDirExists(t, m[1], "the demo removes its state directory")
}
