package chroot_test

import (
	"context"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	chroot "berth/01-chroot"
	"berth/steps/testkit"
)

// The benchmarks measure what docs/00-introduction.md compares: what it
// costs to start a process plainly, in a chroot jail, and in a pivot_root
// jail with its own mount namespace, /proc and /dev. Run them with
// `sudo make bench` or `go test -exec sudo -run '^$' -bench . ./01-chroot/`.

func BenchmarkStartPlain(b *testing.B) {
	testkit.RequireRoot(b)
	rootfs := testkit.Rootfs(b)
	bb := filepath.Join(rootfs, "bin/busybox")
	for b.Loop() {
		if err := exec.Command(bb, "true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStartChroot(b *testing.B) { benchJail(b, chroot.ModeChroot) }

func BenchmarkStartPivotRoot(b *testing.B) { benchJail(b, chroot.ModePivotRoot) }

func benchJail(b *testing.B, mode chroot.Mode) {
	testkit.RequireRoot(b)
	rootfs := testkit.Rootfs(b)
	j := chroot.Jail{Rootfs: rootfs, Mode: mode, Args: []string{"/bin/true"}}
	for b.Loop() {
		if err := chroot.Run(context.Background(), j, nil, io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRootfsCopy measures making a fresh rootfs from the shared
// template, and reports how much a busybox rootfs weighs on disk.
func BenchmarkRootfsCopy(b *testing.B) {
	tmpl, err := testkit.RootfsTemplate()
	if err != nil {
		b.Skip(err)
	}
	var size int64
	filepath.WalkDir(tmpl, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
			}
		}
		return nil
	})
	dir := b.TempDir()
	for b.Loop() {
		dst, err := os.MkdirTemp(dir, "")
		if err != nil {
			b.Fatal(err)
		}
		if err := testkit.CopyTree(tmpl, filepath.Join(dst, "rootfs")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "rootfs-bytes")
}
