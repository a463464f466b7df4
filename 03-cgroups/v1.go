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

// v1 manages a group on cgroup v1: one directory per hierarchy.
type v1 struct {
	name   string
	mounts map[string]string // controller -> hierarchy mount point
}

var _ Manager = (*v1)(nil)

// NewV1 returns a Manager for a group named name in the v1 hierarchies
// mounted as mounts says (controller -> mount point; two controllers may
// share one, as in "cpu,cpuacct").
func NewV1(mounts map[string]string, name string) (Manager, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	for _, c := range []string{"memory", "cpu", "pids"} {
		if _, ok := mounts[c]; !ok {
			return nil, fmt.Errorf("cgroup: the v1 %s controller is not mounted (see: go run ./steps doctor)", c)
		}
	}
	return &v1{name: name, mounts: mounts}, nil
}

// dir is the group's directory in controller c's hierarchy.
func (m *v1) dir(c string) string { return filepath.Join(m.mounts[c], Parent, m.name) }

// Paths returns one directory per mounted hierarchy.
func (m *v1) Paths() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range sortedKeys(m.mounts) {
		d := m.dir(c)
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// Create makes the group in every hierarchy (see retryVanished).
func (m *v1) Create() error { return retryVanished(m.create) }

func (m *v1) create() (retErr error) {
	var made []string
	defer func() {
		if retErr != nil {
			rmdirs(made)
		}
	}()
	for _, d := range m.Paths() {
		for _, p := range []string{filepath.Dir(d), d} {
			if err := mkdir(p, 0o755); err != nil {
				if errors.Is(err, os.ErrExist) {
					continue
				}
				return fmt.Errorf("cgroup: creating %s: %w", p, err)
			}
			if p == d {
				made = append(made, d)
			}
		}
	}
	// A new cpuset group starts with no CPUs and no memory nodes, and the
	// kernel refuses to add a process to it (ENOSPC): inherit the parent's.
	if root, ok := m.mounts["cpuset"]; ok {
		for _, p := range []string{filepath.Join(root, Parent), m.dir("cpuset")} {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				if err := inherit(p, f); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// inherit copies the parent's value of file into dir when dir's is empty.
func inherit(dir, file string) error {
	cur, err := readFile(filepath.Join(dir, file))
	if err != nil || strings.TrimSpace(string(cur)) != "" {
		return nil
	}
	parent, err := readFile(filepath.Join(filepath.Dir(dir), file))
	if err != nil {
		return fmt.Errorf("cgroup: reading %s: %w", filepath.Join(filepath.Dir(dir), file), err)
	}
	return writeFile(filepath.Join(dir, file), strings.TrimSpace(string(parent)))
}

func (m *v1) Apply(r Resources) error {
	for _, w := range m.order(r.V1()) {
		if _, ok := m.mounts[w.Controller]; !ok {
			return fmt.Errorf("cgroup: %s needs the v1 %s controller, which this host does not mount", w.File, w.Controller)
		}
		path := filepath.Join(m.dir(w.Controller), w.File)
		if w.File == "memory.memsw.limit_in_bytes" {
			if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
				continue // no swap accounting on this host (swapaccount=0)
			}
		}
		if err := writeFile(path, w.Value); err != nil {
			return err
		}
	}
	return nil
}

// order puts memory+swap before memory when the new memory limit is above
// the current memory+swap limit: the kernel refuses (EINVAL) a memory limit
// above memory+swap at every moment, so raising both must start with swap.
func (m *v1) order(ws []Write) []Write {
	var lim, sw = -1, -1
	for i, w := range ws {
		switch w.File {
		case "memory.limit_in_bytes":
			lim = i
		case "memory.memsw.limit_in_bytes":
			sw = i
		}
	}
	if lim < 0 || sw < 0 {
		return ws
	}
	cur, err := readUint(filepath.Join(m.dir("memory"), "memory.memsw.limit_in_bytes"))
	newLim, _ := strconv.ParseUint(ws[lim].Value, 10, 64)
	if err != nil || newLim <= cur {
		return ws
	}
	out := append([]Write(nil), ws...)
	out[lim], out[sw] = out[sw], out[lim]
	return out
}

func (m *v1) Add(pid int) error {
	for _, d := range m.Paths() {
		if err := writeFile(filepath.Join(d, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

func (m *v1) Stats() (Stats, error) {
	var s Stats
	var errs []error
	read := func(dst *uint64, c, file string) {
		v, err := readUint(filepath.Join(m.dir(c), file))
		if err != nil {
			errs = append(errs, err)
		}
		*dst = v
	}
	read(&s.MemoryUsage, "memory", "memory.usage_in_bytes")
	read(&s.MemoryPeak, "memory", "memory.max_usage_in_bytes")
	read(&s.Pids, "pids", "pids.current")
	if ev, err := readKeyed(filepath.Join(m.dir("pids"), "pids.events")); err == nil {
		s.PidsRefused = ev["max"]
	}
	if oom, err := readKeyed(filepath.Join(m.dir("memory"), "memory.oom_control")); err == nil {
		s.OOMKills = oom["oom_kill"]
	} else {
		errs = append(errs, err)
	}
	if _, ok := m.mounts["cpuacct"]; ok {
		var ns uint64
		read(&ns, "cpuacct", "cpuacct.usage")
		s.CPUUsage = time.Duration(ns)
	}
	if st, err := readKeyed(filepath.Join(m.dir("cpu"), "cpu.stat")); err == nil {
		s.Throttled = st["nr_throttled"]
		s.ThrottledAt = time.Duration(st["throttled_time"])
	} else {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return s, fmt.Errorf("cgroup: reading stats: %w", err)
	}
	return s, nil
}

// Destroy freezes the group so no process can fork while it is being
// emptied, kills everything in it, thaws it so the kills are delivered,
// waits until it is empty and removes the directories.
func (m *v1) Destroy() error {
	if _, ok := m.mounts["freezer"]; ok {
		freezer := m.dir("freezer")
		// A group already empty (its processes have exited, the usual
		// case) has nothing to freeze: skip the freeze and thaw.
		if pids, err := procs(freezer); err == nil && len(pids) > 0 {
			if err := freeze(freezer); err != nil {
				return err
			}
			pids, _ := procs(freezer)
			for _, pid := range pids {
				kill(pid)
			}
			if err := writeFile(filepath.Join(freezer, "freezer.state"), "THAWED"); err != nil {
				return err
			}
		}
	}
	for _, d := range m.Paths() {
		if err := waitEmpty(d); err != nil {
			return err
		}
	}
	return rmdirs(m.Paths())
}

// freeze writes FROZEN and waits until the kernel says every task is.
func freeze(dir string) error {
	state := filepath.Join(dir, "freezer.state")
	if err := writeFile(state, "FROZEN"); err != nil {
		return err
	}
	deadline := time.Now().Add(pollTimeout)
	for {
		b, err := readFile(state)
		if err != nil || strings.TrimSpace(string(b)) == "FROZEN" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup: %s did not freeze within %s", dir, pollTimeout)
		}
		time.Sleep(pollInterval)
	}
}
