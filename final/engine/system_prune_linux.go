package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	network "berth/05-network"
)

// SystemPrune removes what nothing uses, in docker's order, each kind
// through the engine's own removal so its rules hold (a running container,
// a network or volume in use, are never taken):
//
//  1. stopped containers (with their writable layers);
//  2. networks no container is created on (not the default bridge);
//  3. with Volumes, anonymous volumes no container mounts;
//  4. dangling images, or with All every image no container uses;
//  5. unpacked layers no container stands on: their images keep their
//     blobs and are unpacked again by the next create.
//
// It goes on past a failure and returns the report with the failures.
func (e *Engine) SystemPrune(ctx context.Context, opts SystemPruneOptions) (SystemPruneReport, error) {
	r := SystemPruneReport{ContainersDeleted: []string{}, NetworksDeleted: []string{}, VolumesDeleted: []string{},
		ImagesDeleted: []DeleteResponse{}, LayersDeleted: []string{}}
	var errs []error
	skip := func(err error) bool { return errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) }

	cs, err := e.List(ctx, ListOptions{All: true})
	if err != nil {
		return r, err
	}
	for _, c := range cs {
		if c.State == "running" {
			continue
		}
		size := dirSize(e.layerCdir(c.ID))
		if err := e.Remove(ctx, c.ID, RemoveOptions{}); err != nil {
			if !skip(err) {
				errs = append(errs, err)
			}
			continue
		}
		r.ContainersDeleted = append(r.ContainersDeleted, c.ID)
		r.SpaceReclaimed += uint64(size)
	}

	if nets, err := e.NetworkList(ctx); err != nil {
		errs = append(errs, err)
	} else {
		for _, n := range nets {
			if n.Name == network.DefaultNetwork {
				continue
			}
			if err := e.NetworkRemove(ctx, n.Name); err != nil {
				if !skip(err) {
					errs = append(errs, err)
				}
				continue
			}
			r.NetworksDeleted = append(r.NetworksDeleted, n.Name)
		}
	}

	if opts.Volumes {
		vols, err := e.VolumeList(ctx)
		if err != nil {
			errs = append(errs, err)
		}
		for _, v := range vols {
			if len(v.Name) != 64 || !isHex(v.Name) { // named volumes are kept, as docker keeps them
				continue
			}
			size := dirSize(e.volumeData(v.Name))
			if err := e.VolumeRemove(ctx, v.Name, false); err != nil {
				if !skip(err) {
					errs = append(errs, err)
				}
				continue
			}
			r.VolumesDeleted = append(r.VolumesDeleted, v.Name)
			r.SpaceReclaimed += uint64(size)
		}
	}

	ir, err := e.ImagePrune(ctx, ImagePruneOptions{All: opts.All})
	if err != nil {
		errs = append(errs, err)
	}
	r.ImagesDeleted = append(r.ImagesDeleted, ir.ImagesDeleted...)
	r.SpaceReclaimed += ir.SpaceReclaimed

	layers, n, err := e.pruneLayers()
	if err != nil {
		errs = append(errs, err)
	}
	r.LayersDeleted = append(r.LayersDeleted, layers...)
	r.SpaceReclaimed += uint64(n)
	return r, errors.Join(errs...)
}

// pruneLayers deletes the unpacked layers no container stands on, and
// returns their chain IDs and their size. It holds the store's gc.lock
// alone, so no unpack runs meanwhile; and since a container being created
// has its directory before its config.json (which names its layers), a
// directory without one means "a create is under way": then nothing is
// deleted this time, for that create is about to stand on layers nobody
// can know yet.
func (e *Engine) pruneLayers() ([]string, int64, error) {
	unlock, err := lockFile(filepath.Join(e.images.Root(), "gc.lock"), unix.LOCK_EX)
	if err != nil {
		return nil, 0, err
	}
	defer unlock()
	ents, err := os.ReadDir(e.containersDir())
	if err != nil {
		return nil, 0, fmt.Errorf("engine: %w", err)
	}
	standing := map[string]bool{}
	for _, ent := range ents {
		if !ent.IsDir() || len(ent.Name()) != 64 {
			continue // ".removing" directories: their containers are gone
		}
		c, err := e.load(ent.Name())
		if errors.Is(err, ErrNotFound) {
			return nil, 0, nil // a create under way
		}
		if err != nil {
			return nil, 0, err
		}
		for _, l := range c.Layers {
			standing[l] = true
		}
	}
	ents, err = os.ReadDir(e.layersDir())
	if err != nil {
		return nil, 0, fmt.Errorf("engine: %w", err)
	}
	var (
		gone  []string
		total int64
	)
	for _, ent := range ents {
		// Dot names are unpacks that died halfway; chapter 06's GC takes them.
		if standing[ent.Name()] || strings.HasPrefix(ent.Name(), ".") {
			continue
		}
		dir := filepath.Join(e.layersDir(), ent.Name())
		n := dirSize(dir)
		if err := os.RemoveAll(dir); err != nil {
			return gone, total, fmt.Errorf("engine: removing unpacked layer %s: %w", ent.Name(), err)
		}
		gone = append(gone, "sha256:"+ent.Name())
		total += n
	}
	return gone, total, nil
}
