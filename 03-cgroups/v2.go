package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// v2 manages a group on cgroup v2: one directory, every controller.
type v2 struct {
	root string // the cgroup2 mount point
	name string
}

var _ Manager = (*v2)(nil)

// NewV2 returns a Manager for a group named name in the cgroup2 hierarchy
// mounted at root.
func NewV2(root, name string) (Manager, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	return &v2{root: root, name: name}, nil
}

func (m *v2) dir() string     { return filepath.Join(m.root, Parent, m.name) }
func (m *v2) Paths() []string { return []string{m.dir()} }

// wanted are the controllers a group may use, in the order they are
// enabled.
var wanted = []string{"cpuset", "cpu", "memory", "pids"}

// Create enables the controllers in every ancestor's cgroup.subtree_control
// (a controller reaches a group only if its parent hands it down), then
// makes the group (see retryVanished).
func (m *v2) Create() error { return retryVanished(m.create) }

func (m *v2) create() error {
	parent := filepath.Join(m.root, Parent)
	if err := enable(m.root); err != nil {
		return err
	}
	if err := mkdir(parent, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("cgroup: creating %s: %w", parent, err)
	}
	if err := enable(parent); err != nil {
		return err
	}
	if err := mkdir(m.dir(), 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("cgroup: creating %s: %w", m.dir(), err)
	}
	return nil
}

// enable hands the wanted controllers that dir has down to its children.
// Writing "+memory" when memory is already on changes nothing, so every
// wanted controller dir offers is written, in one write.
func enable(dir string) error {
	avail, err := readFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	var add []string
	for _, c := range wanted {
		for _, f := range strings.Fields(string(avail)) {
			if f == c {
				add = append(add, "+"+c)
			}
		}
	}
	if len(add) == 0 {
		return nil
	}
	return writeFile(filepath.Join(dir, "cgroup.subtree_control"), strings.Join(add, " "))
}

func (m *v2) Apply(r Resources) error {
	for _, w := range r.V2() {
		path := filepath.Join(m.dir(), w.File)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if w.File == "memory.swap.max" {
				continue // no swap accounting on this host
			}
			ctrl, _, _ := strings.Cut(w.File, ".")
			return fmt.Errorf("cgroup: %s needs the %s controller, which %s does not have: enable it in the parent's cgroup.subtree_control", w.File, ctrl, m.dir())
		}
		if err := writeFile(path, w.Value); err != nil {
			return err
		}
	}
	return nil
}

func (m *v2) Add(pid int) error {
	return writeFile(filepath.Join(m.dir(), "cgroup.procs"), strconv.Itoa(pid))
}

func (m *v2) Stats() (Stats, error) {
	var s Stats
	var errs []error
	var err error
	if s.MemoryUsage, err = readUint(filepath.Join(m.dir(), "memory.current")); err != nil {
		errs = append(errs, err)
	}
	// memory.peak exists from Linux 5.19 on.
	s.MemoryPeak, _ = readUint(filepath.Join(m.dir(), "memory.peak"))
	if s.Pids, err = readUint(filepath.Join(m.dir(), "pids.current")); err != nil {
		errs = append(errs, err)
	}
	if ev, err := readKeyed(filepath.Join(m.dir(), "pids.events")); err == nil {
		s.PidsRefused = ev["max"]
	}
	if ev, err := readKeyed(filepath.Join(m.dir(), "memory.events")); err == nil {
		s.OOMKills = ev["oom_kill"]
	} else {
		errs = append(errs, err)
	}
	if st, err := readKeyed(filepath.Join(m.dir(), "cpu.stat")); err == nil {
		s.CPUUsage = time.Duration(st["usage_usec"]) * time.Microsecond
		s.Throttled = st["nr_throttled"]
		s.ThrottledAt = time.Duration(st["throttled_usec"]) * time.Microsecond
	} else {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return s, fmt.Errorf("cgroup: reading stats: %w", err)
	}
	return s, nil
}

// Destroy kills everything in the group at once with cgroup.kill (Linux
// 5.14), or process by process before that, waits until it is empty and
// removes it.
func (m *v2) Destroy() error {
	if _, err := os.Stat(m.dir()); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	killFile := filepath.Join(m.dir(), "cgroup.kill")
	if _, err := os.Stat(killFile); err == nil {
		if err := writeFile(killFile, "1"); err != nil {
			return err
		}
	}
	if err := waitEmpty(m.dir()); err != nil {
		return err
	}
	return rmdirs(m.Paths())
}
