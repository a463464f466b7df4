package image

import (
	"testing"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testManifest = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
		"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + zeros + `","size":2},
		"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:` + zeros + `","size":3}]}`
	testIndex = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`
	zeros     = "0000000000000000000000000000000000000000000000000000000000000000"
)

func TestParseDocumentChecksTheMediaType(t *testing.T) {
	tests := []struct {
		name, mediaType, body, want, err string
	}{
		{"OCI manifest", v1.MediaTypeImageManifest, testManifest, v1.MediaTypeImageManifest, ""},
		{"generic content type defers to the body", "application/json", testManifest, v1.MediaTypeImageManifest, ""},
		{"OCI index", v1.MediaTypeImageIndex, testIndex, v1.MediaTypeImageIndex, ""},
		{"unlabelled index judged by shape", "", `{"schemaVersion":2,"manifests":[]}`, v1.MediaTypeImageIndex, ""},
		{"Docker schema 2 manifest", MediaTypeDockerManifest,
			`{"schemaVersion":2,"mediaType":"` + MediaTypeDockerManifest + `","config":{"mediaType":"` + MediaTypeDockerConfig + `","digest":"sha256:` + zeros + `","size":1},"layers":[{"mediaType":"` + MediaTypeDockerLayer + `","digest":"sha256:` + zeros + `","size":1}]}`,
			MediaTypeDockerManifest, ""},
		{"index served as a manifest", v1.MediaTypeImageManifest, testIndex, "", "served as"},
		{"manifest body with an index's shape", v1.MediaTypeImageManifest, `{"schemaVersion":2,"manifests":[]}`, "", "without a config"},
		{"index with layers", v1.MediaTypeImageIndex, `{"schemaVersion":2,"manifests":[],"layers":[]}`, "", "with a config or layers"},
		{"schema 1", mediaTypeDockerSchema1, `{"schemaVersion":1}`, "", "schema 1"},
		{"not JSON", v1.MediaTypeImageManifest, `<html>`, "", "not valid JSON"},
		{"unknown type", "application/vnd.example+json", `{"schemaVersion":2}`, "", "not a manifest or an index"},
		{"unknown layer type", v1.MediaTypeImageManifest,
			`{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:` + zeros + `","size":1},"layers":[{"mediaType":"application/x-rar","digest":"sha256:` + zeros + `","size":1}]}`, "", "not a layer type"},
		{"bad layer digest", v1.MediaTypeImageManifest,
			`{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:` + zeros + `","size":1},"layers":[{"mediaType":"` + v1.MediaTypeImageLayer + `","digest":"sha256:xyz","size":1}]}`, "", "layer digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, mt, err := parseDocument(tt.mediaType, []byte(tt.body))
			if tt.err != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrMediaType)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, mt)
		})
	}
}

func TestChoosePlatform(t *testing.T) {
	d := func(n byte, os, arch, variant string) v1.Descriptor {
		return v1.Descriptor{MediaType: v1.MediaTypeImageManifest, Digest: digest.FromBytes([]byte{n}),
			Platform: &v1.Platform{OS: os, Architecture: arch, Variant: variant}}
	}
	idx := []v1.Descriptor{
		d(1, "unknown", "unknown", ""), // an attestation
		d(2, "linux", "arm", "v6"),
		d(3, "linux", "arm", "v7"),
		d(4, "linux", "arm64", ""),
		d(5, "linux", "amd64", ""),
		d(6, "windows", "amd64", ""),
	}
	tests := []struct {
		want v1.Platform
		n    byte
	}{
		{v1.Platform{OS: "linux", Architecture: "amd64"}, 5},
		{v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, 4},
		{v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, 3},
		{v1.Platform{OS: "windows", Architecture: "amd64"}, 6},
	}
	for _, tt := range tests {
		got, err := choosePlatform(idx, tt.want)
		require.NoError(t, err)
		assert.Equal(t, digest.FromBytes([]byte{tt.n}), got.Digest, "%+v", tt.want)
	}
	_, err := choosePlatform(idx, v1.Platform{OS: "linux", Architecture: "s390x"})
	assert.ErrorIs(t, err, ErrNoPlatform)
	assert.Contains(t, err.Error(), "linux/arm/v7", "the error lists what the index offers")
}

func TestChainIDs(t *testing.T) {
	a, b, c := digest.FromString("a"), digest.FromString("b"), digest.FromString("c")
	ids := ChainIDs([]digest.Digest{a, b, c})
	require.Len(t, ids, 3)
	assert.Equal(t, a, ids[0], "the bottom layer's chain ID is its diff ID")
	assert.Equal(t, digest.FromString(a.String()+" "+b.String()), ids[1])
	assert.Equal(t, digest.FromString(ids[1].String()+" "+c.String()), ids[2])
	other := ChainIDs([]digest.Digest{b, b, c})
	assert.NotEqual(t, ids[2], other[2], "the same top layer on other parents is another chain")
}

func TestLayerCompression(t *testing.T) {
	for mt, want := range map[string]Compression{
		v1.MediaTypeImageLayer: Uncompressed, v1.MediaTypeImageLayerGzip: Gzip, v1.MediaTypeImageLayerZstd: Zstd,
		MediaTypeDockerLayer: Gzip, MediaTypeDockerForeignLayer: Gzip,
	} {
		got, err := LayerCompression(mt)
		require.NoError(t, err)
		assert.Equal(t, want, got, mt)
	}
	_, err := LayerCompression("application/octet-stream")
	assert.ErrorIs(t, err, ErrMediaType)
}
