package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// A `docker save` tarball comes in two layouts. Docker 25 and later write
// an OCI image layout with Docker's own list on top:
//
//	blobs/sha256/<image ID>   the config
//	blobs/sha256/<diff ID>    each layer, an uncompressed tar
//	blobs/sha256/<manifest>   an OCI manifest per image
//	index.json                the manifests, named by annotations
//	manifest.json             [{"Config": ..., "RepoTags": [...], "Layers": [...]}]
//	oci-layout                {"imageLayoutVersion": "1.0.0"}
//	repositories              {"busybox": {"latest": "<top layer's diff ID>"}}
//
// Earlier dockers, and skopeo's docker-archive: transport, write the same
// manifest.json over other names: "<image ID>.json" for the config and
// "<layer ID>/layer.tar" for each layer, often a symlink to a shared one.
// Every docker since 1.10 loads by manifest.json alone, and tools that speak
// OCI read index.json, so Save writes the new layout and Load reads both.
// (Docker 25+ also writes each layer's legacy v1 JSON as a blob nothing
// points at, for dockers older than 1.10; Save does not.)

const (
	dockerManifestFile = "manifest.json"
	dockerReposFile    = "repositories"
	// AnnotationImageName is containerd's annotation for an image's full
	// name; docker 25+ puts it on each index.json entry, next to
	// org.opencontainers.image.ref.name, which it sets to the tag alone.
	AnnotationImageName = "io.containerd.image.name"
	// ociLayoutContent is oci-layout byte for byte as docker writes it.
	ociLayoutContent = `{"imageLayoutVersion": "` + v1.ImageLayoutVersion + `"}`
)

// tarballTime stamps every entry Save writes, as docker does for its own
// files: the same images give the same tarball, byte for byte.
var tarballTime = time.Unix(0, 0)

// dockerManifestItem is one image of manifest.json. Docker also writes
// Parent and LayerSources (foreign Windows layers); berth needs neither.
type dockerManifestItem struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// Save writes the images that names stand for as one `docker save`
// tarball: the layout docker 25+ writes, which old and new dockers, skopeo
// (docker-archive: and oci-archive:) and Load all read. A name saves the
// image under that name; an image ID saves it unnamed, as docker does.
//
// Layers go out uncompressed, named by their diff IDs: a layer stored
// compressed is decompressed on the way and checked against its diff ID.
// A tar header needs the entry's size before its bytes, and nothing records
// the uncompressed size of a compressed layer, so such a layer is read
// twice: once to count (and verify) and once to write. That costs CPU, but
// neither memory nor disk, whatever the layer's size. Layers stored
// uncompressed (loaded or imported) are read once.
func Save(w io.Writer, s *Store, names ...string) error {
	if len(names) == 0 {
		return errors.New("image: saving: name at least one image")
	}
	release, err := s.hold() // blobs must not be collected under us
	if err != nil {
		return err
	}
	defer release()
	plan, err := s.planSave(names)
	if err != nil {
		return err
	}
	if err := s.writeSave(w, plan); err != nil {
		return fmt.Errorf("image: saving: %w", err)
	}
	return nil
}

// savedImage is one image of a save: what it is made of, as the tarball
// holds it.
type savedImage struct {
	id       digest.Digest
	config   []byte
	layers   []savedLayer
	manifest []byte // the tarball's own OCI manifest
	refs     []Reference
}

// savedLayer is a stored layer blob and what it is once uncompressed.
type savedLayer struct {
	stored v1.Descriptor
	comp   Compression
	diffID digest.Digest
	size   int64 // uncompressed
}

// savePlan is a save worked out: its images, and its blobs, each once
// however many images share it.
type savePlan struct {
	images []*savedImage
	docs   map[digest.Digest][]byte     // configs and manifests
	layers map[digest.Digest]savedLayer // by diff ID
}

// planSave reads every image and measures every layer before a byte is
// written: a missing or damaged blob fails the save with nothing out.
func (s *Store) planSave(names []string) (*savePlan, error) {
	plan := &savePlan{docs: map[digest.Digest][]byte{}, layers: map[digest.Digest]savedLayer{}}
	byID := map[digest.Digest]*savedImage{}
	measured := map[digest.Digest]savedLayer{} // by diff ID
	for _, name := range names {
		img, err := s.Image(name)
		if err != nil {
			return nil, fmt.Errorf("image: saving %s: %w", name, err)
		}
		si := byID[img.ID()]
		if si == nil {
			if si, err = s.planImage(img, measured); err != nil {
				return nil, fmt.Errorf("image: saving %s: %w", name, err)
			}
			byID[img.ID()] = si
			plan.images = append(plan.images, si)
			plan.add(si)
		}
		if ref, ok := savedName(name, img.Ref); ok && !containsRef(si.refs, ref) {
			si.refs = append(si.refs, ref)
		}
	}
	return plan, nil
}

// savedName is the name an image is saved under: the one the user gave, if
// it is a tag. An ID, a digest reference or an ID name saves it unnamed.
func savedName(name string, found Reference) (Reference, bool) {
	ref, err := ParseReference(name)
	if err != nil || ref != found || ref.Tag == "" || ref.Digest != "" || IsIDReference(ref) {
		return Reference{}, false
	}
	return ref, true
}

func containsRef(refs []Reference, r Reference) bool {
	for _, x := range refs {
		if x == r {
			return true
		}
	}
	return false
}

func (s *Store) planImage(img *Image, measured map[digest.Digest]savedLayer) (*savedImage, error) {
	if len(img.Manifest.Layers) == 0 {
		return nil, errors.New("it has no layers, and a docker save tarball cannot hold such an image")
	}
	cfg, err := s.ReadBlob(img.ConfigDesc)
	if err != nil {
		return nil, err
	}
	si := &savedImage{id: img.ID(), config: cfg}
	descs := make([]v1.Descriptor, len(img.Manifest.Layers))
	for i, l := range img.Manifest.Layers {
		diffID := img.DiffIDs()[i]
		sl, ok := measured[diffID]
		if !ok {
			what := fmt.Sprintf("layer %d of %s", i+1, img.Ref)
			if sl, err = s.measureLayer(l, diffID, what); err != nil {
				return nil, err
			}
			measured[diffID] = sl
		}
		si.layers = append(si.layers, sl)
		descs[i] = v1.Descriptor{MediaType: v1.MediaTypeImageLayer, Digest: diffID, Size: sl.size}
	}
	si.manifest, err = tarballManifest(v1.Descriptor{MediaType: v1.MediaTypeImageConfig, Digest: si.id, Size: int64(len(cfg))}, descs)
	return si, err
}

// measureLayer finds a stored layer's uncompressed size, checking on the
// way that it is the layer the config's diff ID names.
func (s *Store) measureLayer(l v1.Descriptor, diffID digest.Digest, what string) (savedLayer, error) {
	comp, err := LayerCompression(l.MediaType)
	if err != nil {
		return savedLayer{}, err
	}
	sl := savedLayer{stored: l, comp: comp, diffID: diffID, size: l.Size}
	if comp == Uncompressed {
		if l.Digest != diffID {
			return sl, &DigestError{Want: diffID, Got: l.Digest, What: what + " (stored uncompressed, so its digest is its diff ID)"}
		}
		return sl, nil
	}
	sl.size, err = s.copyLayer(io.Discard, sl, what)
	return sl, err
}

// copyLayer writes a stored layer uncompressed to w, and fails if the
// bytes are not the layer its diff ID names.
func (s *Store) copyLayer(w io.Writer, sl savedLayer, what string) (int64, error) {
	blob, err := s.OpenBlob(sl.stored)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	defer blob.Close()
	raw, err := decompress(blob, sl.comp)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	defer raw.Close()
	d := sl.diffID.Algorithm().Digester()
	n, err := io.Copy(io.MultiWriter(w, d.Hash()), raw)
	if err != nil {
		return n, fmt.Errorf("%s: %w", what, err)
	}
	if got := d.Digest(); got != sl.diffID {
		return n, &DigestError{Want: sl.diffID, Got: got, What: what + " (uncompressed: the diff ID)"}
	}
	return n, nil
}

// tarballManifest is the OCI manifest of an image whose layers are
// uncompressed tars, as docker 25+ writes it into a save tarball and as
// Load and Import store it. The same image gives the same bytes, so a
// save-load round trip keeps the manifest digest.
func tarballManifest(config v1.Descriptor, layers []v1.Descriptor) ([]byte, error) {
	if layers == nil {
		layers = []v1.Descriptor{}
	}
	return json.Marshal(v1.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: v1.MediaTypeImageManifest,
		Config:    config,
		Layers:    layers,
	})
}

func (p *savePlan) add(si *savedImage) {
	p.docs[si.id] = si.config
	p.docs[digest.FromBytes(si.manifest)] = si.manifest
	for _, l := range si.layers {
		if _, ok := p.layers[l.diffID]; !ok {
			p.layers[l.diffID] = l
		}
	}
}

// writeSave streams the tarball: entries in name order, as docker's own
// tar of its temporary directory comes out, all owned by root and dated
// 1970, so the output depends on the images alone.
func (s *Store) writeSave(w io.Writer, plan *savePlan) error {
	tw := tar.NewWriter(w)
	for _, dir := range []string{v1.ImageBlobsDir + "/", v1.ImageBlobsDir + "/sha256/"} {
		if err := tw.WriteHeader(tarballHeader(dir, 0, true)); err != nil {
			return err
		}
	}
	var digests []digest.Digest
	for d := range plan.docs {
		digests = append(digests, d)
	}
	for d := range plan.layers {
		digests = append(digests, d)
	}
	sort.Slice(digests, func(i, j int) bool { return digests[i] < digests[j] })
	for _, d := range digests {
		if doc, ok := plan.docs[d]; ok {
			if err := tw.WriteHeader(tarballHeader(blobPath(d), int64(len(doc)), false)); err != nil {
				return err
			}
			if _, err := tw.Write(doc); err != nil {
				return err
			}
			continue
		}
		l := plan.layers[d]
		if err := tw.WriteHeader(tarballHeader(blobPath(d), l.size, false)); err != nil {
			return err
		}
		// The tar writer refuses bytes beyond the size in the header;
		// fewer are caught here. Either way the layer changed since it
		// was measured, and the tarball would be wrong.
		n, err := s.copyLayer(tw, l, "layer "+d.String())
		if err != nil {
			return err
		}
		if n != l.size {
			return fmt.Errorf("%w: layer %s gave %d bytes, %d when measured", ErrSizeMismatch, d, n, l.size)
		}
	}
	files, err := saveFiles(plan.images)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := tw.WriteHeader(tarballHeader(f.name, int64(len(f.data)), false)); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	return tw.Close()
}

type namedFile struct {
	name string
	data []byte
}

// saveFiles are the small files after the blobs, in name order:
// index.json, manifest.json, oci-layout and (if any image has a name)
// repositories.
func saveFiles(images []*savedImage) ([]namedFile, error) {
	idx := v1.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: v1.MediaTypeImageIndex, Manifests: []v1.Descriptor{}}
	var items []dockerManifestItem
	repos := map[string]map[string]string{}
	for _, si := range images {
		mdesc := v1.Descriptor{MediaType: v1.MediaTypeImageManifest, Digest: digest.FromBytes(si.manifest), Size: int64(len(si.manifest))}
		item := dockerManifestItem{Config: blobPath(si.id)}
		for _, l := range si.layers {
			item.Layers = append(item.Layers, blobPath(l.diffID))
		}
		top := si.layers[len(si.layers)-1].diffID.Encoded()
		for _, ref := range si.refs {
			familiar := ref.Familiar()
			item.RepoTags = append(item.RepoTags, familiar)
			repo := strings.TrimSuffix(familiar, ":"+ref.Tag)
			if repos[repo] == nil {
				repos[repo] = map[string]string{}
			}
			repos[repo][ref.Tag] = top
			named := mdesc
			named.Annotations = map[string]string{AnnotationImageName: ref.String(), v1.AnnotationRefName: ref.Tag}
			idx.Manifests = append(idx.Manifests, named)
		}
		if len(si.refs) == 0 {
			idx.Manifests = append(idx.Manifests, mdesc)
		}
		items = append(items, item)
	}
	index, err := json.Marshal(idx)
	if err != nil {
		return nil, err
	}
	manifest, err := json.Marshal(items)
	if err != nil {
		return nil, err
	}
	files := []namedFile{
		{v1.ImageIndexFile, index},
		{dockerManifestFile, append(manifest, '\n')},
		{v1.ImageLayoutFile, []byte(ociLayoutContent)},
	}
	if len(repos) > 0 {
		b, err := json.Marshal(repos)
		if err != nil {
			return nil, err
		}
		files = append(files, namedFile{dockerReposFile, append(b, '\n')})
	}
	return files, nil
}

func blobPath(d digest.Digest) string {
	return path.Join(v1.ImageBlobsDir, d.Algorithm().String(), d.Encoded())
}

func tarballHeader(name string, size int64, dir bool) *tar.Header {
	h := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: tarballTime}
	if dir {
		h.Typeflag, h.Mode = tar.TypeDir, 0o755
	}
	return h
}

// Load reads a `docker save` tarball, in either layout and possibly
// gzip'd or zstd'd, into the store, and names its images as the tarball
// does. It returns the names given, in order; an image the tarball leaves
// unnamed is named by its ID (see IDReference), so it outlives garbage
// collection.
//
// A tar can be read only once, in order, and manifest.json, which says
// what everything is, comes after the blobs. So each file is put aside as
// it passes: one under blobs/sha256/ goes straight into the store with
// WriteBlob, since its name is its digest and is checked as it is written;
// any other goes to a spool directory in the store's ingest/. Then
// manifest.json is read, each config and layer found and checked against
// the config's diff IDs, layers stored uncompressed, a manifest written for
// each image, and only when every image has passed are the names given. A
// tarball refused for any reason leaves no name and no spool behind; blobs
// it brought are unnamed and go at the next GC. (A tarball cut between two
// entries reads as a shorter tarball: it loads only if it still holds all
// that manifest.json names, every byte checked against a digest, so a cut
// can lose an image but never give a wrong one.)
func Load(r io.Reader, s *Store, p Progress) ([]Reference, error) {
	p = orDiscard(p)
	release, err := s.hold()
	if err != nil {
		return nil, err
	}
	defer release()
	spool, err := os.MkdirTemp(s.ingestDir(), "load-")
	if err != nil {
		return nil, fmt.Errorf("image: loading: %w", err)
	}
	defer os.RemoveAll(spool)

	ar, err := s.readTarball(r, spool)
	if err != nil {
		return nil, err
	}
	items, err := ar.dockerManifest()
	if err != nil {
		return nil, err
	}
	type named struct {
		ref  Reference
		desc v1.Descriptor
	}
	var names []named
	loaded := map[digest.Digest]v1.Descriptor{} // layers, by diff ID
	for i, item := range items {
		what := fmt.Sprintf("image %d of %s", i+1, dockerManifestFile)
		desc, id, err := s.loadImage(ar, item, what, loaded, p)
		if err != nil {
			return nil, err
		}
		var tags []Reference
		for _, t := range item.RepoTags {
			ref, err := ParseReference(t)
			if err != nil {
				return nil, fmt.Errorf("image: loading %s: RepoTags: %w", what, err)
			}
			if ref.Digest != "" || ref.Tag == "" {
				return nil, fmt.Errorf("%w: %s: RepoTags holds %q, which is not name:tag", ErrBadTarball, what, t)
			}
			tags = append(tags, ref)
		}
		if len(tags) == 0 {
			tags = append(tags, IDReference(id))
		}
		for _, ref := range tags {
			names = append(names, named{ref, desc})
		}
	}
	// Everything is stored and checked: now, and only now, the names.
	var refs []Reference
	for _, n := range names {
		// An image the store knows by another name needs no ID name;
		// its ID finds it all the same.
		if !IsIDReference(n.ref) || !s.isNamed(n.desc.Digest) {
			if err := s.Tag(n.ref, n.desc); err != nil {
				return refs, fmt.Errorf("image: loading: %w", err)
			}
		}
		refs = append(refs, n.ref)
		if IsIDReference(n.ref) {
			p.Update(Event{Action: "Loaded image ID: " + n.ref.Familiar()})
		} else {
			p.Update(Event{Action: "Loaded image: " + n.ref.Familiar()})
		}
	}
	return refs, nil
}

// isNamed says whether some name in the store points at the manifest.
func (s *Store) isNamed(manifest digest.Digest) bool {
	all, err := s.List()
	if err != nil {
		return false
	}
	for _, n := range all {
		if n.Descriptor.Digest == manifest {
			return true
		}
	}
	return false
}

// tarEntry is a regular file of the tarball, put aside.
type tarEntry struct {
	name   string
	digest digest.Digest // of its bytes
	size   int64
	spool  string // its copy in the spool; "" when it went into the store
}

// saveArchive is what Load knows of a tarball once it has read it.
type saveArchive struct {
	s     *Store
	files map[string]tarEntry
	links map[string]string // symlinks and hard links: name → target name
}

// readTarball reads the whole tarball, putting each file aside.
func (s *Store) readTarball(r io.Reader, spool string) (*saveArchive, error) {
	br := bufio.NewReader(r)
	comp, err := sniffCompression(br)
	if err != nil {
		return nil, fmt.Errorf("image: loading: %w", err)
	}
	raw, err := decompress(br, comp)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSaveTarball, err)
	}
	defer raw.Close()
	ar := &saveArchive{s: s, files: map[string]tarEntry{}, links: map[string]string{}}
	tr := tar.NewReader(raw)
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			if n == 0 {
				return nil, fmt.Errorf("%w: the input is empty", ErrNotSaveTarball)
			}
			break
		}
		if errors.Is(err, tar.ErrInsecurePath) && hdr != nil {
			err = nil // GODEBUG=tarinsecurepath=0: archiveName says why
		}
		if err != nil {
			if n == 0 && !errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("%w: the input is not a tar archive (%v)", ErrNotSaveTarball, err)
			}
			return nil, truncated(err, afterEntries(n))
		}
		name, err := archiveName(hdr.Name)
		if err != nil {
			return nil, err
		}
		switch hdr.Typeflag {
		case tar.TypeReg: // the reader reports old tars' '\x00' as TypeReg too
			e, err := s.putAside(tr, hdr, name, filepath.Join(spool, strconv.Itoa(n)))
			if err != nil {
				return nil, err
			}
			ar.files[name] = e
		case tar.TypeSymlink:
			target := hdr.Linkname
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(name), target)
			}
			if target, err = archiveName(target); err != nil {
				return nil, fmt.Errorf("%w: symlink %s points outside the tarball, at %s", ErrBadTarball, name, hdr.Linkname)
			}
			ar.links[name] = target
		case tar.TypeLink:
			target, err := archiveName(hdr.Linkname)
			if err != nil {
				return nil, fmt.Errorf("%w: hard link %s: %w", ErrBadTarball, name, err)
			}
			ar.links[name] = target
		}
		// Directories are implied by the names; a save tarball holds
		// nothing else worth reading.
	}
	return ar, nil
}

// putAside stores a blob in the store, or spools any other file.
func (s *Store) putAside(tr io.Reader, hdr *tar.Header, name, spool string) (tarEntry, error) {
	e := tarEntry{name: name, size: hdr.Size}
	if d, ok := blobName(name); ok {
		e.digest = d
		err := s.WriteBlob(v1.Descriptor{Digest: d, Size: hdr.Size}, tr)
		if errors.Is(err, ErrDigestMismatch) {
			return e, fmt.Errorf("image: loading %s: %w", name, err)
		}
		if err != nil {
			return e, truncated(err, "in "+name)
		}
		return e, nil
	}
	f, err := os.OpenFile(spool, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return e, fmt.Errorf("image: loading: %w", err)
	}
	defer f.Close()
	d := digest.Canonical.Digester()
	if _, err := io.Copy(io.MultiWriter(f, d.Hash()), tr); err != nil {
		return e, truncated(err, "in "+name)
	}
	e.digest, e.spool = d.Digest(), spool
	return e, f.Close()
}

func afterEntries(n int) string {
	if n == 0 {
		return "before its first entry"
	}
	return "after " + strconv.Itoa(n) + " entries"
}

// truncated explains an error met while reading the tarball.
func truncated(err error, where string) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: it ends %s: truncated (an interrupted download or copy?)", ErrBadTarball, where)
	}
	return fmt.Errorf("%w: reading it %s: %w", ErrBadTarball, where, err)
}

// blobName reads the digest from a name blobs/ALG/HEX.
func blobName(name string) (digest.Digest, bool) {
	rest, ok := strings.CutPrefix(name, v1.ImageBlobsDir+"/")
	if !ok {
		return "", false
	}
	alg, hex, ok := strings.Cut(rest, "/")
	if !ok {
		return "", false
	}
	d := digest.NewDigestFromEncoded(digest.Algorithm(alg), hex)
	return d, d.Validate() == nil
}

// archiveName cleans an entry's name. A name that is absolute or climbs
// with ".." is refused outright: a docker tarball never holds one, so it is
// an attack on whoever unpacks it without care.
func archiveName(name string) (string, error) {
	if strings.Contains(name, "\x00") {
		return "", fmt.Errorf("%w: entry %q has a NUL byte in its name", ErrBadTarball, name)
	}
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%w: entry %q has an absolute name", ErrBadTarball, name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: entry %q climbs out of the tarball with ..", ErrBadTarball, name)
		}
	}
	return path.Clean(name), nil
}

// resolve finds the file a name in manifest.json stands for, following
// links inside the tarball (legacy tarballs link shared layers).
func (ar *saveArchive) resolve(name, what string) (tarEntry, error) {
	if name == "" {
		return tarEntry{}, fmt.Errorf("%w: %s has no path", ErrBadTarball, what)
	}
	clean, err := archiveName(name)
	if err != nil {
		return tarEntry{}, fmt.Errorf("%w: %s is %q, outside the tarball", ErrBadTarball, what, name)
	}
	if e, ok := ar.lookup(clean); ok {
		return e, nil
	}
	return tarEntry{}, fmt.Errorf("%w: %s is %s, which the tarball does not hold", ErrBadTarball, what, name)
}

// lookup finds a file by its clean name, following links, a few at most.
func (ar *saveArchive) lookup(name string) (tarEntry, bool) {
	for hops := 0; hops < 16; hops++ {
		if e, ok := ar.files[name]; ok {
			return e, true
		}
		target, ok := ar.links[name]
		if !ok {
			break
		}
		name = target
	}
	return tarEntry{}, false
}

func (ar *saveArchive) open(e tarEntry) (io.ReadCloser, error) {
	if e.spool != "" {
		return os.Open(e.spool)
	}
	return ar.s.OpenBlob(v1.Descriptor{Digest: e.digest, Size: e.size})
}

// readSmall reads a JSON file of the tarball, bounded.
func (ar *saveArchive) readSmall(e tarEntry) ([]byte, error) {
	if e.size > maxDocument {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than a document may be", ErrBadTarball, e.name, e.size)
	}
	r, err := ar.open(e)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func (ar *saveArchive) dockerManifest() ([]dockerManifestItem, error) {
	e, ok := ar.lookup(dockerManifestFile)
	if !ok {
		hint := "a root filesystem tarball is made into an image with `berth import`, not loaded"
		if _, oci := ar.files[v1.ImageIndexFile]; oci {
			hint = "it is an OCI image layout without docker's list; convert it with `skopeo copy oci-archive:FILE docker-archive:OUT`"
		}
		return nil, fmt.Errorf("%w: it has no %s (%s)", ErrNotSaveTarball, dockerManifestFile, hint)
	}
	b, err := ar.readSmall(e)
	if err != nil {
		return nil, fmt.Errorf("image: loading: %w", err)
	}
	var items []dockerManifestItem
	if err := json.Unmarshal(b, &items); err != nil {
		return nil, fmt.Errorf("%w: %s is not valid JSON: %v", ErrBadTarball, dockerManifestFile, err)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%w: %s lists no images", ErrBadTarball, dockerManifestFile)
	}
	return items, nil
}

// loadImage checks and stores one image of manifest.json, and returns its
// manifest's descriptor and its ID. It names nothing.
func (s *Store) loadImage(ar *saveArchive, item dockerManifestItem, what string, loaded map[digest.Digest]v1.Descriptor, p Progress) (v1.Descriptor, digest.Digest, error) {
	ce, err := ar.resolve(item.Config, "the config of "+what)
	if err != nil {
		return v1.Descriptor{}, "", err
	}
	cfgBytes, err := ar.readSmall(ce)
	if err != nil {
		return v1.Descriptor{}, "", fmt.Errorf("image: loading %s: %w", what, err)
	}
	id := digest.FromBytes(cfgBytes)
	// A legacy config is named "<image ID>.json": the name is a promise.
	if hex := strings.TrimSuffix(path.Base(ce.name), ".json"); hex != path.Base(ce.name) {
		if want := digest.NewDigestFromEncoded(digest.SHA256, hex); want.Validate() == nil && want != id {
			return v1.Descriptor{}, "", &DigestError{Want: want, Got: id, What: "loading " + what + ": config " + ce.name}
		}
	}
	cfg, err := parseConfig(v1.Manifest{Layers: make([]v1.Descriptor, len(item.Layers))}, cfgBytes)
	if err != nil {
		return v1.Descriptor{}, "", fmt.Errorf("image: loading %s: %w", what, err)
	}
	if cfg.OS != "" && cfg.OS != "linux" {
		return v1.Descriptor{}, "", fmt.Errorf("image: loading %s: it is a %s image; berth runs linux images only", what, cfg.OS)
	}
	layers := make([]v1.Descriptor, len(item.Layers))
	for i, lp := range item.Layers {
		diffID := cfg.RootFS.DiffIDs[i]
		if d, ok := loaded[diffID]; ok {
			layers[i] = d
			continue
		}
		le, err := ar.resolve(lp, fmt.Sprintf("layer %d of %s", i+1, what))
		if err != nil {
			return v1.Descriptor{}, "", err
		}
		if layers[i], err = s.loadLayer(ar, le, diffID, fmt.Sprintf("loading %s: layer %d (%s)", what, i+1, lp), p); err != nil {
			return v1.Descriptor{}, "", err
		}
		loaded[diffID] = layers[i]
	}
	cdesc, err := s.PutBlob(v1.MediaTypeImageConfig, cfgBytes)
	if err != nil {
		return v1.Descriptor{}, "", err
	}
	m, err := tarballManifest(cdesc, layers)
	if err != nil {
		return v1.Descriptor{}, "", err
	}
	mdesc, err := s.PutBlob(v1.MediaTypeImageManifest, m)
	return mdesc, id, err
}

// loadLayer makes sure the store holds the layer uncompressed, named by
// its diff ID, and that the tarball's layer is that layer. A layer in a
// save tarball is normally an uncompressed tar already (its digest is its
// diff ID, checked when it was put aside); one that is gzip'd or zstd'd
// (docker with the containerd store saves layers as pulled) is read twice:
// once to verify and count, once to store.
func (s *Store) loadLayer(ar *saveArchive, e tarEntry, diffID digest.Digest, what string, p Progress) (v1.Descriptor, error) {
	id := ShortID(diffID)
	desc := v1.Descriptor{MediaType: v1.MediaTypeImageLayer, Digest: diffID, Size: e.size}
	if e.digest == diffID {
		if e.spool != "" && !s.Has(diffID, e.size) {
			f, err := os.Open(e.spool)
			if err != nil {
				return desc, fmt.Errorf("image: %s: %w", what, err)
			}
			defer f.Close()
			if err := s.WriteBlob(desc, newCounter(f, p, id, "Loading layer", e.size)); err != nil {
				return desc, fmt.Errorf("image: %s: %w", what, err)
			}
		}
		p.Update(Event{ID: id, Action: "Loaded"})
		return desc, nil
	}
	r, err := ar.open(e)
	if err != nil {
		return desc, fmt.Errorf("image: %s: %w", what, err)
	}
	br := bufio.NewReader(r)
	comp, err := sniffCompression(br)
	r.Close()
	if err != nil {
		return desc, fmt.Errorf("image: %s: %w", what, err)
	}
	if comp == Uncompressed {
		return desc, &DigestError{Want: diffID, Got: e.digest, What: what + ", against its diff ID"}
	}
	// Pass one: check the layer is the one the config names, and count.
	if desc.Size, err = ar.uncompressed(e, comp, p, id, func(raw io.Reader) (int64, error) {
		d := diffID.Algorithm().Digester()
		n, err := io.Copy(d.Hash(), raw)
		if err == nil && d.Digest() != diffID {
			err = &DigestError{Want: diffID, Got: d.Digest(), What: what + ", uncompressed, against its diff ID"}
		}
		return n, err
	}); err != nil {
		return desc, tagged(err, what)
	}
	// Pass two: store it; WriteBlob checks the digest once more.
	if !s.Has(diffID, desc.Size) {
		if _, err := ar.uncompressed(e, comp, Discard{}, id, func(raw io.Reader) (int64, error) {
			return desc.Size, s.WriteBlob(desc, raw)
		}); err != nil {
			return desc, tagged(err, what)
		}
	}
	p.Update(Event{ID: id, Action: "Loaded"})
	return desc, nil
}

// tagged adds what to an error that does not say it already.
func tagged(err error, what string) error {
	var de *DigestError
	if errors.As(err, &de) {
		return err
	}
	return fmt.Errorf("image: %s: %w", what, err)
}

// uncompressed hands fn the entry's bytes, decompressed.
func (ar *saveArchive) uncompressed(e tarEntry, comp Compression, p Progress, id string, fn func(io.Reader) (int64, error)) (int64, error) {
	r, err := ar.open(e)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	raw, err := decompress(newCounter(r, p, id, "Loading layer", e.size), comp)
	if err != nil {
		return 0, err
	}
	defer raw.Close()
	return fn(raw)
}

// sniffCompression tells by its first bytes how a stream is packed. A tar
// begins with a file name, which none of these magic numbers can be.
func sniffCompression(br *bufio.Reader) (Compression, error) {
	b, _ := br.Peek(10) // a short or failing read shows up when it is read
	switch {
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		return Gzip, nil
	case bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return Zstd, nil
	case bytes.HasPrefix(b, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return "", errors.New("the input is xz-compressed, which berth does not read: decompress it first (xz -dc FILE)")
	case len(b) >= 10 && bytes.HasPrefix(b, []byte("BZh")) && bytes.Equal(b[4:10], []byte{0x31, 0x41, 0x59, 0x26, 0x53, 0x59}):
		return "", errors.New("the input is bzip2-compressed, which berth does not read: decompress it first (bunzip2 -c FILE)")
	}
	return Uncompressed, nil
}
