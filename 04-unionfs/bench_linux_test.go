package unionfs_test

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	unionfs "berth/04-unionfs"
	"berth/steps/testkit"
)

//	go test -exec sudo -run '^$' -bench . ./04-unionfs/

// BenchmarkMountUnmount10Layers mounts and unmounts a 10-layer overlay.
func BenchmarkMountUnmount10Layers(b *testing.B) {
	testkit.RequireRoot(b)
	base := b.TempDir()
	var layers []string
	for i := 0; i < 10; i++ {
		dir := filepath.Join(base, fmt.Sprintf("l%d", i))
		if err := unionfs.Overlay().Unpack(bytes.NewReader(layer(b, file(fmt.Sprintf("f%d", i), "x", 0o644))), dir, layers); err != nil {
			b.Fatal(err)
		}
		layers = append(layers, dir)
	}
	cdir, target := filepath.Join(base, "c"), filepath.Join(base, "rootfs")
	os.Mkdir(target, 0o755)
	if err := unionfs.Overlay().Prepare(layers, cdir); err != nil {
		b.Fatal(err)
	}
	mounts, err := unionfs.Overlay().Mounts(layers, cdir, target)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := unionfs.MountAll(mounts); err != nil {
			b.Fatal(err)
		}
		if err := unionfs.Unmount(target); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnpack50MB unpacks a 50 MB layer (500 files of 100 KB) and, in
// the same run, has tar(1) extract the same file; it reports both and the
// ratio (the goal: x-tar <= 1.2).
func BenchmarkUnpack50MB(b *testing.B) {
	testkit.RequireRoot(b)
	tarPath, err := exec.LookPath("tar")
	if err != nil {
		b.Skip("tar(1) is not installed")
	}
	base := b.TempDir()
	rng := rand.New(rand.NewSource(1))
	var entries []entry
	for i := 0; i < 500; i++ {
		body := make([]byte, 100<<10)
		rng.Read(body)
		if i%50 == 0 {
			entries = append(entries, dir(fmt.Sprintf("d%d/", i/50)))
		}
		entries = append(entries, file(fmt.Sprintf("d%d/f%d", i/50, i), string(body), 0o644))
	}
	archive := filepath.Join(base, "layer.tar")
	if err := os.WriteFile(archive, layer(b, entries...), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(50 << 20)
	b.ResetTimer()
	var ours, theirs time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		f, err := os.Open(archive)
		if err != nil {
			b.Fatal(err)
		}
		dst := filepath.Join(base, fmt.Sprintf("ours%d", i))
		b.StartTimer()
		t0 := time.Now()
		if err := unionfs.Overlay().Unpack(f, dst, nil); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(t0)
		b.StopTimer()
		f.Close()
		os.RemoveAll(dst)
		dst = filepath.Join(base, fmt.Sprintf("tar%d", i))
		os.Mkdir(dst, 0o755)
		t0 = time.Now()
		if out, err := exec.Command(tarPath, "-xf", archive, "-C", dst).CombinedOutput(); err != nil {
			b.Fatalf("tar: %v: %s", err, out)
		}
		theirs += time.Since(t0)
		os.RemoveAll(dst)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(theirs.Nanoseconds())/float64(b.N), "tar-ns/op")
	b.ReportMetric(float64(ours)/float64(theirs), "x-tar")
}
