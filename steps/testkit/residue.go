package testkit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Snapshot is what the host holds of the kinds of things a container engine
// creates. Taken before and after a test (or the whole suite), the
// difference is what the test left behind.
type Snapshot struct {
	Mounts  []string `json:"mounts"`  // "target fstype source" from /proc/self/mountinfo
	Links   []string `json:"links"`   // network interfaces in this network namespace
	Netns   []string `json:"netns"`   // named network namespaces (/run/netns)
	Cgroups []string `json:"cgroups"` // directories under /sys/fs/cgroup
	Rules   []string `json:"rules"`   // iptables-save, ip6tables-save and nft lines
	Procs   []string `json:"procs"`   // "pid cmdline" of processes a test may have started
}

// TakeSnapshot reads the host's state. It needs no privilege, though a normal
// user sees no firewall rules. Its processes are those of the whole host
// that the course may have started: use it around the whole suite.
func TakeSnapshot() (Snapshot, error) { return takeSnapshot(false) }

// takeSnapshot reads the host's state; with ownOnly, the processes are only
// this process's descendants, so that test binaries running in parallel do
// not see each other's children.
func takeSnapshot(ownOnly bool) (Snapshot, error) {
	var s Snapshot
	var err error
	if s.Mounts, err = snapMounts(); err != nil {
		return s, fmt.Errorf("snapshot of mounts: %w", err)
	}
	s.Links = dirNames("/sys/class/net")
	s.Netns = append(dirNames("/run/netns"), dirNames("/var/run/netns")...)
	s.Netns = uniq(s.Netns)
	s.Cgroups = snapCgroups("/sys/fs/cgroup")
	s.Rules = snapRules()
	s.Procs = snapProcs(ownOnly)
	return s, nil
}

// Diff lists, one line each, what after holds that s did not ("left: ...")
// and what s held that after lost ("gone: ..."). Empty means the host is as
// it was.
func (s Snapshot) Diff(after Snapshot) []string {
	var out []string
	cmp := func(kind string, before, now []string, goneCounts bool) {
		b, a := set(before), set(now)
		for _, x := range now {
			if !b[x] {
				out = append(out, fmt.Sprintf("left %s: %s", kind, x))
			}
		}
		for _, x := range before {
			if !a[x] && goneCounts {
				out = append(out, fmt.Sprintf("gone %s: %s", kind, x))
			}
		}
	}
	cmp("mount", s.Mounts, after.Mounts, true)
	cmp("link", s.Links, after.Links, true)
	cmp("netns", s.Netns, after.Netns, true)
	// Service managers (systemd, a sandbox's supervisor) remove their own
	// groups all the time: a cgroup that vanished is theirs, not residue.
	cmp("cgroup", s.Cgroups, after.Cgroups, false)
	cmp("rule", s.Rules, after.Rules, true)
	// A process that was running before and has ended is not residue.
	b := set(s.Procs)
	for _, p := range after.Procs {
		if !b[p] {
			out = append(out, "left process: "+p)
		}
	}
	return out
}

// CheckResidue takes a snapshot now and, when the test and all its other
// cleanups are done, fails the test if the host differs. Call it first in a
// test that touches the kernel: cleanups run last-registered first, so this
// one runs after every undo the test registers later.
//
// go test runs packages in parallel, and mounts, links, cgroups and rules
// are global: so CheckResidue also holds a machine-wide lock until the check
// is done, and privileged tests that use it never overlap. (Do not combine it
// with t.Parallel.) Processes are checked among the test's own descendants.
func CheckResidue(t testing.TB) {
	t.Helper()
	unlock, err := lockHost()
	if err != nil {
		t.Fatalf("residue check: %v", err)
	}
	before, err := takeSnapshot(true)
	if err != nil {
		unlock()
		t.Fatalf("residue check: %v", err)
	}
	t.Cleanup(func() {
		defer unlock()
		// Processes a test killed may take a moment to be reaped; give them
		// that moment before calling them residue.
		var diff []string
		for i := 0; i < 20; i++ {
			after, err := takeSnapshot(true)
			if err != nil {
				t.Errorf("residue check: %v", err)
				return
			}
			if diff = before.Diff(after); len(diff) == 0 {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Errorf("the test left the host changed:\n  %s", strings.Join(diff, "\n  "))
	})
}

// SaveSnapshot and LoadSnapshot keep a snapshot in a file, so `make test`
// can compare the host before and after the whole suite.
func SaveSnapshot(path string, s Snapshot) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// LoadSnapshot reads a snapshot written by SaveSnapshot.
func LoadSnapshot(path string) (Snapshot, error) {
	var s Snapshot
	b, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("reading snapshot %s: %w", path, err)
	}
	return s, nil
}

func snapMounts() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) < 5 || len(b) < 2 {
			continue
		}
		out = append(out, a[4]+" "+b[0]+" "+b[1])
	}
	sort.Strings(out)
	return out, sc.Err()
}

func dirNames(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// systemdUnit matches the cgroups systemd creates and removes by itself as
// users log in and services start; they are not a test's doing.
var systemdUnit = regexp.MustCompile(`\.(scope|service|slice|socket|mount|swap)$`)

func snapCgroups(root string) []string {
	var out []string
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if systemdUnit.MatchString(d.Name()) && !strings.Contains(d.Name(), "berth") {
			return fs.SkipDir
		}
		if path != root {
			out = append(out, strings.TrimPrefix(path, root+"/"))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// counters matches the packet and byte counters iptables-save and nft print,
// which change with traffic and are not state a test leaves.
var counters = regexp.MustCompile(`\[\d+:\d+\]|counter packets \d+ bytes \d+`)

func snapRules() []string {
	var out []string
	for _, argv := range [][]string{{"iptables-save"}, {"ip6tables-save"}, {"nft", "list", "ruleset"}} {
		if _, err := exec.LookPath(argv[0]); err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		b, err := exec.CommandContext(ctx, argv[0], argv[1:]...).Output()
		cancel()
		if err != nil {
			continue // a normal user may not read the rules; root always can
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			line := strings.TrimSpace(counters.ReplaceAllString(sc.Text(), ""))
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			out = append(out, argv[0]+": "+line)
		}
	}
	sort.Strings(out)
	return out
}

// residueProc matches the command lines of processes the course starts,
// chapter 06's registries and reference tools among them.
var residueProc = regexp.MustCompile(`berth|busybox|docker-registry|skopeo|umoci|\.test(\s|$)`)

// snapProcs lists this process's descendants and, unless ownOnly, any
// process whose command line names berth, busybox, docker-registry, skopeo,
// umoci or a test binary, leaving out this process and its ancestors (the
// go command, make, the shell).
func snapProcs(ownOnly bool) []string {
	self := os.Getpid()
	parent := map[int]int{}
	cmdline := map[int]string{}
	for _, name := range dirNames("/proc") {
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + name + "/stat")
		if err != nil {
			continue
		}
		// The command name in stat is in parentheses and may hold spaces:
		// the fields after the last ')' are fixed.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 {
			continue
		}
		if f[0] == "Z" {
			continue // a zombie is already dead; its parent reaps it
		}
		ppid, _ := strconv.Atoi(f[1])
		parent[pid] = ppid
		cl, _ := os.ReadFile("/proc/" + name + "/cmdline")
		cmdline[pid] = strings.TrimSpace(strings.ReplaceAll(string(cl), "\x00", " "))
	}
	ancestors := map[int]bool{}
	for p := self; p > 0 && !ancestors[p]; p = parent[p] {
		ancestors[p] = true
	}
	descends := func(pid int) bool {
		for p, n := parent[pid], 0; p > 0 && n < 64; p, n = parent[p], n+1 {
			if p == self {
				return true
			}
		}
		return false
	}
	var out []string
	for pid, cl := range cmdline {
		if ancestors[pid] || cl == "" {
			continue
		}
		if descends(pid) || !ownOnly && residueProc.MatchString(cl) {
			out = append(out, fmt.Sprintf("%d %s", pid, cl))
		}
	}
	sort.Strings(out)
	return out
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func uniq(xs []string) []string {
	sort.Strings(xs)
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}

var hostLock struct {
	sync.Mutex
	depth int
	file  *os.File
}

// hostLockPath names the lock file; a test of the lock itself points it at a
// private file so that other test binaries running beside it cannot take the
// real lock between its steps.
var hostLockPath = func() (string, error) {
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "host.lock"), nil
}

// lockHost takes the machine-wide lock of privileged tests (an flock on a
// file in the test kit's cache) and returns its release. Within one process
// it nests, so a subtest may check residue inside a test that does.
func lockHost() (func(), error) {
	hostLock.Lock()
	defer hostLock.Unlock()
	if hostLock.depth == 0 {
		path, err := hostLockPath()
		if err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("opening the host lock: %w", err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
		}
		hostLock.file = f
	}
	hostLock.depth++
	return func() {
		hostLock.Lock()
		defer hostLock.Unlock()
		if hostLock.depth--; hostLock.depth == 0 {
			hostLock.file.Close() // closing the last descriptor releases the flock
			hostLock.file = nil
		}
	}, nil
}
