package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCommitAddsALayerAConfigAndAHistoryEntry(t *testing.T) {
	s := tbStore(t)
	base := tbImage(t, s, "base:1", Gzip, tbBase(t))
	layer := tbTop(t)
	when := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	run := v1.ImageConfig{Cmd: []string{"sh", "-c", "echo hi"}, Env: []string{"PATH=/bin", "DEBUG=1"}}

	img, err := Commit(bytes.NewReader(layer), s, base, CommitOptions{
		Ref: "app:2", Config: run, Author: "Ada <ada@example.org>", Comment: "add motd",
		CreatedBy: "sh -c echo hi", Created: when,
	})
	require.NoError(t, err)
	assert.Equal(t, "docker.io/library/app:2", img.Ref.String())
	assert.NotEqual(t, base.ID(), img.ID())

	// The config: base's, with the container's run config, one more diff
	// ID (the uncompressed layer's digest) and one more history entry.
	assert.Equal(t, run, img.Config.Config)
	assert.Equal(t, append(base.DiffIDs(), digest.FromBytes(layer)), img.DiffIDs())
	assert.Equal(t, base.Config.Platform, img.Config.Platform)
	assert.Equal(t, "Ada <ada@example.org>", img.Config.Author)
	require.Len(t, img.Config.History, len(base.Config.History)+1)
	h := img.Config.History[len(img.Config.History)-1]
	assert.Equal(t, "sh -c echo hi", h.CreatedBy)
	assert.Equal(t, "add motd", h.Comment)
	assert.Equal(t, "Ada <ada@example.org>", h.Author)
	assert.False(t, h.EmptyLayer)
	assert.Equal(t, when, *h.Created)
	assert.Equal(t, when, *img.Config.Created)

	// The manifest: base's layers as they were (gzip), then the new one,
	// stored uncompressed and readable back byte for byte.
	require.Len(t, img.Manifest.Layers, 2)
	assert.Equal(t, base.Manifest.Layers[0], img.Manifest.Layers[0])
	top := img.Manifest.Layers[1]
	assert.Equal(t, v1.MediaTypeImageLayer, top.MediaType)
	rc, err := s.OpenBlob(top)
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	rc.Close()
	assert.Equal(t, layer, got)
	ingestEmpty(t, s)

	// The base is untouched.
	again, err := s.Image("base:1")
	require.NoError(t, err)
	assert.Equal(t, base.ID(), again.ID())
}

func TestCommitOfAnEmptyLayerAddsHistoryOnly(t *testing.T) {
	s := tbStore(t)
	base := tbImage(t, s, "base:1", Uncompressed, tbBase(t))
	img, err := Commit(bytes.NewReader(tbTar(t)), s, base, CommitOptions{Config: base.Config.Config, Comment: "nothing"})
	require.NoError(t, err)
	assert.True(t, IsIDReference(img.Ref), "no name given: named by its ID, %s", img.Ref)
	assert.Equal(t, base.DiffIDs(), img.DiffIDs(), "no layer added")
	assert.Equal(t, base.Manifest.Layers, img.Manifest.Layers)
	h := img.Config.History[len(img.Config.History)-1]
	assert.True(t, h.EmptyLayer)
	assert.False(t, s.Has(digest.FromBytes(tbTar(t)), -1), "the empty tar is not stored")
	ingestEmpty(t, s)
}

func TestCommitOnADockerManifestKeepsDockerTypes(t *testing.T) {
	s := tbStore(t)
	l := tbBase(t)
	ld, err := s.PutBlob("application/vnd.docker.image.rootfs.diff.tar", l)
	require.NoError(t, err)
	cfg := v1.Image{Platform: Platform(), RootFS: v1.RootFS{Type: "layers", DiffIDs: []digest.Digest{ld.Digest}}}
	cb, err := json.Marshal(cfg)
	require.NoError(t, err)
	cd, err := s.PutBlob(MediaTypeDockerConfig, cb)
	require.NoError(t, err)
	mb, err := json.Marshal(v1.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: MediaTypeDockerManifest, Config: cd, Layers: []v1.Descriptor{ld}})
	require.NoError(t, err)
	md, err := s.PutBlob(MediaTypeDockerManifest, mb)
	require.NoError(t, err)
	require.NoError(t, s.Tag(tbRef(t, "docker:1"), md))
	base, err := s.Image("docker:1")
	require.NoError(t, err)

	img, err := Commit(bytes.NewReader(tbTop(t)), s, base, CommitOptions{Ref: "docker:2"})
	require.NoError(t, err)
	assert.Equal(t, MediaTypeDockerManifest, img.Descriptor.MediaType)
	assert.Equal(t, MediaTypeDockerConfig, img.Manifest.Config.MediaType)
	assert.Equal(t, "application/vnd.docker.image.rootfs.diff.tar", img.Manifest.Layers[1].MediaType)
}

func TestCommitRefusesABadLayerAndNamesNothing(t *testing.T) {
	s := tbStore(t)
	base := tbImage(t, s, "base:1", Uncompressed, tbBase(t))
	for name, layer := range map[string][]byte{
		"climbing name": tbTar(t, tbFile("../escape", "x")),
		"climbing link": tbLink(t, "a", "../../etc/shadow"),
		"not a tar":     []byte("this is not a tar archive, not at all, and it is long enough to be read as one block of it..."),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Commit(bytes.NewReader(layer), s, base, CommitOptions{Ref: "bad:1"})
			require.ErrorIs(t, err, ErrBadTarball)
			_, err = s.Image("bad:1")
			assert.ErrorIs(t, err, ErrNotFound)
			ingestEmpty(t, s)
		})
	}
	_, err := Commit(bytes.NewReader(tbTop(t)), s, base, CommitOptions{Ref: "app@sha256:" + digest.FromString("x").Encoded()})
	assert.ErrorContains(t, err, "tag, not a digest")

	// A symbolic link's target is the container's business: ".." and all.
	img, err := Commit(bytes.NewReader(tbTar(t, tbSymlink("up", "../../../etc/shadow"))), s, base, CommitOptions{Ref: "links:1"})
	require.NoError(t, err)
	assert.Len(t, img.Manifest.Layers, 2)
}

// tbLink is a tar of one hard link.
func tbLink(t *testing.T, name, target string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target}))
	require.NoError(t, tw.Close())
	return buf.Bytes()
}
