//go:build linux

package engine

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// container is what berth records about one container, in
// containers/<id>/config.json: what was asked for and what was decided at
// create time. It changes only on create (and rename, some day).
type container struct {
	ID      string
	Name    string // without Docker's leading slash
	Created time.Time
	Path    string   // the command, after the image's entrypoint and cmd
	Args    []string // its arguments
	// Image is the image as the user named it; ImageID its config digest;
	// Layers the chain IDs of its layers, lowest first, so the container
	// finds its layers whatever happens to the image's name.
	Image   string
	ImageID string
	Layers  []string

	Config     Config
	HostConfig HostConfig
	Mounts     []MountPoint
	// Snapshotter is chapter 04's: "overlay" or "copy".
	Snapshotter string
}

// status is containers/<id>/state.json: what is happening to the
// container. The monitor writes it as the container starts and ends;
// other berth processes read it, and mend it when the monitor died.
type status struct {
	State
	// Monitor is the shim's process, named by PID and start time so a
	// recycled PID is never taken for it.
	Monitor   proc `json:",omitempty"`
	Init      proc `json:",omitempty"`
	Network   *NetworkSettings
	CgroupDir []string `json:",omitempty"`
	// Rootfs is where the root filesystem is mounted while it runs.
	Rootfs string `json:",omitempty"`
}

// proc names a process for good: a PID alone may be reused once it exits.
type proc struct {
	Pid   int    `json:",omitempty"`
	Start uint64 `json:",omitempty"` // /proc/PID/stat's starttime, in clock ticks since boot
	Boot  string `json:",omitempty"` // the boot it ran in
}

// alive says whether p still runs: same PID, same start time, same boot.
func (p proc) alive() bool {
	if p.Pid <= 0 {
		return false
	}
	if p.Boot != "" && p.Boot != bootID() {
		return false
	}
	st, state, err := procStat(p.Pid)
	// A zombie has exited: only its parent's wait is missing, and an
	// orphan's parent may be slow to reap it.
	return err == nil && st == p.Start && state != "Z" && state != "X"
}

// procOf names the running process pid.
func procOf(pid int) proc {
	st, _, _ := procStat(pid)
	return proc{Pid: pid, Start: st, Boot: bootID()}
}

// procStat reads fields 22 (start time) and 3 (state) of /proc/PID/stat.
// The command name (field 2) may hold spaces and parentheses, so fields
// are counted after the last ')'.
func procStat(pid int) (start uint64, state string, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, "", fmt.Errorf("engine: malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, "", fmt.Errorf("engine: malformed /proc/%d/stat", pid)
	}
	_, err = fmt.Sscan(f[19], &start)
	return start, f[0], err
}

var bootIDCache string

func bootID() string {
	if bootIDCache == "" {
		b, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
		bootIDCache = strings.TrimSpace(string(b))
	}
	return bootIDCache
}

// The files of a container's directory.
func (e *Engine) dir(id string) string        { return filepath.Join(e.containersDir(), id) }
func (e *Engine) configPath(id string) string { return filepath.Join(e.dir(id), "config.json") }
func (e *Engine) statePath(id string) string  { return filepath.Join(e.dir(id), "state.json") }
func (e *Engine) logPath(id string) string    { return filepath.Join(e.dir(id), id+"-json.log") }
func (e *Engine) rootfs(id string) string     { return filepath.Join(e.dir(id), "rootfs") }
func (e *Engine) layerCdir(id string) string  { return filepath.Join(e.dir(id), "layer") }

// runDir is the running container's directory in the exec root: the
// monitor's socket, and the container's OCI bundle (its config.json; the
// root filesystem it names is in the container's directory), as
// containerd keeps its bundles under /run. Short IDs keep the socket's
// path under the 108 bytes a UNIX socket's name may have.
func (e *Engine) runDir(id string) string     { return filepath.Join(e.execRoot, id[:12]) }
func (e *Engine) socketPath(id string) string { return filepath.Join(e.runDir(id), "shim.sock") }
func (e *Engine) bundle(id string) string     { return e.runDir(id) }

func (e *Engine) load(id string) (*container, error) {
	b, err := os.ReadFile(e.configPath(id))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: no such container: %s", ErrNotFound, id)
		}
		return nil, fmt.Errorf("engine: reading container %s: %w", id, err)
	}
	var c container
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("engine: container %s: config.json is damaged (%v); remove its directory %s", id, err, e.dir(id))
	}
	return &c, nil
}

func (e *Engine) loadStatus(id string) (status, error) {
	var s status
	b, err := os.ReadFile(e.statePath(id))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return status{State: State{Status: "created"}}, nil
		}
		return s, fmt.Errorf("engine: reading the state of %s: %w", id, err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("engine: container %s: state.json is damaged: %w", id, err)
	}
	return s, nil
}

// saveStatus replaces state.json. It is not fsync'd: it changes at every
// start and exit, and after a crash it is mended from the processes
// themselves (status), so durability would buy nothing for its cost.
func (e *Engine) saveStatus(id string, s status) error {
	return writeFile(e.statePath(id), s, false)
}

// writeJSON replaces path's content all at once (write, fsync, rename),
// so a reader never sees half of it and a crash leaves old or new.
func writeJSON(path string, v any) error { return writeFile(path, v, true) }

func writeFile(path string, v any, durable bool) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp" + randomHex(4)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("engine: writing %s: %w", path, err)
	}
	if _, err = f.Write(append(b, '\n')); err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("engine: writing %s: %w", path, err)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newID is a container's ID: 256 random bits, as Docker's.
func newID() string { return randomHex(32) }

// lockFile takes an flock(2) on path. The kernel drops it when the holder
// dies, so a killed berth never leaves anything locked.
func lockFile(path string, how int) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("engine: locking %s: %w", path, err)
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("engine: locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// lockNames serialises what changes the set of names: create and remove.
func (e *Engine) lockNames() (func(), error) {
	return lockFile(filepath.Join(e.containersDir(), ".names.lock"), lockEX)
}

// lockContainer serialises state changes of one container (start, stop,
// remove, the monitor's exit).
func (e *Engine) lockContainer(id string) (func(), error) {
	return lockFile(filepath.Join(e.dir(id), "lock"), lockEX)
}

// ids lists every container's ID, oldest first.
func (e *Engine) all() ([]*container, error) {
	ents, err := os.ReadDir(e.containersDir())
	if err != nil {
		return nil, fmt.Errorf("engine: listing containers: %w", err)
	}
	var out []*container
	for _, ent := range ents {
		if !ent.IsDir() || len(ent.Name()) != 64 {
			continue
		}
		c, err := e.load(ent.Name())
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				continue // removed meanwhile, or half-created
			}
			return nil, err
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// find resolves what the user typed: a full ID, a name (with or without
// Docker's leading slash), or an unambiguous ID prefix.
func (e *Engine) find(ref string) (*container, error) {
	ref = strings.TrimPrefix(ref, "/")
	if ref == "" {
		return nil, fmt.Errorf("%w: a container name or ID is needed", ErrInvalid)
	}
	if len(ref) == 64 {
		if c, err := e.load(ref); err == nil {
			return c, nil
		}
	}
	all, err := e.all()
	if err != nil {
		return nil, err
	}
	for _, c := range all {
		if c.Name == ref {
			return c, nil
		}
	}
	var match *container
	for _, c := range all {
		if strings.HasPrefix(c.ID, ref) {
			if match != nil {
				return nil, fmt.Errorf("%w: %q matches more than one container ID: give more of it", ErrInvalid, ref)
			}
			match = c
		}
	}
	if match == nil {
		return nil, fmt.Errorf("%w: no such container: %s", ErrNotFound, ref)
	}
	return match, nil
}

const lockEX = unix.LOCK_EX
