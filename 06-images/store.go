package image

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	unionfs "berth/04-unionfs"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Store keeps images on disk:
//
//	ROOT/oci/          an OCI image layout: oci-layout, index.json, blobs/sha256/
//	ROOT/layers/HEX    unpacked layers, one directory per chain ID
//	ROOT/ingest/       blobs being written, renamed into blobs/ when verified
//	ROOT/lock          held while index.json changes
//	ROOT/gc.lock       shared by writers, exclusive for garbage collection
//
// Names live in index.json as org.opencontainers.image.ref.name
// annotations, holding the full name (docker.io/library/busybox:latest), so
// `skopeo inspect oci:ROOT/oci:NAME` finds the same image berth does.
type Store struct {
	root string
	snap unionfs.Snapshotter
}

// StoreOption configures Open.
type StoreOption func(*Store)

// WithSnapshotter chooses how layers are unpacked (default: overlay).
func WithSnapshotter(s unionfs.Snapshotter) StoreOption { return func(st *Store) { st.snap = s } }

// maxDocument bounds manifests, indexes and configs read into memory.
const maxDocument = 8 << 20

// Open opens the store at root, creating it if needed.
func Open(root string, opts ...StoreOption) (*Store, error) {
	s := &Store{root: root, snap: unionfs.Overlay()}
	for _, o := range opts {
		o(s)
	}
	for _, d := range []string{s.blobDir(), s.ingestDir(), s.layerDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("image: opening store: %w", err)
		}
	}
	layout := filepath.Join(s.Layout(), v1.ImageLayoutFile)
	if _, err := os.Stat(layout); errors.Is(err, fs.ErrNotExist) {
		b, _ := json.Marshal(v1.ImageLayout{Version: v1.ImageLayoutVersion})
		if err := writeFileAtomic(layout, b); err != nil {
			return nil, fmt.Errorf("image: opening store: %w", err)
		}
	}
	if _, err := os.Stat(s.indexPath()); errors.Is(err, fs.ErrNotExist) {
		if err := s.writeIndex(emptyIndex()); err != nil {
			return nil, fmt.Errorf("image: opening store: %w", err)
		}
	}
	return s, nil
}

// Root is the store's directory; Layout is its OCI image layout.
func (s *Store) Root() string   { return s.root }
func (s *Store) Layout() string { return filepath.Join(s.root, "oci") }

// Snapshotter is how the store unpacks layers.
func (s *Store) Snapshotter() unionfs.Snapshotter { return s.snap }

func (s *Store) blobDir() string   { return filepath.Join(s.Layout(), v1.ImageBlobsDir, "sha256") }
func (s *Store) ingestDir() string { return filepath.Join(s.root, "ingest") }
func (s *Store) layerDir() string  { return filepath.Join(s.root, "layers") }
func (s *Store) indexPath() string { return filepath.Join(s.Layout(), v1.ImageIndexFile) }

// BlobPath is where a blob lives (it may not exist).
func (s *Store) BlobPath(d digest.Digest) string { return filepath.Join(s.blobDir(), d.Encoded()) }

// LayerPath is where the layer with this chain ID is unpacked.
func (s *Store) LayerPath(chainID digest.Digest) string {
	return filepath.Join(s.layerDir(), chainID.Encoded())
}

// Has says whether the blob is stored with the given size (or any size when
// size < 0).
func (s *Store) Has(d digest.Digest, size int64) bool {
	if d.Validate() != nil {
		return false
	}
	fi, err := os.Stat(s.BlobPath(d))
	return err == nil && fi.Mode().IsRegular() && (size < 0 || fi.Size() == size)
}

// WriteBlob stores the blob desc describes, reading it from r. The bytes go
// to a temporary file and are hashed on the way; only if their digest and
// size match desc is the file renamed into place. So a blob in blobs/ is
// always whole and correct: a cut connection or a lying server leaves
// nothing under its name.
func (s *Store) WriteBlob(desc v1.Descriptor, r io.Reader) (retErr error) {
	if err := desc.Digest.Validate(); err != nil {
		return fmt.Errorf("image: writing blob %q: %w", desc.Digest, err)
	}
	if s.Has(desc.Digest, desc.Size) {
		return nil
	}
	tmp, err := os.CreateTemp(s.ingestDir(), desc.Digest.Encoded()+"-")
	if err != nil {
		return fmt.Errorf("image: writing blob: %w", err)
	}
	defer func() {
		if retErr != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	v := desc.Digest.Algorithm().Digester()
	// Read one byte more than promised, to catch a blob that is too long.
	n, err := io.Copy(io.MultiWriter(tmp, v.Hash()), io.LimitReader(r, desc.Size+1))
	if err != nil {
		return fmt.Errorf("image: writing blob %s: %w", desc.Digest, err)
	}
	if n != desc.Size {
		return fmt.Errorf("%w: blob %s is %d bytes, want %d (truncated or padded download)", ErrSizeMismatch, desc.Digest, n, desc.Size)
	}
	if got := v.Digest(); got != desc.Digest {
		return &DigestError{Want: desc.Digest, Got: got, What: "blob " + desc.Digest.String()}
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("image: writing blob %s: %w", desc.Digest, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("image: writing blob %s: %w", desc.Digest, err)
	}
	if err := os.Chmod(tmp.Name(), 0o444); err != nil {
		return fmt.Errorf("image: writing blob %s: %w", desc.Digest, err)
	}
	if err := os.Rename(tmp.Name(), s.BlobPath(desc.Digest)); err != nil {
		return fmt.Errorf("image: writing blob %s: %w", desc.Digest, err)
	}
	return syncDir(s.blobDir())
}

// PutBlob stores a document held in memory and returns its descriptor.
func (s *Store) PutBlob(mediaType string, data []byte) (v1.Descriptor, error) {
	desc := v1.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
	return desc, s.WriteBlob(desc, bytes.NewReader(data))
}

// OpenBlob opens a stored blob for reading. The reader hashes what it
// reads and fails at the end if the bytes no longer match their digest, so
// a blob damaged on disk is noticed by whoever reads it.
func (s *Store) OpenBlob(desc v1.Descriptor) (io.ReadCloser, error) {
	if err := desc.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("image: reading blob %q: %w", desc.Digest, err)
	}
	f, err := os.Open(s.BlobPath(desc.Digest))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s (pull the image again)", ErrBlobNotFound, desc.Digest)
	}
	if err != nil {
		return nil, fmt.Errorf("image: reading blob %s: %w", desc.Digest, err)
	}
	return &verifyingReader{f: f, want: desc.Digest, size: desc.Size, d: desc.Digest.Algorithm().Digester()}, nil
}

// verifyingReader checks a blob's size and digest when it reaches EOF.
type verifyingReader struct {
	f    *os.File
	want digest.Digest
	size int64
	n    int64
	d    digest.Digester
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.f.Read(p)
	v.n += int64(n)
	v.d.Hash().Write(p[:n])
	if err == io.EOF {
		if v.size >= 0 && v.n != v.size {
			return n, fmt.Errorf("%w: stored blob %s is %d bytes, want %d", ErrSizeMismatch, v.want, v.n, v.size)
		}
		if got := v.d.Digest(); got != v.want {
			return n, &DigestError{Want: v.want, Got: got, What: "stored blob " + v.want.String()}
		}
	}
	return n, err
}

func (v *verifyingReader) Close() error { return v.f.Close() }

// ReadBlob reads a whole (small) blob, verified.
func (s *Store) ReadBlob(desc v1.Descriptor) ([]byte, error) {
	if desc.Size > maxDocument {
		return nil, fmt.Errorf("image: blob %s is %d bytes, more than a document may be", desc.Digest, desc.Size)
	}
	r, err := s.OpenBlob(desc)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// Named is one entry of the store's index: a name and the manifest it
// points at.
type Named struct {
	Ref        Reference
	Descriptor v1.Descriptor
}

func emptyIndex() v1.Index {
	return v1.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: v1.MediaTypeImageIndex, Manifests: []v1.Descriptor{}}
}

func (s *Store) readIndex() (v1.Index, error) {
	b, err := os.ReadFile(s.indexPath())
	if err != nil {
		return v1.Index{}, fmt.Errorf("image: reading the store's index: %w", err)
	}
	var idx v1.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return v1.Index{}, fmt.Errorf("image: the store's index %s is damaged: %w", s.indexPath(), err)
	}
	return idx, nil
}

func (s *Store) writeIndex(idx v1.Index) error {
	if idx.Manifests == nil {
		idx.Manifests = []v1.Descriptor{}
	}
	b, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	return writeFileAtomic(s.indexPath(), b)
}

// refName is the name an index entry carries, if any.
func refName(d v1.Descriptor) string { return d.Annotations[v1.AnnotationRefName] }

// Tag points name at the manifest desc, replacing what it pointed at. The
// manifest blob must already be stored.
func (s *Store) Tag(ref Reference, desc v1.Descriptor) error {
	// Keep GC away between checking the manifest and naming it.
	release, err := s.hold()
	if err != nil {
		return err
	}
	defer release()
	if !s.Has(desc.Digest, desc.Size) {
		return fmt.Errorf("%w: tagging %s: manifest %s", ErrBlobNotFound, ref, desc.Digest)
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	entry := v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size, Platform: desc.Platform,
		Annotations: map[string]string{v1.AnnotationRefName: ref.String()}}
	kept := idx.Manifests[:0]
	for _, m := range idx.Manifests {
		if refName(m) != ref.String() {
			kept = append(kept, m)
		}
	}
	idx.Manifests = append(kept, entry)
	return s.writeIndex(idx)
}

// List returns the store's names, sorted.
func (s *Store) List() ([]Named, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	var out []Named
	for _, m := range idx.Manifests {
		ref, err := ParseReference(refName(m))
		if err != nil {
			continue // an entry another tool wrote with a name of its own
		}
		out = append(out, Named{Ref: ref, Descriptor: m})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref.String() < out[j].Ref.String() })
	return out, nil
}

// Resolve finds the manifest a name stands for: a reference (normalised as
// Docker does, so "busybox" finds docker.io/library/busybox:latest), or an
// image ID (the config's digest, "sha256:..." or a prefix of its hex of at
// least 4 digits, as `docker images` shows it).
func (s *Store) Resolve(name string) (Named, error) {
	all, err := s.List()
	if err != nil {
		return Named{}, err
	}
	if ref, perr := ParseReference(name); perr == nil {
		for _, n := range all {
			if n.Ref == ref {
				return n, nil
			}
		}
		// name@sha256:... finds the manifest of that repository whatever
		// tag it is stored under, as Docker's RepoDigests do.
		if ref.Digest != "" {
			for _, n := range all {
				if n.Ref.Name() == ref.Name() && n.Descriptor.Digest == ref.Digest {
					return Named{Ref: ref, Descriptor: n.Descriptor}, nil
				}
			}
		}
	}
	id := strings.TrimPrefix(name, "sha256:")
	if len(id) >= 4 && strings.Trim(id, "0123456789abcdef") == "" {
		var found []Named
		seen := map[digest.Digest]bool{}
		for _, n := range all {
			img, err := s.manifestOf(n.Descriptor)
			if err != nil {
				continue
			}
			if strings.HasPrefix(img.Config.Digest.Encoded(), id) && !seen[n.Descriptor.Digest] {
				seen[n.Descriptor.Digest] = true
				found = append(found, n)
			}
		}
		if len(found) == 1 {
			return found[0], nil
		}
		if len(found) > 1 {
			return Named{}, fmt.Errorf("image: %q matches %d images; give more of the ID", name, len(found))
		}
	}
	return Named{}, fmt.Errorf("%w: %s (pull it, or import a root filesystem tarball)", ErrNotFound, name)
}

// Image is an image in the store, read and verified.
type Image struct {
	Ref        Reference     // the name it was found by
	Descriptor v1.Descriptor // the manifest's
	Manifest   v1.Manifest
	ConfigDesc v1.Descriptor
	Config     v1.Image
}

// ID is Docker's image ID: the digest of the config.
func (i *Image) ID() digest.Digest { return i.Manifest.Config.Digest }

// DiffIDs are the digests of the uncompressed layers, lowest first.
func (i *Image) DiffIDs() []digest.Digest { return i.Config.RootFS.DiffIDs }

// Size is what the image's blobs take: config and layers, as stored.
func (i *Image) Size() int64 {
	n := i.Manifest.Config.Size
	for _, l := range i.Manifest.Layers {
		n += l.Size
	}
	return n
}

// manifestOf reads and checks a stored manifest.
func (s *Store) manifestOf(desc v1.Descriptor) (v1.Manifest, error) {
	b, err := s.ReadBlob(desc)
	if err != nil {
		return v1.Manifest{}, err
	}
	d, mt, err := parseDocument(desc.MediaType, b)
	if err != nil {
		return v1.Manifest{}, err
	}
	if !isManifest(mt) {
		return v1.Manifest{}, fmt.Errorf("%w: %s is an index, not an image manifest", ErrMediaType, desc.Digest)
	}
	return d.manifest(mt), nil
}

// Image reads the image a name (or ID) stands for, verifying its manifest
// and config.
func (s *Store) Image(name string) (*Image, error) {
	n, err := s.Resolve(name)
	if err != nil {
		return nil, err
	}
	m, err := s.manifestOf(n.Descriptor)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", n.Ref, err)
	}
	cfg, err := s.config(m)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", n.Ref, err)
	}
	return &Image{Ref: n.Ref, Descriptor: n.Descriptor, Manifest: m, ConfigDesc: m.Config, Config: cfg}, nil
}

// config reads a manifest's config and checks it agrees with the manifest.
func (s *Store) config(m v1.Manifest) (v1.Image, error) {
	b, err := s.ReadBlob(m.Config)
	if err != nil {
		return v1.Image{}, err
	}
	return parseConfig(m, b)
}

func parseConfig(m v1.Manifest, b []byte) (v1.Image, error) {
	var cfg v1.Image
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, fmt.Errorf("%w: the config is not valid JSON: %v", ErrMediaType, err)
	}
	if cfg.RootFS.Type != "layers" {
		return cfg, fmt.Errorf("%w: the config's rootfs type is %q, want \"layers\"", ErrMediaType, cfg.RootFS.Type)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return cfg, fmt.Errorf("%w: the config lists %d diff IDs for %d layers", ErrMediaType, len(cfg.RootFS.DiffIDs), len(m.Layers))
	}
	for _, d := range cfg.RootFS.DiffIDs {
		if err := d.Validate(); err != nil {
			return cfg, fmt.Errorf("%w: diff ID %q: %v", ErrMediaType, d, err)
		}
	}
	return cfg, nil
}

// Untag removes a name. The image's blobs stay until GC finds nothing
// else needs them.
func (s *Store) Untag(name string) (Named, error) {
	n, err := s.Resolve(name)
	if err != nil {
		return Named{}, err
	}
	unlock, err := s.lock()
	if err != nil {
		return Named{}, err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return Named{}, err
	}
	kept := idx.Manifests[:0]
	for _, m := range idx.Manifests {
		if refName(m) != n.Ref.String() {
			kept = append(kept, m)
		}
	}
	idx.Manifests = kept
	return n, s.writeIndex(idx)
}

// writeFileAtomic replaces path with data: write a temporary sibling, sync
// it, rename it over path. Readers see the old file or the new, never half.
func writeFileAtomic(path string, data []byte) error {
	tmp := fmt.Sprintf("%s.tmp-%s", path, randomHex(4))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes a rename in dir durable: without it a crash can lose the
// new name even though the file's bytes were synced.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
