package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	image "berth/06-images"
)

// Images, as the engine sees them. Chapter 06's store keeps names (tags)
// pointing at manifests; Docker's user thinks of images, each one config
// (its ID) that any number of names point at. inventory groups the store's
// names by image. A name is image.IDReference(ID) when it stands for no
// name: a dangling image, or the pin that keeps an image a container uses
// (keepUsedImages). Such names never show as tags.

// storedImage is one image of the store and every name that leads to it.
type storedImage struct {
	id    digest.Digest
	img   *image.Image  // read through its first name: manifest and config, verified
	names []image.Named // every index entry whose manifest has this config, ID names too
}

// tags are the image's real names, without its ID names, sorted.
func (si *storedImage) tags() []image.Reference {
	var out []image.Reference
	for _, n := range si.names {
		if !image.IsIDReference(n.Ref) {
			out = append(out, n.Ref)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Familiar() < out[j].Familiar() })
	return out
}

// idNames are the image's ID names.
func (si *storedImage) idNames() []image.Reference {
	var out []image.Reference
	for _, n := range si.names {
		if image.IsIDReference(n.Ref) {
			out = append(out, n.Ref)
		}
	}
	return out
}

func (si *storedImage) created() time.Time {
	if c := si.img.Config.Created; c != nil {
		return *c
	}
	return time.Time{}
}

// inventory reads every name of the store and groups them by image, newest
// image first. Names whose manifest or config cannot be read are returned
// apart, so that a damaged image can still be untagged.
func (e *Engine) inventory() (list []*storedImage, byID map[digest.Digest]*storedImage, broken []image.Named, err error) {
	names, err := e.images.List()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("engine: %w", err)
	}
	byID = map[digest.Digest]*storedImage{}
	read := map[digest.Digest]*image.Image{} // by manifest digest: each read once
	for _, n := range names {
		img, ok := read[n.Descriptor.Digest]
		if !ok {
			var err error
			if img, err = e.images.Image(n.Ref.String()); err != nil {
				broken = append(broken, n)
				continue
			}
			read[n.Descriptor.Digest] = img
		}
		si := byID[img.ID()]
		if si == nil {
			si = &storedImage{id: img.ID(), img: img}
			byID[img.ID()] = si
			list = append(list, si)
		}
		si.names = append(si.names, n)
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i].created(), list[j].created()
		if !a.Equal(b) {
			return a.After(b)
		}
		return list[i].id < list[j].id
	})
	return list, byID, broken, nil
}

// usersByImage maps each image ID to the containers made from it, running
// or not.
func (e *Engine) usersByImage() (map[digest.Digest][]*container, error) {
	all, err := e.all()
	if err != nil {
		return nil, err
	}
	out := map[digest.Digest][]*container{}
	for _, c := range all {
		if c.ImageID != "" {
			out[digest.Digest(c.ImageID)] = append(out[digest.Digest(c.ImageID)], c)
		}
	}
	return out, nil
}

// keepUsedImages gives every image a container uses an ID name, unless it
// has one. Chapter 06's garbage collector keeps what a name reaches and
// nothing else, and a container stands on its image's unpacked layers; so
// an image in use must stay named whatever happens to its tags: rmi -f,
// a pull or load or import that moves the tag to a newer image (docker
// then shows the old one as <none>:<none>, and so does berth), a tag
// moved by berth tag. The pin is taken before any of those, and again
// before every collection.
//
// It returns the containers whose image is no longer in the store at all
// (its manifest gone), which no name can protect: collecting then would
// delete the layers they stand on, so collect refuses.
func (e *Engine) keepUsedImages() (lost []string, err error) {
	users, err := e.usersByImage()
	if err != nil {
		return nil, err
	}
	if len(users) == 0 {
		return nil, nil
	}
	_, byID, _, err := e.inventory()
	if err != nil {
		return nil, err
	}
	ids := make([]digest.Digest, 0, len(users))
	for id := range users {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		pin := image.IDReference(id)
		var desc v1.Descriptor
		if si := byID[id]; si != nil {
			if len(si.idNames()) > 0 {
				continue
			}
			desc = si.names[0].Descriptor
		} else {
			var ok bool
			// Its names went (by a berth older than the pins, or a tool
			// that edits index.json), but its manifest may still be
			// there, until the next collection.
			if desc, ok = e.findManifest(id); !ok {
				for _, c := range users[id] {
					lost = append(lost, c.Name)
				}
				continue
			}
		}
		if err := e.images.Tag(pin, desc); err != nil {
			return lost, fmt.Errorf("engine: keeping image %s for its containers: %w", image.ShortID(id), err)
		}
	}
	return lost, nil
}

// findManifest looks through the store's blobs for a manifest whose config
// is id: the way back to an image that lost every name.
func (e *Engine) findManifest(id digest.Digest) (v1.Descriptor, bool) {
	dir := filepath.Join(e.images.Layout(), v1.ImageBlobsDir, "sha256")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return v1.Descriptor{}, false
	}
	for _, ent := range ents {
		fi, err := ent.Info()
		// Manifests are small; layers, which are not, are not read.
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > 1<<20 {
			continue
		}
		d := digest.NewDigestFromEncoded(digest.SHA256, ent.Name())
		if d.Validate() != nil {
			continue
		}
		b, err := e.images.ReadBlob(v1.Descriptor{Digest: d, Size: fi.Size()})
		if err != nil {
			continue
		}
		var m struct {
			MediaType string          `json:"mediaType"`
			Config    *v1.Descriptor  `json:"config"`
			Manifests json.RawMessage `json:"manifests"`
		}
		if json.Unmarshal(b, &m) != nil || m.Config == nil || m.Config.Digest != id || m.Manifests != nil {
			continue
		}
		if m.MediaType == "" {
			m.MediaType = v1.MediaTypeImageManifest
		}
		return v1.Descriptor{MediaType: m.MediaType, Digest: d, Size: fi.Size()}, true
	}
	return v1.Descriptor{}, false
}

// collect runs chapter 06's garbage collector, after making sure every
// image a container uses is named, and returns what it freed and how many
// bytes of unpacked layers went with it (chapter 06 counts blob bytes
// only).
func (e *Engine) collect() (image.Freed, int64, error) {
	lost, err := e.keepUsedImages()
	if err != nil {
		return image.Freed{}, 0, err
	}
	if len(lost) > 0 {
		return image.Freed{}, 0, fmt.Errorf("%w: container %s stands on an image that is no longer in the store, and collecting now would delete its layers: remove it first (berth rm %s)",
			ErrConflict, lost[0], lost[0])
	}
	sizes, err := e.unreachableLayers()
	if err != nil {
		return image.Freed{}, 0, err
	}
	f, err := e.images.GC()
	var n int64
	for _, l := range f.Layers {
		n += sizes[l.Encoded()]
	}
	if err != nil {
		return f, n, fmt.Errorf("engine: %w", err)
	}
	return f, n, nil
}

// unreachableLayers measures the unpacked layers no name reaches: what the
// next collection deletes.
func (e *Engine) unreachableLayers() (map[string]int64, error) {
	list, _, _, err := e.inventory()
	if err != nil {
		return nil, err
	}
	reached := map[string]bool{}
	for _, si := range list {
		for _, c := range image.ChainIDs(si.img.DiffIDs()) {
			reached[c.Encoded()] = true
		}
	}
	ents, err := os.ReadDir(e.layersDir())
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	sizes := map[string]int64{}
	for _, ent := range ents {
		if !reached[ent.Name()] {
			sizes[ent.Name()] = dirSize(filepath.Join(e.layersDir(), ent.Name()))
		}
	}
	return sizes, nil
}

// layersDir is chapter 06's directory of unpacked layers, one per chain ID.
func (e *Engine) layersDir() string { return filepath.Join(e.images.Root(), "layers") }

// resolveImage finds the image a name or ID stands for.
func (e *Engine) resolveImage(name string) (*image.Image, error) {
	img, err := e.images.Image(name)
	if err != nil {
		return nil, imageError(name, err)
	}
	return img, nil
}

// imageError turns chapter 06's errors into the engine's: a missing image is
// ErrNotFound ("No such image: x", as docker says), a bad name ErrInvalid.
func imageError(name string, err error) error {
	switch {
	case errors.Is(err, image.ErrNotFound):
		return fmt.Errorf("%w: no such image: %s", ErrNotFound, name)
	case errors.Is(err, image.ErrInvalidReference):
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return fmt.Errorf("engine: image %s: %w", name, err)
}

// ImageList returns the images, newest first, as GET /images/json does.
func (e *Engine) ImageList(ctx context.Context, opts ImageListOptions) ([]ImageSummary, error) {
	list, _, _, err := e.inventory()
	if err != nil {
		return nil, err
	}
	users, err := e.usersByImage()
	if err != nil {
		return nil, err
	}
	out := []ImageSummary{}
	for _, si := range list {
		s := summarize(si, users)
		if opts.Dangling != nil && *opts.Dangling != (len(s.RepoTags) == 0) {
			continue
		}
		if opts.Reference != "" {
			s.RepoTags, s.RepoDigests = matchReference(si, opts.Reference)
			if len(s.RepoTags) == 0 {
				continue
			}
		}
		out = append(out, s)
	}
	return out, nil
}

func summarize(si *storedImage, users map[digest.Digest][]*container) ImageSummary {
	s := ImageSummary{
		ID:         si.id.String(),
		RepoTags:   []string{},
		Size:       si.img.Size(),
		SharedSize: -1,
		Labels:     si.img.Config.Config.Labels,
		Containers: int64(len(users[si.id])),
	}
	s.RepoTags, s.RepoDigests = refsOf(si, func(image.Reference) bool { return true })
	if c := si.created(); !c.IsZero() {
		s.Created = c.Unix()
	}
	return s
}

// refsOf is an image's RepoTags (familiar, "busybox:latest") and its
// RepoDigests ("busybox@sha256:<manifest>", one per repository and
// manifest) for the names keep accepts.
func refsOf(si *storedImage, keep func(image.Reference) bool) (tags, digests []string) {
	tags, digests = []string{}, []string{}
	seen := map[string]bool{}
	for _, n := range si.names {
		if image.IsIDReference(n.Ref) || !keep(n.Ref) {
			continue
		}
		if n.Ref.Tag != "" {
			tags = append(tags, n.Ref.Familiar())
		}
		repo := n.Ref
		repo.Tag, repo.Digest = "", n.Descriptor.Digest
		if d := repo.Familiar(); !seen[d] {
			seen[d] = true
			digests = append(digests, d)
		}
	}
	sort.Strings(tags)
	sort.Strings(digests)
	return tags, digests
}

// matchReference keeps the names that match what `docker images REF`
// takes: a repository ("busybox"), a name and tag ("busybox:1.36"), either
// with path.Match wildcards ("localhost:5000/*").
func matchReference(si *storedImage, pattern string) (tags, digests []string) {
	withTag := strings.LastIndex(pattern, ":") > strings.LastIndex(pattern, "/")
	return refsOf(si, func(r image.Reference) bool {
		name := r
		name.Tag, name.Digest = "", ""
		subject := name.Familiar()
		if withTag {
			subject = r.Familiar()
		}
		ok, _ := path.Match(pattern, subject)
		return ok
	})
}

// ImageInspect describes an image as GET /images/{name}/json does.
func (e *Engine) ImageInspect(ctx context.Context, name string) (ImageInspect, error) {
	img, err := e.resolveImage(name)
	if err != nil {
		return ImageInspect{}, err
	}
	_, byID, _, err := e.inventory()
	if err != nil {
		return ImageInspect{}, err
	}
	cfg := img.Config
	ii := ImageInspect{
		ID:           img.ID().String(),
		RepoTags:     []string{},
		RepoDigests:  []string{},
		Author:       cfg.Author,
		Architecture: cfg.Architecture,
		Variant:      cfg.Variant,
		Os:           cfg.OS,
		OsVersion:    cfg.OSVersion,
		Size:         img.Size(),
		Config: &ImageConfig{
			User: cfg.Config.User, ExposedPorts: cfg.Config.ExposedPorts, Env: cfg.Config.Env,
			Cmd: cfg.Config.Cmd, ArgsEscaped: cfg.Config.ArgsEscaped, Volumes: cfg.Config.Volumes, //nolint:staticcheck // Docker shows it
			WorkingDir: cfg.Config.WorkingDir, Entrypoint: cfg.Config.Entrypoint,
			Labels: cfg.Config.Labels, StopSignal: cfg.Config.StopSignal,
		},
	}
	if si := byID[img.ID()]; si != nil {
		ii.RepoTags, ii.RepoDigests = refsOf(si, func(image.Reference) bool { return true })
	}
	if cfg.Created != nil {
		ii.Created = cfg.Created.UTC().Format(time.RFC3339Nano)
	}
	if h := cfg.History; len(h) > 0 {
		ii.Comment = h[len(h)-1].Comment
	}
	ii.GraphDriver.Name = e.images.Snapshotter().Name()
	ii.GraphDriver.Data = map[string]string{}
	if dirs, err := e.images.Layers(img); err == nil && len(dirs) > 0 {
		// overlayfs's order: the top layer first.
		lower := make([]string, len(dirs))
		for i, d := range dirs {
			lower[len(dirs)-1-i] = d
		}
		ii.GraphDriver.Data["LowerDir"] = strings.Join(lower, ":")
	}
	ii.RootFS.Type = cfg.RootFS.Type
	ii.RootFS.Layers = []string{}
	for _, d := range img.DiffIDs() {
		ii.RootFS.Layers = append(ii.RootFS.Layers, d.String())
	}
	ii.Descriptor.MediaType = img.Descriptor.MediaType
	ii.Descriptor.Digest = img.Descriptor.Digest.String()
	ii.Descriptor.Size = img.Descriptor.Size
	return ii, nil
}

// ImageHistory lists the steps that made an image, newest first, from its
// config's history: each step that made a layer gets that layer's size.
func (e *Engine) ImageHistory(ctx context.Context, name string) ([]HistoryResponseItem, error) {
	img, err := e.resolveImage(name)
	if err != nil {
		return nil, err
	}
	_, byID, _, err := e.inventory()
	if err != nil {
		return nil, err
	}
	layers := img.Manifest.Layers
	out := []HistoryResponseItem{}
	next := 0
	for _, h := range img.Config.History {
		it := HistoryResponseItem{ID: "<missing>", CreatedBy: h.CreatedBy, Comment: h.Comment, Tags: []string{}}
		if h.Created != nil {
			it.Created = h.Created.Unix()
		}
		if !h.EmptyLayer && next < len(layers) {
			it.Size = layers[next].Size
			next++
		}
		out = append(out, it)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if len(out) > 0 {
		out[0].ID = img.ID().String()
		if si := byID[img.ID()]; si != nil {
			out[0].Tags, _ = refsOf(si, func(image.Reference) bool { return true })
		}
	}
	return out, nil
}

// ImageTag gives the image source another name, target (":latest" when it
// has no tag), moving target off any image it named.
func (e *Engine) ImageTag(ctx context.Context, source, target string) error {
	n, err := e.images.Resolve(source)
	if err != nil {
		return imageError(source, err)
	}
	ref, err := image.ParseReference(target)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if ref.Digest != "" {
		return fmt.Errorf("%w: refusing to create a tag with a digest reference: %s", ErrInvalid, target)
	}
	if ref.Domain == image.DefaultDomain && ref.Path == "library/"+string(digest.SHA256) {
		return fmt.Errorf("%w: refusing to create an ambiguous tag using digest algorithm as name: %s", ErrInvalid, target)
	}
	// target may be the last name of an image a container uses.
	if _, err := e.keepUsedImages(); err != nil {
		return err
	}
	if err := e.images.Tag(ref, n.Descriptor); err != nil {
		return fmt.Errorf("engine: tagging %s: %w", target, err)
	}
	return nil
}

// ImageRemove removes a name, and the image when no name is left, as
// DELETE /images/{name} does, with Docker's rules:
//
//   - By name, the name goes. An image with that one name (or names in one
//     repository) that a container uses is refused unless forced; forced,
//     the name goes and the image stays, unnamed (<none>), while a
//     container uses it.
//   - By ID, every name goes and the image with them. Refused (even
//     forced) if a running container uses it; unless forced, if a stopped
//     one does or the image has names in several repositories. Docker, when
//     forced past a stopped container, deletes the image and keeps its
//     layers for the container; berth keeps the image, unnamed, until the
//     container goes.
func (e *Engine) ImageRemove(ctx context.Context, name string, opts ImageRemoveOptions) ([]DeleteResponse, error) {
	s := e.images
	n, err := s.Resolve(name)
	if err != nil {
		return nil, imageError(name, err)
	}
	if _, err := e.keepUsedImages(); err != nil {
		return nil, err
	}
	_, byID, _, err := e.inventory()
	if err != nil {
		return nil, err
	}
	img, err := s.Image(n.Ref.String())
	if err != nil {
		// A damaged image: its name can still go (GC stops on damage).
		if _, uerr := s.Untag(n.Ref.String()); uerr != nil {
			return nil, fmt.Errorf("engine: removing %s: %w", name, uerr)
		}
		return []DeleteResponse{{Untagged: n.Ref.Familiar()}}, nil
	}
	si := byID[img.ID()]
	users, err := e.usersByImage()
	if err != nil {
		return nil, err
	}
	used := users[img.ID()]
	short := image.ShortID(img.ID())
	tags := si.tags()

	var out []DeleteResponse
	untag := func(r image.Reference) error {
		if _, err := s.Untag(r.String()); err != nil {
			return fmt.Errorf("engine: untagging %s: %w", r.Familiar(), err)
		}
		out = append(out, DeleteResponse{Untagged: r.Familiar()})
		return nil
	}

	if byName(s, name, n) {
		if !opts.Force && len(used) > 0 && oneRepository(tags) {
			return nil, fmt.Errorf("%w: unable to remove repository reference %q (must force) - container %s is using its referenced image %s",
				ErrConflict, name, used[0].ID[:12], short)
		}
		if err := untag(n.Ref); err != nil {
			return nil, err
		}
		if len(tags) > 1 || len(used) > 0 {
			return out, nil // other names remain, or a container keeps it (unnamed)
		}
	} else {
		for _, c := range used {
			if st, err := e.status(c); err == nil && st.Running {
				return nil, fmt.Errorf("%w: unable to delete %s (cannot be forced) - image is being used by running container %s", ErrConflict, short, c.ID[:12])
			}
		}
		if !opts.Force && !oneRepository(tags) {
			return nil, fmt.Errorf("%w: unable to delete %s (must be forced) - image is referenced in multiple repositories", ErrConflict, short)
		}
		if !opts.Force && len(used) > 0 {
			return nil, fmt.Errorf("%w: unable to delete %s (must be forced) - image is being used by stopped container %s", ErrConflict, short, used[0].ID[:12])
		}
		for _, t := range tags {
			if err := untag(t); err != nil {
				return out, err
			}
		}
		if len(used) > 0 {
			return out, nil
		}
	}
	deleted, err := e.deleteImages([]*storedImage{si})
	return append(out, deleted...), err
}

// byName says whether name found n as a name (a tag), not as an image ID:
// the rules of removal differ.
func byName(s *image.Store, name string, n image.Named) bool {
	ref, err := image.ParseReference(name)
	if err != nil || ref != n.Ref || image.IsIDReference(ref) {
		return false
	}
	all, err := s.List()
	if err != nil {
		return false
	}
	for _, x := range all {
		if x.Ref == ref {
			return true // an index entry of that very name
		}
	}
	return false // name@sha256:... found the manifest under another name
}

// oneRepository says whether the names are all in one repository (or there
// is at most one): Docker's "single reference".
func oneRepository(tags []image.Reference) bool {
	for _, t := range tags[min(1, len(tags)):] {
		if t.Name() != tags[0].Name() {
			return false
		}
	}
	return true
}

// deleteImages takes the last names (ID names) off images nothing uses any
// more, collects, and says what went: each image whose config was deleted,
// then its layers that were unpacked.
func (e *Engine) deleteImages(sis []*storedImage) ([]DeleteResponse, error) {
	for _, si := range sis {
		for _, r := range si.idNames() {
			if _, err := e.images.Untag(r.String()); err != nil && !errors.Is(err, image.ErrNotFound) {
				return nil, fmt.Errorf("engine: removing %s: %w", image.ShortID(si.id), err)
			}
		}
	}
	f, _, err := e.collect()
	return deletedOf(sis, f), err
}

// deletedOf lists the images of sis that a collection freed, each followed
// by its unpacked layers that went with it, as docker rmi prints them.
func deletedOf(sis []*storedImage, f image.Freed) []DeleteResponse {
	blobs, layers := map[digest.Digest]bool{}, map[digest.Digest]bool{}
	for _, b := range f.Blobs {
		blobs[b] = true
	}
	for _, l := range f.Layers {
		layers[l] = true
	}
	var out []DeleteResponse
	for _, si := range sis {
		if !blobs[si.id] {
			continue
		}
		out = append(out, DeleteResponse{Deleted: si.id.String()})
		chain := image.ChainIDs(si.img.DiffIDs())
		for i := len(chain) - 1; i >= 0; i-- {
			if layers[chain[i]] {
				out = append(out, DeleteResponse{Deleted: chain[i].String()})
				delete(layers, chain[i])
			}
		}
	}
	return out
}

// ImagePrune removes the images no container uses: the dangling ones
// (without a name), or with All every one.
func (e *Engine) ImagePrune(ctx context.Context, opts ImagePruneOptions) (ImagesPruneReport, error) {
	report := ImagesPruneReport{ImagesDeleted: []DeleteResponse{}}
	if lost, err := e.keepUsedImages(); err != nil {
		return report, err
	} else if len(lost) > 0 {
		return report, fmt.Errorf("%w: container %s stands on an image that is no longer in the store: remove it first (berth rm %s)", ErrConflict, lost[0], lost[0])
	}
	list, _, _, err := e.inventory()
	if err != nil {
		return report, err
	}
	users, err := e.usersByImage()
	if err != nil {
		return report, err
	}
	var gone []*storedImage
	for _, si := range list {
		if len(users[si.id]) > 0 {
			continue
		}
		tags := si.tags()
		if len(tags) > 0 && !opts.All {
			continue
		}
		for _, t := range tags {
			if _, err := e.images.Untag(t.String()); err != nil {
				return report, fmt.Errorf("engine: untagging %s: %w", t.Familiar(), err)
			}
			report.ImagesDeleted = append(report.ImagesDeleted, DeleteResponse{Untagged: t.Familiar()})
		}
		gone = append(gone, si)
	}
	for _, si := range gone {
		for _, r := range si.idNames() {
			if _, err := e.images.Untag(r.String()); err != nil && !errors.Is(err, image.ErrNotFound) {
				return report, fmt.Errorf("engine: removing %s: %w", image.ShortID(si.id), err)
			}
		}
	}
	f, layerBytes, err := e.collect()
	report.ImagesDeleted = append(report.ImagesDeleted, deletedOf(gone, f)...)
	report.SpaceReclaimed = uint64(f.Bytes + layerBytes)
	return report, err
}
