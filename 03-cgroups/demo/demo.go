// Package demo is chapter 03's narrated demo: `go run ./steps demo 3`.
// It writes a container's limit files, lets a memory hog be OOM-killed
// while the counter moves, holds a fork bomb at its pids limit, measures a
// CPU quota, and destroys the group.
package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	namespaces "berth/02-namespaces"
	cgroup "berth/03-cgroups"
	"berth/steps/testkit"
	"berth/steps/testkit/narrate"
)

// Title is the chapter's title as the course runner lists it.
const Title = "cgroups v1 and v2: limit memory, CPU and processes"

// Run plays the demo; every side effect is registered with n.Defer.
func Run(ctx context.Context, n *narrate.Narrator) error {
	n.Title(3, Title)
	if os.Geteuid() != 0 {
		return errors.New("demo 3 creates cgroups: run it as root (sudo make demo, or sudo env PATH=\"$PATH\" go run ./steps demo 3)")
	}
	work, rootfs, err := testkit.ScratchRootfs("berth-demo03-")
	if err != nil {
		return err
	}
	n.Defer("remove "+work, func() error { return os.RemoveAll(work) })
	hog, err := testkit.BuildStatic("berth/03-cgroups/hog")
	if err != nil {
		return err
	}
	if err := testkit.InstallBinary(rootfs, hog, "/bin/hog"); err != nil {
		return err
	}
	layout, err := cgroup.DetectLayout()
	if err != nil {
		return err
	}
	host, err := layout.Host()
	if err != nil {
		return err
	}

	newGroup := func(name string, r cgroup.Resources) (cgroup.Manager, error) {
		if err := r.Validate(host); err != nil {
			return nil, err
		}
		m, err := layout.Manager(fmt.Sprintf("demo03-%s-%d", name, os.Getpid()))
		if err != nil {
			return nil, err
		}
		if err := m.Create(); err != nil {
			return nil, err
		}
		n.Defer("destroy cgroup "+name, m.Destroy)
		writes := r.V1()
		if layout.Mode == "v2" {
			writes = r.V2()
		}
		for _, w := range writes {
			n.Syscall(w.String())
		}
		return m, m.Apply(r)
	}
	container := func(m cgroup.Manager, out *testkit.SyncBuffer, args ...string) (*namespaces.Container, error) {
		c, err := namespaces.Start(namespaces.Spec{Rootfs: rootfs, Args: args,
			Namespaces: []namespaces.Namespace{namespaces.Mount, namespaces.PID, namespaces.UTS}, Prestart: m.Add}, nil, out, out)
		if err != nil {
			return nil, err
		}
		n.Defer(fmt.Sprintf("kill container %d", c.Pid), func() error { c.Signal(unix.SIGKILL); c.Wait(); return nil })
		return c, nil
	}

	if err := n.Beat(ctx, "Where this host keeps its cgroups",
		"cgroup v1 gives each controller (memory, cpu, pids...) a hierarchy of its own;",
		"cgroup v2 has one hierarchy where every directory holds every controller's files."); err != nil {
		return err
	}
	n.Say("mode: %s", layout.Mode)
	if layout.V2 != "" {
		n.Say("cgroup2 at %s", layout.V2)
	}
	for _, c := range []string{"memory", "cpu", "cpuacct", "cpuset", "pids", "freezer"} {
		if p, ok := layout.V1[c]; ok {
			n.Say("v1 %-8s at %s", c, p)
		}
	}
	n.Say("this host offers CPUs %s and memory nodes %s", cgroup.FormatList(host.CPUs), cgroup.FormatList(host.Mems))

	if err := n.Beat(ctx, "--memory 32m --memory-swap 32m: a hog is OOM-killed",
		"A group is a directory; a limit is a number written to one of its files. The hog",
		"allocates 64 MiB, 4 at a time; past 32 MiB the kernel's OOM killer ends it."); err != nil {
		return err
	}
	mem, err := newGroup("memory", cgroup.Resources{Memory: 32 << 20, MemorySwap: 32 << 20})
	if err != nil {
		return err
	}
	before, _ := mem.Stats()
	var out testkit.SyncBuffer
	c, err := container(mem, &out, "/bin/hog", "mem", "64")
	if err != nil {
		return err
	}
	waitErr := c.Wait()
	after, _ := mem.Stats()
	n.Evidence("container", "hog mem 64", out.String())
	n.Evidence("host", "wait", fmt.Sprintf("exited: %v", waitErr))
	n.Evidence("host", "OOM kills in the group (memory.oom_control or memory.events)",
		fmt.Sprintf("before: %d  after: %d  peak usage: %.1f MiB", before.OOMKills, after.OOMKills, float64(after.MemoryPeak)/(1<<20)))

	if err := n.Beat(ctx, "--pids-limit 16: a fork bomb is contained",
		"The pids controller counts every task (threads too) and refuses fork past the limit",
		"with EAGAIN. The hog tries 200 forks."); err != nil {
		return err
	}
	pids, err := newGroup("pids", cgroup.Resources{PidsLimit: 16})
	if err != nil {
		return err
	}
	out = testkit.SyncBuffer{}
	if _, err := container(pids, &out, "/bin/hog", "fork", "200"); err != nil {
		return err
	}
	for i := 0; i < 200 && !strings.Contains(out.String(), "forked"); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	st, _ := pids.Stats()
	n.Evidence("container", "hog fork 200", out.String())
	n.Evidence("host", "pids.current; pids.events", fmt.Sprintf("%d tasks in the group; %d forks refused", st.Pids, st.PidsRefused))

	if err := n.Beat(ctx, "--cpus 0.5: half a CPU, measured",
		"CFS bandwidth control: a quota of CPU time per period (50 ms every 100 ms). A",
		"spinner wants a whole CPU; the group's own accounting says what it got."); err != nil {
		return err
	}
	cpu, err := newGroup("cpu", cgroup.Resources{CPUs: 0.5})
	if err != nil {
		return err
	}
	if _, err := container(cpu, &testkit.SyncBuffer{}, "/bin/hog", "spin"); err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond)
	s0, _ := cpu.Stats()
	t0 := time.Now()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(2 * time.Second):
	}
	s1, _ := cpu.Stats()
	n.Evidence("host", "CPU used over 2 s (cpuacct.usage or cpu.stat)",
		fmt.Sprintf("%.2f CPU; throttled in %d periods", float64(s1.CPUUsage-s0.CPUUsage)/float64(time.Since(t0)), s1.Throttled-s0.Throttled))

	if err := n.Beat(ctx, "Destroy: kill everything, remove the directories",
		"v2 writes 1 to cgroup.kill; v1 freezes the group so nothing forks, kills every",
		"task, thaws it, then removes each hierarchy's directory (rmdir, never rm -r)."); err != nil {
		return err
	}
	for _, m := range []cgroup.Manager{pids, cpu} {
		if err := m.Destroy(); err != nil {
			return err
		}
		for _, d := range m.Paths() {
			_, err := os.Stat(d)
			n.Evidence("host", "ls -d "+d, fmt.Sprintf("%v", err))
			break // one hierarchy tells the story
		}
	}
	n.Say("Chapter 04 gives containers their files: layers and a union filesystem.")
	return nil
}
