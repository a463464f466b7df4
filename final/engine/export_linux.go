package engine

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	image "berth/06-images"
)

// ContainerExport writes a container's whole filesystem to w as one flat
// tarball, as docker export does: its image's layers and its own changes
// merged, deleted files simply absent, volumes left out. Chapter 06's
// Export does it from a read-only overlay view of its own, so it serves a
// running container and a stopped one alike. `berth import` takes the
// tarball back as a one-layer image; `berth save` is the other way to
// carry an image, layers and history kept.
func (e *Engine) ContainerExport(ctx context.Context, ref string, w io.Writer) error {
	c, err := e.find(ref)
	if err != nil {
		return err
	}
	// Not started, torn down or removed while it is read: docker holds
	// the container the same way until the export is written.
	unlock, err := e.lockContainer(c.ID)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := e.statusLocked(c); err != nil {
		return err
	}
	layers := make([]string, len(c.Layers))
	for i, l := range c.Layers {
		layers[i] = filepath.Join(e.images.Root(), "layers", l)
	}
	if err := image.Export(w, e.images, layers, e.layerCdir(c.ID)); err != nil {
		return fmt.Errorf("engine: exporting %s: %w", c.Name, err)
	}
	return nil
}
