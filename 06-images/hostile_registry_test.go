package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"berth/steps/testkit"

	specs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"encoding/json"
)

// proxy puts a man in the middle of a real registry: edit may change each
// response. The returned reference names repo through the proxy.
func proxy(t *testing.T, reg *testkit.Registry, repo string, edit func(*http.Response) error) Reference {
	t.Helper()
	target, _ := url.Parse(reg.URL())
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = edit
	// Flush every write: a cut then reaches the client mid-body, as a
	// dropped connection does, rather than before any byte (which Go's
	// transport would quietly retry).
	rp.FlushInterval = -1
	rp.ErrorLog = log.New(io.Discard, "", 0)
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return mustRef(t, strings.TrimPrefix(srv.URL, "http://")+"/"+repo)
}

// cutReader gives n bytes, then fails as a dropped connection does.
type cutReader struct {
	r io.ReadCloser
	n int
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if len(p) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

func (c *cutReader) Close() error { return c.r.Close() }

func TestACutConnectionLeavesNothingAndTheNextPullCompletes(t *testing.T) {
	reg := testkit.NewRegistry(t, testkit.RegistryOptions{})
	skopeoPush(t, reg, "course/fixture:1", fixtureLayers)
	var cuts atomic.Int32
	ref := proxy(t, reg, "course/fixture:1", func(resp *http.Response) error {
		if strings.Contains(resp.Request.URL.Path, "/blobs/") && resp.Request.Method == http.MethodGet && cuts.Add(1) == 2 {
			resp.Body = &cutReader{r: resp.Body, n: 50}
		}
		return nil
	})
	s := openStore(t)
	_, err := Pull(context.Background(), NewClient(), s, ref, PullOptions{Parallel: 1})
	require.Error(t, err)
	assert.True(t, errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, ErrSizeMismatch), "%v", err)
	all, _ := s.List()
	assert.Empty(t, all, "no name for a half-pulled image")
	ingestEmpty(t, s)

	missing := 0
	raw := reg.Skopeo(t, "inspect", "--raw", "docker://"+reg.Ref("course/fixture:1"))
	var man v1.Manifest
	require.NoError(t, json.Unmarshal([]byte(raw), &man))
	for _, l := range append(man.Layers, man.Config) {
		if !s.Has(l.Digest, l.Size) {
			missing++
		}
	}
	require.NotZero(t, missing)
	var trace bytes.Buffer
	img, err := Pull(context.Background(), NewClient(WithTrace(&trace)), s, ref, PullOptions{})
	require.NoError(t, err, "the next pull completes")
	assert.Equal(t, missing, strings.Count(trace.String(), "> GET")-1,
		"it fetches the manifest and only the blobs it lacks:\n%s", trace.String())
	_, err = s.Image(img.Ref.String())
	assert.NoError(t, err)
}

func TestAManifestThatIsNotWhatItSaysIsRefused(t *testing.T) {
	reg := testkit.NewRegistry(t, testkit.RegistryOptions{})
	skopeoPush(t, reg, "course/fixture:1", fixtureLayers)
	ref := proxy(t, reg, "course/fixture:1", func(resp *http.Response) error {
		if strings.Contains(resp.Request.URL.Path, "/manifests/") {
			resp.Header.Set("Content-Type", v1.MediaTypeImageIndex)
		}
		return nil
	})
	s := openStore(t)
	_, err := Pull(context.Background(), NewClient(), s, ref, PullOptions{})
	assert.ErrorIs(t, err, ErrMediaType)
	assert.Contains(t, err.Error(), "served as application/vnd.oci.image.index.v1+json but the document says application/vnd.oci.image.manifest.v1+json")
	all, _ := s.List()
	assert.Empty(t, all)
}

func TestAManifestThatIsNotItsDigestIsRefused(t *testing.T) {
	reg := testkit.NewRegistry(t, testkit.RegistryOptions{})
	skopeoPush(t, reg, "course/fixture:1", fixtureLayers)
	ref := proxy(t, reg, "course/fixture:1", func(resp *http.Response) error {
		if strings.Contains(resp.Request.URL.Path, "/manifests/") {
			b, _ := io.ReadAll(resp.Body)
			b = bytes.Replace(b, []byte(`"size":`), []byte(`"size": `), 1) // same meaning, other bytes
			resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
			resp.Header.Set("Content-Length", fmt.Sprint(len(b)))
		}
		return nil
	})
	_, err := Pull(context.Background(), NewClient(), openStore(t), ref, PullOptions{})
	assert.ErrorIs(t, err, ErrDigestMismatch)
}

// An index (a multi-platform image) is resolved to this host's manifest;
// the name points at the manifest, and the attestation entry is ignored.
func TestPullResolvesAnIndexToThisPlatform(t *testing.T) {
	reg := testkit.NewRegistry(t, testkit.RegistryOptions{})
	_, manifest := skopeoPush(t, reg, "course/multi:amd", fixtureLayers)
	raw := reg.Skopeo(t, "inspect", "--raw", "docker://"+reg.Ref("course/multi:amd"))
	here := Platform()
	idx := v1.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: v1.MediaTypeImageIndex, Manifests: []v1.Descriptor{
		{MediaType: v1.MediaTypeImageManifest, Digest: manifest, Size: int64(len(raw)), Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}},
		{MediaType: v1.MediaTypeImageManifest, Digest: manifest, Size: int64(len(raw)), Platform: &here},
	}}
	b, _ := json.Marshal(idx)
	req, _ := http.NewRequest(http.MethodPut, reg.URL()+"/v2/course/multi/manifests/latest", bytes.NewReader(b))
	req.Header.Set("Content-Type", v1.MediaTypeImageIndex)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	s := openStore(t)
	var trace bytes.Buffer
	img, err := Pull(context.Background(), NewClient(WithTrace(&trace)), s, mustRef(t, reg.Ref("course/multi")), PullOptions{})
	require.NoError(t, err)
	assert.Equal(t, manifest, img.Descriptor.Digest)
	assert.Contains(t, trace.String(), "/manifests/latest")
	assert.Contains(t, trace.String(), "/manifests/"+manifest.String())

	_, err = Pull(context.Background(), NewClient(), s, mustRef(t, reg.Ref("course/multi")),
		PullOptions{Platform: v1.Platform{OS: "linux", Architecture: "riscv64"}})
	assert.ErrorIs(t, err, ErrNoPlatform)
}
