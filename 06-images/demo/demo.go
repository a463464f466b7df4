// Package demo is chapter 06's narrated demo: `go run ./steps demo 6`.
// It builds an image by hand from the course's busybox root filesystem
// (a layer tarball, its digests, a config, a manifest), starts a real
// registry on the loopback, pushes the image there and pulls it back into
// a fresh store while printing the HTTP conversation, walks the manifest,
// config and layers on disk, pulls again to show that digests make
// downloads idempotent, and damages a blob to show that digests make
// tampering visible.
package demo

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	unionfs "berth/04-unionfs"
	image "berth/06-images"
	"berth/steps/testkit"
	"berth/steps/testkit/narrate"
)

// Title is the chapter's title as the course runner lists it.
const Title = "Images and registries: manifests, digests, pull and push"

// Run plays the demo; every side effect is registered with n.Defer.
func Run(ctx context.Context, n *narrate.Narrator) error {
	n.Title(6, Title)
	if os.Geteuid() != 0 {
		return errors.New("demo 6 unpacks layers owned by root: run it as root (sudo make demo, or sudo env PATH=\"$PATH\" go run ./steps demo 6)")
	}
	tmpl, err := testkit.RootfsTemplate()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "berth-demo06-")
	if err != nil {
		return err
	}
	n.Defer("remove "+work, func() error { return os.RemoveAll(work) })
	n.Say("work directory: %s", work)

	// 1. An image by hand.
	if err := n.Beat(ctx, "An image, made by hand",
		"A layer is a tarball, here gzip'd: the busybox root filesystem, and a small layer on top.",
		"Each is named twice: the blob digest (sha256 of the gzip bytes, what registries store) and",
		"the diff ID (sha256 of the plain tar, what the config promises the unpacked layer is)."); err != nil {
		return err
	}
	local, err := image.Open(filepath.Join(work, "builder"))
	if err != nil {
		return err
	}
	var base bytes.Buffer
	if err := unionfs.Tar(&base, tmpl); err != nil {
		return err
	}
	var table strings.Builder
	var layers []v1.Descriptor
	var diffIDs []digest.Digest
	for i, plain := range [][]byte{base.Bytes(), appLayer()} {
		gz, err := gzipBytes(plain)
		if err != nil {
			return err
		}
		desc, err := local.PutBlob(v1.MediaTypeImageLayerGzip, gz)
		if err != nil {
			return err
		}
		layers, diffIDs = append(layers, desc), append(diffIDs, digest.FromBytes(plain))
		fmt.Fprintf(&table, "layer %d  tar %8d bytes  diff ID  %s\n", i+1, len(plain), short(digest.FromBytes(plain)))
		fmt.Fprintf(&table, "         gzip %7d bytes  digest   %s\n", len(gz), short(desc.Digest))
	}
	n.Evidence("host", "sha256sum layer.tar layer.tar.gz", table.String())

	cfg := v1.Image{
		Created:  ptr(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		Platform: image.Platform(),
		Config: v1.ImageConfig{
			Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			Cmd:        []string{"/bin/sh"},
			WorkingDir: "/",
			Labels:     map[string]string{"org.opencontainers.image.title": "berth busybox"},
		},
		RootFS:  v1.RootFS{Type: "layers", DiffIDs: diffIDs},
		History: []v1.History{{CreatedBy: "berth: busybox-static root filesystem"}, {CreatedBy: "berth: add /etc/motd, remove /etc/os-release"}},
	}
	cfgJSON, _ := json.MarshalIndent(cfg, "", "  ")
	cfgDesc, err := local.PutBlob(v1.MediaTypeImageConfig, cfgJSON)
	if err != nil {
		return err
	}
	n.Evidence("host", "cat config.json   # "+short(cfgDesc.Digest)+", the image ID", string(cfgJSON))
	man := v1.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: v1.MediaTypeImageManifest, Config: cfgDesc, Layers: layers}
	manJSON, _ := json.MarshalIndent(man, "", "  ")
	manDesc, err := local.PutBlob(v1.MediaTypeImageManifest, manJSON)
	if err != nil {
		return err
	}
	n.Evidence("host", "cat manifest.json   # "+short(manDesc.Digest), string(manJSON))

	// 2. A registry and a push.
	if err := n.Beat(ctx, "A registry on the loopback, and a push",
		"Debian's docker-registry, the same server as Docker's registry:2, on 127.0.0.1 with its",
		"own storage. Push: HEAD asks if a blob is there, POST opens an upload, PUT ?digest= closes",
		"it (the registry checks the digest), and the manifest goes last."); err != nil {
		return err
	}
	reg, stop, err := testkit.StartRegistry(testkit.RegistryOptions{})
	if err != nil {
		return err
	}
	n.Defer("stop the registry on "+reg.Addr, stop)
	ref, err := image.ParseReference(reg.Ref("course/busybox:1.0"))
	if err != nil {
		return err
	}
	if err := local.Tag(ref, manDesc); err != nil {
		return err
	}
	var trace, progress bytes.Buffer
	client := image.NewClient(image.WithTrace(&trace))
	n.Syscall("Push " + ref.String())
	pushed, err := image.Push(ctx, client, local, ref.String(), ref, image.NewLines(&progress))
	if err != nil {
		return err
	}
	n.Evidence("registry", "HTTP, as berth spoke it", trace.String())
	n.Evidence("host", "berth push "+ref.Familiar(), progress.String())

	// 3. Pull into a new store.
	if err := n.Beat(ctx, "Pull it back, into an empty store",
		"GET the manifest by tag (the answer's Docker-Content-Digest names it), then the config and",
		"each layer by digest. Every blob is hashed as it is written and renamed into blobs/ only",
		"if it matches; the name goes into index.json last."); err != nil {
		return err
	}
	store, err := image.Open(filepath.Join(work, "store"))
	if err != nil {
		return err
	}
	trace.Reset()
	progress.Reset()
	img, err := image.Pull(ctx, client, store, ref, image.PullOptions{Progress: image.NewLines(&progress)})
	if err != nil {
		return err
	}
	n.Evidence("registry", "HTTP, as berth spoke it", trace.String())
	n.Evidence("host", "berth pull "+ref.Familiar(), progress.String())
	if img.Descriptor.Digest != pushed.Digest {
		return fmt.Errorf("pulled manifest %s, pushed %s", img.Descriptor.Digest, pushed.Digest)
	}
	n.Say("pulled manifest %s: the same bytes that were pushed", short(img.Descriptor.Digest))

	// 4. The store on disk.
	if err := n.Beat(ctx, "The store is an OCI image layout",
		"index.json names the manifest; the manifest names the config and the layers; all are files",
		"under blobs/sha256/, named by digest. Standard tools read it: skopeo inspect oci:DIR:NAME."); err != nil {
		return err
	}
	idx, err := os.ReadFile(filepath.Join(store.Layout(), "index.json"))
	if err != nil {
		return err
	}
	n.Evidence("host", "cat "+filepath.Join(store.Layout(), "index.json"), indent(idx))
	n.Evidence("host", "ls -l "+filepath.Join(store.Layout(), "blobs", "sha256"), listBlobs(store, img))

	// 5. Unpack.
	if err := n.Beat(ctx, "Unpacking: chapter 04's layers, by chain ID",
		"Each layer is decompressed, its diff ID checked, and unpacked into its own directory, named by",
		"its chain ID (the layer plus everything below it). The app layer's deletion of /etc/os-release",
		"is a whiteout, and overlay stacks the layers into the container's view."); err != nil {
		return err
	}
	dirs, err := store.Unpack(img, nil)
	if err != nil {
		return err
	}
	var ls strings.Builder
	for i, d := range dirs {
		fmt.Fprintf(&ls, "layer %d: %s\n", i+1, d)
	}
	fi, err := os.Lstat(filepath.Join(dirs[1], "etc", "os-release"))
	if err != nil {
		return fmt.Errorf("the whiteout is missing: %w", err)
	}
	fmt.Fprintf(&ls, "\n%s/etc/os-release: %s (a whiteout)\n", filepath.Base(dirs[1]), fi.Mode())
	n.Evidence("host", "ls "+filepath.Join(store.Root(), "layers"), ls.String())
	view, err := mergedView(work, store.Snapshotter(), dirs, n)
	if err != nil {
		return err
	}
	n.Evidence("container", "cat /etc/motd; ls /etc", view)

	// 6. Pull again.
	if err := n.Beat(ctx, "Pull again: nothing to download",
		"The manifest is fetched again (a tag can move), but every blob it names is already stored:",
		"the digest says so without asking the registry."); err != nil {
		return err
	}
	trace.Reset()
	progress.Reset()
	if _, err := image.Pull(ctx, client, store, ref, image.PullOptions{Progress: image.NewLines(&progress)}); err != nil {
		return err
	}
	n.Evidence("registry", "HTTP, as berth spoke it", trace.String())
	n.Evidence("host", "berth pull "+ref.Familiar(), progress.String())

	// 7. Tampering.
	if err := n.Beat(ctx, "Damage a blob on disk",
		"One byte of the config is changed behind the store's back. Reading it hashes it again,",
		"and the mismatch is an error that names the blob: nothing runs from a changed image."); err != nil {
		return err
	}
	victim := store.BlobPath(img.ConfigDesc.Digest)
	b, err := os.ReadFile(victim)
	if err != nil {
		return err
	}
	b[len(b)/2] ^= 0x20
	if err := os.Chmod(victim, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(victim, b, 0o644); err != nil {
		return err
	}
	_, err = store.Image(ref.String())
	if err == nil {
		return errors.New("a damaged config was read without complaint")
	}
	n.Evidence("host", "berth image inspect "+ref.Familiar(), err.Error()+"\n")
	return nil
}

// appLayer adds /etc/motd and deletes /etc/os-release with a whiteout.
func appLayer() []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mt := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	motd := "Pulled from a registry by berth, chapter 06.\n"
	tw.WriteHeader(&tar.Header{Name: "etc/", Mode: 0o755, Typeflag: tar.TypeDir, ModTime: mt})
	tw.WriteHeader(&tar.Header{Name: "etc/motd", Mode: 0o644, Size: int64(len(motd)), Typeflag: tar.TypeReg, ModTime: mt})
	io.WriteString(tw, motd)
	tw.WriteHeader(&tar.Header{Name: "etc/" + unionfs.WhiteoutPrefix + "os-release", Mode: 0o644, Typeflag: tar.TypeReg, ModTime: mt})
	tw.Close()
	return buf.Bytes()
}

func gzipBytes(b []byte) ([]byte, error) {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// mergedView mounts the layers as a container's root and reads it.
func mergedView(work string, snap unionfs.Snapshotter, layers []string, n *narrate.Narrator) (string, error) {
	cdir, root := filepath.Join(work, "container"), filepath.Join(work, "container-root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	if err := snap.Prepare(layers, cdir); err != nil {
		return "", err
	}
	mounts, err := snap.Mounts(layers, cdir, root)
	if err != nil {
		return "", err
	}
	for _, m := range mounts {
		n.Syscall(m.String())
	}
	if err := unionfs.MountAll(mounts); err != nil {
		return "", err
	}
	defer unionfs.Unmount(root)
	motd, err := os.ReadFile(filepath.Join(root, "etc", "motd"))
	if err != nil {
		return "", err
	}
	entries, err := os.ReadDir(filepath.Join(root, "etc"))
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return string(motd) + strings.Join(names, "  ") + "\n", nil
}

func listBlobs(s *image.Store, img *image.Image) string {
	role := map[digest.Digest]string{img.Descriptor.Digest: "manifest", img.ConfigDesc.Digest: "config"}
	for i, l := range img.Manifest.Layers {
		role[l.Digest] = fmt.Sprintf("layer %d", i+1)
	}
	entries, _ := os.ReadDir(filepath.Dir(s.BlobPath(img.ConfigDesc.Digest)))
	var lines []string
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue
		}
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		lines = append(lines, fmt.Sprintf("%s %9d  %s…  %s", fi.Mode(), fi.Size(), e.Name()[:16], role[d]))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

func indent(b []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return string(b)
	}
	return out.String() + "\n"
}

func short(d digest.Digest) string { return "sha256:" + d.Encoded()[:16] + "…" }

func ptr[T any](v T) *T { return &v }
