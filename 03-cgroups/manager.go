package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Manager controls one cgroup: the same operations on cgroup v1, where
// each controller is its own hierarchy of directories, and on cgroup v2,
// where one directory holds every controller's files.
type Manager interface {
	// Create makes the group's directories (and enables the controllers it
	// needs, on v2).
	Create() error
	// Apply writes r's limits; r should be validated first.
	Apply(r Resources) error
	// Add moves process pid (and its future children) into the group.
	Add(pid int) error
	// Stats reads what the group has used.
	Stats() (Stats, error)
	// Destroy kills every process in the group and removes its
	// directories. Destroying a group that does not exist is not an error.
	Destroy() error
	// Paths are the group's directories, for people to look at.
	Paths() []string
}

// Stats is what a group has used.
type Stats struct {
	MemoryUsage uint64        // bytes now
	MemoryPeak  uint64        // the most bytes ever
	OOMKills    uint64        // processes the OOM killer killed in the group
	CPUUsage    time.Duration // CPU time used
	Throttled   uint64        // periods in which the group hit its CPU quota
	ThrottledAt time.Duration // time spent throttled
	Pids        uint64        // processes (and threads) now
	PidsRefused uint64        // forks refused because of the pids limit
}

// Parent is the directory under each hierarchy that holds berth's groups.
const Parent = "berth"

// validName is compiled on first use rather than at package init, which
// every program importing this package pays for at start.
var validName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`) })

func checkName(name string) error {
	if !validName().MatchString(name) || len(name) > 128 {
		return fmt.Errorf("cgroup: invalid group name %q: use letters, digits, '.', '_' and '-'", name)
	}
	return nil
}

// mkdir makes a cgroup directory; the kernel fills it with control files.
// The fake-cgroupfs tests replace it with one that does the kernel's part.
var mkdir = os.Mkdir

// retryVanished runs create until it does not fail for a missing
// directory, a few times at most. Every group's parent (Parent) is shared
// and removed by whichever teardown leaves it empty, so another
// container's teardown can remove it between our mkdir of the parent and
// of the group (ENOENT). Once the group exists the parent cannot go
// (rmdir refuses a cgroup with children), so another try settles it.
// create undoes its own partial work when it fails.
func retryVanished(create func() error) error {
	var err error
	for range 5 {
		if err = create(); !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return err
}

// removeDir removes an empty cgroup directory. A cgroup directory holds the
// kernel's files and is removed with rmdir, never recursively; the
// fake-cgroupfs tests replace it, since their directories hold real files.
var removeDir = os.Remove

// pollInterval and pollTimeout bound the wait for a group to empty after
// its processes are killed.
var (
	pollInterval = 10 * time.Millisecond
	pollTimeout  = 5 * time.Second
)

func writeError(path, value string, err error) error {
	return fmt.Errorf("cgroup: writing %q to %s: %w", value, path, err)
}

func readUint(path string) (uint64, error) {
	b, err := readFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// readKeyed reads "key value" lines, as in memory.events and cpu.stat.
func readKeyed(path string) (map[string]uint64, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 {
			if v, err := strconv.ParseUint(f[1], 10, 64); err == nil {
				out[f[0]] = v
			}
		}
	}
	return out, nil
}

// procs reads the PIDs in a group's cgroup.procs.
func procs(dir string) ([]int, error) {
	b, err := readFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			out = append(out, pid)
		}
	}
	return out, nil
}

// waitEmpty waits until no process is left in dir, killing any that
// appear in the meantime.
func waitEmpty(dir string) error {
	deadline := time.Now().Add(pollTimeout)
	for {
		pids, err := procs(dir)
		if errors.Is(err, os.ErrNotExist) || err == nil && len(pids) == 0 {
			return nil
		}
		if err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup: %s still holds processes %v after %s", dir, pids, pollTimeout)
		}
		for _, pid := range pids {
			kill(pid)
		}
		time.Sleep(pollInterval)
	}
}

// rmdirs removes dirs, tolerating those already gone, then the parents if
// they are empty (another group may still be using them).
func rmdirs(dirs []string) error {
	var errs []error
	for _, d := range dirs {
		if err := removeDir(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("cgroup: removing %s: %w", d, err))
		}
	}
	for _, d := range dirs {
		removeDir(filepath.Dir(d)) // best effort: busy or not empty is fine
	}
	return errors.Join(errs...)
}
