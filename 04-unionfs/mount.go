package unionfs

import (
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Mount is a mount to make, described and not yet done.
type Mount struct {
	Type    string   // "overlay" or "bind"
	Source  string   // "overlay", or the directory to bind
	Target  string   // where it goes
	Options []string // mount options, e.g. lowerdir=..., upperdir=...
}

// String renders m as the mount(8) command that would make it.
func (m Mount) String() string {
	if m.Type == "bind" {
		return fmt.Sprintf("mount --bind %s %s", m.Source, m.Target)
	}
	return fmt.Sprintf("mount -t %s %s -o %s %s", m.Type, m.Source, strings.Join(m.Options, ","), m.Target)
}

// Snapshotter stores layers and assembles containers' root filesystems.
type Snapshotter interface {
	// Name is "overlay" or "copy".
	Name() string
	// Unpack applies the layer tarball r on top of parents (lowest first)
	// as a new read-only layer directory dir, which must not exist. On any
	// error dir is not created.
	Unpack(r io.Reader, dir string, parents []string) error
	// Prepare makes what the container's mounts need in its own directory
	// cdir, on top of layers (lowest first).
	Prepare(layers []string, cdir string) error
	// Mounts describes the mounts that assemble the container's root
	// filesystem at target. It creates nothing.
	Mounts(layers []string, cdir, target string) ([]Mount, error)
	// Diff writes what the container changed on top of layers as a layer
	// tarball: the basis of `commit`.
	Diff(w io.Writer, layers []string, cdir string) error
}

// Whiteout names, from the OCI image specification's layer format.
const (
	WhiteoutPrefix = ".wh."
	OpaqueMarker   = ".wh..wh..opq"
	// OpaqueXattr is how overlayfs marks a directory that hides the lower
	// layers' contents; a whiteout is a 0/0 character device.
	OpaqueXattr = "trusted.overlay.opaque"
)

// ErrNoLayers means a container was asked for with no layer below it.
var ErrNoLayers = errors.New("unionfs: a container needs at least one layer")

// Overlay returns the overlayfs snapshotter.
func Overlay() Snapshotter { return overlay{} }

// Copy returns the copying snapshotter.
func Copy() Snapshotter { return copier{} }

type overlay struct{}

func (overlay) Name() string { return "overlay" }

// Upper and Work are the container directory's parts on overlay: what the
// container writes, and overlayfs's scratch space on the same filesystem.
func Upper(cdir string) string { return filepath.Join(cdir, "upper") }
func Work(cdir string) string  { return filepath.Join(cdir, "work") }

// Mounts stacks the layers with overlayfs: lowerdir lists them top first,
// the container's upper directory takes every write.
func (overlay) Mounts(layers []string, cdir, target string) ([]Mount, error) {
	if len(layers) == 0 {
		return nil, ErrNoLayers
	}
	lower := make([]string, len(layers))
	for i, l := range layers {
		if strings.ContainsAny(l, ":,") {
			return nil, fmt.Errorf("unionfs: layer path %q holds ':' or ',', which overlay options cannot carry", l)
		}
		lower[len(layers)-1-i] = l
	}
	return []Mount{{Type: "overlay", Source: "overlay", Target: target, Options: []string{
		"lowerdir=" + strings.Join(lower, ":"),
		"upperdir=" + Upper(cdir),
		"workdir=" + Work(cdir),
	}}}, nil
}

// Volatile returns ms with its overlay mounts made volatile: overlayfs
// then never syncs the upper directory. fsync and syncfs inside return at
// once, and the unmount no longer flushes the whole upper filesystem to
// disk first, which is most of what an unmount costs. A crash can lose
// or tear what the container wrote, so the mount leaves VolatileMarker
// behind, and overlayfs refuses those directories until it is removed.
// Neither matters for a container whose writable layer is thrown away
// when it exits (docker run --rm). Other mounts are returned as they are.
// It needs Linux 5.10.
func Volatile(ms []Mount) []Mount {
	out := make([]Mount, len(ms))
	for i, m := range ms {
		if m.Type == "overlay" {
			m.Options = append(slices.Clip(m.Options), "volatile")
		}
		out[i] = m
	}
	return out
}

// VolatileMarker is the directory a volatile mount leaves in the
// container directory cdir's workdir. While it is there, overlayfs will
// not mount the directories again: a crash since may have torn the upper
// directory, and only the user can know whether the host crashed.
func VolatileMarker(cdir string) string {
	return filepath.Join(Work(cdir), "work", "incompat", "volatile")
}

type copier struct{}

func (copier) Name() string { return "copy" }

// FS is the container directory's full copy of the root filesystem, with
// the copy snapshotter.
func FS(cdir string) string { return filepath.Join(cdir, "fs") }

// Mounts binds the container's own full copy onto target.
func (copier) Mounts(layers []string, cdir, target string) ([]Mount, error) {
	if len(layers) == 0 {
		return nil, ErrNoLayers
	}
	return []Mount{{Type: "bind", Source: FS(cdir), Target: target}}, nil
}

// cleanName turns a tar entry's name into a clean path relative to the
// target. A leading "/" is dropped (the entry is contained, as Docker does);
// a name that climbs out with ".." is refused.
func cleanName(name string) (string, error) {
	p := path.Clean("/" + name)[1:]
	if strings.Contains(name, "\x00") {
		return "", errors.New("a NUL byte in the name")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", errors.New("the name climbs out of the layer with ..")
		}
	}
	if p == "" {
		return ".", nil
	}
	return p, nil
}
