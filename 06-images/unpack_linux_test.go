package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	unionfs "berth/04-unionfs"
	"berth/steps/testkit"

	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// merged mounts a container on layers and returns what it sees, as
// "path" or "path -> target" or "path: content" lines.
func merged(t *testing.T, snap unionfs.Snapshotter, layers []string) []string {
	t.Helper()
	base := t.TempDir()
	cdir, root := filepath.Join(base, "c"), filepath.Join(base, "rootfs")
	require.NoError(t, os.Mkdir(root, 0o755))
	require.NoError(t, snap.Prepare(layers, cdir))
	mounts, err := snap.Mounts(layers, cdir, root)
	require.NoError(t, err)
	require.NoError(t, unionfs.MountAll(mounts))
	defer func() { assert.NoError(t, unionfs.Unmount(root)) }()
	return tree(t, root)
}

// tree lists a directory's contents, for comparing two unpackings.
func tree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(root, p)
		switch {
		case rel == ".":
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out = append(out, rel+" -> "+target)
		case d.IsDir():
			out = append(out, rel+"/")
		default:
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			out = append(out, rel+": "+strings.TrimSpace(string(b)))
		}
		return nil
	}))
	sort.Strings(out)
	return out
}

// What the fixture's three layers add up to: motd deleted, tool replaced,
// app/ emptied and refilled, sh a link.
var fixtureMerged = []string{
	"app/", "app/new.txt: new", "bin/", "bin/sh -> tool", "bin/tool: #!/bin/sh\necho tool v2",
	"etc/", "etc/os-release: ID=fixture",
}

func TestPulledLayersStackToTheImage(t *testing.T) {
	for _, snap := range []unionfs.Snapshotter{unionfs.Overlay(), unionfs.Copy()} {
		t.Run(snap.Name(), func(t *testing.T) {
			testkit.RequireRoot(t)
			testkit.CheckResidue(t)
			reg := testkit.NewRegistry(t, testkit.RegistryOptions{})
			ref, _ := skopeoPush(t, reg, "course/fixture:1", fixtureLayers)
			s, err := Open(t.TempDir(), WithSnapshotter(snap))
			require.NoError(t, err)
			img, err := Pull(context.Background(), NewClient(), s, ref, PullOptions{})
			require.NoError(t, err)
			layers, err := s.Unpack(img, nil)
			require.NoError(t, err)
			require.Len(t, layers, 3)
			assert.Equal(t, fixtureMerged, merged(t, snap, layers))

			// A second image on the same two lower layers shares them.
			more := append(append([][]testkit.Entry{}, fixtureLayers[:2]...), []testkit.Entry{{Name: "extra", Body: "x"}})
			ref2, _ := skopeoPush(t, reg, "course/other:1", more)
			img2, err := Pull(context.Background(), NewClient(), s, ref2, PullOptions{})
			require.NoError(t, err)
			layers2, err := s.Unpack(img2, nil)
			require.NoError(t, err)
			assert.Equal(t, layers[:2], layers2[:2], "shared layers are unpacked once")
			assert.NotEqual(t, layers[2], layers2[2])
			got, err := s.Layers(img2)
			require.NoError(t, err)
			assert.Equal(t, layers2, got)
		})
	}
}

// berth pushes what it pulled; skopeo copies it back to a layout and umoci
// unpacks it: the same tree as berth's own unpacking.
func TestRoundTripThroughSkopeoAndUmoci(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	umoci := testkit.RequireTool(t, "umoci", "sudo apt-get install umoci")
	reg := testkit.NewRegistry(t, testkit.RegistryOptions{})
	ref, pushed := skopeoPush(t, reg, "course/fixture:1", fixtureLayers)
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	img, err := Pull(context.Background(), NewClient(), s, ref, PullOptions{})
	require.NoError(t, err)
	dst := mustRef(t, reg.Ref("course/back:1"))
	_, err = Push(context.Background(), NewClient(), s, ref.String(), dst, nil)
	require.NoError(t, err)

	layout := t.TempDir()
	reg.Skopeo(t, "copy", "docker://"+dst.String(), "oci:"+layout+":back")
	bundle := filepath.Join(t.TempDir(), "rootfs")
	out, err := runCmd(umoci, "raw", "unpack", "--image", layout+":back", bundle)
	require.NoError(t, err, out)
	assert.Equal(t, fixtureMerged, tree(t, bundle), "umoci's unpacking of what berth pushed")

	layers, err := s.Unpack(img, nil)
	require.NoError(t, err)
	assert.Equal(t, fixtureMerged, merged(t, s.Snapshotter(), layers))
	assert.Equal(t, pushed, img.Descriptor.Digest)
}

func TestAnEscapingLayerIsRefusedAndLeavesNoLayer(t *testing.T) {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	reg := testkit.NewRegistry(t, testkit.RegistryOptions{})
	outside := filepath.Join(t.TempDir(), "escaped")
	hostile := [][]testkit.Entry{
		fixtureLayers[0],
		{{Name: "../../../../../../../../" + strings.TrimPrefix(outside, "/"), Body: "gotcha"}},
	}
	ref, _ := skopeoPush(t, reg, "course/hostile:1", hostile)
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	img, err := Pull(context.Background(), NewClient(), s, ref, PullOptions{})
	require.NoError(t, err, "the blobs are what their digests say: the harm is in the content")
	_, err = s.Unpack(img, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "layer 2 of")
	assert.Contains(t, err.Error(), "climbs out")
	assert.NoFileExists(t, outside)
	entries, err := os.ReadDir(filepath.Join(s.Root(), "layers"))
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the good bottom layer is unpacked")
	_, err = s.Layers(img)
	assert.ErrorIs(t, err, ErrBlobNotFound)
}

func runCmd(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// A config whose diff ID is not the uncompressed layer's digest: the blob
// itself is intact, so only the second check catches it.
func TestUnpackChecksTheDiffID(t *testing.T) {
	testkit.RequireRoot(t)
	s := openStore(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "file", Mode: 0o644, Size: 2, Typeflag: tar.TypeReg}))
	tw.Write([]byte("hi"))
	require.NoError(t, tw.Close())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(buf.Bytes())
	require.NoError(t, zw.Close())

	layer, err := s.PutBlob(v1.MediaTypeImageLayerGzip, gz.Bytes())
	require.NoError(t, err)
	img := putImage(t, s, "liar", v1.Image{Platform: Platform(),
		RootFS: v1.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromString("a lie")}}}, []v1.Descriptor{layer})

	_, err = s.Unpack(img, nil)
	var de *DigestError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, digest.FromBytes(buf.Bytes()), de.Got)
	assert.Contains(t, err.Error(), "the diff ID")
	entries, _ := os.ReadDir(filepath.Join(s.Root(), "layers"))
	assert.Empty(t, entries, "no layer directory, not even a temporary one")
}

// One layer, three ways of packing it: the same directory comes out.
func TestUnpackReadsEveryCompression(t *testing.T) {
	testkit.RequireRoot(t)
	var plain bytes.Buffer
	tw := tar.NewWriter(&plain)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o644, Size: 6, Typeflag: tar.TypeReg}))
	tw.Write([]byte("hello\n"))
	require.NoError(t, tw.Close())
	pack := map[string]func([]byte) []byte{
		v1.MediaTypeImageLayer: func(b []byte) []byte { return b },
		v1.MediaTypeImageLayerGzip: func(b []byte) []byte {
			var out bytes.Buffer
			zw := gzip.NewWriter(&out)
			zw.Write(b)
			zw.Close()
			return out.Bytes()
		},
		v1.MediaTypeImageLayerZstd: func(b []byte) []byte {
			zw, err := zstd.NewWriter(nil)
			require.NoError(t, err)
			return zw.EncodeAll(b, nil)
		},
	}
	for mt, fn := range pack {
		t.Run(mt, func(t *testing.T) {
			s := openStore(t)
			layer, err := s.PutBlob(mt, fn(plain.Bytes()))
			require.NoError(t, err)
			img := putImage(t, s, "packed", v1.Image{Platform: Platform(),
				RootFS: v1.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromBytes(plain.Bytes())}}}, []v1.Descriptor{layer})
			dirs, err := s.Unpack(img, nil)
			require.NoError(t, err)
			assert.Equal(t, []string{"hello: hello"}, tree(t, dirs[0]))
		})
	}
}
