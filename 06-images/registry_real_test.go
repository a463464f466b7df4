package image

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth/steps/testkit"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests talk to a real registry (Debian's docker-registry, started
// on 127.0.0.1 for the test) with skopeo as the reference client on the
// other side. None needs root: moving blobs is not unpacking them.

// fixtureLayers is an image of three layers, with a deletion and an
// opaque directory, as the tests push it with skopeo.
var fixtureLayers = [][]testkit.Entry{
	{
		{Name: "bin/", Type: '5'}, {Name: "bin/tool", Body: "#!/bin/sh\necho tool v1\n", Mode: 0o755},
		{Name: "etc/", Type: '5'}, {Name: "etc/motd", Body: "welcome\n"}, {Name: "etc/os-release", Body: "ID=fixture\n"},
		{Name: "app/", Type: '5'}, {Name: "app/old.txt", Body: "old\n"},
	},
	{
		{Name: "etc/", Type: '5'}, {Name: "etc/.wh.motd"},
		{Name: "bin/", Type: '5'}, {Name: "bin/tool", Body: "#!/bin/sh\necho tool v2\n", Mode: 0o755},
	},
	{
		{Name: "app/", Type: '5'}, {Name: "app/.wh..wh..opq"}, {Name: "app/new.txt", Body: "new\n"},
		{Name: "bin/sh", Type: '2', Linkname: "tool"},
	},
}

// skopeoPush writes the fixture as an OCI layout and copies it to the
// registry with skopeo, returning the manifest digest skopeo pushed.
func skopeoPush(t *testing.T, reg *testkit.Registry, repo string, layers [][]testkit.Entry) (Reference, digest.Digest) {
	t.Helper()
	dir := t.TempDir()
	_, err := testkit.WriteOCILayout(dir, "fixture", layers...)
	require.NoError(t, err)
	reg.Skopeo(t, "copy", "oci:"+dir+":fixture", "docker://"+reg.Ref(repo))
	out := reg.Skopeo(t, "inspect", "--raw", "docker://"+reg.Ref(repo))
	ref, err := ParseReference(reg.Ref(repo))
	require.NoError(t, err)
	return ref, digest.FromString(out)
}

func clientFor(reg *testkit.Registry, opts ...ClientOption) *Client {
	if reg.User != "" {
		opts = append(opts, WithCredentials(reg.Addr, Credentials{User: reg.User, Password: reg.Password}))
	}
	return NewClient(opts...)
}

func TestPullWhatSkopeoPushed(t *testing.T) {
	for _, auth := range []bool{false, true} {
		name := map[bool]string{false: "no auth", true: "htpasswd"}[auth]
		t.Run(name, func(t *testing.T) {
			reg := testkit.NewRegistry(t, testkit.RegistryOptions{Auth: auth})
			ref, pushed := skopeoPush(t, reg, "course/fixture:1", fixtureLayers)
			s := openStore(t)
			var trace, lines bytes.Buffer
			img, err := Pull(context.Background(), clientFor(reg, WithTrace(&trace)), s, ref, PullOptions{Progress: NewLines(&lines)})
			require.NoError(t, err)
			assert.Equal(t, pushed, img.Descriptor.Digest, "the manifest is the one skopeo pushed, byte for byte")
			require.Len(t, img.Manifest.Layers, 3)
			for _, l := range img.Manifest.Layers {
				assert.True(t, s.Has(l.Digest, l.Size))
			}
			assert.Equal(t, []string{"/bin/sh"}, img.Config.Config.Cmd)
			assert.Contains(t, lines.String(), "1: Pulling from "+reg.Addr+"/course/fixture")
			assert.Contains(t, lines.String(), ShortID(img.Manifest.Layers[0].Digest)+": Download complete")
			if auth {
				assert.Contains(t, trace.String(), "< 401 Unauthorized")
				assert.Contains(t, trace.String(), "[Authorization: Basic …]")
				assert.NotContains(t, trace.String(), reg.Password)
			}

			// skopeo reads berth's store as an OCI layout.
			var info struct {
				Digest digest.Digest
				Layers []digest.Digest
			}
			out := reg.Skopeo(t, "inspect", "oci:"+s.Layout()+":"+ref.String())
			require.NoError(t, json.Unmarshal([]byte(out), &info), out)
			assert.Equal(t, pushed, info.Digest)
			assert.Len(t, info.Layers, 3)

			// Pulling again fetches the manifest and nothing else.
			trace.Reset()
			lines.Reset()
			_, err = Pull(context.Background(), clientFor(reg, WithTrace(&trace)), s, ref, PullOptions{Progress: NewLines(&lines)})
			require.NoError(t, err)
			assert.NotContains(t, trace.String(), "/blobs/")
			assert.Equal(t, 3, strings.Count(lines.String(), "Already exists"))
		})
	}
}

func TestPullRefusesBadCredentials(t *testing.T) {
	reg := testkit.NewRegistry(t, testkit.RegistryOptions{Auth: true})
	ref := mustRef(t, reg.Ref("course/none:1"))
	s := openStore(t)
	_, err := Pull(context.Background(), NewClient(), s, ref, PullOptions{})
	assert.ErrorIs(t, err, ErrUnauthorized)
	assert.Contains(t, err.Error(), "wants a user name and password")
	_, err = Pull(context.Background(), NewClient(WithCredentials(reg.Addr, Credentials{User: reg.User, Password: "wrong"})), s, ref, PullOptions{})
	assert.ErrorIs(t, err, ErrUnauthorized)
	all, _ := s.List()
	assert.Empty(t, all)
}

func TestPullOfAMissingImageSaysSo(t *testing.T) {
	reg := testkit.NewRegistry(t, testkit.RegistryOptions{})
	s := openStore(t)
	_, err := Pull(context.Background(), NewClient(), s, mustRef(t, reg.Ref("course/nothing:1")), PullOptions{})
	assert.ErrorIs(t, err, ErrManifestUnknown)
	assert.Contains(t, err.Error(), "MANIFEST_UNKNOWN")
}

// The registry's own storage is edited behind its back: it serves the
// changed bytes, and berth refuses them.
func TestPullDetectsATamperedBlob(t *testing.T) {
	reg := testkit.NewRegistry(t, testkit.RegistryOptions{})
	ref, _ := skopeoPush(t, reg, "course/fixture:1", fixtureLayers)
	s := openStore(t)
	var man struct {
		Layers []struct{ Digest digest.Digest }
	}
	raw := reg.Skopeo(t, "inspect", "--raw", "docker://"+reg.Ref("course/fixture:1"))
	require.NoError(t, json.Unmarshal([]byte(raw), &man))
	victim := man.Layers[1].Digest
	data := filepath.Join(reg.Dir, "storage", "docker", "registry", "v2", "blobs", "sha256", victim.Encoded()[:2], victim.Encoded(), "data")
	if _, err := os.Stat(data); err != nil {
		// Find the blob wherever this registry version keeps it.
		filepath.Walk(reg.Dir, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Name() == "data" && strings.Contains(p, victim.Encoded()) {
				data = p
			}
			return nil
		})
	}
	b, err := os.ReadFile(data)
	require.NoError(t, err, "the registry keeps blobs as files")
	b[len(b)/2] ^= 0xff
	require.NoError(t, os.WriteFile(data, b, 0o644))

	_, err = Pull(context.Background(), NewClient(), s, ref, PullOptions{})
	var de *DigestError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, victim, de.Want)
	assert.Contains(t, err.Error(), "layer 2")
	assert.False(t, s.Has(victim, -1), "the tampered blob is not stored")
	all, _ := s.List()
	assert.Empty(t, all, "no name for a half-pulled image")
	ingestEmpty(t, s)
}

func TestPushIsReadBackBySkopeo(t *testing.T) {
	for _, chunk := range []int64{0, 7} {
		name := map[bool]string{true: "monolithic", false: "chunked"}[chunk == 0]
		t.Run(name, func(t *testing.T) {
			reg := testkit.NewRegistry(t, testkit.RegistryOptions{Auth: chunk > 0})
			src, pushed := skopeoPush(t, reg, "course/src:1", fixtureLayers)
			s := openStore(t)
			_, err := Pull(context.Background(), clientFor(reg), s, src, PullOptions{})
			require.NoError(t, err)

			// A fresh registry has none of the blobs: every byte goes up.
			other := testkit.NewRegistry(t, testkit.RegistryOptions{Auth: chunk > 0})
			dst := mustRef(t, other.Ref("course/copy:2"))
			var trace, lines bytes.Buffer
			desc, err := Push(context.Background(), clientFor(other, WithTrace(&trace), WithChunkSize(chunk)), s, src.String(), dst, NewLines(&lines))
			require.NoError(t, err)
			assert.Equal(t, pushed, desc.Digest)
			assert.Equal(t, 4, strings.Count(lines.String(), ": Pushed"), lines.String())
			if chunk > 0 {
				assert.Contains(t, trace.String(), "> PATCH ")
				assert.Contains(t, trace.String(), "[Content-Range: 0-6]")
			} else {
				assert.NotContains(t, trace.String(), "> PATCH ")
			}
			raw := other.Skopeo(t, "inspect", "--raw", "docker://"+other.Ref("course/copy:2"))
			assert.Equal(t, pushed, digest.FromString(raw))
			out := t.TempDir()
			other.Skopeo(t, "copy", "docker://"+other.Ref("course/copy:2"), "oci:"+out+":copy")

			// Pushing again sends no blob.
			lines.Reset()
			_, err = Push(context.Background(), clientFor(other), s, src.String(), dst, NewLines(&lines))
			require.NoError(t, err)
			assert.Equal(t, 4, strings.Count(lines.String(), "Layer already exists"))
		})
	}
}

func TestPushMountsBlobsFromAnotherRepository(t *testing.T) {
	reg := testkit.NewRegistry(t, testkit.RegistryOptions{})
	src, pushed := skopeoPush(t, reg, "course/src:1", fixtureLayers)
	s := openStore(t)
	_, err := Pull(context.Background(), NewClient(), s, src, PullOptions{})
	require.NoError(t, err)
	var trace, lines bytes.Buffer
	desc, err := Push(context.Background(), NewClient(WithTrace(&trace)), s, src.String(), mustRef(t, reg.Ref("team/app:1")), NewLines(&lines))
	require.NoError(t, err)
	assert.Equal(t, pushed, desc.Digest)
	assert.Equal(t, 4, strings.Count(lines.String(), "Mounted from course/src"), lines.String())
	assert.Contains(t, trace.String(), "?from=course/src&mount=sha256:")
	assert.Contains(t, trace.String(), "< 201 Created")
}
