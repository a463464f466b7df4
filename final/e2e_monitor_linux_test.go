package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"berth/steps/testkit"
)

// The shared monitor: one berth-shim per engine root, berth binary and namespaces
// monitors every container started detached or attached.

// privateBerth is newBerth running a copy of berth of its own: the shared
// monitor is keyed by the binary's inode, and another test process may
// rebuild testkit's binary (a new inode) between two of this test's runs.
func privateBerth(t *testing.T) *berth {
	// Made before newBerth's: removed after its cleanup, which runs the
	// copy.
	dir := t.TempDir()
	b := newBerth(t)
	require.NoError(t, testkit.InstallBinary(dir, b.bin, "/berth"))
	b.bin = filepath.Join(dir, "berth")
	return b
}

// monitorOf is the parent of the container's init: its monitor.
func (b *berth) monitorOf(name string) int {
	b.t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(b.ok("inspect", "-f", "{{.State.Pid}}", name)))
	require.NoError(b.t, err)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(b.t, err)
	ppid, err := strconv.Atoi(regexpFind(`(?m)^PPid:\s+(\d+)$`, string(status)))
	require.NoError(b.t, err)
	return ppid
}

// monitorFiles are the shared monitors' sockets and locks in the exec root.
func (b *berth) monitorFiles() []string {
	files, _ := filepath.Glob(filepath.Join(b.root, "run", "monitor-*"))
	return files
}

// runParallel runs `run -d` for each name at once and waits for all.
func (b *berth) runParallel(names ...string) {
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Go(func() {
			out, errs, code := b.run("run", "-d", "--name", name, "busybox", "sleep", "1000")
			assert.Equal(b.t, 0, code, "run -d --name %s\nstdout: %s\nstderr: %s", name, out, errs)
		})
	}
	wg.Wait()
}

// Three containers started at once, none running before, share one
// monitor: the monitors started by the racing berths agree through the
// lock. It outlives one container's removal and exits with the last,
// taking its socket and lock with it.
func TestSharedMonitor(t *testing.T) {
	b := privateBerth(t)
	b.runParallel("one", "two", "three")
	// A monitor that lost the race for the lock says so and exits: it may
	// still be on its way out.
	waitFor(t, func() bool { return len(b.shims()) == 1 })
	shim := b.shims()[0]
	for _, name := range []string{"one", "two", "three"} {
		assert.Equal(t, shim, b.monitorOf(name), "%s's init is the shared monitor's child", name)
	}
	assert.Len(t, b.monitorFiles(), 2, "its socket and its lock")

	// An attached run goes to the same monitor.
	assert.Equal(t, "attached\n", b.ok("run", "--name", "four", "busybox", "echo", "attached"))
	assert.Equal(t, []int{shim}, b.shims())

	b.ok("rm", "-f", "one")
	assert.Equal(t, []int{shim}, b.shims(), "two containers are left: the monitor stays")
	assert.Equal(t, "running", b.inspect("two")["State"].(map[string]any)["Status"])

	b.ok("rm", "-f", "two", "three", "four")
	waitFor(t, func() bool { return len(b.shims()) == 0 })
	assert.Empty(t, b.monitorFiles(), "the last monitor out removes its socket and lock")

	// And the next start brings a new one.
	b.ok("run", "-d", "--name", "five", "busybox", "sleep", "1000")
	require.Len(t, b.shims(), 1)
	assert.NotEqual(t, shim, b.shims()[0])
	b.ok("rm", "-f", "five")
	waitFor(t, func() bool { return len(b.shims()) == 0 })
}

// Killing the shared monitor kills every container it monitors (each
// init dies with the monitor's thread that started it): the trade-off of
// sharing. Each then reads as exited 137 and can be removed, and the next
// start replaces the dead monitor's stale socket.
func TestSharedMonitorKilled(t *testing.T) {
	b := privateBerth(t)
	names := []string{"lost1", "lost2", "lost3"}
	for _, name := range names {
		b.ok("run", "-d", "--name", name, "busybox", "sleep", "1000")
	}
	shims := b.shims()
	require.Len(t, shims, 1)
	require.NoError(t, unix.Kill(shims[0], unix.SIGKILL))
	waitFor(t, func() bool { return len(b.shims()) == 0 })
	for _, name := range names {
		state := b.inspect(name)["State"].(map[string]any)
		assert.Equal(t, "exited", state["Status"], name)
		assert.Equal(t, float64(137), state["ExitCode"], name)
		assert.Contains(t, state["Error"], fmt.Sprintf("pid %d: a berth-shim", shims[0]), name)
	}
	assert.Equal(t, 3, strings.Count(b.ok("ps", "-a"), "Exited (137)"))
	assert.Equal(t, "lost1\nlost2\nlost3\n", b.ok("rm", "lost1", "lost2", "lost3"))

	require.NotEmpty(t, b.monitorFiles(), "SIGKILL left the socket")
	b.ok("run", "-d", "--name", "next", "busybox", "sleep", "1000")
	require.Len(t, b.shims(), 1)
	assert.Equal(t, "running", b.inspect("next")["State"].(map[string]any)["Status"])
	b.ok("rm", "-f", "next")
	waitFor(t, func() bool { return len(b.shims()) == 0 })
}

// A rebuilt berth (here a copy: another inode) never hands a container to
// the monitor of the binary it replaced: each binary has its own.
func TestMonitorPerBinary(t *testing.T) {
	b := privateBerth(t)
	other := *b
	other.bin = filepath.Join(filepath.Dir(b.bin), "berth-rebuilt")
	require.NoError(t, testkit.InstallBinary(filepath.Dir(b.bin), b.bin, "/berth-rebuilt"))

	b.ok("run", "-d", "--name", "old", "busybox", "sleep", "1000")
	other.ok("run", "-d", "--name", "new", "busybox", "sleep", "1000")
	require.Len(t, b.shims(), 2)
	assert.NotEqual(t, b.monitorOf("old"), b.monitorOf("new"))
	assert.Len(t, b.monitorFiles(), 4, "a socket and a lock each")
	// Either binary manages every container: only the monitors differ.
	other.ok("rm", "-f", "old")
	b.ok("rm", "-f", "new")
	waitFor(t, func() bool { return len(b.shims()) == 0 })
	assert.Empty(t, b.monitorFiles())
}
