package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"berth/steps/testkit"
)

// Test images are built here, by hand, from a few files: small, and the
// same bytes on every run.

// tbEntry is one entry of a hand-made tarball; names are written as
// given, so a test can make hostile ones.
type tbEntry struct {
	name, body string
	typ        byte // tar.TypeReg when 0
	link       string
}

func tbFile(name, body string) tbEntry { return tbEntry{name: name, body: body} }
func tbDir(name string) tbEntry        { return tbEntry{name: name, typ: tar.TypeDir} }
func tbSymlink(name, target string) tbEntry {
	return tbEntry{name: name, typ: tar.TypeSymlink, link: target}
}

var tbTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// tbTar writes the entries, in the order given, as a tar.
func tbTar(t testing.TB, entries ...tbEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: 0o644, ModTime: tbTime}
		switch e.typ {
		case 0, tar.TypeReg:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
		case tar.TypeDir:
			h.Mode = 0o755
		}
		require.NoError(t, tw.WriteHeader(h))
		if h.Typeflag == tar.TypeReg {
			_, err := tw.Write([]byte(e.body))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

func tbGzip(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func tbZstd(t testing.TB, b []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	require.NoError(t, err)
	defer zw.Close()
	return zw.EncodeAll(b, nil)
}

func tbStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	return s
}

// tbImage stores an image made of the layer tars (lowest first), each
// stored as compressed says, and names it.
func tbImage(t testing.TB, s *Store, name string, compressed Compression, layers ...[]byte) *Image {
	t.Helper()
	cfg := v1.Image{
		Created:  &tbTime,
		Platform: v1.Platform{OS: "linux", Architecture: "amd64"},
		Config:   v1.ImageConfig{Cmd: []string{"/bin/sh"}, Env: []string{"PATH=/bin"}},
		RootFS:   v1.RootFS{Type: "layers", DiffIDs: []digest.Digest{}},
	}
	var descs []v1.Descriptor
	for _, l := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, digest.FromBytes(l))
		mt, blob := v1.MediaTypeImageLayer, l
		switch compressed {
		case Gzip:
			mt, blob = v1.MediaTypeImageLayerGzip, tbGzip(t, l)
		case Zstd:
			mt, blob = v1.MediaTypeImageLayerZstd, tbZstd(t, l)
		}
		d, err := s.PutBlob(mt, blob)
		require.NoError(t, err)
		descs = append(descs, d)
	}
	return putImage(t, s, name, cfg, descs)
}

// The layers every test image shares: a base, and a change on top.
func tbBase(t testing.TB) []byte {
	return tbTar(t, tbDir("bin/"), tbFile("bin/sh", "#!shell\n"), tbDir("etc/"), tbFile("etc/hostname", "berth\n"))
}

func tbTop(t testing.TB) []byte {
	return tbTar(t, tbDir("etc/"), tbFile("etc/motd", "hello\n"), tbFile(".wh.gone", ""))
}

// tbEntries reads a tarball back: each entry's name and body, in order.
func tbEntries(t testing.TB, b []byte) ([]string, map[string][]byte, map[string]*tar.Header) {
	t.Helper()
	var names []string
	bodies, hdrs := map[string][]byte{}, map[string]*tar.Header{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		body, err := io.ReadAll(tr)
		require.NoError(t, err)
		names = append(names, h.Name)
		bodies[h.Name], hdrs[h.Name] = body, h
	}
	return names, bodies, hdrs
}

// tbRefused checks that a refused load or import left the store as it
// was: no name, and nothing in ingest/.
func tbRefused(t testing.TB, s *Store) {
	t.Helper()
	names, err := s.List()
	require.NoError(t, err)
	assert.Empty(t, names, "a refused tarball must name nothing")
	left, err := os.ReadDir(s.ingestDir())
	require.NoError(t, err)
	assert.Empty(t, left, "a refused tarball must leave nothing in ingest/")
}

func tbSave(t testing.TB, s *Store, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Save(&buf, s, names...))
	return buf.Bytes()
}

func TestSaveThenLoadRestoresImagesAndNames(t *testing.T) {
	src := tbStore(t)
	base, top := tbBase(t), tbTop(t)
	// Stored as a pull stores them: gzip'd. One more image shares the base.
	busybox := tbImage(t, src, "busybox:latest", Gzip, base, top)
	require.NoError(t, src.Tag(tbRef(t, "ghcr.io/berth/busybox:1"), busybox.Descriptor))
	small := tbImage(t, src, "localhost:5000/small:v2", Zstd, base)

	tarball := tbSave(t, src, "busybox", "ghcr.io/berth/busybox:1", "localhost:5000/small:v2")
	assert.Equal(t, tarball, tbSave(t, src, "busybox", "ghcr.io/berth/busybox:1", "localhost:5000/small:v2"),
		"the same images must give the same tarball, byte for byte")

	dst := tbStore(t)
	var out bytes.Buffer
	refs, err := Load(bytes.NewReader(tarball), dst, NewLines(&out))
	require.NoError(t, err)
	var got []string
	for _, r := range refs {
		got = append(got, r.String())
	}
	assert.Equal(t, []string{"docker.io/library/busybox:latest", "ghcr.io/berth/busybox:1", "localhost:5000/small:v2"}, got)
	assert.Contains(t, out.String(), "Loaded image: busybox:latest\n")

	for name, want := range map[string]*Image{"busybox": busybox, "ghcr.io/berth/busybox:1": busybox, "localhost:5000/small:v2": small} {
		img, err := dst.Image(name)
		require.NoError(t, err, name)
		assert.Equal(t, want.ID(), img.ID(), "%s: the config, byte for byte, so the same image ID", name)
		assert.Equal(t, want.DiffIDs(), img.DiffIDs(), name)
		for i, l := range img.Manifest.Layers {
			assert.Equal(t, v1.MediaTypeImageLayer, l.MediaType, "%s: layers are stored uncompressed", name)
			assert.Equal(t, want.DiffIDs()[i], l.Digest, "%s: an uncompressed layer's digest is its diff ID", name)
		}
	}
	left, err := os.ReadDir(dst.ingestDir())
	require.NoError(t, err)
	assert.Empty(t, left)

	// Loaded images are saved as they were loaded, to the byte.
	assert.Equal(t, tarball, tbSave(t, dst, "busybox", "ghcr.io/berth/busybox:1", "localhost:5000/small:v2"))
}

func tbRef(t testing.TB, s string) Reference {
	t.Helper()
	r, err := ParseReference(s)
	require.NoError(t, err)
	return r
}

func TestSaveWritesTheLayoutDocker25Writes(t *testing.T) {
	s := tbStore(t)
	base, top := tbBase(t), tbTop(t)
	img := tbImage(t, s, "busybox:latest", Gzip, base, top)
	require.NoError(t, s.Tag(tbRef(t, "busybox:1.36"), img.Descriptor))
	other := tbImage(t, s, "user/app:v1", Uncompressed, base)

	names, bodies, hdrs := tbEntries(t, tbSave(t, s, "busybox:latest", "busybox:1.36", "user/app:v1"))

	baseID, topID := digest.FromBytes(base), digest.FromBytes(top)
	cfg, err := s.ReadBlob(img.ConfigDesc)
	require.NoError(t, err)
	manifest := func(config v1.Descriptor, layers ...[]byte) []byte {
		var ds []v1.Descriptor
		for _, l := range layers {
			ds = append(ds, v1.Descriptor{MediaType: v1.MediaTypeImageLayer, Digest: digest.FromBytes(l), Size: int64(len(l))})
		}
		b, err := tarballManifest(v1.Descriptor{MediaType: v1.MediaTypeImageConfig, Digest: config.Digest, Size: config.Size}, ds)
		require.NoError(t, err)
		return b
	}
	m1, m2 := manifest(img.ConfigDesc, base, top), manifest(other.ConfigDesc, base)

	// Each blob once, even the base both images share; in name order.
	var blobs []string
	for _, d := range []digest.Digest{img.ID(), other.ID(), baseID, topID, digest.FromBytes(m1), digest.FromBytes(m2)} {
		blobs = append(blobs, blobPath(d))
	}
	sort.Strings(blobs)
	want := append([]string{"blobs/", "blobs/sha256/"}, blobs...)
	want = append(want, "index.json", "manifest.json", "oci-layout", "repositories")
	assert.Equal(t, want, names)

	assert.Equal(t, base, bodies[blobPath(baseID)], "a gzip'd layer is saved uncompressed, named by its diff ID")
	assert.Equal(t, top, bodies[blobPath(topID)])
	assert.Equal(t, cfg, bodies[blobPath(img.ID())], "the config as stored, so the image ID stays")
	assert.JSONEq(t, `{"imageLayoutVersion": "1.0.0"}`, string(bodies["oci-layout"]))
	assert.Equal(t, `{"imageLayoutVersion": "1.0.0"}`, string(bodies["oci-layout"]))

	assert.JSONEq(t, `[
		{"Config": "`+blobPath(img.ID())+`", "RepoTags": ["busybox:latest", "busybox:1.36"],
		 "Layers": ["`+blobPath(baseID)+`", "`+blobPath(topID)+`"]},
		{"Config": "`+blobPath(other.ID())+`", "RepoTags": ["user/app:v1"], "Layers": ["`+blobPath(baseID)+`"]}
	]`, string(bodies["manifest.json"]))
	// What docker 25+ writes: the top layer's diff ID, which is also its
	// blob's name (older dockers wrote the legacy layer ID).
	assert.JSONEq(t, `{"busybox": {"latest": "`+topID.Encoded()+`", "1.36": "`+topID.Encoded()+`"},
		"user/app": {"v1": "`+baseID.Encoded()+`"}}`, string(bodies["repositories"]))

	var idx v1.Index
	require.NoError(t, json.Unmarshal(bodies["index.json"], &idx))
	assert.Equal(t, v1.MediaTypeImageIndex, idx.MediaType)
	require.Len(t, idx.Manifests, 3, "one entry per name")
	for i, w := range []struct {
		full, tag string
		m         []byte
	}{{"docker.io/library/busybox:latest", "latest", m1}, {"docker.io/library/busybox:1.36", "1.36", m1}, {"docker.io/user/app:v1", "v1", m2}} {
		e := idx.Manifests[i]
		assert.Equal(t, v1.MediaTypeImageManifest, e.MediaType)
		assert.Equal(t, digest.FromBytes(w.m), e.Digest)
		assert.Equal(t, map[string]string{AnnotationImageName: w.full, v1.AnnotationRefName: w.tag}, e.Annotations)
		assert.Equal(t, w.m, bodies[blobPath(e.Digest)])
	}

	for name, h := range hdrs {
		assert.Equal(t, 0, h.Uid, name)
		assert.Equal(t, 0, h.Gid, name)
		assert.Equal(t, int64(0), h.ModTime.Unix(), name)
	}
}

func TestSaveByIDWritesTheImageUnnamed(t *testing.T) {
	s := tbStore(t)
	img := tbImage(t, s, "busybox:latest", Gzip, tbBase(t))
	names, bodies, _ := tbEntries(t, tbSave(t, s, img.ID().Encoded()[:12]))
	assert.NotContains(t, names, "repositories", "docker writes none when no image has a name")
	assert.JSONEq(t, `[{"Config": "`+blobPath(img.ID())+`", "RepoTags": null, "Layers": ["`+blobPath(img.DiffIDs()[0])+`"]}]`, string(bodies["manifest.json"]))
	var idx v1.Index
	require.NoError(t, json.Unmarshal(bodies["index.json"], &idx))
	require.Len(t, idx.Manifests, 1)
	assert.Empty(t, idx.Manifests[0].Annotations)

	// Loaded elsewhere, it is named by its ID, so GC keeps it.
	dst := tbStore(t)
	refs, err := Load(bytes.NewReader(tbSave(t, s, img.ID().String())), dst, nil)
	require.NoError(t, err)
	require.Equal(t, []Reference{IDReference(img.ID())}, refs)
	_, err = dst.GC()
	require.NoError(t, err)
	got, err := dst.Image(img.ID().Encoded()[:12])
	require.NoError(t, err)
	assert.Equal(t, img.ID(), got.ID())
}

func TestSaveRefusesWhatItCannotWrite(t *testing.T) {
	s := tbStore(t)
	err := Save(io.Discard, s, "busybox")
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Error(t, Save(io.Discard, s))

	// A stored layer that is not what the config says: nothing is written.
	img := tbImage(t, s, "busybox:latest", Gzip, tbBase(t))
	cfgOnly := tbImage(t, s, "liar:latest", Gzip, tbTop(t))
	var cfg v1.Image
	b, err := s.ReadBlob(cfgOnly.ConfigDesc)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &cfg))
	cfg.RootFS.DiffIDs[0] = img.DiffIDs()[0] // lies
	b, err = json.Marshal(cfg)
	require.NoError(t, err)
	cd, err := s.PutBlob(v1.MediaTypeImageConfig, b)
	require.NoError(t, err)
	m := cfgOnly.Manifest
	m.SchemaVersion, m.Config = 2, cd
	mb, err := json.Marshal(m)
	require.NoError(t, err)
	md, err := s.PutBlob(v1.MediaTypeImageManifest, mb)
	require.NoError(t, err)
	require.NoError(t, s.Tag(tbRef(t, "liar:latest"), md))
	var out bytes.Buffer
	err = Save(&out, s, "liar")
	assert.ErrorIs(t, err, ErrDigestMismatch)
	assert.Zero(t, out.Len(), "a layer that fails its diff ID is caught before a byte is written")
}

// tbLegacyTarball assembles what docker before 25 (and skopeo's
// docker-archive:) wrote: the config as <ID>.json, layers as
// <layer ID>/layer.tar, a shared layer as a symlink, manifest.json last.
func tbLegacyTarball(t testing.TB, gzipTop bool) (tarball []byte, id digest.Digest, diffIDs []digest.Digest) {
	base, top := tbBase(t), tbTop(t)
	diffIDs = []digest.Digest{digest.FromBytes(base), digest.FromBytes(top), digest.FromBytes(base)}
	cfg, err := json.Marshal(v1.Image{Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, RootFS: v1.RootFS{Type: "layers", DiffIDs: diffIDs}})
	require.NoError(t, err)
	id = digest.FromBytes(cfg)
	topBody := top
	if gzipTop {
		topBody = tbGzip(t, top)
	}
	l1, l2, l3 := strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)
	manifest := `[{"Config":"` + id.Encoded() + `.json","RepoTags":["legacy:1","registry.example/team/legacy:2"],"Layers":["` +
		l1 + `/layer.tar","` + l2 + `/layer.tar","` + l3 + `/layer.tar"]}]`
	return tbTar(t,
		tbDir(l1+"/"), tbFile(l1+"/VERSION", "1.0"), tbFile(l1+"/json", "{}"), tbFile(l1+"/layer.tar", string(base)),
		tbDir(l2+"/"), tbFile(l2+"/layer.tar", string(topBody)),
		tbDir(l3+"/"), tbSymlink(l3+"/layer.tar", "../"+l1+"/layer.tar"),
		tbFile(id.Encoded()+".json", string(cfg)),
		tbFile("repositories", `{"legacy":{"1":"`+l2+`"}}`),
		tbFile("manifest.json", manifest),
	), id, diffIDs
}

func TestLoadReadsTheLegacyLayout(t *testing.T) {
	for _, gz := range []bool{false, true} {
		tarball, id, diffIDs := tbLegacyTarball(t, gz)
		s := tbStore(t)
		refs, err := Load(bytes.NewReader(tarball), s, nil)
		require.NoError(t, err, "gzip'd layer: %v", gz)
		require.Len(t, refs, 2)
		assert.Equal(t, "docker.io/library/legacy:1", refs[0].String())
		assert.Equal(t, "registry.example/team/legacy:2", refs[1].String())
		img, err := s.Image("legacy:1")
		require.NoError(t, err)
		assert.Equal(t, id, img.ID())
		assert.Equal(t, diffIDs, img.DiffIDs())
		for _, l := range img.Manifest.Layers {
			assert.Equal(t, v1.MediaTypeImageLayer, l.MediaType)
			assert.True(t, s.Has(l.Digest, l.Size), "layer %s stored uncompressed", l.Digest)
		}
		tbRefusedIngest(t, s)
	}
}

// tbRefusedIngest checks that ingest/ is empty (loads clean up after
// themselves whatever happens).
func tbRefusedIngest(t testing.TB, s *Store) {
	t.Helper()
	left, err := os.ReadDir(s.ingestDir())
	require.NoError(t, err)
	assert.Empty(t, left)
}

// A docker 25+ tarball assembled by hand, with manifest.json first this
// time, and the whole of it gzip'd, as `docker save | gzip` makes it.
func TestLoadReadsAHandMadeDocker25Tarball(t *testing.T) {
	base := tbBase(t)
	diffID := digest.FromBytes(base)
	cfg := []byte(`{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["` + diffID.String() + `"]}}`)
	id := digest.FromBytes(cfg)
	tarball := tbTar(t,
		tbFile("manifest.json", `[{"Config":"blobs/sha256/`+id.Encoded()+`","RepoTags":["hand:made"],"Layers":["blobs/sha256/`+diffID.Encoded()+`"]}]`),
		tbFile("oci-layout", ociLayoutContent),
		tbDir("blobs/"), tbDir("blobs/sha256/"),
		tbFile("blobs/sha256/"+diffID.Encoded(), string(base)),
		tbFile("blobs/sha256/"+id.Encoded(), string(cfg)),
	)
	s := tbStore(t)
	refs, err := Load(bytes.NewReader(tbGzip(t, tarball)), s, nil)
	require.NoError(t, err)
	assert.Equal(t, []Reference{tbRef(t, "hand:made")}, refs)
	img, err := s.Image("hand:made")
	require.NoError(t, err)
	assert.Equal(t, id, img.ID())
	assert.Equal(t, []string{"sh"}, img.Config.Config.Cmd)
	tbRefusedIngest(t, s)
}

func TestLoadRefusesDamagedAndHostileTarballs(t *testing.T) {
	base := tbBase(t)
	diffID := digest.FromBytes(base)
	cfgFor := func(ids ...digest.Digest) string {
		b, _ := json.Marshal(v1.Image{Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, RootFS: v1.RootFS{Type: "layers", DiffIDs: ids}})
		return string(b)
	}
	good := cfgFor(diffID)
	goodID := digest.FromBytes([]byte(good))
	manifest := func(config string, layers ...string) tbEntry {
		b, _ := json.Marshal([]dockerManifestItem{{Config: config, RepoTags: []string{"evil:latest"}, Layers: layers}})
		return tbFile("manifest.json", string(b))
	}
	blob := func(body string) tbEntry { return tbFile(blobPath(digest.FromString(body)), body) }
	saved := func() []byte {
		s := tbStore(t)
		tbImage(t, s, "busybox", Uncompressed, base)
		return tbSave(t, s, "busybox")
	}()
	otherLayer := tbTop(t)

	tests := []struct {
		name    string
		tarball []byte
		want    error
		msg     string
	}{
		{"path traversal in an entry name", tbTar(t, tbFile("../../etc/cron.d/x", "evil"), blob(good), manifest(blobPath(goodID))),
			ErrBadTarball, "climbs out"},
		{"absolute entry name", tbTar(t, tbFile("/etc/passwd", "evil")), ErrBadTarball, "absolute"},
		{"a symlink out of the tarball", tbTar(t, tbSymlink("x/layer.tar", "../../../etc/shadow")), ErrBadTarball, "outside"},
		{"a layer path that climbs out", tbTar(t, blob(good), manifest(blobPath(goodID), "../x/layer.tar")), ErrBadTarball, "outside the tarball"},
		{"a layer that is missing", tbTar(t, blob(good), manifest(blobPath(goodID), "abc/layer.tar")), ErrBadTarball, "does not hold"},
		{"a missing config", tbTar(t, manifest("nope.json")), ErrBadTarball, "does not hold"},
		{"a layer that is not its diff ID", tbTar(t, blob(good), tbFile("l/layer.tar", string(otherLayer)), manifest(blobPath(goodID), "l/layer.tar")),
			ErrDigestMismatch, "diff ID"},
		{"a gzip'd layer that is not its diff ID", tbTar(t, blob(good), tbFile("l/layer.tar", string(tbGzip(t, otherLayer))), manifest(blobPath(goodID), "l/layer.tar")),
			ErrDigestMismatch, "diff ID"},
		{"a blob that is not its name", tbTar(t, tbFile(blobPath(diffID), "something else")), ErrDigestMismatch, "content has digest"},
		{"a legacy config that is not its name", tbTar(t, tbFile(strings.Repeat("0", 64)+".json", good), tbFile("l/layer.tar", string(base)),
			manifest(strings.Repeat("0", 64)+".json", "l/layer.tar")), ErrDigestMismatch, "config 000"},
		{"fewer layers than diff IDs", tbTar(t, blob(good), manifest(blobPath(goodID))), ErrMediaType, "1 diff IDs for 0 layers"},
		{"truncated", saved[:len(saved)/2], ErrBadTarball, "truncated"},
		{"not a tarball", bytes.Repeat([]byte("not a tar "), 100), ErrNotSaveTarball, "not a tar archive"},
		{"empty", nil, ErrNotSaveTarball, "empty"},
		{"a root filesystem", tbTar(t, tbDir("bin/"), tbFile("bin/sh", "x")), ErrNotSaveTarball, "berth import"},
		{"manifest.json that is not JSON", tbTar(t, tbFile("manifest.json", "[{oops")), ErrBadTarball, "not valid JSON"},
		{"manifest.json with no image", tbTar(t, tbFile("manifest.json", "[]")), ErrBadTarball, "no images"},
		{"a bad RepoTag", tbTar(t, blob(good), tbFile("l.tar", string(base)),
			tbFile("manifest.json", `[{"Config":"`+blobPath(goodID)+`","RepoTags":["no spaces:in names"],"Layers":["l.tar"]}]`)), ErrInvalidReference, "RepoTags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tbStore(t)
			refs, err := Load(bytes.NewReader(tt.tarball), s, nil)
			require.Error(t, err)
			t.Log(err) // what the user reads
			assert.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), tt.msg)
			assert.Empty(t, refs)
			tbRefused(t, s)
		})
	}
}

// skopeo (containers/image) is an independent reader and writer of both
// layouts: what it reads of ours and what we read of its.
func TestSkopeoReadsSaveAndWritesWhatLoadReads(t *testing.T) {
	src := tbStore(t)
	img := tbImage(t, src, "busybox:latest", Gzip, tbBase(t), tbTop(t))
	dir := t.TempDir()
	saved := filepath.Join(dir, "saved.tar")
	require.NoError(t, os.WriteFile(saved, tbSave(t, src, "busybox:latest"), 0o644))

	// testkit.Skopeo keeps skopeo's configuration and caches in a
	// temporary directory (as root it would write /var/lib/containers).
	run := func(args ...string) []byte {
		t.Helper()
		return []byte(testkit.Skopeo(t, args...))
	}
	type inspect struct {
		Layers       []digest.Digest
		Architecture string
		Os           string
	}
	for _, ref := range []string{"docker-archive:" + saved, "oci-archive:" + saved + ":latest"} {
		var got inspect
		require.NoError(t, json.Unmarshal(run("inspect", ref), &got), ref)
		assert.Equal(t, img.DiffIDs(), got.Layers, "%s: skopeo sees the layers uncompressed, by diff ID", ref)
		assert.Equal(t, "linux", got.Os)
		cfg, err := src.ReadBlob(img.ConfigDesc)
		require.NoError(t, err)
		assert.JSONEq(t, string(cfg), string(run("inspect", "--raw", "--config", ref)), "%s: the config as saved", ref)
	}

	// The legacy layout, as docker before 25 wrote it, from skopeo's own
	// writer: from the store (an OCI layout) straight to docker-archive.
	legacy := filepath.Join(dir, "legacy.tar")
	run("copy", "oci:"+src.Layout()+":docker.io/library/busybox:latest", "docker-archive:"+legacy+":busybox:legacy")
	f, err := os.Open(legacy)
	require.NoError(t, err)
	defer f.Close()
	names, _, _ := tbEntries(t, func() []byte { b, _ := os.ReadFile(legacy); return b }())
	t.Logf("skopeo's docker-archive: %v", names)
	dst := tbStore(t)
	refs, err := Load(f, dst, nil)
	require.NoError(t, err)
	assert.Equal(t, []Reference{tbRef(t, "busybox:legacy")}, refs)
	got, err := dst.Image("busybox:legacy")
	require.NoError(t, err)
	assert.Equal(t, img.DiffIDs(), got.DiffIDs())
	assert.Equal(t, img.ID(), got.ID(), "skopeo keeps the config as it is")

	// And round the other way: skopeo copies our save into an OCI layout.
	run("copy", "docker-archive:"+saved, "oci:"+filepath.Join(dir, "layout")+":copied")
	_, err = os.Stat(filepath.Join(dir, "layout", "index.json"))
	assert.NoError(t, err)
}
