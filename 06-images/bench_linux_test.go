package image

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth/steps/testkit"

	"github.com/stretchr/testify/require"
)

// benchLayers is a ~100 MB image of four layers, each of 25 files of 1 MB:
// half random bytes (incompressible, like binaries already compressed),
// half text (which gzip shrinks), so both the network and the inflater work.
func benchLayers() ([][]testkit.Entry, int64) {
	rng := rand.New(rand.NewSource(6))
	var layers [][]testkit.Entry
	var total int64
	words := strings.Fields("the quick brown fox jumps over the lazy dog while a container ships from its berth")
	for l := range 4 {
		entries := []testkit.Entry{{Name: fmt.Sprintf("layer%d/", l), Type: '5'}}
		for f := range 25 {
			buf := make([]byte, 1<<20)
			if f%2 == 0 {
				rng.Read(buf)
			} else {
				var sb strings.Builder
				for sb.Len() < len(buf) {
					sb.WriteString(words[rng.Intn(len(words))])
					sb.WriteByte(' ')
				}
				copy(buf, sb.String())
			}
			entries = append(entries, testkit.Entry{Name: fmt.Sprintf("layer%d/file%02d", l, f), Body: string(buf)})
			total += int64(len(buf))
		}
		layers = append(layers, entries)
	}
	return layers, total
}

// BenchmarkPullAndUnpack pulls the ~100 MB image from a local registry and
// unpacks it, beside the reference pair doing the same: skopeo copy to an
// OCI layout, then umoci raw unpack. Run: sudo make bench, or
// go test -exec sudo -run '^$' -bench PullAndUnpack ./06-images/
func BenchmarkPullAndUnpack(b *testing.B) {
	testkit.RequireRoot(b)
	umoci := testkit.RequireTool(b, "umoci", "sudo apt-get install umoci")
	reg := testkit.NewRegistry(b, testkit.RegistryOptions{})
	layers, total := benchLayers()
	layout := b.TempDir()
	_, err := testkit.WriteOCILayout(layout, "big", layers...)
	require.NoError(b, err)
	reg.Skopeo(b, "copy", "oci:"+layout+":big", "docker://"+reg.Ref("bench/big:1"))
	ref, err := ParseReference(reg.Ref("bench/big:1"))
	require.NoError(b, err)

	b.Run("berth", func(b *testing.B) {
		b.SetBytes(total)
		for b.Loop() {
			dir := b.TempDir()
			s, err := Open(dir)
			require.NoError(b, err)
			img, err := Pull(context.Background(), NewClient(), s, ref, PullOptions{})
			require.NoError(b, err)
			_, err = s.Unpack(img, nil)
			require.NoError(b, err)
			b.StopTimer()
			require.NoError(b, os.RemoveAll(dir))
			b.StartTimer()
		}
	})
	b.Run("skopeo+umoci", func(b *testing.B) {
		b.SetBytes(total)
		for b.Loop() {
			dir := b.TempDir()
			reg.Skopeo(b, "copy", "docker://"+ref.String(), "oci:"+filepath.Join(dir, "oci")+":big")
			out, err := runCmd(umoci, "raw", "unpack", "--image", filepath.Join(dir, "oci")+":big", filepath.Join(dir, "rootfs"))
			require.NoError(b, err, out)
			b.StopTimer()
			require.NoError(b, os.RemoveAll(dir))
			b.StartTimer()
		}
	})
}
