//go:build linux

package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	image "berth/06-images"
)

// These tests need no root and run no container: a container is its
// config.json, which they write by hand, so the rules of removal and
// collection are checked against the engine's own records.

func testEngine(t *testing.T) *Engine {
	t.Helper()
	e, err := Open(Options{Root: t.TempDir()})
	require.NoError(t, err)
	return e
}

// importImage makes a one-layer image whose only file holds content, and
// names it ref.
func importImage(t *testing.T, e *Engine, ref, content string) *image.Image {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "file", Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0)}))
	_, err := tw.Write([]byte(content))
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	img, err := image.Import(&buf, e.images, image.ImportOptions{Ref: ref, Created: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		Changes: []string{`CMD ["sh"]`}})
	require.NoError(t, err)
	return img
}

// fakeUnpack makes the image's layer directories, as an unpack would.
func fakeUnpack(t *testing.T, e *Engine, img *image.Image) []string {
	t.Helper()
	var chain []string
	for _, c := range image.ChainIDs(img.DiffIDs()) {
		require.NoError(t, os.MkdirAll(filepath.Join(e.layersDir(), c.Encoded(), "etc"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(e.layersDir(), c.Encoded(), "etc", "x"), []byte("12345"), 0o644))
		chain = append(chain, c.Encoded())
	}
	return chain
}

// fakeContainer records a stopped container made from img.
func fakeContainer(t *testing.T, e *Engine, name string, img *image.Image) *container {
	t.Helper()
	c := &container{ID: newID(), Name: name, Created: time.Now(), Image: img.Ref.Familiar(), ImageID: img.ID().String(),
		Layers: fakeUnpack(t, e, img), Path: "sh"}
	require.NoError(t, os.MkdirAll(e.dir(c.ID), 0o710))
	require.NoError(t, writeJSON(e.configPath(c.ID), c))
	return c
}

func tagsOf(t *testing.T, e *Engine) map[string][]string {
	t.Helper()
	list, err := e.ImageList(context.Background(), ImageListOptions{})
	require.NoError(t, err)
	out := map[string][]string{}
	for _, s := range list {
		out[s.ID] = s.RepoTags
	}
	return out
}

func hasBlob(e *Engine, d digest.Digest) bool { return e.images.Has(d, -1) }

func TestRemovingANameFollowsDockersRules(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	img := importImage(t, e, "app:1", "one")
	require.NoError(t, e.ImageTag(ctx, "app:1", "app:2"))
	require.NoError(t, e.ImageTag(ctx, "app:1", "other/app:1"))
	c := fakeContainer(t, e, "web", img)

	// Names in two repositories: one goes, no questions.
	out, err := e.ImageRemove(ctx, "other/app:1", ImageRemoveOptions{})
	require.NoError(t, err)
	assert.Equal(t, []DeleteResponse{{Untagged: "other/app:1"}}, out)
	// Two names in one repository and a container: docker's "single
	// reference" case, refused for each, naming the container.
	_, err = e.ImageRemove(ctx, "app:2", ImageRemoveOptions{})
	require.ErrorIs(t, err, ErrConflict)
	assert.Contains(t, err.Error(), `conflict: unable to remove repository reference "app:2" (must force) - container `+c.ID[:12]+` is using its referenced image `+image.ShortID(img.ID()))

	// Forced, the names go and the image stays, unnamed, for its container.
	for _, n := range []string{"app:2", "app:1"} {
		out, err = e.ImageRemove(ctx, n, ImageRemoveOptions{Force: true})
		require.NoError(t, err)
		assert.Equal(t, []DeleteResponse{{Untagged: n}}, out)
	}
	assert.Equal(t, map[string][]string{img.ID().String(): {}}, tagsOf(t, e), "dangling, as docker shows <none>:<none>")
	report, err := e.ImagePrune(ctx, ImagePruneOptions{All: true})
	require.NoError(t, err)
	assert.Empty(t, report.ImagesDeleted, "a container still stands on it")
	assert.True(t, hasBlob(e, img.ID()))
	for _, l := range c.Layers {
		assert.DirExists(t, filepath.Join(e.layersDir(), l), "the layers the container stands on")
	}

	// The container gone, prune takes the image, its blobs and its layers.
	require.NoError(t, os.RemoveAll(e.dir(c.ID)))
	report, err = e.ImagePrune(ctx, ImagePruneOptions{})
	require.NoError(t, err)
	assert.Equal(t, []DeleteResponse{{Deleted: img.ID().String()}, {Deleted: "sha256:" + c.Layers[0]}}, report.ImagesDeleted)
	assert.Equal(t, uint64(img.Size()+img.Descriptor.Size+5), report.SpaceReclaimed, "config, layer and manifest blobs, and the unpacked layer's 5 bytes")
	assert.False(t, hasBlob(e, img.ID()))
	assert.NoDirExists(t, filepath.Join(e.layersDir(), c.Layers[0]))
	assert.Empty(t, tagsOf(t, e))
}

func TestRemovingTheLastNameDeletesTheImage(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	img := importImage(t, e, "app:1", "one")
	chain := fakeUnpack(t, e, img)
	other := importImage(t, e, "keep:1", "two")

	out, err := e.ImageRemove(ctx, "app:1", ImageRemoveOptions{})
	require.NoError(t, err)
	assert.Equal(t, []DeleteResponse{{Untagged: "app:1"}, {Deleted: img.ID().String()}, {Deleted: "sha256:" + chain[0]}}, out)
	assert.False(t, hasBlob(e, img.ID()))
	assert.True(t, hasBlob(e, other.ID()), "another image is not touched")
	_, err = e.ImageRemove(ctx, "app:1", ImageRemoveOptions{})
	require.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, err.Error(), "no such image: app:1")
}

func TestRemovingByIDFollowsDockersRules(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	img := importImage(t, e, "app:1", "one")
	require.NoError(t, e.ImageTag(ctx, "app:1", "elsewhere/app:1"))
	id := img.ID().Encoded()[:12]

	_, err := e.ImageRemove(ctx, id, ImageRemoveOptions{})
	require.ErrorIs(t, err, ErrConflict)
	assert.Contains(t, err.Error(), "unable to delete "+id+" (must be forced) - image is referenced in multiple repositories")

	c := fakeContainer(t, e, "stopped", img)
	_, err = e.ImageRemove(ctx, "elsewhere/app:1", ImageRemoveOptions{})
	require.NoError(t, err, "names in two repositories: one goes")
	_, err = e.ImageRemove(ctx, id, ImageRemoveOptions{})
	require.ErrorIs(t, err, ErrConflict)
	assert.Contains(t, err.Error(), "unable to delete "+id+" (must be forced) - image is being used by stopped container "+c.ID[:12])

	// Forced: every name goes; the image stays while the container does.
	out, err := e.ImageRemove(ctx, id, ImageRemoveOptions{Force: true})
	require.NoError(t, err)
	assert.Equal(t, []DeleteResponse{{Untagged: "app:1"}}, out)
	assert.True(t, hasBlob(e, img.ID()))
	require.NoError(t, os.RemoveAll(e.dir(c.ID)))
	out, err = e.ImageRemove(ctx, id, ImageRemoveOptions{})
	require.NoError(t, err)
	assert.Equal(t, DeleteResponse{Deleted: img.ID().String()}, out[0])
}

// A tag moved to a newer image (a pull, a load, an import, berth tag) must
// not leave the old one to the collector while a container stands on it.
func TestAMovedTagKeepsTheImageAContainerUses(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	old := importImage(t, e, "app:latest", "old")
	c := fakeContainer(t, e, "web", old)
	newer := importImage(t, e, "other:1", "new")

	// ImageTag pins before it moves the name.
	require.NoError(t, e.ImageTag(ctx, "other:1", "app:latest"))
	assert.Equal(t, map[string][]string{old.ID().String(): {}, newer.ID().String(): {"app:latest", "other:1"}}, tagsOf(t, e))
	report, err := e.ImagePrune(ctx, ImagePruneOptions{})
	require.NoError(t, err)
	assert.Empty(t, report.ImagesDeleted)
	assert.True(t, hasBlob(e, old.ID()))
	assert.DirExists(t, filepath.Join(e.layersDir(), c.Layers[0]))
}

// Code that moves a name without pinning (chapter 06's Import, here) can
// still orphan an image in use; the next collection finds its manifest
// among the blobs and names it again before it sweeps.
func TestCollectionFindsAnOrphanedImageInUse(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	old := importImage(t, e, "app:latest", "old")
	c := fakeContainer(t, e, "web", old)
	importImage(t, e, "app:latest", "new") // chapter 06 directly: no pin

	report, err := e.ImagePrune(ctx, ImagePruneOptions{All: true})
	require.NoError(t, err)
	assert.True(t, hasBlob(e, old.ID()), "found again and kept")
	assert.DirExists(t, filepath.Join(e.layersDir(), c.Layers[0]))
	var deleted []string
	for _, d := range report.ImagesDeleted {
		deleted = append(deleted, d.Untagged+d.Deleted)
	}
	assert.Contains(t, deleted, "app:latest", "the new, unused image is pruned by -a")
	assert.Equal(t, map[string][]string{old.ID().String(): {}}, tagsOf(t, e))
}

// If a container's image is gone altogether, no name can protect its
// layers: collecting is refused, naming the container.
func TestCollectionRefusesWhenAContainersImageIsGone(t *testing.T) {
	e := testEngine(t)
	img := importImage(t, e, "app:1", "one")
	c := fakeContainer(t, e, "orphan", img)
	c.ImageID = digest.FromString("gone").String()
	require.NoError(t, writeJSON(e.configPath(c.ID), c))
	_, err := e.ImagePrune(context.Background(), ImagePruneOptions{All: true})
	require.ErrorIs(t, err, ErrConflict)
	assert.Contains(t, err.Error(), "orphan")
	assert.DirExists(t, filepath.Join(e.layersDir(), c.Layers[0]))
}

func TestPruneLayersKeepsWhatContainersStandOn(t *testing.T) {
	e := testEngine(t)
	used := importImage(t, e, "used:1", "one")
	idle := importImage(t, e, "idle:1", "two")
	c := fakeContainer(t, e, "web", used)
	idleChain := fakeUnpack(t, e, idle)

	// A create under way (its directory, no config.json yet): nothing goes.
	busy := filepath.Join(e.containersDir(), newID())
	require.NoError(t, os.Mkdir(busy, 0o710))
	gone, n, err := e.pruneLayers()
	require.NoError(t, err)
	assert.Empty(t, gone)
	assert.Zero(t, n)
	require.NoError(t, os.Remove(busy))

	gone, n, err = e.pruneLayers()
	require.NoError(t, err)
	assert.Equal(t, []string{"sha256:" + idleChain[0]}, gone)
	assert.Equal(t, int64(5), n)
	assert.DirExists(t, filepath.Join(e.layersDir(), c.Layers[0]))
	assert.True(t, hasBlob(e, idle.ID()), "the image keeps its blobs: it unpacks again when run")
}

func TestListInspectAndHistory(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	img := importImage(t, e, "busybox:latest", "one")
	require.NoError(t, e.ImageTag(ctx, "busybox", "localhost:5000/busybox:1"))
	importImage(t, e, "", "unnamed")

	list, err := e.ImageList(ctx, ImageListOptions{Reference: "busybox"})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, []string{"busybox:latest"}, list[0].RepoTags, "only the names that match")
	list, err = e.ImageList(ctx, ImageListOptions{Reference: "localhost:5000/*"})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, []string{"localhost:5000/busybox:1"}, list[0].RepoTags)
	dangling := true
	list, err = e.ImageList(ctx, ImageListOptions{Dangling: &dangling})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Empty(t, list[0].RepoTags)

	ii, err := e.ImageInspect(ctx, "busybox")
	require.NoError(t, err)
	assert.Equal(t, img.ID().String(), ii.ID)
	assert.Equal(t, []string{"busybox:latest", "localhost:5000/busybox:1"}, ii.RepoTags)
	assert.Equal(t, []string{"busybox@" + img.Descriptor.Digest.String(), "localhost:5000/busybox@" + img.Descriptor.Digest.String()}, ii.RepoDigests)
	assert.Equal(t, []string{"sh"}, ii.Config.Cmd)
	assert.Equal(t, "2024-01-02T03:04:05Z", ii.Created)
	assert.Equal(t, "Imported from -", ii.Comment)
	assert.Equal(t, []string{img.DiffIDs()[0].String()}, ii.RootFS.Layers)

	h, err := e.ImageHistory(ctx, img.ID().Encoded()[:8])
	require.NoError(t, err)
	require.Len(t, h, 1)
	assert.Equal(t, img.ID().String(), h[0].ID)
	assert.Equal(t, img.Manifest.Layers[0].Size, h[0].Size)
	assert.Equal(t, "Imported from -", h[0].Comment)

	_, err = e.ImageInspect(ctx, "nope")
	require.ErrorIs(t, err, ErrNotFound)
	assert.True(t, strings.HasSuffix(err.Error(), "no such image: nope"))
	assert.ErrorIs(t, e.ImageTag(ctx, "busybox", "x@sha256:"+strings.Repeat("a", 64)), ErrInvalid)
}
