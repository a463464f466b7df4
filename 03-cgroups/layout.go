package cgroup

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Layout is how a host mounts its cgroups.
type Layout struct {
	Mode string            // "v2", "hybrid" or "v1"
	V2   string            // where cgroup2 is mounted, "" if nowhere
	V1   map[string]string // v1 controller -> mount point of its hierarchy
}

// ErrNoCgroups means the host mounts no cgroup filesystem at all.
var ErrNoCgroups = errors.New("cgroup: no cgroup filesystem is mounted (mount cgroup2 at /sys/fs/cgroup)")

// v1Controllers are the v1 controllers a Manager uses: the limits, the CPU
// accounting, and the freezer that makes destroying a group race-free.
var v1Controllers = []string{"memory", "cpu", "cpuacct", "cpuset", "pids", "freezer"}

// ParseMountinfo reads /proc/self/mountinfo (see proc(5)) and finds the
// cgroup mounts: fstype cgroup2 for v2; fstype cgroup for v1, whose super
// options name the controllers of the hierarchy ("rw,cpu,cpuacct").
func ParseMountinfo(r io.Reader) (Layout, error) {
	l := Layout{V1: map[string]string{}}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) < 5 || len(b) < 3 {
			continue
		}
		target := unescape(a[4])
		switch b[0] {
		case "cgroup2":
			// Several cgroup2 mounts may exist (a container's own); the
			// canonical one is preferred.
			if l.V2 == "" || target == "/sys/fs/cgroup" {
				l.V2 = target
			}
		case "cgroup":
			for _, opt := range strings.Split(b[2], ",") {
				for _, c := range v1Controllers {
					if opt == c {
						if _, seen := l.V1[c]; !seen {
							l.V1[c] = target
						}
					}
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return l, err
	}
	switch {
	case len(l.V1) == 0 && l.V2 == "":
		return l, ErrNoCgroups
	case len(l.V1) == 0:
		l.Mode = "v2"
	case l.V2 == "":
		l.Mode = "v1"
	default:
		l.Mode = "hybrid"
	}
	return l, nil
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// DetectLayout reads this host's layout.
func DetectLayout() (Layout, error) {
	b, err := readFile("/proc/self/mountinfo") // pollable too
	if err != nil {
		return Layout{}, fmt.Errorf("cgroup: %w", err)
	}
	return ParseMountinfo(bytes.NewReader(b))
}

// Host reads the CPUs and memory nodes the root cgroup offers.
func (l Layout) Host() (Host, error) {
	dir, cpus, mems := l.V2, "cpuset.cpus.effective", "cpuset.mems.effective"
	if l.Mode != "v2" {
		dir, cpus, mems = l.V1["cpuset"], "cpuset.cpus", "cpuset.mems"
	}
	var h Host
	var err error
	if h.CPUs, err = readList(filepath.Join(dir, cpus), "/sys/devices/system/cpu/online"); err != nil {
		return h, err
	}
	h.Mems, err = readList(filepath.Join(dir, mems), "/sys/devices/system/node/online")
	if err != nil {
		h.Mems, err = []int{0}, nil // no NUMA information: one node
	}
	return h, err
}

func readList(paths ...string) ([]int, error) {
	var lastErr error
	for _, p := range paths {
		b, err := readFile(p)
		if err != nil {
			lastErr = err
			continue
		}
		if strings.TrimSpace(string(b)) == "" {
			continue
		}
		return ParseList(string(b))
	}
	if lastErr == nil {
		lastErr = errors.New("empty")
	}
	return nil, fmt.Errorf("cgroup: reading the host's CPUs: %w", lastErr)
}

// New returns the Manager for a group named name on this host: cgroup v2
// on a pure v2 host, v1 otherwise (on a hybrid host the controllers are
// v1's). Nothing is created until Create.
func New(name string) (Manager, error) {
	l, err := DetectLayout()
	if err != nil {
		return nil, err
	}
	return l.Manager(name)
}

// Manager returns the Manager for name on layout l.
func (l Layout) Manager(name string) (Manager, error) {
	if l.Mode == "v2" {
		return NewV2(l.V2, name)
	}
	return NewV1(l.V1, name)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
