// Package demo is chapter 02's narrated demo: `go run ./steps demo 2`.
// It compares the /proc/self/ns links of the host and a container, then
// shows each namespace at work, PID 1's duties, joining a running
// container, and a user namespace.
package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	namespaces "berth/02-namespaces"
	"berth/steps/testkit"
	"berth/steps/testkit/narrate"
)

// Title is the chapter's title as the course runner lists it.
const Title = "Namespaces and the re-exec init"

// Run plays the demo; every side effect is registered with n.Defer.
func Run(ctx context.Context, n *narrate.Narrator) error {
	n.Title(2, Title)
	if os.Geteuid() != 0 {
		return errors.New("demo 2 creates namespaces and mounts: run it as root (sudo make demo, or sudo env PATH=\"$PATH\" go run ./steps demo 2)")
	}
	work, rootfs, err := testkit.ScratchRootfs("berth-demo02-")
	if err != nil {
		return err
	}
	n.Defer("remove "+work, func() error { return os.RemoveAll(work) })
	all := []namespaces.Namespace{namespaces.Mount, namespaces.PID, namespaces.UTS, namespaces.IPC, namespaces.Network, namespaces.Cgroup}
	spec := func(args ...string) namespaces.Spec {
		return namespaces.Spec{Rootfs: rootfs, Args: args, Hostname: "box", Namespaces: all}
	}
	inside := func(s namespaces.Spec, command string) error {
		var out bytes.Buffer
		s.Args = []string{"/bin/sh", "-c", command}
		err := namespaces.Run(ctx, s, nil, &out, &out)
		var ee *namespaces.ExitError
		if err != nil && !errors.As(err, &ee) {
			return err
		}
		n.Evidence("container", command, out.String())
		return nil
	}

	if err := n.Beat(ctx, "Namespaces are files in /proc",
		"Every process belongs to one namespace of each kind; /proc/PID/ns holds a link per",
		"kind, named by the namespace's inode. Two processes share a namespace when the",
		"numbers match. These are the host's:"); err != nil {
		return err
	}
	n.Evidence("host", "ls -l /proc/self/ns", nsLinks("/proc/self/ns"))

	if err := n.Beat(ctx, "The plan: clone flags, then the init's system calls",
		"The parent re-executes /proc/self/exe as the container's init, cloned into new",
		"namespaces. Its configuration travels over an inherited pipe (fd 3); a failed step",
		"comes back over another (fd 4), closed by execve when all went well."); err != nil {
		return err
	}
	plan, err := spec("COMMAND").Plan()
	if err != nil {
		return err
	}
	for _, line := range strings.Split(strings.TrimSpace(plan.String()), "\n") {
		n.Syscall(line)
	}

	if err := n.Beat(ctx, "Inside: new namespaces, a new hostname",
		"The same links, seen from the container: every number differs but user, which",
		"this container shares with the host."); err != nil {
		return err
	}
	if err := inside(spec(), "ls -l /proc/self/ns | grep -- '->' | sed 's/.* \\([a-z_]* -> \\)/\\1/'; hostname"); err != nil {
		return err
	}
	host, _ := os.Hostname()
	n.Evidence("host", "hostname", host)

	if err := n.Beat(ctx, "PID: the command is PID 1, and the host's processes are gone",
		"The new PID namespace numbers from 1, and the /proc mounted for it lists only its own."); err != nil {
		return err
	}
	if err := inside(spec(), "ps -o pid,comm"); err != nil {
		return err
	}
	n.Evidence("host", "ls /proc | grep -c '^[0-9]'", fmt.Sprint(countProcs()))

	if err := n.Beat(ctx, "Network: only a loopback interface, and it is down",
		"Chapter 05 will cable it to the host with a veth pair."); err != nil {
		return err
	}
	if err := inside(spec(), "ip link"); err != nil {
		return err
	}

	if err := n.Beat(ctx, "PID 1's duties: reaping orphans and handling signals",
		"Orphans are re-parented to PID 1, which must wait for them, or they stay zombies.",
		"And the kernel drops signals to PID 1 that it has no handler for: SIGTERM included.",
		"The command here leaves two orphans, then becomes `sleep`, which waits for nobody."); err != nil {
		return err
	}
	orphans := "(sleep 0.2 &); (sleep 0.2 &); exec sleep 30"
	for _, withInit := range []bool{false, true} {
		s := spec("/bin/sh", "-c", orphans)
		s.Init = withInit
		c, err := namespaces.Start(s, nil, nil, nil)
		if err != nil {
			return err
		}
		n.Defer(fmt.Sprintf("kill container %d", c.Pid), func() error { c.Signal(unix.SIGKILL); c.Wait(); return nil })
		time.Sleep(600 * time.Millisecond)
		label := "without an init"
		if withInit {
			label = "with the tiny init (--init)"
		}
		n.Evidence("host", fmt.Sprintf("zombies under PID 1, %s", label), fmt.Sprint(namespaces.Zombies(c.Pid)))
		c.Signal(unix.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		select {
		case err := <-done:
			n.Evidence("host", "kill -TERM; wait", fmt.Sprintf("exited: %v", err))
		case <-time.After(time.Second):
			n.Evidence("host", "kill -TERM; wait", "still running after 1s: SIGTERM was dropped")
			c.Signal(unix.SIGKILL)
			n.Evidence("host", "kill -KILL; wait", fmt.Sprintf("exited: %v", <-done))
		}
	}

	if err := n.Beat(ctx, "Joining a running container: the basis of `exec`",
		"A re-executed child opens /proc/PID/ns/*, calls setns(2) for each on one locked",
		"thread (unsharing its filesystem attributes first, for the mount namespace), and",
		"forks the command from that thread: entering a PID namespace applies to children."); err != nil {
		return err
	}
	c, err := namespaces.Start(spec("sleep", "30"), nil, nil, nil)
	if err != nil {
		return err
	}
	n.Defer(fmt.Sprintf("kill container %d", c.Pid), func() error { c.Signal(unix.SIGKILL); c.Wait(); return nil })
	var out bytes.Buffer
	err = namespaces.Join(ctx, namespaces.JoinSpec{Pid: c.Pid, Namespaces: all, Args: []string{"/bin/sh", "-c", "hostname; ps -o pid,comm"}}, nil, &out, &out)
	if err != nil {
		return err
	}
	n.Evidence(fmt.Sprintf("joined %d", c.Pid), "hostname; ps -o pid,comm", out.String())

	if err := n.Beat(ctx, "A user namespace: root inside, uid 100000 outside",
		"uid_map says which host ids the container's ids stand for. Root inside has every",
		"capability over its own namespaces, and none over the host's."); err != nil {
		return err
	}
	if err := os.Chmod(work, 0o755); err != nil {
		return err
	}
	if err := testkit.ChownTree(rootfs, 100000, 100000); err != nil {
		return err
	}
	s := spec()
	s.Namespaces = append(s.Namespaces, namespaces.User)
	s.UIDMap = []namespaces.IDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.GIDMap = s.UIDMap
	if err := inside(s, "cat /proc/self/uid_map; id; touch /tmp/hello"); err != nil {
		return err
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(rootfs, "tmp/hello"), &st); err != nil {
		return err
	}
	n.Evidence("host", "stat -c %u "+filepath.Join(rootfs, "tmp/hello"), fmt.Sprint(st.Uid))
	n.Say("Chapter 03 limits what a container may use: memory, CPU and processes.")
	return nil
}

func nsLinks(dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err.Error()
	}
	var lines []string
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err == nil {
			lines = append(lines, e.Name()+" -> "+target)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func countProcs() int {
	entries, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range entries {
		if e.Name()[0] >= '0' && e.Name()[0] <= '9' {
			n++
		}
	}
	return n
}
