package chroot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	chroot "berth/01-chroot"
	"berth/steps/testkit"
	"berth/steps/testkit/probe"
)

// run jails args in a fresh busybox rootfs and returns stdout, stderr and
// the error.
func run(t *testing.T, rootfs string, mode chroot.Mode, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := chroot.Run(context.Background(), chroot.Jail{Rootfs: rootfs, Mode: mode, Args: args}, nil, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// hostSecret writes a file outside the rootfs, where only an escaped
// process can read it, and returns its path and content.
func hostSecret(t *testing.T) (string, string) {
	path := filepath.Join(t.TempDir(), "host-only-secret")
	secret := "the host's secret " + filepath.Base(filepath.Dir(path))
	require.NoError(t, os.WriteFile(path, []byte(secret), 0o600))
	return path, secret
}

func TestChrootSeesOnlyTheRootfs(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	rootfs := testkit.Rootfs(t)
	probePath := testkit.InstallProbe(t, rootfs)

	out, stderr, err := run(t, rootfs, chroot.ModeChroot, probePath)
	require.NoError(t, err, stderr)
	var r probe.Report
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	assert.Equal(t, names(t, rootfs), r.Root, "/ inside the jail must be the rootfs")
	assert.Equal(t, "/", r.Cwd)

	out, _, err = run(t, rootfs, chroot.ModeChroot, "cat", "/etc/os-release")
	require.NoError(t, err)
	assert.Equal(t, testkit.OSRelease, out, "cat must read the rootfs's /etc, not the host's")
}

func TestChrootEscapeSucceeds(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	rootfs := testkit.Rootfs(t)
	require.NoError(t, testkit.InstallBinary(rootfs, testkit.Static(t, "berth/01-chroot/breakout"), "/breakout"))
	secret, content := hostSecret(t)

	out, stderr, err := run(t, rootfs, chroot.ModeChroot, "/breakout", "-read", secret)
	require.NoError(t, err, stderr)
	assert.Contains(t, out, "read: "+secret+": "+content, "a root process in a chroot jail walks back out to the host")
	assert.NoDirExists(t, filepath.Join(rootfs, ".berth-breakout"), "the escape cleans up after itself")
}

func TestPivotRootEscapeFails(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	rootfs := testkit.Rootfs(t)
	require.NoError(t, testkit.InstallBinary(rootfs, testkit.Static(t, "berth/01-chroot/breakout"), "/breakout"))
	secret, content := hostSecret(t)

	out, stderr, err := run(t, rootfs, chroot.ModePivotRoot, "/breakout", "-read", secret)
	require.NoError(t, err, stderr)
	assert.NotContains(t, out, content)
	assert.Contains(t, out, "read: open "+secret+": no such file or directory")
	lines := strings.Split(out, "\n")
	require.GreaterOrEqual(t, len(lines), 2, out)
	assert.Equal(t, strings.TrimPrefix(lines[0], "before:"), strings.TrimPrefix(lines[1], "after: "),
		"the escape lands back in the rootfs")
}

func TestPivotRootMounts(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	rootfs := testkit.Rootfs(t)
	probePath := testkit.InstallProbe(t, rootfs)

	out, stderr, err := run(t, rootfs, chroot.ModePivotRoot, probePath)
	require.NoError(t, err, stderr)
	var r probe.Report
	require.NoError(t, json.Unmarshal([]byte(out), &r))

	targets := map[string]string{}
	for _, m := range r.Mounts {
		targets[m.Target] = m.FSType
		assert.False(t, strings.HasPrefix(m.Target, chroot.OldRoot), "the old root must be gone, found %s", m.Target)
	}
	assert.Len(t, r.Mounts, 3, "exactly the rootfs, /proc and /dev: %v", targets)
	assert.Equal(t, "proc", targets["/proc"])
	assert.Equal(t, "tmpfs", targets["/dev"])
	assert.Contains(t, targets, "/")
	assert.NotContains(t, r.Root, ".oldroot", "the old root's mount point is removed")

	out, stderr, err = run(t, rootfs, chroot.ModePivotRoot, "sh", "-c",
		"for d in null zero full random urandom tty; do test -c /dev/$d || echo missing $d; done; echo hi > /dev/null && head -c 4 /dev/zero | wc -c")
	require.NoError(t, err, stderr)
	assert.Equal(t, "4\n", out, "the minimal /dev must hold working character devices")
}

func TestPivotRootLeavesHostMountsAlone(t *testing.T) {
	testkit.RequireRoot(t)
	// Also the host lock: no test of another package mounts or unmounts
	// between the two reads of the host's table.
	testkit.CheckResidue(t)
	before, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	rootfs := testkit.Rootfs(t)

	_, stderr, err := run(t, rootfs, chroot.ModePivotRoot, "true")
	require.NoError(t, err, stderr)

	after, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after), "mounts made in the jail's mount namespace must not reach the host")
	assert.NoDirExists(t, filepath.Join(rootfs, chroot.OldRoot))
}

// Without a PID namespace, the jail's /proc shows the host's processes, and
// /proc/PID/root of any host process (here the jail's parent) is the host's
// root: pivot_root alone is not a container.
// Chapter 02 closes this hole with a PID namespace.
func TestProcWithoutPIDNamespaceStillLeaks(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	rootfs := testkit.Rootfs(t)
	secret, content := hostSecret(t)

	out, stderr, err := run(t, rootfs, chroot.ModePivotRoot, "sh", "-c", "cat /proc/$PPID/root"+secret)
	require.NoError(t, err, stderr)
	assert.Equal(t, content, out)
}

func TestExitCodes(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	rootfs := testkit.Rootfs(t)
	for _, mode := range []chroot.Mode{chroot.ModeChroot, chroot.ModePivotRoot} {
		t.Run(string(mode), func(t *testing.T) {
			_, _, err := run(t, rootfs, mode, "sh", "-c", "exit 3")
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit)
			assert.Equal(t, 3, exit.ExitCode())

			_, _, err = run(t, rootfs, mode, "no-such-command")
			var step *chroot.StepError
			require.ErrorAs(t, err, &step)
			assert.Equal(t, chroot.OpExec, chroot.Op(strings.SplitN(step.Call, "(", 2)[0]))
			assert.ErrorContains(t, err, "no-such-command: command not found in the rootfs")
			assert.Equal(t, 127, step.ExitCode, "like Docker: 127 for a missing command")

			require.NoError(t, os.WriteFile(filepath.Join(rootfs, "not-executable"), []byte("#!/bin/sh\n"), 0o644))
			_, _, err = run(t, rootfs, mode, "/not-executable")
			require.ErrorAs(t, err, &step)
			assert.True(t, errors.Is(err, unix.EACCES), "got %v", err)
			assert.ErrorContains(t, err, "/not-executable: not executable")
			assert.Equal(t, 126, step.ExitCode, "like Docker: 126 for a command that cannot be run")

			_, _, err = run(t, filepath.Join(rootfs, "etc"), mode, "sh")
			require.ErrorAs(t, err, &step)
			if mode == chroot.ModePivotRoot {
				assert.Equal(t, 125, step.ExitCode, "a rootfs without /proc cannot be set up: the engine failed")
			}
		})
	}
}

func TestMissingRootfs(t *testing.T) {
	// No root needed: the rootfs is checked before anything starts.
	_, _, err := run(t, filepath.Join(t.TempDir(), "missing"), chroot.ModePivotRoot, "sh")
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.ErrorContains(t, err, "chroot: rootfs")
}

func TestPrivilegedTestsSkipForNormalUsers(t *testing.T) {
	out := testkit.RunTestsAsNobody(t, "^(TestChrootEscapeSucceeds|TestPivotRootEscapeFails)$")
	assert.Equal(t, 2, strings.Count(out, "--- SKIP"), out)
	assert.Contains(t, out, "needs root")
	assert.Contains(t, out, "go test -exec sudo ./01-chroot/")
}

// On a systemd host / is shared, so a mount made in a new mount namespace
// propagates back to the host unless the namespace is made private first
// (and pivot_root refuses a shared parent with EINVAL). This host's / may
// be private, so the test makes a shared mount of its own to hold the rootfs.
func TestPivotRootUnderASharedMount(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	shared := t.TempDir()
	require.NoError(t, unix.Mount("tmpfs", shared, "tmpfs", 0, "mode=755"))
	t.Cleanup(func() { assert.NoError(t, unix.Unmount(shared, unix.MNT_DETACH)) })
	require.NoError(t, unix.Mount("", shared, "", unix.MS_SHARED, ""))
	tmpl, err := testkit.RootfsTemplate()
	require.NoError(t, err)
	rootfs := filepath.Join(shared, "rootfs")
	require.NoError(t, testkit.CopyTree(tmpl, rootfs))
	before, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)

	out, stderr, err := run(t, rootfs, chroot.ModePivotRoot, "sh", "-c", "grep -c . /proc/mounts")
	require.NoError(t, err, stderr)
	assert.Equal(t, "3\n", out)

	after, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after), "no mount of the jail may propagate to the host's shared mount")
}
