// Package demo is chapter 01's narrated demo: `go run ./steps demo 1`.
// It builds a busybox rootfs, jails `ls /` with chroot, breaks out of the
// jail, then closes the hole with pivot_root in a new mount namespace.
package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	chroot "berth/01-chroot"
	"berth/steps/testkit"
	"berth/steps/testkit/narrate"
)

// Title is the chapter's title as the course runner lists it.
const Title = "From chroot to pivot_root"

// Run plays the demo. Every side effect is registered with n.Defer as soon
// as it succeeds; the caller runs n.Cleanup, also after Ctrl-C.
func Run(ctx context.Context, n *narrate.Narrator) error {
	n.Title(1, Title)
	if os.Geteuid() != 0 {
		return errors.New("demo 1 changes root directories and mounts: run it as root (sudo make demo, or sudo env PATH=\"$PATH\" go run ./steps demo 1)")
	}

	// 1. A root filesystem.
	if err := n.Beat(ctx, "A root filesystem is just a directory",
		"A container's files come from a directory tree: here, the host's static busybox",
		"with a link per applet, /etc/passwd and empty /proc, /sys and /dev."); err != nil {
		return err
	}
	work, rootfs, err := testkit.ScratchRootfs("berth-demo01-")
	if err != nil {
		return err
	}
	n.Defer("remove "+work, func() error { return os.RemoveAll(work) })
	breakout, err := testkit.BuildStatic("berth/01-chroot/breakout")
	if err != nil {
		return err
	}
	if err := testkit.InstallBinary(rootfs, breakout, "/breakout"); err != nil {
		return err
	}
	secret := filepath.Join(work, "host-secret.txt")
	if err := os.WriteFile(secret, []byte("only the host should read this"), 0o600); err != nil {
		return err
	}
	n.Say("rootfs: %s", rootfs)
	n.Evidence("host", "ls /", list("/"))
	n.Evidence("host", "ls "+rootfs, list(rootfs))
	n.Say("and a file outside the rootfs, which no jailed process should read: %s", secret)

	// 2. chroot.
	if err := n.Beat(ctx, "chroot(2): change the root directory",
		"The kernel resolves every absolute path from a process's root directory.",
		"chroot moves it; the process and its children see only the rootfs."); err != nil {
		return err
	}
	jail := chroot.Jail{Rootfs: rootfs, Mode: chroot.ModeChroot}
	showPlan(n, jail)
	if err := evidence(ctx, n, jail, "ls -C /"); err != nil {
		return err
	}
	if err := evidence(ctx, n, jail, "cat /etc/os-release"); err != nil {
		return err
	}

	// 3. The escape.
	if err := n.Beat(ctx, "The classic escape: chroot is not a jail for root",
		"chroot changes the root but not the working directory. /breakout, a static",
		"program inside the rootfs, chroots into a subdirectory (leaving its working",
		"directory above the new root), climbs with chdir(\"..\") and chroots to \".\"."); err != nil {
		return err
	}
	for _, c := range []string{`mkdir(".berth-breakout")`, `chroot(".berth-breakout")`, `chdir("..") x 256`, `chroot(".")`} {
		n.Syscall(c)
	}
	if err := evidence(ctx, n, jail, "/breakout -read "+secret); err != nil {
		return err
	}
	n.Say("It read the host's file: the jail held nothing.")

	// 4. pivot_root.
	if err := n.Beat(ctx, "pivot_root(2) in a new mount namespace",
		"A new mount namespace gets a private copy of the mount table. There the rootfs",
		"becomes the root mount, the old root is unmounted (MNT_DETACH) and removed:",
		"there is no host directory left above / to climb back to."); err != nil {
		return err
	}
	before, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	jail.Mode = chroot.ModePivotRoot
	showPlan(n, jail)
	if err := evidence(ctx, n, jail, "cat /proc/mounts"); err != nil {
		return err
	}
	if err := evidence(ctx, n, jail, "/breakout -read "+secret); err != nil {
		return err
	}
	n.Say("Same program, same system calls: it climbs to / of its own mount namespace, the rootfs.")

	// 5. The host is untouched, and what is left to do.
	if err := n.Beat(ctx, "The host's mount table is unchanged; one hole remains",
		"Every mount was made in the jail's own mount namespace, which died with it."); err != nil {
		return err
	}
	after, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	if bytes.Equal(before, after) {
		n.Evidence("host", "diff <(mountinfo before) <(mountinfo after)", "(identical)")
	} else {
		return fmt.Errorf("the host's mount table changed during the demo:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	n.Say("But /proc inside the jail still lists the host's processes, and /proc/PID/root of")
	n.Say("any of them is the host's root. Watch the jail's parent process:")
	if err := evidence(ctx, n, jail, "cat /proc/$PPID/root"+secret); err != nil {
		return err
	}
	n.Say("Chapter 02 closes that with a PID namespace, and adds the others.")
	return nil
}

func showPlan(n *narrate.Narrator, j chroot.Jail) {
	j.Args = []string{"COMMAND"}
	plan, err := j.Plan()
	if err != nil {
		n.Say("plan: %v", err)
		return
	}
	if plan.NewMountNamespace {
		n.Syscall("clone(CLONE_NEWNS)   # the init process starts in a new mount namespace")
	}
	for _, s := range plan.Steps {
		n.Syscall(s.String())
	}
}

// evidence runs a shell command in the jail and shows what it printed.
func evidence(ctx context.Context, n *narrate.Narrator, j chroot.Jail, command string) error {
	var out bytes.Buffer
	j.Args = []string{"/bin/sh", "-c", command}
	err := chroot.Run(ctx, j, nil, &out, &out)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return err
	}
	where := "jail:" + string(j.Mode)
	n.Evidence(where, command, out.String())
	return nil
}

func list(dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err.Error()
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}
