package image

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Push sends the stored image name to the registry as dst:
//
//  1. each layer, then the config: HEAD asks whether the registry has the
//     blob already; if another repository on the same registry has it
//     (an image we hold under both names), POST ?mount= links it without
//     sending a byte; otherwise POST opens an upload, and the bytes go in
//     one PUT or in PATCH chunks closed by a PUT ?digest=;
//  2. the manifest, last, with PUT /v2/<name>/manifests/<tag>: the
//     registry refuses a manifest whose blobs it does not have, so the
//     image appears only when complete.
//
// It returns the manifest's descriptor; its digest is what `docker push`
// prints and what `name@sha256:...` pulls.
func Push(ctx context.Context, c *Client, s *Store, name string, dst Reference, p Progress) (v1.Descriptor, error) {
	p = orDiscard(p)
	release, err := s.hold() // GC must not take the blobs being sent
	if err != nil {
		return v1.Descriptor{}, err
	}
	defer release()
	img, err := s.Image(name)
	if err != nil {
		return v1.Descriptor{}, err
	}
	if dst.Tag == "" {
		return v1.Descriptor{}, fmt.Errorf("image: pushing to %s: a push needs a tag to name the image", dst)
	}
	e := c.endpoint(dst)
	p.Update(Event{Action: "The push refers to repository [" + dst.Name() + "]"})
	sources := s.mountSources(dst)
	blobs := append(append([]v1.Descriptor{}, img.Manifest.Layers...), img.Manifest.Config)
	for _, b := range blobs {
		p.Update(Event{ID: ShortID(b.Digest), Action: "Preparing"})
	}
	for _, b := range blobs {
		if err := c.pushBlob(ctx, e, s, b, sources[b.Digest], p); err != nil {
			return v1.Descriptor{}, fmt.Errorf("pushing %s to %s: %w", name, dst, err)
		}
	}
	body, err := s.ReadBlob(img.Descriptor)
	if err != nil {
		return v1.Descriptor{}, err
	}
	resp, err := c.do(ctx, e, request{
		method: http.MethodPut, url: e.url("manifests/" + dst.Tag),
		header: http.Header{"Content-Type": {img.Descriptor.MediaType}},
		body:   func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
		size:   int64(len(body)), scope: "repository:" + dst.Path + ":pull,push",
		allowed: []int{http.StatusCreated},
	})
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("pushing the manifest of %s: %w", dst, err)
	}
	drain(resp)
	if h := resp.Header.Get("Docker-Content-Digest"); h != "" && digest.Digest(h) != img.Descriptor.Digest {
		return v1.Descriptor{}, fmt.Errorf("image: pushing %s: the registry stored the manifest as %s, we sent %s", dst, h, img.Descriptor.Digest)
	}
	p.Update(Event{Action: fmt.Sprintf("%s: digest: %s size: %d", dst.Tag, img.Descriptor.Digest, img.Descriptor.Size)})
	return img.Descriptor, nil
}

// mountSources finds, for each blob, a repository on dst's registry that
// should already hold it: one of the names the store knows the blob under.
func (s *Store) mountSources(dst Reference) map[digest.Digest]string {
	out := map[digest.Digest]string{}
	all, err := s.List()
	if err != nil {
		return out
	}
	for _, n := range all {
		if n.Ref.Domain != dst.Domain || n.Ref.Path == dst.Path {
			continue
		}
		m, err := s.manifestOf(n.Descriptor)
		if err != nil {
			continue
		}
		for _, b := range append(m.Layers, m.Config) {
			if _, ok := out[b.Digest]; !ok {
				out[b.Digest] = n.Ref.Path
			}
		}
	}
	return out
}

// pushBlob sends one blob unless the registry has it or can mount it.
func (c *Client) pushBlob(ctx context.Context, e endpoint, s *Store, b v1.Descriptor, from string, p Progress) error {
	id := ShortID(b.Digest)
	scope := "repository:" + e.ref.Path + ":pull,push"
	resp, err := c.do(ctx, e, request{method: http.MethodHead, url: e.url("blobs/" + b.Digest.String()),
		scope: scope, allowed: []int{http.StatusOK, http.StatusNotFound}})
	if err != nil {
		return err
	}
	drain(resp)
	if resp.StatusCode == http.StatusOK {
		p.Update(Event{ID: id, Action: "Layer already exists"})
		return nil
	}

	// Open an upload session, asking for a cross-repository mount when we
	// know a source: 201 means mounted, 202 means upload it after all.
	start := e.url("blobs/uploads/")
	if from != "" {
		start += "?" + url.Values{"mount": {b.Digest.String()}, "from": {from}}.Encode()
		scope += " repository:" + from + ":pull"
	}
	resp, err = c.do(ctx, e, request{method: http.MethodPost, url: start, size: 0,
		body:  func() (io.ReadCloser, error) { return http.NoBody, nil },
		scope: scope, allowed: []int{http.StatusCreated, http.StatusAccepted}})
	if err != nil {
		return err
	}
	drain(resp)
	if resp.StatusCode == http.StatusCreated {
		p.Update(Event{ID: id, Action: "Mounted from " + from})
		return nil
	}
	loc, err := e.resolve(resp.Header.Get("Location"))
	if err != nil {
		return err
	}
	if c.chunk > 0 {
		if loc, err = c.uploadChunks(ctx, e, s, b, loc, scope, p); err != nil {
			return err
		}
	}
	// The closing PUT: the whole blob (monolithic), or nothing after the
	// chunks. Either way ?digest= lets the registry verify what it got.
	u, err := url.Parse(loc)
	if err != nil {
		return fmt.Errorf("image: upload location %q: %w", loc, err)
	}
	q := u.Query()
	q.Set("digest", b.Digest.String())
	u.RawQuery = q.Encode()
	put := request{method: http.MethodPut, url: u.String(), scope: scope, allowed: []int{http.StatusCreated},
		header: http.Header{"Content-Type": {"application/octet-stream"}}}
	if c.chunk > 0 {
		put.size = 0
		put.body = func() (io.ReadCloser, error) { return http.NoBody, nil }
	} else {
		put.size = b.Size
		put.body = func() (io.ReadCloser, error) {
			r, err := s.OpenBlob(b)
			if err != nil {
				return nil, err
			}
			return readCloser{newCounter(r, p, id, "Pushing", b.Size), r}, nil
		}
	}
	resp, err = c.do(ctx, e, put)
	if err != nil {
		return err
	}
	drain(resp)
	p.Update(Event{ID: id, Action: "Pushed"})
	return nil
}

// uploadChunks sends the blob in PATCH requests of c.chunk bytes, each
// with its Content-Range; every answer names where the next goes.
func (c *Client) uploadChunks(ctx context.Context, e endpoint, s *Store, b v1.Descriptor, loc, scope string, p Progress) (string, error) {
	// Chunks are read out of order of any hash, so check the whole blob
	// first: a damaged blob is never sent.
	r, err := s.OpenBlob(b)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(io.Discard, r)
	r.Close()
	if err != nil {
		return "", err
	}
	for off := int64(0); off < b.Size; off += c.chunk {
		n := min(c.chunk, b.Size-off)
		start := off
		resp, err := c.do(ctx, e, request{method: http.MethodPatch, url: loc, size: n, scope: scope,
			header: http.Header{"Content-Type": {"application/octet-stream"},
				"Content-Range": {fmt.Sprintf("%d-%d", start, start+n-1)}},
			body: func() (io.ReadCloser, error) {
				f, err := os.Open(s.BlobPath(b.Digest))
				if err != nil {
					return nil, fmt.Errorf("image: pushing blob %s: %w", b.Digest, err)
				}
				return readCloser{io.NewSectionReader(f, start, n), f}, nil
			},
			allowed: []int{http.StatusAccepted}})
		if err != nil {
			return "", err
		}
		drain(resp)
		if loc, err = e.resolve(resp.Header.Get("Location")); err != nil {
			return "", err
		}
		p.Update(Event{ID: ShortID(b.Digest), Action: "Pushing", Current: start + n, Total: b.Size})
	}
	return loc, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}
