package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	image "berth/06-images"
)

// How images travel in and out of the engine: chapter 06's Pull, Push,
// Save and Load, with the engine's two duties around them. Before any of
// them can move a name, the images containers use are pinned
// (keepUsedImages); and what arrives is unpacked at once, as docker's pull
// extracts each layer before it says "Pull complete".

// ImagePull fetches name from its registry into the store and unpacks it.
func (e *Engine) ImagePull(ctx context.Context, name string, opts ImagePullOptions) (ImagePullResponse, error) {
	var resp ImagePullResponse
	ref, err := image.ParseReference(name)
	if err != nil {
		return resp, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if image.IsIDReference(ref) {
		return resp, fmt.Errorf("%w: %s is an image ID, which no registry serves: pull a name", ErrInvalid, name)
	}
	before, _ := e.images.Resolve(ref.String())
	// The pull may move ref off an image a container uses.
	if _, err := e.keepUsedImages(); err != nil {
		return resp, err
	}
	p := &heldDigest{to: opts.Progress}
	if p.to == nil {
		p.to = image.Discard{}
	}
	client := image.NewClient(opts.Registry...)
	img, err := image.Pull(ctx, client, e.images, ref, image.PullOptions{Progress: p})
	if err != nil {
		return resp, pullError(ref, err)
	}
	if _, err := e.images.Unpack(img, p); err != nil {
		return resp, fmt.Errorf("engine: unpacking %s: %w", ref.Familiar(), err)
	}
	p.flush()
	resp = ImagePullResponse{Ref: ref.String(), ID: img.ID().String(), Digest: img.Descriptor.Digest.String()}
	if before.Descriptor.Digest == img.Descriptor.Digest {
		resp.Status = "Image is up to date for " + ref.Familiar()
	} else {
		resp.Status = "Downloaded newer image for " + ref.Familiar()
	}
	return resp, nil
}

// heldDigest passes progress on, but holds back the pull's "Digest:" line
// until the layers are unpacked, where docker prints it: after every
// "Pull complete".
type heldDigest struct {
	to     image.Progress
	digest *image.Event
}

func (h *heldDigest) Update(ev image.Event) {
	if ev.ID == "" && strings.HasPrefix(ev.Action, "Digest: ") {
		h.digest = &ev
		return
	}
	h.to.Update(ev)
}

func (h *heldDigest) flush() {
	if h.digest != nil {
		h.to.Update(*h.digest)
	}
}

// pullError says what a failed pull means to its user: no such image or
// tag, no access, or no way to the registry (then, how to get images
// without one).
func pullError(ref image.Reference, err error) error {
	var (
		op  *net.OpError
		dns *net.DNSError
	)
	switch {
	case errors.Is(err, image.ErrManifestUnknown):
		return fmt.Errorf("%w: manifest for %s not found: the repository or the tag does not exist in %s (%v)", ErrNotFound, ref.Familiar(), ref.Domain, err)
	case errors.Is(err, image.ErrUnauthorized):
		return fmt.Errorf("%w: pull access denied for %s: the repository does not exist or needs a login (berth reads docker login's ~/.docker/config.json): %v", ErrNotFound, ref.Familiar(), err)
	case errors.As(err, &op) || errors.As(err, &dns):
		return fmt.Errorf("engine: pulling %s: %w\n(no way to the registry %s: offline, `berth load` a saved image, or `berth import` a root filesystem; the course's busybox: go run ./steps rootfs | sudo berth import -c 'CMD [\"sh\"]' - busybox)",
			ref.Familiar(), err, ref.Domain)
	}
	return fmt.Errorf("engine: pulling %s: %w", ref.Familiar(), err)
}

// ImagePush sends the image named name to the registry its name points
// at, as docker push does, and returns the manifest's digest.
func (e *Engine) ImagePush(ctx context.Context, name string, opts ImagePushOptions) (string, error) {
	ref, err := image.ParseReference(name)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if ref.Digest != "" || image.IsIDReference(ref) {
		return "", fmt.Errorf("%w: push a name with a tag (berth tag IMAGE %s:TAG first)", ErrInvalid, ref.Name())
	}
	n, err := e.images.Resolve(ref.String())
	if err != nil || n.Ref != ref {
		return "", fmt.Errorf("%w: an image does not exist locally with the tag: %s", ErrNotFound, ref.Familiar())
	}
	client := image.NewClient(opts.Registry...)
	desc, err := image.Push(ctx, client, e.images, ref.String(), ref, opts.Progress)
	if err != nil {
		var (
			op  *net.OpError
			dns *net.DNSError
		)
		switch {
		case errors.Is(err, image.ErrUnauthorized):
			return "", fmt.Errorf("%w: denied: requested access to %s is denied (log in with docker login; berth reads ~/.docker/config.json): %v", ErrInvalid, ref.Name(), err)
		case errors.As(err, &op) || errors.As(err, &dns):
			return "", fmt.Errorf("engine: pushing %s: %w (is the registry %s up?)", ref.Familiar(), err, ref.Domain)
		}
		return "", fmt.Errorf("engine: pushing %s: %w", ref.Familiar(), err)
	}
	return desc.Digest.String(), nil
}

// ImageSave writes the named images as one docker save tarball to w.
func (e *Engine) ImageSave(ctx context.Context, names []string, w io.Writer) error {
	if len(names) == 0 {
		return fmt.Errorf("%w: name at least one image to save", ErrInvalid)
	}
	// Check every name first: nothing is written for a typo.
	for _, n := range names {
		if _, err := e.images.Resolve(n); err != nil {
			return imageError(n, err)
		}
	}
	if err := image.Save(w, e.images, names...); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	return nil
}

// ImageLoad reads a docker save tarball (either layout, docker's or
// berth's, plain or compressed) into the store, unpacks its images (as
// docker load applies every layer, so a hostile layer is refused here and
// not at the first run), and returns the names it gave. A tarball refused
// for any reason changes nothing: names it gave are given back to the
// images they named before, and what it stored is collected at once.
func (e *Engine) ImageLoad(ctx context.Context, r io.Reader, opts ImageLoadOptions) ([]LoadedImage, error) {
	// A loaded name may move off an image a container uses.
	if _, err := e.keepUsedImages(); err != nil {
		return nil, err
	}
	before, err := e.images.List()
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	refs, err := image.Load(r, e.images, opts.Progress)
	if err != nil {
		e.undoLoad(before, refs)
		return nil, fmt.Errorf("loading the tarball: %w", err)
	}
	out := make([]LoadedImage, 0, len(refs))
	unpacked := map[string]bool{} // by manifest digest
	for _, ref := range refs {
		img, err := e.images.Image(ref.String())
		if err == nil && !unpacked[img.Descriptor.Digest.String()] {
			unpacked[img.Descriptor.Digest.String()] = true
			_, err = e.images.Unpack(img, opts.Progress)
		}
		if err != nil {
			e.undoLoad(before, refs)
			return nil, fmt.Errorf("loading the tarball: %s: %w", ref.Familiar(), err)
		}
		li := LoadedImage{ID: img.ID().String()}
		if !image.IsIDReference(ref) {
			li.Name = ref.Familiar()
		}
		out = append(out, li)
	}
	return out, nil
}

// undoLoad puts back the names a failed load gave (each to the image it
// named before, or nowhere) and collects what the load stored. Best
// effort: the load's own error is the one to report.
func (e *Engine) undoLoad(before []image.Named, refs []image.Reference) {
	old := map[image.Reference]image.Named{}
	for _, n := range before {
		old[n.Ref] = n
	}
	for _, r := range refs {
		if n, ok := old[r]; ok {
			e.images.Tag(r, n.Descriptor)
		} else {
			e.images.Untag(r.String())
		}
	}
	e.collect()
}
