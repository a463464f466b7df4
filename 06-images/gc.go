package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// Freed is what Remove or GC took away.
type Freed struct {
	Untagged []string        // names removed
	Blobs    []digest.Digest // blobs deleted
	Layers   []digest.Digest // unpacked layers deleted, by chain ID
	Bytes    int64           // blob bytes freed
}

// Remove drops a name, then collects what no other name needs, as
// `docker rmi` does: an image with two tags loses one and keeps its blobs.
func (s *Store) Remove(name string) (Freed, error) {
	n, err := s.Untag(name)
	if err != nil {
		return Freed{}, err
	}
	f, err := s.GC()
	f.Untagged = append([]string{n.Ref.String()}, f.Untagged...)
	return f, err
}

// GC deletes every blob and unpacked layer that no name in index.json
// reaches: mark from the index (index → manifests → config and layers,
// configs → chain IDs), then sweep blobs/, layers/ and ingest/. It waits
// for writers (pulls, loads, unpacks) to finish and keeps new ones out
// meanwhile, so nothing half-pulled is taken.
func (s *Store) GC() (Freed, error) {
	unlock, err := flock(filepath.Join(s.root, "gc.lock"), unix.LOCK_EX)
	if err != nil {
		return Freed{}, err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return Freed{}, err
	}
	blobs, layers := map[digest.Digest]bool{}, map[string]bool{}
	var walk func(d v1.Descriptor) error
	walk = func(d v1.Descriptor) error {
		if blobs[d.Digest] {
			return nil
		}
		blobs[d.Digest] = true
		if !isIndex(d.MediaType) && !isManifest(d.MediaType) {
			return nil
		}
		if !s.Has(d.Digest, -1) {
			return nil // a partial index: children for other platforms are not kept
		}
		b, err := s.ReadBlob(d)
		if err != nil {
			return err
		}
		doc, mt, err := parseDocument(d.MediaType, b)
		if err != nil {
			return err
		}
		if isIndex(mt) {
			for _, m := range doc.Manifests {
				if err := walk(m); err != nil {
					return err
				}
			}
			return nil
		}
		m := doc.manifest(mt)
		blobs[m.Config.Digest] = true
		for _, l := range m.Layers {
			blobs[l.Digest] = true
		}
		cfg, err := s.config(m)
		if err != nil {
			return err
		}
		for _, c := range ChainIDs(cfg.RootFS.DiffIDs) {
			layers[c.Encoded()] = true
		}
		return nil
	}
	for _, m := range idx.Manifests {
		if err := walk(m); err != nil {
			// Sweeping on a partial mark would delete what a damaged
			// image still needs; stop and say which.
			return Freed{}, fmt.Errorf("image: garbage collection stopped: %s (%s): %w (remove that image and collect again)", refName(m), m.Digest, err)
		}
	}
	var f Freed
	entries, err := os.ReadDir(s.blobDir())
	if err != nil {
		return f, fmt.Errorf("image: garbage collection: %w", err)
	}
	for _, e := range entries {
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if blobs[d] {
			continue
		}
		if fi, err := e.Info(); err == nil {
			f.Bytes += fi.Size()
		}
		if err := os.Remove(filepath.Join(s.blobDir(), e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return f, fmt.Errorf("image: garbage collection: %w", err)
		}
		f.Blobs = append(f.Blobs, d)
	}
	entries, err = os.ReadDir(s.layerDir())
	if err != nil {
		return f, fmt.Errorf("image: garbage collection: %w", err)
	}
	for _, e := range entries {
		if layers[e.Name()] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.layerDir(), e.Name())); err != nil {
			return f, fmt.Errorf("image: garbage collection: %w", err)
		}
		if !strings.HasPrefix(e.Name(), ".") { // leftovers of a crashed unpack are not layers
			f.Layers = append(f.Layers, digest.NewDigestFromEncoded(digest.SHA256, e.Name()))
		}
	}
	// Nobody writes while we hold the lock: anything in ingest/ was left
	// by a process that died mid-download.
	entries, _ = os.ReadDir(s.ingestDir())
	for _, e := range entries {
		os.RemoveAll(filepath.Join(s.ingestDir(), e.Name()))
	}
	sort.Slice(f.Blobs, func(i, j int) bool { return f.Blobs[i] < f.Blobs[j] })
	return f, nil
}
