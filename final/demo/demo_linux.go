// Package demo is the final chapter's narrated demo: `go run ./steps demo 7`.
// It drives the real berth binary as a user would, with a state directory
// of its own and inside a network namespace playing the host: it imports
// busybox, runs a command, looks around inside a container, starts a web
// server in the background with a published port and a memory limit, asks
// the engine about it (ps, logs, exec, top, stats), reads the files and
// the monitor process behind it, stops and removes it, and shows that
// nothing is left.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	unionfs "berth/04-unionfs"
	network "berth/05-network"
	"berth/final/runtime"
	"berth/steps/testkit"
	"berth/steps/testkit/narrate"
)

// lab is one berth installation made for the demo: the binary, its state
// directory, and the network namespace every command runs in.
type lab struct {
	n     *narrate.Narrator
	bin   string
	root  string
	netns string
}

// Run plays the demo; every side effect is registered with n.Defer.
func Run(ctx context.Context, n *narrate.Narrator) error {
	n.Title(7, Title)
	if os.Geteuid() != 0 {
		return errors.New("demo 7 runs containers (namespaces, cgroups, overlay mounts, bridges): run it as root (sudo make demo, or sudo env PATH=\"$PATH\" go run ./steps demo 7)")
	}
	for _, tool := range []string{"nsenter", "ps"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("demo 7 needs %s: install util-linux and procps", tool)
		}
	}
	tmpl, err := testkit.RootfsTemplate()
	if err != nil {
		return err
	}
	bin, err := testkit.BuildStatic("berth/final")
	if err != nil {
		return err
	}
	root, err := os.MkdirTemp("", "berth-demo07-")
	if err != nil {
		return err
	}
	n.Defer("remove "+root, func() error { return os.RemoveAll(root) })
	ns, release, err := testkit.NewNetNS()
	if err != nil {
		return err
	}
	n.Defer("release the network namespace", release)
	l := &lab{n: n, bin: bin, root: root, netns: ns}
	// Undone in reverse: every container first, then the networks (their
	// bridges and rules live in the namespace, released after them).
	n.Defer("remove berth's networks", l.removeNetworks)

	// 1. Install.
	if err := n.Beat(ctx, "One binary, one state directory",
		"berth is one static Go binary: the CLI, the engine library, the monitor of a root's",
		"containers (berth-shim) and the runtime's init are all in it. Every command below runs as",
		"`nsenter --net=NS berth --root ROOT ...`: a network namespace plays the host, and ROOT",
		"replaces /var/lib/berth, so nothing here touches your machine's network or containers."); err != nil {
		return err
	}
	n.Say("berth: %s", bin)
	n.Say("ROOT:  %s", root)
	n.Say("NS:    %s (a network namespace of its own, loopback up)", ns)
	var tarball bytes.Buffer
	if err := unionfs.Tar(&tarball, tmpl); err != nil {
		return err
	}
	if _, err := l.show(ctx, "tar -C busybox-rootfs -c . | berth import - busybox", &tarball, "import", "-", "busybox"); err != nil {
		return err
	}
	n.Defer("remove every container (berth rm -f)", l.removeContainers)
	info, err := l.berth(ctx, nil, "info")
	if err != nil {
		return err
	}
	n.Evidence("host", "berth info | grep -E 'Containers|Images|Storage|Cgroup V|Default Runtime|Container Start|Root Dir'",
		grep(info, "Containers:", "Images:", "Storage Driver:", "Cgroup Version:", "Default Runtime:", "Container Start:", "Berth Root Dir:"))
	n.Say("(`berth images` comes with the next issue: for now info counts the image, chapter 06's store holds it)")

	// 2. run.
	if err := n.Beat(ctx, "berth run: every chapter in one command",
		"Create records the container (config.json) and prepares its writable layer; start runs its",
		"monitor (for --rm in the foreground, in the CLI itself), which makes a cgroup (ch. 03),",
		"mounts the overlay (ch. 04), makes new namespaces (ch. 02: from a thread of its own where",
		"info says the start is direct, else in a re-executed init), cables them (ch. 05), pivots",
		"into the image's files (ch. 01) and execs echo. The CLI stays attached,",
		"prints the output and exits with the container's code; --rm removes the container once it",
		"has exited."); err != nil {
		return err
	}
	start := time.Now()
	if _, err := l.show(ctx, "", nil, "run", "--rm", "busybox", "echo", "hello from berth"); err != nil {
		return err
	}
	n.Say("(%.2f s, from create to removal)", time.Since(start).Seconds())
	if _, err := l.show(ctx, "", nil, "ps", "-a"); err != nil {
		return err
	}

	// 3. Inside.
	if err := n.Beat(ctx, "What a container sees",
		"A shell reads a script on its stdin (-i, no terminal): its hostname is the container's",
		"short ID, /etc/hosts is a file berth wrote and bind-mounted, the shell is PID 1 of a new PID",
		"namespace, Docker's 14 default capabilities are all root keeps, and its mounts are the",
		"overlay as /, a fresh /proc, a tmpfs /dev and a read-only /sys."); err != nil {
		return err
	}
	script := strings.Join([]string{
		`echo '$ hostname'; hostname`,
		`echo '$ cat /etc/hosts'; cat /etc/hosts`,
		`echo '$ ps'; ps`,
		`echo '$ grep Cap /proc/self/status'; grep Cap /proc/self/status`,
		`echo '$ cut -d" " -f1-4 /proc/mounts'; cut -d" " -f1-4 /proc/mounts`,
	}, "\n") + "\n"
	n.Evidence("host", "cat inside.sh", script)
	inside, err := l.show(ctx, "berth run --rm -i busybox sh < inside.sh", strings.NewReader(script), "run", "--rm", "-i", "busybox", "sh")
	if err != nil {
		return err
	}
	if eff := field(inside, "CapEff:"); eff != "" {
		if m, err := strconv.ParseUint(eff, 16, 64); err == nil {
			n.Say("CapEff %s = %s", eff, strings.Join(runtime.CapMask(m).Names(), " "))
		}
	}

	// 4. A detached server.
	if err := n.Beat(ctx, "A web server in the background",
		"-d returns once the command runs: the monitor holds it, not the CLI. -p 8080:80 is chapter",
		"05's DNAT from the host's port 8080 to the container's 80; -m 32m is chapter 03's memory",
		"limit (memory.max on cgroup v2, memory.limit_in_bytes on v1). A client on the host (a Go",
		"HTTP client in the namespace playing it) fetches the page."); err != nil {
		return err
	}
	out, err := l.show(ctx, "", nil, "run", "-d", "--name", "web", "-p", "8080:80", "-m", "32m", "busybox",
		"sh", "-c", "mkdir -p /www && echo hello from web > /www/index.html && echo serving /www on port 80 && exec httpd -f -v -p 80 -h /www")
	if err != nil {
		return err
	}
	id := strings.TrimSpace(out)
	if len(id) != 64 {
		return fmt.Errorf("berth run -d printed %q, not a container ID", out)
	}
	body, err := l.fetch(ctx, "127.0.0.1:8080")
	if err != nil {
		return err
	}
	n.Evidence("host", "curl -s http://127.0.0.1:8080/", body)

	// 5. Ask the engine.
	if err := n.Beat(ctx, "Asking the engine about it",
		"ps and logs read the container's files (state.json, the json-file log); exec joins its",
		"namespaces with setns(2) and its cgroup; top lists its cgroup's processes with the host's",
		"ps, host PIDs; stats reads the cgroup's counters twice, a second apart."); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"ps"}, {"logs", "web"}, {"exec", "web", "ps"}, {"top", "web"}, {"stats", "--no-stream", "web"},
	} {
		if _, err := l.show(ctx, "", nil, args...); err != nil {
			return err
		}
	}

	// 6. The files.
	if err := n.Beat(ctx, "Where it lives: ROOT/containers/ID",
		"A container is a directory a student can read: what was asked (config.json), what is",
		"happening (state.json), what it wrote (the json-file log), the etc files it sees, its",
		"writable layer and the overlay's mount point. Beside it, in ROOT/run/SHORT-ID while it runs,",
		"the monitor's socket and the OCI bundle handed to the runtime."); err != nil {
		return err
	}
	n.Say("ID=%s", id)
	if err := l.hostSh(ctx, "ls -l containers/$ID", id); err != nil {
		return err
	}
	if err := l.hostSh(ctx, "cat containers/$ID/state.json", id); err != nil {
		return err
	}
	if err := l.configExcerpt(id); err != nil {
		return err
	}
	if err := l.hostSh(ctx, "head -n 2 containers/$ID/$ID-json.log", id); err != nil {
		return err
	}
	if err := l.bundleExcerpt(id); err != nil {
		return err
	}

	// 7. The monitor.
	if err := n.Beat(ctx, "The monitor: berth-shim",
		"The berth command that ran -d exited long ago. The container's monitor is a re-executed",
		"berth in a session of its own, one for every container this binary starts under ROOT: the",
		"inits' parent, it holds the pipes of each container's stdout and stderr, writes the logs,",
		"answers attach and wait on a UNIX socket per container under ROOT/run, and will record each",
		"exit status. A berth hands it a container over ROOT/run/monitor-KEY.sock, or starts it.",
		"Every init dies with it (PR_SET_PDEATHSIG): a crash of the monitor ends them all."); err != nil {
		return err
	}
	if _, err := l.show(ctx, "", nil, "run", "-d", "--name", "sleeper", "busybox", "sleep", "1000"); err != nil {
		return err
	}
	shims := l.shims()
	if len(shims) != 1 {
		return fmt.Errorf("want one berth-shim for %s, found %v", root, shims)
	}
	pids := []string{strconv.Itoa(shims[0])}
	for _, name := range []string{"web", "sleeper"} {
		pid, err := l.berth(ctx, nil, "inspect", "-f", "{{.State.Pid}}", name)
		if err != nil {
			return err
		}
		pids = append(pids, strings.TrimSpace(pid))
	}
	if err := l.hostSh(ctx, "ps -o pid,ppid,sid,rss,args -p "+strings.Join(pids, ","), id); err != nil {
		return err
	}
	if err := l.hostSh(ctx, "ls -l run run/$(echo $ID | cut -c1-12)", id); err != nil {
		return err
	}
	if _, err := l.show(ctx, "", nil, "rm", "-f", "sleeper"); err != nil {
		return err
	}

	// 8. Stop and remove.
	if err := n.Beat(ctx, "stop and rm",
		"stop sends SIGTERM through a pidfd and waits. httpd is PID 1 of its namespace and has no",
		"handler for SIGTERM, so the kernel drops it (chapter 02): after the timeout (-t 2 here,",
		"10 s by default) comes SIGKILL, hence Exited (137). The monitor records it, unmounts the",
		"overlay, detaches the network, removes the cgroup and, with no container left to watch,",
		"removes its socket and exits; rm deletes the directory."); err != nil {
		return err
	}
	var cgroupDirs []string
	if b, err := os.ReadFile(filepath.Join(root, "containers", id, "state.json")); err == nil {
		var st struct{ CgroupDir []string }
		if json.Unmarshal(b, &st) == nil {
			cgroupDirs = st.CgroupDir
		}
	}
	for _, args := range [][]string{{"stop", "-t", "2", "web"}, {"ps", "-a"}, {"rm", "web"}, {"ps", "-a"}} {
		if _, err := l.show(ctx, "", nil, args...); err != nil {
			return err
		}
	}

	// 9. Nothing left.
	if err := n.Beat(ctx, "Nothing left",
		"No container, no monitor, nothing mounted under ROOT, no cgroup. What stays is what should:",
		"the image in ROOT/image, and the default network, made by the first run (the demo's cleanup",
		"removes its bridge and rules, then the namespace)."); err != nil {
		return err
	}
	if err := l.nothingLeft(id, cgroupDirs); err != nil {
		return err
	}
	_, err = l.show(ctx, "", nil, "network", "ls")
	return err
}

// cmd is `nsenter --net=NS berth --root ROOT args...`.
func (l *lab) cmd(ctx context.Context, args ...string) *exec.Cmd {
	full := append([]string{"--net=" + l.netns, l.bin, "--root", l.root}, args...)
	return exec.CommandContext(ctx, "nsenter", full...)
}

// run runs berth with args and returns what it printed (stdout and stderr
// as a terminal would show them) and its exit code.
func (l *lab) run(ctx context.Context, stdin io.Reader, args ...string) (string, int, error) {
	var out bytes.Buffer
	cmd := l.cmd(ctx, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		return out.String(), ee.ExitCode(), nil
	}
	if err != nil {
		return out.String(), -1, err
	}
	return out.String(), 0, nil
}

// berth runs berth and returns its output; it fails unless berth exits 0.
func (l *lab) berth(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	out, code, err := l.run(ctx, stdin, args...)
	if err == nil && code != 0 {
		err = fmt.Errorf("berth %s: exit status %d:\n%s", strings.Join(args, " "), code, out)
	}
	return out, err
}

// show runs berth, shows the command as a user types it (typed, or the
// arguments quoted) and what it printed, and returns that.
func (l *lab) show(ctx context.Context, typed string, stdin io.Reader, args ...string) (string, error) {
	out, err := l.berth(ctx, stdin, args...)
	if err != nil {
		return out, err
	}
	if typed == "" {
		typed = "berth " + shellJoin(args)
	}
	l.n.Evidence("host", typed, out)
	return out, nil
}

// hostSh runs a shell command on the host in ROOT, with $ID set to the
// container's ID, and shows it.
func (l *lab) hostSh(ctx context.Context, command, id string) error {
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Dir = l.root
	cmd.Env = append(os.Environ(), "ID="+id)
	out, err := cmd.CombinedOutput()
	l.n.Evidence("host:ROOT", command, string(out))
	if err != nil {
		return fmt.Errorf("%s: %w", command, err)
	}
	return nil
}

// fetch GETs http://addr/ from the namespace playing the host, waiting up
// to 5 seconds for the server to listen. The connection is dialled on the
// namespace's thread (http.Transport would dial from another goroutine, in
// this process's own namespace: see chapter 05) and handed to the client.
func (l *lab) fetch(ctx context.Context, addr string) (string, error) {
	var last error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		var conn net.Conn
		if last = network.InNamespace(l.netns, func() (err error) {
			conn, err = net.DialTimeout("tcp4", addr, time.Second)
			return err
		}); last != nil {
			continue
		}
		given := false
		client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(context.Context, string, string) (net.Conn, error) {
				if given {
					return nil, errors.New("one connection only")
				}
				given = true
				return conn, nil
			},
		}}
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			last = err
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			last = err
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("GET http://%s/: %s", addr, resp.Status)
		}
		return string(b), nil
	}
	return "", fmt.Errorf("GET http://%s/: %w", addr, last)
}

// configExcerpt shows the fields of config.json a reader looks for first.
func (l *lab) configExcerpt(id string) error {
	b, err := os.ReadFile(filepath.Join(l.root, "containers", id, "config.json"))
	if err != nil {
		return err
	}
	var c struct {
		Name, Path, Image, ImageID, Snapshotter string
		Args, Layers                            []string
		HostConfig                              map[string]any
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return fmt.Errorf("config.json: %w", err)
	}
	hc, _ := json.Marshal(c.HostConfig)
	var s strings.Builder
	fmt.Fprintf(&s, "Name:        %s\n", c.Name)
	fmt.Fprintf(&s, "Path, Args:  %s %s\n", c.Path, shellJoin(c.Args))
	fmt.Fprintf(&s, "Image:       %s (%s…)\n", c.Image, c.ImageID[:19])
	for i, layer := range c.Layers {
		fmt.Fprintf(&s, "Layers[%d]:   %s… (a chain ID: image/layers/<it>)\n", i, layer[:16])
	}
	fmt.Fprintf(&s, "Snapshotter: %s\n", c.Snapshotter)
	fmt.Fprintf(&s, "HostConfig:  %s\n", hc)
	l.n.Evidence("host:ROOT", "cat containers/$ID/config.json   # an excerpt", s.String())
	return nil
}

// bundleExcerpt shows what the runtime is told: the OCI spec's main parts.
func (l *lab) bundleExcerpt(id string) error {
	b, err := os.ReadFile(filepath.Join(l.root, "run", id[:12], "config.json"))
	if err != nil {
		return err
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return fmt.Errorf("the bundle's config.json: %w", err)
	}
	var s strings.Builder
	fmt.Fprintf(&s, "ociVersion:    %s   (%d lines of JSON in all)\n", spec.Version, bytes.Count(b, []byte("\n")))
	fmt.Fprintf(&s, "root.path:     %s\n", strings.Replace(spec.Root.Path, l.root, "ROOT", 1))
	fmt.Fprintf(&s, "process.args:  %s\n", shellJoin(spec.Process.Args))
	fmt.Fprintf(&s, "hostname:      %s\n", spec.Hostname)
	var nss []string
	for _, ns := range spec.Linux.Namespaces {
		nss = append(nss, string(ns.Type))
	}
	fmt.Fprintf(&s, "namespaces:    %s\n", strings.Join(nss, " "))
	var mounts []string
	for _, m := range spec.Mounts {
		mounts = append(mounts, m.Destination+" ("+m.Type+")")
	}
	fmt.Fprintf(&s, "mounts:        %s\n", strings.Join(mounts, ", "))
	if c := spec.Process.Capabilities; c != nil {
		fmt.Fprintf(&s, "capabilities:  %d: %s\n", len(c.Bounding), strings.Join(c.Bounding, " "))
	}
	fmt.Fprintf(&s, "maskedPaths:   %s\n", strings.Join(spec.Linux.MaskedPaths, " "))
	fmt.Fprintf(&s, "readonlyPaths: %s\n", strings.Join(spec.Linux.ReadonlyPaths, " "))
	l.n.Evidence("host:ROOT", "cat run/${ID:0:12}/config.json   # an excerpt", s.String())
	return nil
}

// nothingLeft checks, and shows, that the container left nothing behind.
func (l *lab) nothingLeft(id string, cgroupDirs []string) error {
	var s strings.Builder
	var problems []string
	row := func(label string, value any) { fmt.Fprintf(&s, "%-44s %v\n", label, value) }
	ids, err := l.berth(context.Background(), nil, "ps", "-aq")
	if err != nil {
		return err
	}
	row("containers (berth ps -aq):", len(strings.Fields(ids)))
	if len(strings.Fields(ids)) > 0 {
		problems = append(problems, "containers: "+ids)
	}
	shims := l.shims()
	row("monitors (berth-shim ROOT):", len(shims))
	if len(shims) > 0 {
		problems = append(problems, fmt.Sprintf("monitors %v", shims))
	}
	socks, _ := filepath.Glob(filepath.Join(l.root, "run", "monitor-*"))
	row("monitor sockets, locks (ROOT/run/monitor-*):", len(socks))
	if len(socks) > 0 {
		problems = append(problems, "monitor files: "+strings.Join(socks, ", "))
	}
	mounted := l.mounts()
	row("mounts under ROOT:", len(mounted))
	if len(mounted) > 0 {
		problems = append(problems, "mounts: "+strings.Join(mounted, ", "))
	}
	for _, d := range []string{filepath.Join("containers", id), filepath.Join("run", id[:12])} {
		label := "ROOT/" + strings.Replace(d, id, id[:12]+"…", 1) + ":"
		if _, err := os.Stat(filepath.Join(l.root, d)); err == nil {
			problems = append(problems, d+" still exists")
			row(label, "still there")
		} else {
			row(label, "gone")
		}
	}
	gone := 0
	for _, d := range cgroupDirs {
		if _, err := os.Stat(d); err == nil {
			problems = append(problems, "cgroup "+d+" still exists")
			row("cgroup "+d+":", "still there")
		} else {
			gone++
		}
	}
	if gone > 0 {
		parent, where := filepath.Base(filepath.Dir(cgroupDirs[0])), "1 hierarchy"
		if gone > 1 {
			where = fmt.Sprintf("%d hierarchies", gone)
		}
		row(fmt.Sprintf("cgroup %s/%s… (%s):", parent, id[:12], where), "gone")
	}
	l.n.Evidence("host", "what is left of web", s.String())
	if len(problems) > 0 {
		return fmt.Errorf("left behind: %s", strings.Join(problems, "; "))
	}
	return nil
}

// shims lists the PIDs of the monitors whose state directory is ROOT.
func (l *lab) shims() []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		args := strings.Split(string(cmdline), "\x00")
		if len(args) > 2 && args[0] == "berth-shim" && args[1] == l.root {
			pids = append(pids, pid)
		}
	}
	return pids
}

// mounts lists this process's mount points under ROOT.
func (l *lab) mounts() []string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == l.root || strings.HasPrefix(f[4], l.root+"/")) {
			out = append(out, f[4])
		}
	}
	return out
}

// removeContainers is the demo's undo for every container: rm -f of all
// of them, then a wait for their monitors to finish tearing down.
func (l *lab) removeContainers() error {
	ctx := context.Background()
	ids, err := l.berth(ctx, nil, "ps", "-aq", "--no-trunc")
	if err != nil {
		return err
	}
	if f := strings.Fields(ids); len(f) > 0 {
		if _, err := l.berth(ctx, nil, append([]string{"rm", "-f", "-v"}, f...)...); err != nil {
			return err
		}
	}
	for i := 0; i < 100 && len(l.shims()) > 0; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if s := l.shims(); len(s) > 0 {
		return fmt.Errorf("monitors of %s still running: %v", l.root, s)
	}
	if m := l.mounts(); len(m) > 0 {
		return fmt.Errorf("still mounted: %s", strings.Join(m, ", "))
	}
	return nil
}

// removeNetworks removes every network berth made, the default one too,
// with chapter 05's manager acting in the demo's namespace: bridges and
// rules go before the namespace is released.
func (l *lab) removeNetworks() error {
	dir := filepath.Join(l.root, "network")
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	m, err := network.Open(network.Options{StateDir: dir, HostNS: l.netns})
	if err != nil {
		return err
	}
	nets, err := m.List()
	if err != nil {
		return err
	}
	var errs []error
	for _, nw := range nets {
		if err := m.Remove(nw.Name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// grep keeps the lines of s that contain one of the words.
func grep(s string, words ...string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		for _, w := range words {
			if strings.Contains(line, w) {
				out = append(out, line)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// field is the value after key on the first line that starts with it.
func field(s, key string) string {
	for _, line := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// shellJoin renders args as a shell would need them typed.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$&|;<>()*?[]{}\\#~`!") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
