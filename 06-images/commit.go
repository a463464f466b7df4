package image

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// CommitOptions says how Commit makes an image of a container's changes.
type CommitOptions struct {
	// Ref names the new image. Empty, the image is named by its ID
	// (IDReference), as an unnamed Import is.
	Ref string
	// Config is the new image's run configuration. `docker commit`
	// records the container's own there (its command, environment,
	// working directory...), with the --change instructions applied: the
	// caller decides, Commit stores it as given.
	Config v1.ImageConfig
	// Author and Comment are `docker commit -a` and `-m`: the author goes
	// into the config and the history entry, the comment into the entry.
	Author, Comment string
	// CreatedBy is the history entry's command; docker writes the
	// container's command there.
	CreatedBy string
	// Created dates the image; the zero value means now.
	Created time.Time
}

// Commit makes an image of base with one more layer on top, the layer
// tarball r (a container's changes, chapter 04's Diff), stores it, names
// it, and returns it: the image half of `docker commit`.
//
// The new config is base's with opts.Config as its run configuration,
// the layer's diff ID appended to rootfs.diff_ids and a history entry
// appended to the history; the new manifest is base's layers plus the new
// one. The layer is stored uncompressed, as Import stores its own (its
// digest is its diff ID). A layer with no entry is not stored: as Docker
// does, the image gets a history entry marked empty_layer and no new
// layer, so a commit of an unchanged container shares every layer of its
// image.
//
// base's layers keep their media types; when base came with a Docker
// manifest, the new image gets one too, so that a manifest never mixes
// the two families.
func Commit(r io.Reader, s *Store, base *Image, opts CommitOptions) (*Image, error) {
	var ref Reference
	if opts.Ref != "" {
		var err error
		if ref, err = ParseReference(opts.Ref); err != nil {
			return nil, fmt.Errorf("image: committing: %w", err)
		}
		if ref.Digest != "" {
			return nil, fmt.Errorf("image: committing as %s: a new image is named by a tag, not a digest", opts.Ref)
		}
	}
	created := opts.Created.UTC()
	if opts.Created.IsZero() {
		created = time.Now().UTC()
	}
	manifestType, configType, layerType := v1.MediaTypeImageManifest, v1.MediaTypeImageConfig, v1.MediaTypeImageLayer
	if base.Manifest.MediaType == MediaTypeDockerManifest {
		manifestType, configType, layerType = MediaTypeDockerManifest, MediaTypeDockerConfig, "application/vnd.docker.image.rootfs.diff.tar"
	}

	// Hold GC off from the first blob written to the name that keeps them.
	release, err := s.hold()
	if err != nil {
		return nil, err
	}
	defer release()
	layer, empty, err := s.commitLayer(r, layerType)
	if err != nil {
		return nil, err
	}

	cfg := base.Config
	cfg.Created = &created
	cfg.Author = opts.Author
	cfg.Config = opts.Config
	cfg.RootFS.DiffIDs = slices.Clone(base.Config.RootFS.DiffIDs)
	layers := slices.Clone(base.Manifest.Layers)
	if !empty {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, layer.Digest)
		layers = append(layers, layer)
	}
	cfg.History = append(slices.Clone(base.Config.History), v1.History{
		Created:    &created,
		CreatedBy:  opts.CreatedBy,
		Author:     opts.Author,
		Comment:    opts.Comment,
		EmptyLayer: empty,
	})
	config, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("image: committing: %w", err)
	}
	cdesc, err := s.PutBlob(configType, config)
	if err != nil {
		return nil, fmt.Errorf("image: committing: %w", err)
	}
	if layers == nil {
		layers = []v1.Descriptor{}
	}
	m, err := json.Marshal(v1.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: manifestType,
		Config:    cdesc,
		Layers:    layers,
	})
	if err != nil {
		return nil, fmt.Errorf("image: committing: %w", err)
	}
	mdesc, err := s.PutBlob(manifestType, m)
	if err != nil {
		return nil, fmt.Errorf("image: committing: %w", err)
	}
	if opts.Ref == "" {
		ref = IDReference(cdesc.Digest)
	}
	if err := s.Tag(ref, mdesc); err != nil {
		return nil, fmt.Errorf("image: committing: %w", err)
	}
	return s.Image(ref.String())
}

// commitLayer stores the layer tarball r as a blob of type mediaType,
// reading it once: spooled into ingest/ and hashed while a tar reader
// walks its entries, refusing names that climb out with "..". It returns
// the blob's descriptor and whether the layer has no entry at all (then
// nothing is stored).
func (s *Store) commitLayer(r io.Reader, mediaType string) (v1.Descriptor, bool, error) {
	spool, err := os.CreateTemp(s.ingestDir(), "commit-")
	if err != nil {
		return v1.Descriptor{}, false, fmt.Errorf("image: committing: %w", err)
	}
	defer os.Remove(spool.Name())
	defer spool.Close()

	d := digest.Canonical.Digester()
	cw := &countingWriter{w: io.MultiWriter(spool, d.Hash())}
	tr := tar.NewReader(io.TeeReader(r, cw))
	n := 0
	for ; ; n++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, tar.ErrInsecurePath) && hdr != nil {
			err = nil // judged below, by berth's rule
		}
		if err != nil {
			return v1.Descriptor{}, false, fmt.Errorf("%w: the layer to commit: %v", ErrBadTarball, err)
		}
		// A hard link names another entry and must stay in the layer; a
		// symbolic link's target is a path the container resolves, ".."
		// and all, inside its own root.
		names := []string{hdr.Name}
		if hdr.Typeflag == tar.TypeLink {
			names = append(names, hdr.Linkname)
		}
		for _, name := range names {
			if strings.Contains("/"+name+"/", "/../") {
				return v1.Descriptor{}, false, fmt.Errorf("%w: the layer to commit has entry %q climbing out with ..", ErrBadTarball, name)
			}
		}
	}
	// The rest after the end marker (the padding to a record) is part of
	// the layer, and of its diff ID.
	if _, err := io.Copy(cw, r); err != nil {
		return v1.Descriptor{}, false, fmt.Errorf("image: committing: reading the layer: %w", err)
	}
	desc := v1.Descriptor{MediaType: mediaType, Digest: d.Digest(), Size: cw.n}
	if n == 0 {
		return desc, true, nil
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return desc, false, fmt.Errorf("image: committing: %w", err)
	}
	if err := s.WriteBlob(desc, spool); err != nil {
		return desc, false, fmt.Errorf("image: committing: %w", err)
	}
	return desc, false, nil
}
