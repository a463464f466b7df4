package image

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Docker's own media types. A Docker schema 2 manifest and manifest list
// have the same shape as OCI's manifest and index; only the names differ.
const (
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeDockerConfig       = "application/vnd.docker.container.image.v1+json"
	MediaTypeDockerLayer        = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	MediaTypeDockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
	mediaTypeDockerSchema1      = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

// manifestTypes is what a client accepts when it asks a registry for a
// manifest, most wanted first.
var manifestTypes = []string{
	v1.MediaTypeImageIndex, MediaTypeDockerManifestList,
	v1.MediaTypeImageManifest, MediaTypeDockerManifest,
}

func isIndex(mt string) bool {
	return mt == v1.MediaTypeImageIndex || mt == MediaTypeDockerManifestList
}

func isManifest(mt string) bool {
	return mt == v1.MediaTypeImageManifest || mt == MediaTypeDockerManifest
}

// Compression is how a layer blob is packed.
type Compression string

const (
	Uncompressed Compression = ""
	Gzip         Compression = "gzip"
	Zstd         Compression = "zstd"
)

// LayerCompression reads a layer's media type.
func LayerCompression(mediaType string) (Compression, error) {
	switch mediaType {
	case v1.MediaTypeImageLayer, v1.MediaTypeImageLayerNonDistributable: //nolint:staticcheck // still found in the wild
		return Uncompressed, nil
	case v1.MediaTypeImageLayerGzip, v1.MediaTypeImageLayerNonDistributableGzip, //nolint:staticcheck
		MediaTypeDockerLayer, MediaTypeDockerForeignLayer:
		return Gzip, nil
	case v1.MediaTypeImageLayerZstd, v1.MediaTypeImageLayerNonDistributableZstd: //nolint:staticcheck
		return Zstd, nil
	case "application/vnd.docker.image.rootfs.diff.tar":
		return Uncompressed, nil
	}
	return "", fmt.Errorf("%w: %q is not a layer type berth can unpack", ErrMediaType, mediaType)
}

// document is the union of a manifest and an index, decoded to tell which
// one a body really is.
type document struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType,omitempty"`
	Config        *v1.Descriptor    `json:"config,omitempty"`
	Layers        []v1.Descriptor   `json:"layers,omitempty"`
	Manifests     []v1.Descriptor   `json:"manifests,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// parseDocument checks that body is what mediaType says it is (a registry
// sends the type in Content-Type, a store in the descriptor) and returns its
// real type. A document that claims one thing and holds another is refused:
// trusting the wrong one lets an index pass for a manifest.
func parseDocument(mediaType string, body []byte) (document, string, error) {
	var d document
	if err := json.Unmarshal(body, &d); err != nil {
		return d, "", fmt.Errorf("%w: %s is not valid JSON: %v", ErrMediaType, orUnknown(mediaType), err)
	}
	if mediaType == mediaTypeDockerSchema1 || d.SchemaVersion == 1 {
		return d, "", fmt.Errorf("%w: Docker schema 1 manifests are deprecated and not supported; push the image again with a current tool", ErrMediaType)
	}
	if d.SchemaVersion != 2 {
		return d, "", fmt.Errorf("%w: schemaVersion is %d, want 2", ErrMediaType, d.SchemaVersion)
	}
	// A generic Content-Type (or none) defers to the document's own field.
	mt := mediaType
	if mt == "" || strings.HasPrefix(mt, "application/json") || strings.HasPrefix(mt, "text/plain") {
		mt = d.MediaType
	}
	if d.MediaType != "" && d.MediaType != mt {
		return d, "", fmt.Errorf("%w: served as %s but the document says %s", ErrMediaType, mt, d.MediaType)
	}
	if mt == "" { // OCI allows an unlabelled document: judge by shape.
		if d.Manifests != nil {
			mt = v1.MediaTypeImageIndex
		} else {
			mt = v1.MediaTypeImageManifest
		}
	}
	switch {
	case isIndex(mt):
		if d.Config != nil || d.Layers != nil {
			return d, "", fmt.Errorf("%w: an index (%s) with a config or layers", ErrMediaType, mt)
		}
	case isManifest(mt):
		if d.Manifests != nil || d.Config == nil {
			return d, "", fmt.Errorf("%w: a manifest (%s) without a config, or with a list of manifests", ErrMediaType, mt)
		}
		for _, l := range d.Layers {
			if _, err := LayerCompression(l.MediaType); err != nil {
				return d, "", err
			}
			if err := l.Digest.Validate(); err != nil {
				return d, "", fmt.Errorf("%w: layer digest %q: %v", ErrMediaType, l.Digest, err)
			}
		}
		if err := d.Config.Digest.Validate(); err != nil {
			return d, "", fmt.Errorf("%w: config digest %q: %v", ErrMediaType, d.Config.Digest, err)
		}
	default:
		return d, "", fmt.Errorf("%w: %s is not a manifest or an index", ErrMediaType, orUnknown(mt))
	}
	return d, mt, nil
}

func orUnknown(mt string) string {
	if mt == "" {
		return "a document of no declared type"
	}
	return mt
}

func (d document) manifest(mt string) v1.Manifest {
	return v1.Manifest{MediaType: mt, Config: *d.Config, Layers: d.Layers, Annotations: d.Annotations}
}

// Platform is the host's, as image indexes name platforms.
func Platform() v1.Platform {
	p := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	switch runtime.GOARCH {
	case "arm64":
		p.Variant = "v8"
	case "arm":
		p.Variant = "v7"
	}
	return p
}

// choosePlatform picks want's manifest from an index. Attestations and
// other non-images are listed with platform unknown/unknown and never match.
func choosePlatform(idx []v1.Descriptor, want v1.Platform) (v1.Descriptor, error) {
	var seen []string
	for _, m := range idx {
		if m.Platform == nil {
			continue
		}
		p := *m.Platform
		seen = append(seen, strings.TrimSuffix(p.OS+"/"+p.Architecture+"/"+p.Variant, "/"))
		if p.OS != want.OS || p.Architecture != want.Architecture {
			continue
		}
		// "arm64" with no variant means v8; other variants must agree.
		if p.Variant != "" && want.Variant != "" && p.Variant != want.Variant {
			continue
		}
		if !isManifest(m.MediaType) {
			continue
		}
		return m, nil
	}
	return v1.Descriptor{}, fmt.Errorf("%w: want %s/%s, the index has %v", ErrNoPlatform, want.OS, want.Architecture, seen)
}

// ChainIDs names each layer together with everything below it: the first
// is its diff ID, then chain(n) = sha256(chain(n-1) + " " + diffID(n)).
// An unpacked layer depends on its parents, so it is stored by chain ID.
func ChainIDs(diffIDs []digest.Digest) []digest.Digest {
	out := make([]digest.Digest, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			out[i] = d
			continue
		}
		out[i] = digest.FromString(out[i-1].String() + " " + d.String())
	}
	return out
}
