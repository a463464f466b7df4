package image

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Unpack makes sure every layer of img is unpacked and returns their
// directories, lowest first: what chapter 04's Snapshotter stacks into a
// container's root. A layer already unpacked, by this image or another
// with the same layers below it, is shared, not unpacked again.
func (s *Store) Unpack(img *Image, p Progress) ([]string, error) {
	p = orDiscard(p)
	release, err := s.hold()
	if err != nil {
		return nil, err
	}
	defer release()
	chain := ChainIDs(img.DiffIDs())
	dirs := make([]string, 0, len(chain))
	for i, l := range img.Manifest.Layers {
		dir := s.LayerPath(chain[i])
		if _, err := os.Lstat(dir); err == nil {
			dirs = append(dirs, dir)
			continue
		}
		what := fmt.Sprintf("layer %d of %s", i+1, img.Ref)
		if err := s.unpackLayer(l, img.DiffIDs()[i], dir, dirs, what, p); err != nil {
			return nil, err
		}
		dirs = append(dirs, dir)
	}
	return dirs, nil
}

// unpackLayer applies one layer blob. Three checks on the way: the blob
// hashes to its digest (the reader), the uncompressed stream hashes to the
// diff ID the config promised (the tee), and chapter 04's Unpack refuses
// entries that would land outside the layer. The directory gets its name
// only after all three pass.
func (s *Store) unpackLayer(l v1.Descriptor, diffID digest.Digest, dir string, parents []string, what string, p Progress) (retErr error) {
	comp, err := LayerCompression(l.MediaType)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	blob, err := s.OpenBlob(l)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer blob.Close()
	raw, err := decompress(newCounter(blob, p, ShortID(l.Digest), "Extracting", l.Size), comp)
	if err != nil {
		return fmt.Errorf("image: %s: %w", what, err)
	}
	defer raw.Close()
	dd := diffID.Algorithm().Digester()
	tee := io.TeeReader(raw, dd.Hash())

	tmp := filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".verify-"+randomHex(4))
	defer func() {
		if retErr != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := s.snap.Unpack(tee, tmp, parents); err != nil {
		return fmt.Errorf("image: unpacking %s: %w", what, err)
	}
	// The tar reader stops at the end-of-archive marker; read the rest so
	// the digests cover every byte.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return fmt.Errorf("image: unpacking %s: %w", what, err)
	}
	if got := dd.Digest(); got != diffID {
		return &DigestError{Want: diffID, Got: got, What: what + " (uncompressed: the diff ID)"}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Lstat(dir); serr == nil {
			// Another process unpacked the same layer first: use theirs.
			os.RemoveAll(tmp)
			return nil
		}
		return fmt.Errorf("image: unpacking %s: %w", what, err)
	}
	p.Update(Event{ID: ShortID(l.Digest), Action: "Pull complete"})
	return nil
}

// decompress undoes a layer's compression.
func decompress(r io.Reader, c Compression) (io.ReadCloser, error) {
	switch c {
	case Uncompressed:
		return io.NopCloser(r), nil
	case Gzip:
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("reading gzip: %w", err)
		}
		return z, nil
	case Zstd:
		z, err := zstd.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("reading zstd: %w", err)
		}
		return z.IOReadCloser(), nil
	}
	return nil, fmt.Errorf("%w: compression %q", ErrMediaType, c)
}

// Layers returns img's unpacked layer directories without unpacking:
// ErrBlobNotFound if any is missing.
func (s *Store) Layers(img *Image) ([]string, error) {
	var dirs []string
	for _, c := range ChainIDs(img.DiffIDs()) {
		dir := s.LayerPath(c)
		if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: layer %s of %s is not unpacked", ErrBlobNotFound, c, img.Ref)
		}
		dirs = append(dirs, dir)
	}
	return dirs, nil
}
