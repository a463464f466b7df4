package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"berth/final/runtime"
	"berth/steps/testkit"
)

// BenchmarkRun compares, in one run and in the same network namespace,
// what it costs to run `true` in a new container:
//
//   - berth run --rm, with --network none and with the default bridge;
//   - runc run of an OCI bundle made from berth's own defaults (the same
//     namespaces, mounts, masks and capabilities), on a plain directory;
//   - unshare --fork --pid --mount --uts --ipc --net true: the floor, the
//     namespaces alone and no root filesystem.
//
// Files go where the programs' defaults put them: berth's state in a
// temporary --root (for /var/lib/berth), its runtime state in a temporary
// --exec-root under /run (for /run/berth), runc's state under /run too
// (for /run/runc). /run is a tmpfs on most hosts; on this course's CI
// machine it is a directory of the root filesystem.
//
// Each side starts ready, as it would on a host that has run a container
// before: runc's bundle is made before its timing, and berth runs one
// container first, which unpacks the image's layer into its store (docker
// pull does that before any run) and makes the default network. Then the
// files that setup wrote (the imported image, its unpacked layer, the
// bundle's copy of the rootfs) are written back to the disk before the
// timing starts: left to the kernel's flusher, that writeback ran during
// the first sub-benchmark and added 3 to 6 ms to each of its runs.
//
// The targets (issue 8): --network none at most 4× the floor; bridge no
// slower than runc alone.
func BenchmarkRun(b *testing.B) {
	br := newBerthOnRun(b)
	br.ok("run", "--rm", "busybox", "true")
	unix.Sync() // setup's writes, to the disk now rather than during the timing
	b.Run("berth-network-none", func(b *testing.B) {
		for b.Loop() {
			br.ok("run", "--rm", "--network", "none", "busybox", "true")
		}
	})
	b.Run("berth-bridge", func(b *testing.B) {
		for b.Loop() {
			br.ok("run", "--rm", "busybox", "true")
		}
	})
	b.Run("runc", func(b *testing.B) {
		runc := testkit.RequireTool(b, "runc", "sudo apt-get install runc (or sudo make bench)")
		bundle := runcBundle(b)
		unix.Sync()
		state := filepath.Join(br.execRoot, "runc")
		i := 0
		for b.Loop() {
			i++
			cmd := exec.Command("nsenter", "--net="+br.netns, runc, "--root", state, "run", "--bundle", bundle, fmt.Sprintf("bench%d", i))
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("runc run: %v: %s", err, out)
			}
		}
	})
	b.Run("unshare-floor", func(b *testing.B) {
		for b.Loop() {
			cmd := exec.Command("nsenter", "--net="+br.netns, "unshare", "--fork", "--pid", "--mount", "--uts", "--ipc", "--net", "true")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("unshare: %v: %s", err, out)
			}
		}
	})
}

// runcBundle makes an OCI bundle runc can run: a copy of the busybox
// rootfs and the spec berth's runtime would be given, less what is
// berth's own (its rootfs path on the host becomes the bundle's).
func runcBundle(b *testing.B) string {
	dir := b.TempDir()
	tmpl, err := testkit.RootfsTemplate()
	require.NoError(b, err)
	require.NoError(b, testkit.CopyTree(tmpl, filepath.Join(dir, "rootfs")))
	spec := runtime.Default("rootfs", []string{"true"})
	spec.Hostname = "bench"
	data, err := json.MarshalIndent(spec, "", "  ")
	require.NoError(b, err)
	require.NoError(b, os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644))
	return dir
}

// BenchmarkDetached100 starts 100 detached `sleep` containers, one after
// the other as a user would, and reports the time to start them all and
// the host memory each costs: the rise of used memory (MemTotal minus
// MemAvailable) divided by 100, the proportional set size of a monitor,
// and the monitors' anonymous memory (RssAnon, all monitors of the root
// together) with 1, 20 and 100 containers running. Target (issue 8): at
// most 2 MiB a container.
func BenchmarkDetached100(b *testing.B) {
	br := newBerthOnRun(b)
	// The first start makes the default network (bridge, rules, state
	// files): a cost paid once, not per container.
	br.ok("run", "--rm", "busybox", "true")
	const n = 100
	for b.Loop() {
		b.StopTimer()
		settle()
		before := usedMemory(b)
		b.StartTimer()
		start := time.Now()
		ids := make([]string, 0, n)
		anon := map[int]int64{}
		for i := range n {
			ids = append(ids, strings.TrimSpace(br.ok("run", "-d", "busybox", "sleep", "1000")))
			if i+1 == 1 || i+1 == 20 {
				// Outside the timing: reading /proc is not starting.
				b.StopTimer()
				anon[i+1] = shimRssAnon(b, br)
				b.StartTimer()
			}
		}
		all := time.Since(start)
		b.StopTimer()
		settle()
		after := usedMemory(b)
		pss := shimPSS(b, br)
		anon[n] = shimRssAnon(b, br)
		b.ReportMetric(float64(all.Milliseconds())/n, "ms/start")
		b.ReportMetric(float64(after-before)/n/(1<<20), "MiB/container")
		b.ReportMetric(pss/(1<<20), "MiB-PSS/monitor")
		b.ReportMetric(float64(len(br.shims())), "monitors")
		for _, k := range []int{1, 20, n} {
			b.ReportMetric(float64(anon[k])/(1<<10), fmt.Sprintf("KiB-RssAnon-monitors@%d", k))
		}
		removeAll(b, br, ids)
		b.StartTimer()
	}
}

// shimRssAnon is the anonymous resident memory of the root's monitors
// together (RssAnon in /proc/PID/status): what each one's Go runtime,
// heap and stacks hold, the binary's shared pages left out.
func shimRssAnon(b *testing.B, br *berth) int64 {
	total, _ := sumShimField(b, br, "status", "RssAnon:")
	return total
}

// sumShimField adds up a "Field: N kB" line of /proc/PID/FILE over the
// root's monitors, in bytes, and says how many monitors there were.
func sumShimField(b *testing.B, br *berth, file, field string) (int64, int) {
	pids := br.shims()
	require.NotEmpty(b, pids)
	var total int64
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, file))
		require.NoError(b, err)
		for _, l := range strings.Split(string(data), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == field {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				total += v * 1024
			}
		}
	}
	return total, len(pids)
}

// settle lets the kernel finish what it defers (freed namespaces,
// RCU callbacks, the writeback of files written so far: see BenchmarkRun)
// before memory is read and starts are timed, and gives back what this
// test process's heap no longer uses: Go's scavenger would otherwise
// return it during the measurement, and count it against the containers.
func settle() {
	unix.Sync()
	debug.FreeOSMemory()
	time.Sleep(2 * time.Second)
	os.WriteFile("/proc/sys/vm/drop_caches", []byte("1"), 0o200)
	time.Sleep(500 * time.Millisecond)
}

// usedMemory is MemTotal - MemAvailable, in bytes.
func usedMemory(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/meminfo")
	require.NoError(b, err)
	fields := map[string]int64{}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			fields[strings.TrimSuffix(f[0], ":")] = v * 1024
		}
	}
	return fields["MemTotal"] - fields["MemAvailable"]
}

// shimPSS is the mean proportional set size of the root's monitors: their
// private memory plus their share of what they share (the binary's pages).
func shimPSS(b *testing.B, br *berth) float64 {
	total, n := sumShimField(b, br, "smaps_rollup", "Pss:")
	return float64(total) / float64(n)
}

func removeAll(b *testing.B, br *berth, ids []string) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if out, err := br.cmd("rm", "-f", id).CombinedOutput(); err != nil {
				b.Errorf("rm -f %s: %v: %s", id, err, out)
			}
		}()
	}
	wg.Wait()
}
