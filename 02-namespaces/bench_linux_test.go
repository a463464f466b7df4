package namespaces_test

import (
	"context"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	namespaces "berth/02-namespaces"
	"berth/steps/testkit"
)

// The speed goal of this chapter: starting and reaping `true` in every
// namespace (but user) with pivot_root costs at most twice what util-linux's
// unshare(1), a small C program, costs for the same namespaces with no
// pivot_root at all.
//
//	go test -exec sudo -run '^$' -bench . ./02-namespaces/
//
// Most of a start is the re-executed init starting up, and that grows with
// the size of the binary that re-executes itself (each page it touches is a
// page fault). So the chapter measures both: this test binary, which links
// testify and the test kit, and startloop, a lean binary that links only
// this chapter, as an engine's binary would be.

var benchSpec = func(rootfs string) namespaces.Spec {
	return namespaces.Spec{Rootfs: rootfs, Args: []string{"/bin/true"}, Hostname: "bench",
		Namespaces: []namespaces.Namespace{namespaces.Mount, namespaces.PID, namespaces.UTS, namespaces.IPC, namespaces.Network, namespaces.Cgroup}}
}

// BenchmarkStartAllNamespaces re-executes this (large) test binary as the init.
func BenchmarkStartAllNamespaces(b *testing.B) {
	testkit.RequireRoot(b)
	s := benchSpec(testkit.Rootfs(b))
	for b.Loop() {
		if err := namespaces.Run(context.Background(), s, nil, io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStartAllNamespacesLean runs the same starts from startloop, and,
// in the same run, as many of unshare(1)'s; it reports both and their ratio
// (the goal: x-unshare <= 2).
func BenchmarkStartAllNamespacesLean(b *testing.B) {
	testkit.RequireRoot(b)
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		b.Skip("unshare(1) is not installed: apt-get install util-linux")
	}
	bin := testkit.Static(b, "berth/02-namespaces/startloop")
	rootfs := testkit.Rootfs(b)
	b.ResetTimer()

	out, err := exec.Command(bin, rootfs, strconv.Itoa(b.N)).Output()
	if err != nil {
		b.Fatalf("startloop: %v", err)
	}
	lean, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		b.Fatalf("startloop printed %q", out)
	}
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := exec.Command(unshare, "--fork", "--pid", "--mount", "--uts", "--ipc", "--net", "--cgroup", "true").Run(); err != nil {
			b.Fatal(err)
		}
	}
	floor := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	b.ReportMetric(lean, "ns/op")
	b.ReportMetric(floor, "unshare-ns/op")
	b.ReportMetric(lean/floor, "x-unshare")
}
