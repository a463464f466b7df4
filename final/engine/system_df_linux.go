package engine

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"

	image "berth/06-images"
)

// SystemDF says what berth's state takes on disk, as GET /system/df does:
// images (the store's blobs and unpacked layers), the containers' writable
// layers, and the volumes; for each, how much nothing needs (what
// system prune -a, and --volumes for the volumes, could take back).
func (e *Engine) SystemDF(ctx context.Context) (DiskUsage, error) {
	var du DiskUsage
	list, _, _, err := e.inventory()
	if err != nil {
		return du, err
	}
	users, err := e.usersByImage()
	if err != nil {
		return du, err
	}

	// Images. A blob shared by two images counts once in the total, and in
	// each image's SharedSize.
	blobSize, err := e.blobSizes()
	if err != nil {
		return du, err
	}
	refs := map[digest.Digest]int{}
	for _, si := range list {
		for _, b := range blobsOf(si.img) {
			refs[b.Digest]++
		}
	}
	needed := map[digest.Digest]bool{} // blobs of images in use
	du.Images.Items = []ImageSummary{}
	for _, si := range list {
		s := summarize(si, users)
		s.SharedSize = 0
		for _, b := range blobsOf(si.img) {
			if refs[b.Digest] > 1 {
				s.SharedSize += b.Size
			}
			if s.Containers > 0 {
				needed[b.Digest] = true
			}
		}
		du.Images.TotalCount++
		if s.Containers > 0 {
			du.Images.ActiveCount++
			for _, n := range si.names {
				needed[n.Descriptor.Digest] = true // its manifests
			}
		}
		du.Images.Items = append(du.Images.Items, s)
	}
	for d, n := range blobSize {
		du.Images.TotalSize += n
		if !needed[d] {
			du.Images.Reclaimable += n
		}
	}
	standing := map[string]bool{} // unpacked layers a container stands on
	for _, cs := range users {
		for _, c := range cs {
			for _, l := range c.Layers {
				standing[l] = true
			}
		}
	}
	if ents, err := os.ReadDir(e.layersDir()); err == nil {
		for _, ent := range ents {
			n := dirSize(filepath.Join(e.layersDir(), ent.Name()))
			du.Images.TotalSize += n
			if !standing[ent.Name()] {
				du.Images.Reclaimable += n
			}
		}
	}

	// Containers: their writable layers.
	cs, err := e.List(ctx, ListOptions{All: true})
	if err != nil {
		return du, err
	}
	du.Containers.Items = []ContainerDiskUsage{}
	for _, c := range cs {
		item := ContainerDiskUsage{Summary: c, SizeRw: dirSize(e.layerCdir(c.ID))}
		if full, err := e.load(c.ID); err == nil {
			for _, m := range full.Mounts {
				if m.Type == "volume" {
					item.LocalVolumes++
				}
			}
		}
		du.Containers.TotalCount++
		du.Containers.TotalSize += item.SizeRw
		if c.State == "running" {
			du.Containers.ActiveCount++
		} else {
			du.Containers.Reclaimable += item.SizeRw
		}
		du.Containers.Items = append(du.Containers.Items, item)
	}

	// Volumes: their data, and how many containers mount each.
	vols, err := e.VolumeList(ctx)
	if err != nil {
		return du, err
	}
	du.Volumes.Items = []VolumeUsage{}
	for _, v := range vols {
		item := VolumeUsage{Volume: v}
		u, err := e.volumeUsers(v.Name)
		if err != nil {
			return du, err
		}
		item.UsageData.RefCount = int64(len(u))
		item.UsageData.Size = dirSize(e.volumeData(v.Name))
		du.Volumes.TotalCount++
		du.Volumes.TotalSize += item.UsageData.Size
		if len(u) > 0 {
			du.Volumes.ActiveCount++
		} else {
			du.Volumes.Reclaimable += item.UsageData.Size
		}
		du.Volumes.Items = append(du.Volumes.Items, item)
	}
	return du, nil
}

// blobsOf are an image's config and layer blobs.
func blobsOf(img *image.Image) []v1.Descriptor {
	return append([]v1.Descriptor{img.Manifest.Config}, img.Manifest.Layers...)
}

// blobSizes is every blob of the store and its size on disk: manifests,
// configs, layers, and the garbage a collection would take.
func (e *Engine) blobSizes() (map[digest.Digest]int64, error) {
	dir := filepath.Join(e.images.Layout(), v1.ImageBlobsDir, "sha256")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[digest.Digest]int64{}
	for _, ent := range ents {
		if fi, err := ent.Info(); err == nil && fi.Mode().IsRegular() {
			out[digest.NewDigestFromEncoded(digest.SHA256, ent.Name())] = fi.Size()
		}
	}
	return out, nil
}

// dirSize is the bytes of the files under dir (regular files and symlinks,
// a hard-linked file once), as du --apparent-size counts them and Docker
// measures a layer. Files that vanish meanwhile are skipped: a running
// container's layer changes as it is measured.
func dirSize(dir string) int64 {
	var total int64
	seen := map[[2]uint64]bool{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		var st unix.Stat_t
		if unix.Lstat(p, &st) != nil || st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return nil
		}
		if st.Nlink > 1 {
			key := [2]uint64{uint64(st.Dev), uint64(st.Ino)} //nolint:unconvert // their types differ between architectures
			if seen[key] {
				return nil
			}
			seen[key] = true
		}
		total += st.Size
		return nil
	})
	return total
}
