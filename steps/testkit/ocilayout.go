package testkit

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Entry is one file of a layer. Whiteouts are ordinary entries named as
// the OCI image spec says: ".wh.NAME" deletes NAME from the layers below,
// "DIR/.wh..wh..opq" hides everything below DIR.
type Entry struct {
	Name     string // written as given, so a test can build hostile names ("../x")
	Body     string // the content of a regular file
	Mode     int64  // permission bits; 0 means 0644 for files, 0755 for directories, 0777 for symlinks
	Type     byte   // tar.TypeReg when 0; tar.TypeDir, tar.TypeSymlink or tar.TypeLink with Linkname
	Linkname string
}

// fixtureTime stamps every file, config and history entry WriteOCILayout
// writes, so the same layers always give the same digests.
var fixtureTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// fixtureEnv and fixtureCmd are the configuration of every image
// WriteOCILayout writes.
var (
	fixtureEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	fixtureCmd = []string{"/bin/sh"}
)

// WriteOCILayout writes an image made of layers (the first one at the
// bottom) into the OCI image layout at dir, creating it if needed, and
// names it refName in index.json (org.opencontainers.image.ref.name),
// replacing an image of that name; other images in the layout are kept.
// Each layer is a gzip'd tar of its entries sorted by name; the config is
// for linux on this machine's architecture, with the Debian PATH in Env
// and Cmd ["/bin/sh"]. It returns the manifest's digest. The result is the same byte for byte on every run.
func WriteOCILayout(dir, refName string, layers ...[]Entry) (manifestDigest string, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("testkit: writing OCI layout %s: %w", dir, err)
		}
	}()
	if err := os.MkdirAll(filepath.Join(dir, v1.ImageBlobsDir, "sha256"), 0o755); err != nil {
		return "", err
	}
	layout, err := json.Marshal(v1.ImageLayout{Version: v1.ImageLayoutVersion})
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, v1.ImageLayoutFile), layout, 0o644); err != nil {
		return "", err
	}

	created := fixtureTime
	config := v1.Image{
		Created:  &created,
		Platform: v1.Platform{Architecture: runtime.GOARCH, OS: "linux"},
		Config:   v1.ImageConfig{Env: fixtureEnv, Cmd: fixtureCmd},
		RootFS:   v1.RootFS{Type: "layers", DiffIDs: []digest.Digest{}},
	}
	manifest := v1.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: v1.MediaTypeImageManifest,
		Layers:    []v1.Descriptor{},
	}
	for i, entries := range layers {
		tarball, err := layerTar(entries)
		if err != nil {
			return "", fmt.Errorf("layer %d: %w", i, err)
		}
		gz, err := gzipBytes(tarball)
		if err != nil {
			return "", fmt.Errorf("layer %d: %w", i, err)
		}
		desc, err := writeBlob(dir, v1.MediaTypeImageLayerGzip, gz)
		if err != nil {
			return "", err
		}
		manifest.Layers = append(manifest.Layers, desc)
		config.RootFS.DiffIDs = append(config.RootFS.DiffIDs, digest.FromBytes(tarball))
		config.History = append(config.History, v1.History{
			Created:   &created,
			CreatedBy: fmt.Sprintf("berth testkit: layer %d of %d, %d entries", i+1, len(layers), len(entries)),
		})
	}
	b, err := json.Marshal(config)
	if err != nil {
		return "", err
	}
	if manifest.Config, err = writeBlob(dir, v1.MediaTypeImageConfig, b); err != nil {
		return "", err
	}
	if b, err = json.Marshal(manifest); err != nil {
		return "", err
	}
	desc, err := writeBlob(dir, v1.MediaTypeImageManifest, b)
	if err != nil {
		return "", err
	}
	if refName != "" {
		desc.Annotations = map[string]string{v1.AnnotationRefName: refName}
	}
	if err := addToIndex(dir, desc); err != nil {
		return "", err
	}
	return desc.Digest.String(), nil
}

// layerTar writes entries, sorted by name, as an uncompressed tar.
func layerTar(entries []Entry) ([]byte, error) {
	sorted := append([]Entry(nil), entries...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range sorted {
		hdr := &tar.Header{Name: e.Name, Typeflag: e.Type, Mode: e.Mode, Linkname: e.Linkname, ModTime: fixtureTime}
		switch e.Type {
		case 0, tar.TypeReg:
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.Body))
			if hdr.Mode == 0 {
				hdr.Mode = 0o644
			}
		case tar.TypeDir:
			if hdr.Mode == 0 {
				hdr.Mode = 0o755
			}
		case tar.TypeSymlink:
			if hdr.Mode == 0 {
				hdr.Mode = 0o777
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.Body)); err != nil {
				return nil, fmt.Errorf("%s: %w", e.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// gzipBytes compresses b with no name and no time in the gzip header,
// so the result depends only on b.
func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeBlob stores b under blobs/sha256/ and returns its descriptor.
func writeBlob(dir, mediaType string, b []byte) (v1.Descriptor, error) {
	d := digest.FromBytes(b)
	path := filepath.Join(dir, v1.ImageBlobsDir, d.Algorithm().String(), d.Encoded())
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(b))}, nil
}

// addToIndex adds desc to dir's index.json, in place of a manifest with the
// same ref name.
func addToIndex(dir string, desc v1.Descriptor) error {
	path := filepath.Join(dir, v1.ImageIndexFile)
	index := v1.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: v1.MediaTypeImageIndex}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(b, &index); err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
	}
	name := desc.Annotations[v1.AnnotationRefName]
	manifests := []v1.Descriptor{}
	for _, m := range index.Manifests {
		if name == "" || m.Annotations[v1.AnnotationRefName] != name {
			manifests = append(manifests, m)
		}
	}
	index.Manifests = append(manifests, desc)
	if b, err = json.Marshal(index); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
