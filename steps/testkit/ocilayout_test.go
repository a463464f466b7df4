package testkit

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixtureLayers is a two-layer image: a base, then a layer that deletes a
// file and empties a directory with whiteouts.
var fixtureLayers = [][]Entry{
	{
		{Name: "etc/", Type: tar.TypeDir},
		{Name: "etc/os-release", Body: OSRelease},
		{Name: "etc/motd", Body: "hello\n"},
		{Name: "bin/", Type: tar.TypeDir},
		{Name: "bin/sh", Type: tar.TypeSymlink, Linkname: "busybox"},
		{Name: "var/", Type: tar.TypeDir},
		{Name: "var/cache", Body: "old\n", Mode: 0o600},
	},
	{
		{Name: "etc/.wh.motd"},
		{Name: "var/.wh..wh..opq"},
		{Name: "etc/hostname", Body: "berth\n"},
	},
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v), path)
}

func blobPath(dir string, d digest.Digest) string {
	return filepath.Join(dir, "blobs", d.Algorithm().String(), d.Encoded())
}

func TestWriteOCILayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	got, err := WriteOCILayout(dir, "v1", fixtureLayers...)
	require.NoError(t, err)

	var layout v1.ImageLayout
	readJSON(t, filepath.Join(dir, "oci-layout"), &layout)
	assert.Equal(t, "1.0.0", layout.Version)

	var index v1.Index
	readJSON(t, filepath.Join(dir, "index.json"), &index)
	assert.Equal(t, 2, index.SchemaVersion)
	assert.Equal(t, v1.MediaTypeImageIndex, index.MediaType)
	require.Len(t, index.Manifests, 1)
	md := index.Manifests[0]
	assert.Equal(t, got, md.Digest.String())
	assert.Equal(t, v1.MediaTypeImageManifest, md.MediaType)
	assert.Equal(t, "v1", md.Annotations["org.opencontainers.image.ref.name"])

	// Every blob is stored under its own digest.
	var blobs int
	require.NoError(t, filepath.WalkDir(filepath.Join(dir, "blobs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, "sha256:"+d.Name(), digest.FromBytes(b).String(), path)
		blobs++
		return nil
	}))
	assert.Equal(t, 4, blobs, "two layers, a config and a manifest")

	var m v1.Manifest
	readJSON(t, blobPath(dir, md.Digest), &m)
	assert.Equal(t, 2, m.SchemaVersion)
	assert.Equal(t, v1.MediaTypeImageManifest, m.MediaType)
	assert.Equal(t, v1.MediaTypeImageConfig, m.Config.MediaType)
	require.Len(t, m.Layers, 2)

	var c v1.Image
	readJSON(t, blobPath(dir, m.Config.Digest), &c)
	assert.Equal(t, runtime.GOARCH, c.Architecture)
	assert.Equal(t, "linux", c.OS)
	assert.Equal(t, []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, c.Config.Env)
	assert.Equal(t, []string{"/bin/sh"}, c.Config.Cmd)
	assert.Equal(t, "layers", c.RootFS.Type)
	assert.Len(t, c.History, 2)
	require.Len(t, c.RootFS.DiffIDs, 2)

	var names [][]string
	for i, l := range m.Layers {
		assert.Equal(t, v1.MediaTypeImageLayerGzip, l.MediaType)
		gz, err := os.ReadFile(blobPath(dir, l.Digest))
		require.NoError(t, err)
		assert.Equal(t, l.Size, int64(len(gz)))
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		require.NoError(t, err)
		raw, err := io.ReadAll(zr)
		require.NoError(t, err)
		assert.Equal(t, c.RootFS.DiffIDs[i], digest.FromBytes(raw), "diff_id %d is the digest of the uncompressed tar", i)

		var layer []string
		tr := tar.NewReader(bytes.NewReader(raw))
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			layer = append(layer, hdr.Name)
			assert.True(t, hdr.ModTime.Equal(fixtureTime), hdr.Name)
			switch hdr.Name {
			case "bin/sh":
				assert.Equal(t, byte(tar.TypeSymlink), hdr.Typeflag)
				assert.Equal(t, "busybox", hdr.Linkname)
			case "etc/":
				assert.Equal(t, byte(tar.TypeDir), hdr.Typeflag)
				assert.Equal(t, int64(0o755), hdr.Mode)
			case "var/cache":
				assert.Equal(t, int64(0o600), hdr.Mode)
			case "etc/os-release":
				assert.Equal(t, byte(tar.TypeReg), hdr.Typeflag)
				assert.Equal(t, int64(0o644), hdr.Mode)
				body, err := io.ReadAll(tr)
				require.NoError(t, err)
				assert.Equal(t, OSRelease, string(body))
			}
		}
		names = append(names, layer)
	}
	assert.Equal(t, [][]string{
		{"bin/", "bin/sh", "etc/", "etc/motd", "etc/os-release", "var/", "var/cache"},
		{"etc/.wh.motd", "etc/hostname", "var/.wh..wh..opq"},
	}, names, "entries sorted by name, whiteouts as ordinary files")
}

func TestWriteOCILayoutIsDeterministic(t *testing.T) {
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	da, err := WriteOCILayout(a, "v1", fixtureLayers...)
	require.NoError(t, err)
	db, err := WriteOCILayout(b, "v1", fixtureLayers...)
	require.NoError(t, err)
	assert.Equal(t, da, db)
	// The order the caller lists entries in does not matter.
	reversed := make([]Entry, len(fixtureLayers[0]))
	for i, e := range fixtureLayers[0] {
		reversed[len(reversed)-1-i] = e
	}
	dc, err := WriteOCILayout(filepath.Join(t.TempDir(), "c"), "v1", reversed, fixtureLayers[1])
	require.NoError(t, err)
	assert.Equal(t, da, dc)

	dd, err := WriteOCILayout(filepath.Join(t.TempDir(), "d"), "v1", fixtureLayers[0])
	require.NoError(t, err)
	assert.NotEqual(t, da, dd)
}

func TestWriteOCILayoutKeepsOtherImages(t *testing.T) {
	dir := t.TempDir()
	a1, err := WriteOCILayout(dir, "a", fixtureLayers[0])
	require.NoError(t, err)
	b, err := WriteOCILayout(dir, "b", fixtureLayers...)
	require.NoError(t, err)
	a2, err := WriteOCILayout(dir, "a", fixtureLayers[1])
	require.NoError(t, err)
	require.NotEqual(t, a1, a2)

	var index v1.Index
	readJSON(t, filepath.Join(dir, "index.json"), &index)
	refs := map[string]string{}
	for _, m := range index.Manifests {
		refs[m.Annotations[v1.AnnotationRefName]] = m.Digest.String()
	}
	assert.Equal(t, map[string]string{"a": a2, "b": b}, refs, "a replaced, b kept")
}

func TestUmociReadsOCILayout(t *testing.T) {
	umoci := RequireTool(t, "umoci", UmociFix)
	dir := filepath.Join(t.TempDir(), "layout")
	_, err := WriteOCILayout(dir, "v1", fixtureLayers...)
	require.NoError(t, err)
	cmd := exec.Command(umoci, "stat", "--json", "--image", dir+":v1")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	var stat struct {
		History []struct {
			CreatedBy string `json:"created_by"`
		} `json:"history"`
	}
	require.NoError(t, json.Unmarshal(out, &stat), "%s", out)
	require.Len(t, stat.History, 2)
	assert.Contains(t, stat.History[0].CreatedBy, "layer 1 of 2")
}
