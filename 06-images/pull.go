package image

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Manifest fetches the document a reference names, checks it against its
// digest and its media type, and returns it with its descriptor:
//
//	GET /v2/<name>/manifests/<tag or digest>
//	Accept: application/vnd.oci.image.index.v1+json, ...
//
// By tag, the registry's Docker-Content-Digest header (when sent) must be
// the digest of the body; by digest, the body must hash to it. Either way
// what comes back is what its name says.
func (c *Client) Manifest(ctx context.Context, ref Reference) (v1.Descriptor, []byte, error) {
	e := c.endpoint(ref)
	ctx, cancel := context.WithTimeout(ctx, defaultTimeout)
	defer cancel()
	resp, err := c.do(ctx, e, request{
		method: http.MethodGet, url: e.url("manifests/" + ref.Identifier()),
		header: http.Header{"Accept": {strings.Join(manifestTypes, ", ")}},
		scope:  "repository:" + ref.Path + ":pull", allowed: []int{http.StatusOK},
	})
	if err != nil {
		return v1.Descriptor{}, nil, fmt.Errorf("fetching the manifest of %s: %w", ref, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil {
		return v1.Descriptor{}, nil, fmt.Errorf("image: reading the manifest of %s: %w", ref, err)
	}
	if len(body) > maxDocument {
		return v1.Descriptor{}, nil, fmt.Errorf("%w: the manifest of %s is larger than %d bytes", ErrMediaType, ref, maxDocument)
	}
	got := digest.FromBytes(body)
	want := ref.Digest
	if want == "" {
		if h := resp.Header.Get("Docker-Content-Digest"); h != "" {
			want = digest.Digest(h)
		}
	}
	if want != "" && got != want {
		return v1.Descriptor{}, nil, &DigestError{Want: want, Got: got, What: "the manifest of " + ref.String()}
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	_, mt, err := parseDocument(ct, body)
	if err != nil {
		return v1.Descriptor{}, nil, fmt.Errorf("the manifest of %s: %w", ref, err)
	}
	return v1.Descriptor{MediaType: mt, Digest: got, Size: int64(len(body))}, body, nil
}

// Blob opens a blob for reading: GET /v2/<name>/blobs/<digest>. Registries
// often answer with a redirect to storage elsewhere; the client follows it
// without our credentials, as it should. The caller verifies the bytes
// (Store.WriteBlob does).
func (c *Client) Blob(ctx context.Context, ref Reference, d digest.Digest) (io.ReadCloser, int64, error) {
	e := c.endpoint(ref)
	// A blob may take long, but it must keep moving: a registry that
	// stalls for idleTimeout fails the download instead of hanging it.
	ctx, cancel := context.WithCancel(ctx)
	idle := time.AfterFunc(idleTimeout, cancel)
	resp, err := c.do(ctx, e, request{
		method: http.MethodGet, url: e.url("blobs/" + d.String()),
		scope: "repository:" + ref.Path + ":pull", allowed: []int{http.StatusOK},
	})
	if err != nil {
		idle.Stop()
		cancel()
		return nil, 0, err
	}
	return &idleReader{body: resp.Body, timer: idle, cancel: cancel}, resp.ContentLength, nil
}

// idleTimeout is how long a blob download may go without a byte.
const idleTimeout = 60 * time.Second

// idleReader restarts the stall timer at every read.
type idleReader struct {
	body   io.ReadCloser
	timer  *time.Timer
	cancel context.CancelFunc
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	r.timer.Reset(idleTimeout)
	return n, err
}

func (r *idleReader) Close() error {
	r.timer.Stop()
	r.cancel()
	return r.body.Close()
}

// PullOptions tune Pull.
type PullOptions struct {
	Progress Progress    // per-layer progress; nil for none
	Platform v1.Platform // which manifest of an index; zero: this host's
	// Parallel is how many layers download at once (Docker's default: 3).
	Parallel int
}

// Pull fetches an image into the store and names it ref:
//
//  1. the manifest, by tag or digest; an index is resolved to this
//     platform's manifest, fetched by digest;
//  2. the config it names;
//  3. each layer blob not already stored (the digest says whether we have
//     it: two images sharing a base layer download it once).
//
// Every blob is verified as it is written. Only when all are in is the
// manifest stored and the name written to index.json: a pull that fails
// halfway stores no name, and the next pull downloads only what is missing.
// Unpacking is Store.Unpack's job.
func Pull(ctx context.Context, c *Client, s *Store, ref Reference, opts PullOptions) (*Image, error) {
	p := orDiscard(opts.Progress)
	want := opts.Platform
	if want.OS == "" {
		want = Platform()
	}
	release, err := s.hold()
	if err != nil {
		return nil, err
	}
	defer release()

	desc, body, err := c.Manifest(ctx, ref)
	if err != nil {
		return nil, err
	}
	if isIndex(desc.MediaType) {
		doc, _, _ := parseDocument(desc.MediaType, body)
		chosen, err := choosePlatform(doc.Manifests, want)
		if err != nil {
			return nil, fmt.Errorf("pulling %s: %w", ref, err)
		}
		byDigest := ref
		byDigest.Tag, byDigest.Digest = "", chosen.Digest
		if desc, body, err = c.Manifest(ctx, byDigest); err != nil {
			return nil, err
		}
		if !isManifest(desc.MediaType) {
			return nil, fmt.Errorf("pulling %s: %w: the index points at %s, not an image manifest", ref, ErrMediaType, desc.MediaType)
		}
	}
	p.Update(Event{ID: ref.Identifier(), Action: "Pulling from " + strings.TrimPrefix(ref.Name(), DefaultDomain+"/")})
	doc, mt, _ := parseDocument(desc.MediaType, body)
	m := doc.manifest(mt)

	// The config first: it is small, and it must agree with the manifest
	// before any layer is worth downloading.
	if err := c.fetchBlob(ctx, s, ref, m.Config, Discard{}); err != nil {
		return nil, fmt.Errorf("pulling the config of %s: %w", ref, err)
	}
	if _, err := s.config(m); err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	if err := c.fetchLayers(ctx, s, ref, m.Layers, p, opts.Parallel); err != nil {
		return nil, err
	}
	if _, err := s.PutBlob(desc.MediaType, body); err != nil {
		return nil, err
	}
	if err := s.Tag(ref, desc); err != nil {
		return nil, err
	}
	p.Update(Event{Action: "Digest: " + desc.Digest.String()})
	return s.Image(ref.String())
}

// fetchLayers downloads the layers not yet stored, a few at a time. The
// first failure cancels the others.
func (c *Client) fetchLayers(ctx context.Context, s *Store, ref Reference, layers []v1.Descriptor, p Progress, parallel int) error {
	if parallel <= 0 {
		parallel = 3
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
		slots    = make(chan struct{}, parallel)
	)
	for i, l := range layers {
		id := ShortID(l.Digest)
		if s.Has(l.Digest, l.Size) {
			p.Update(Event{ID: id, Action: "Already exists"})
			continue
		}
		p.Update(Event{ID: id, Action: "Waiting"})
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
			case <-ctx.Done():
				return
			}
			if err := c.fetchBlob(ctx, s, ref, l, p); err != nil {
				once.Do(func() {
					firstErr = fmt.Errorf("pulling layer %d of %s: %w", i+1, ref, err)
					cancel()
				})
				return
			}
			p.Update(Event{ID: id, Action: "Download complete"})
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}

// fetchBlob downloads one blob into the store, verified.
func (c *Client) fetchBlob(ctx context.Context, s *Store, ref Reference, d v1.Descriptor, p Progress) error {
	if s.Has(d.Digest, d.Size) {
		return nil
	}
	body, _, err := c.Blob(ctx, ref, d.Digest)
	if err != nil {
		return err
	}
	defer body.Close()
	return s.WriteBlob(d, newCounter(body, p, ShortID(d.Digest), "Downloading", d.Size))
}
