package image

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	return s
}

func ingestEmpty(t *testing.T, s *Store) {
	t.Helper()
	left, err := os.ReadDir(s.ingestDir())
	require.NoError(t, err)
	assert.Empty(t, left, "nothing is left in ingest/")
}

// storeImage writes a small image made of the given layer blobs (stored
// uncompressed, so diff ID = digest) and names it.
func storeImage(t *testing.T, s *Store, name string, layers ...string) *Image {
	t.Helper()
	cfg := v1.Image{Platform: Platform(), RootFS: v1.RootFS{Type: "layers"}}
	var descs []v1.Descriptor
	for _, l := range layers {
		d, err := s.PutBlob(v1.MediaTypeImageLayer, []byte(l))
		require.NoError(t, err)
		descs = append(descs, d)
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, d.Digest)
	}
	return putImage(t, s, name, cfg, descs)
}

// putImage stores cfg and an OCI manifest over layers (already stored),
// names the image, and reads it back through the store.
func putImage(t testing.TB, s *Store, name string, cfg v1.Image, layers []v1.Descriptor) *Image {
	t.Helper()
	cb, err := json.Marshal(cfg)
	require.NoError(t, err)
	cd, err := s.PutBlob(v1.MediaTypeImageConfig, cb)
	require.NoError(t, err)
	mb, err := json.Marshal(v1.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: v1.MediaTypeImageManifest, Config: cd, Layers: layers})
	require.NoError(t, err)
	md, err := s.PutBlob(v1.MediaTypeImageManifest, mb)
	require.NoError(t, err)
	ref, err := ParseReference(name)
	require.NoError(t, err)
	require.NoError(t, s.Tag(ref, md))
	img, err := s.Image(name)
	require.NoError(t, err)
	return img
}

func TestOpenMakesAnOCILayout(t *testing.T) {
	s := openStore(t)
	b, err := os.ReadFile(s.Layout() + "/oci-layout")
	require.NoError(t, err)
	assert.JSONEq(t, `{"imageLayoutVersion":"1.0.0"}`, string(b))
	var idx v1.Index
	b, err = os.ReadFile(s.Layout() + "/index.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &idx))
	assert.Equal(t, specs.Versioned{SchemaVersion: 2}, idx.Versioned)
	assert.NotNil(t, idx.Manifests)
	_, err = Open(s.Root())
	assert.NoError(t, err, "opening again keeps what is there")
}

func TestWriteBlobVerifiesBeforeNaming(t *testing.T) {
	data := []byte("layer bytes")
	good := v1.Descriptor{Digest: digest.FromBytes(data), Size: int64(len(data))}
	tests := []struct {
		name string
		desc v1.Descriptor
		r    io.Reader
		want error
	}{
		{"tampered", v1.Descriptor{Digest: digest.FromString("other"), Size: good.Size}, bytes.NewReader(data), ErrDigestMismatch},
		{"truncated", good, bytes.NewReader(data[:4]), ErrSizeMismatch},
		{"padded", good, bytes.NewReader(append(data, '!')), ErrSizeMismatch},
		{"cut connection", good, iotest.TimeoutReader(iotest.HalfReader(bytes.NewReader(data))), iotest.ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			err := s.WriteBlob(tt.desc, tt.r)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.want)
			assert.False(t, s.Has(tt.desc.Digest, -1), "nothing is stored under the name")
			ingestEmpty(t, s)
			// The next attempt completes cleanly.
			require.NoError(t, s.WriteBlob(good, bytes.NewReader(data)))
			assert.True(t, s.Has(good.Digest, good.Size))
		})
	}
}

func TestOpenBlobNoticesDamageOnDisk(t *testing.T) {
	s := openStore(t)
	d, err := s.PutBlob(v1.MediaTypeImageLayer, []byte("original content"))
	require.NoError(t, err)
	p := s.BlobPath(d.Digest)
	require.NoError(t, os.Chmod(p, 0o644))
	require.NoError(t, os.WriteFile(p, []byte("tampered content"), 0o644))
	_, err = s.ReadBlob(d)
	var de *DigestError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, d.Digest, de.Want)
	assert.Contains(t, err.Error(), "pull or load the image again")

	require.NoError(t, os.WriteFile(p, []byte("short"), 0o644))
	_, err = s.ReadBlob(d)
	assert.ErrorIs(t, err, ErrSizeMismatch)

	require.NoError(t, os.Remove(p))
	_, err = s.ReadBlob(d)
	assert.ErrorIs(t, err, ErrBlobNotFound)
}

func TestTagResolveUntag(t *testing.T) {
	s := openStore(t)
	img := storeImage(t, s, "busybox", "base")
	assert.Equal(t, "docker.io/library/busybox:latest", img.Ref.String())
	for _, name := range []string{"busybox", "busybox:latest", "docker.io/library/busybox:latest",
		img.ID().String(), img.ID().Encoded()[:12], img.ID().Encoded()[:4]} {
		n, err := s.Resolve(name)
		require.NoError(t, err, name)
		assert.Equal(t, img.Descriptor.Digest, n.Descriptor.Digest, name)
	}
	byDigest, err := s.Resolve("busybox@" + img.Descriptor.Digest.String())
	require.NoError(t, err, "name@digest finds the manifest stored under a tag")
	assert.Equal(t, img.Descriptor.Digest, byDigest.Descriptor.Digest)
	_, err = s.Resolve("other@" + img.Descriptor.Digest.String())
	assert.ErrorIs(t, err, ErrNotFound, "but only in its own repository")
	_, err = s.Resolve("busybox:1.36")
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, err.Error(), "pull it")

	// Retagging moves the name; a second name shares the manifest.
	other := storeImage(t, s, "busybox", "base", "top")
	require.NoError(t, s.Tag(mustRef(t, "localhost:5000/bb:v1"), other.Descriptor))
	all, err := s.List()
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, "docker.io/library/busybox:latest", all[0].Ref.String())
	assert.Equal(t, other.Descriptor.Digest, all[0].Descriptor.Digest)
	_, err = s.Resolve(other.ID().Encoded()[:8])
	assert.NoError(t, err, "two names for one image are one match")

	_, err = s.Untag("busybox")
	require.NoError(t, err)
	_, err = s.Resolve("busybox")
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = s.Resolve("localhost:5000/bb:v1")
	assert.NoError(t, err)
}

func mustRef(t *testing.T, s string) Reference {
	t.Helper()
	r, err := ParseReference(s)
	require.NoError(t, err)
	return r
}

func TestConcurrentTagsAreAllKept(t *testing.T) {
	s := openStore(t)
	img := storeImage(t, s, "app:0", "layer")
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, s.Tag(mustRef(t, "app:"+string(rune('a'+i%26))+string(rune('a'+i/26))), img.Descriptor))
		}()
	}
	wg.Wait()
	all, err := s.List()
	require.NoError(t, err)
	assert.Len(t, all, 41, "every read-modify-write of index.json was serialised")
}

func TestGCFreesWhatNoNameReaches(t *testing.T) {
	s := openStore(t)
	a := storeImage(t, s, "a", "shared base", "a top")
	storeImage(t, s, "b", "shared base", "b top")
	orphan, err := s.PutBlob(v1.MediaTypeImageLayer, []byte("nobody's"))
	require.NoError(t, err)
	require.NoError(t, os.Mkdir(s.LayerPath(digest.FromString("gone")), 0o755))
	require.NoError(t, os.Mkdir(s.LayerPath(ChainIDs(a.DiffIDs())[1]), 0o755))
	require.NoError(t, os.WriteFile(s.ingestDir()+"/crashed-download", []byte("x"), 0o644))

	f, err := s.GC()
	require.NoError(t, err)
	assert.Equal(t, []digest.Digest{orphan.Digest}, f.Blobs)
	assert.Equal(t, []digest.Digest{digest.FromString("gone")}, f.Layers)
	ingestEmpty(t, s)

	f, err = s.Remove("a")
	require.NoError(t, err)
	assert.Equal(t, []string{"docker.io/library/a:latest"}, f.Untagged)
	assert.Len(t, f.Blobs, 3, "a's manifest, config and top layer")
	assert.False(t, s.Has(a.Manifest.Layers[1].Digest, -1))
	assert.True(t, s.Has(a.Manifest.Layers[0].Digest, -1), "the base b still uses stays")
	_, err = s.Image("b")
	require.NoError(t, err)
	_, err = os.Stat(s.LayerPath(ChainIDs(a.DiffIDs())[1]))
	assert.True(t, errors.Is(err, os.ErrNotExist), "a's unpacked top layer went with it")
}

func TestGCStopsOnADamagedManifest(t *testing.T) {
	s := openStore(t)
	a := storeImage(t, s, "a", "base")
	p := s.BlobPath(a.Descriptor.Digest)
	require.NoError(t, os.Chmod(p, 0o644))
	require.NoError(t, os.WriteFile(p, []byte("{}"), 0o644))
	_, err := s.GC()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "docker.io/library/a:latest")
	assert.True(t, s.Has(a.Manifest.Layers[0].Digest, -1), "nothing swept on a partial mark")
}

// A config as Docker writes it for a typical service image: everything a
// container needs to start comes through.
func TestImageConfigCarriesWhatAContainerNeeds(t *testing.T) {
	s := openStore(t)
	layer, err := s.PutBlob(v1.MediaTypeImageLayer, []byte("x"))
	require.NoError(t, err)
	cfg := `{"architecture":"amd64","os":"linux","config":{
		"User":"www-data:www-data","ExposedPorts":{"80/tcp":{},"443/tcp":{}},
		"Env":["PATH=/usr/local/bin:/usr/bin:/bin","NGINX_VERSION=1.27.0"],
		"Entrypoint":["/docker-entrypoint.sh"],"Cmd":["nginx","-g","daemon off;"],
		"Volumes":{"/var/cache/nginx":{}},"WorkingDir":"/srv","Labels":{"maintainer":"someone"},
		"StopSignal":"SIGQUIT"},
		"rootfs":{"type":"layers","diff_ids":["` + layer.Digest.String() + `"]}}`
	cd, err := s.PutBlob(MediaTypeDockerConfig, []byte(cfg))
	require.NoError(t, err)
	m, _ := json.Marshal(v1.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: MediaTypeDockerManifest,
		Config: cd, Layers: []v1.Descriptor{{MediaType: "application/vnd.docker.image.rootfs.diff.tar", Digest: layer.Digest, Size: layer.Size}}})
	md, err := s.PutBlob(MediaTypeDockerManifest, m)
	require.NoError(t, err)
	require.NoError(t, s.Tag(mustRef(t, "web"), md))
	img, err := s.Image("web")
	require.NoError(t, err)
	c := img.Config.Config
	assert.Equal(t, "www-data:www-data", c.User)
	assert.Contains(t, c.ExposedPorts, "443/tcp")
	assert.Equal(t, []string{"/docker-entrypoint.sh"}, c.Entrypoint)
	assert.Equal(t, []string{"nginx", "-g", "daemon off;"}, c.Cmd)
	assert.Contains(t, c.Env, "NGINX_VERSION=1.27.0")
	assert.Contains(t, c.Volumes, "/var/cache/nginx")
	assert.Equal(t, "/srv", c.WorkingDir)
	assert.Equal(t, "someone", c.Labels["maintainer"])
	assert.Equal(t, "SIGQUIT", c.StopSignal)
	assert.Equal(t, cd.Digest, img.ID())
}
