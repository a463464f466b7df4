//go:build linux

package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// A named volume is a directory berth owns, volumes/<name>/_data, bind
// mounted into the containers that use it: its data outlives them. The
// _data level (Docker's layout) leaves room beside the data for the
// volume's own record, volume.json.

func (e *Engine) volumeDir(name string) string  { return filepath.Join(e.volumesDir(), name) }
func (e *Engine) volumeData(name string) string { return filepath.Join(e.volumeDir(name), "_data") }

// VolumeCreate makes a named volume, or returns it if it exists (as
// Docker does). An empty name gets a random one: an anonymous volume.
func (e *Engine) VolumeCreate(ctx context.Context, req VolumeCreateRequest) (Volume, error) {
	if req.Driver != "" && req.Driver != "local" {
		return Volume{}, fmt.Errorf("%w: volume driver %q: berth has only the local driver", ErrInvalid, req.Driver)
	}
	if req.Name == "" {
		req.Name = randomHex(32)
	}
	if !validName().MatchString(req.Name) || len(req.Name) < 2 {
		return Volume{}, fmt.Errorf("%w: volume name %q: use at least two of letters, digits, '_', '.' and '-', starting with a letter or digit", ErrInvalid, req.Name)
	}
	unlock, err := lockFile(filepath.Join(e.volumesDir(), ".lock"), lockEX)
	if err != nil {
		return Volume{}, err
	}
	defer unlock()
	if v, err := e.volume(req.Name); err == nil {
		return v, nil
	}
	v := Volume{Name: req.Name, Driver: "local", Mountpoint: e.volumeData(req.Name),
		CreatedAt: time.Now().UTC().Truncate(time.Second), Labels: req.Labels, Scope: "local"}
	if err := os.MkdirAll(v.Mountpoint, 0o755); err != nil {
		return Volume{}, fmt.Errorf("engine: creating volume %s: %w", req.Name, err)
	}
	if err := writeJSON(filepath.Join(e.volumeDir(req.Name), "volume.json"), v); err != nil {
		os.RemoveAll(e.volumeDir(req.Name))
		return Volume{}, err
	}
	return v, nil
}

func (e *Engine) volume(name string) (Volume, error) {
	var v Volume
	b, err := os.ReadFile(filepath.Join(e.volumeDir(name), "volume.json"))
	if errors.Is(err, fs.ErrNotExist) || !validName().MatchString(name) {
		return v, fmt.Errorf("%w: no such volume: %s", ErrNotFound, name)
	} else if err != nil {
		return v, fmt.Errorf("engine: reading volume %s: %w", name, err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("engine: volume %s: volume.json is damaged: %w", name, err)
	}
	v.Mountpoint = e.volumeData(name)
	return v, nil
}

// VolumeInspect returns the volume called name.
func (e *Engine) VolumeInspect(ctx context.Context, name string) (Volume, error) {
	return e.volume(name)
}

// VolumeList returns every volume, by name.
func (e *Engine) VolumeList(ctx context.Context) ([]Volume, error) {
	ents, err := os.ReadDir(e.volumesDir())
	if err != nil {
		return nil, fmt.Errorf("engine: listing volumes: %w", err)
	}
	var out []Volume
	for _, ent := range ents {
		if !ent.IsDir() {
			continue
		}
		if v, err := e.volume(ent.Name()); err == nil {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// VolumeRemove deletes a volume and its data. A volume some container
// uses (running or not) is refused, whatever force says: Docker's force
// only silences a missing volume.
func (e *Engine) VolumeRemove(ctx context.Context, name string, force bool) error {
	unlock, err := lockFile(filepath.Join(e.volumesDir(), ".lock"), lockEX)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := e.volume(name); err != nil {
		if force && errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	users, err := e.volumeUsers(name)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return fmt.Errorf("%w: volume %s is in use by container %s: remove the container first", ErrConflict, name, users[0])
	}
	if err := os.RemoveAll(e.volumeDir(name)); err != nil {
		return fmt.Errorf("engine: removing volume %s: %w", name, err)
	}
	return nil
}

// volumeUsers lists the containers (names) that mount volume name.
func (e *Engine) volumeUsers(name string) ([]string, error) {
	all, err := e.all()
	if err != nil {
		return nil, err
	}
	var users []string
	for _, c := range all {
		for _, m := range c.Mounts {
			if m.Type == "volume" && m.Name == name {
				users = append(users, c.Name)
			}
		}
	}
	return users, nil
}
