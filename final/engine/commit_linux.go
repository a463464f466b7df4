package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	image "berth/06-images"
)

// freezeTimeout bounds how long commit waits for a container to freeze.
const freezeTimeout = 10 * time.Second

// ContainerCommit makes a new image of a container's changes, as docker
// commit does, and returns its ID: the container's writable layer read
// back as a layer tarball (chapter 04's Diff of the upper directory:
// overlayfs's whiteouts become .wh. entries), stored on top of the
// container's image with a config that records the container's own
// settings and the changes (chapter 06's Commit). It works on a running
// container, frozen meanwhile with opts.Pause, and on a stopped one, whose
// writable layer is on disk all the same.
func (e *Engine) ContainerCommit(ctx context.Context, ref string, opts CommitOptions) (string, error) {
	c, err := e.find(ref)
	if err != nil {
		return "", err
	}
	cfg, err := commitConfig(c.Config, opts.Config, opts.Changes)
	if err != nil {
		return "", err
	}
	if opts.Reference != "" {
		if _, err := image.ParseReference(opts.Reference); err != nil {
			return "", fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	// The lock keeps the container from being started, torn down or
	// removed while its layer is read.
	unlock, err := e.lockContainer(c.ID)
	if err != nil {
		return "", err
	}
	defer unlock()
	st, err := e.statusLocked(c)
	if err != nil {
		return "", err
	}
	base, err := e.images.Image(c.ImageID)
	if err != nil {
		return "", fmt.Errorf("engine: committing %s: its image %s: %w", c.Name, c.ImageID, err)
	}

	thaw := func() error { return nil }
	if st.Running && opts.Pause {
		f, err := findFreezer(st.CgroupDir)
		if errors.Is(err, errNoFreezer) {
			return "", fmt.Errorf("%w: cannot pause %s for the commit: %v (mount the v1 freezer controller, or commit with --pause=false)", ErrInvalid, c.Name, err)
		}
		if err := f.Freeze(freezeTimeout); err != nil {
			return "", fmt.Errorf("engine: pausing %s for the commit: %w", c.Name, err)
		}
		var once sync.Once
		var thawErr error
		thaw = func() error { once.Do(func() { thawErr = f.Thaw() }); return thawErr }
		// Whatever happens, the container runs again.
		defer thaw()
	}

	layers := make([]string, len(c.Layers))
	for i, l := range c.Layers {
		layers[i] = filepath.Join(e.images.Root(), "layers", l)
	}
	// Diff | withoutMountpoints | Commit: the layer streams through, read
	// once. The container runs again as soon as its layer has been read.
	diffR, diffW := io.Pipe()
	layerR, layerW := io.Pipe()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		err := e.images.Snapshotter().Diff(diffW, layers, e.layerCdir(c.ID))
		if terr := thaw(); err == nil {
			err = terr
		}
		diffW.CloseWithError(err)
	}()
	go func() {
		defer wg.Done()
		err := withoutMountpoints(layerW, diffR)
		diffR.CloseWithError(err) // stops the diff if this ends first
		layerW.CloseWithError(err)
	}()
	img, err := image.Commit(layerR, e.images, base, image.CommitOptions{
		Ref:       opts.Reference,
		Config:    cfg,
		Author:    opts.Author,
		Comment:   opts.Comment,
		CreatedBy: strings.Join(c.Config.Cmd, " "),
	})
	layerR.CloseWithError(errors.New("engine: commit ended")) // unblocks the pipeline if Commit stopped early
	wg.Wait()
	if err != nil {
		return "", fmt.Errorf("engine: committing %s: %w", c.Name, err)
	}
	return img.ID().String(), nil
}
