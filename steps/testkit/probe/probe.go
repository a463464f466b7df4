// Package probe reports, as JSON-ready data, what a process sees of its
// environment: its ids, hostname, namespaces, mounts, cgroup and limits,
// capabilities, seccomp status and network interfaces. The berth-probe
// program runs it inside a container; tests compare its report with what the
// container was meant to be.
//
// It only reads /proc, /sys and a few syscalls' answers, so it needs no
// privilege and never changes anything.
package probe

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Report is what a process sees. Fields that could not be read are left
// empty, and the reason is in Errors under the field's JSON name.
type Report struct {
	PID        int               `json:"pid"`
	PPID       int               `json:"ppid"`
	UID        int               `json:"uid"`
	GID        int               `json:"gid"`
	EUID       int               `json:"euid"`
	EGID       int               `json:"egid"`
	Groups     []int             `json:"groups"`
	Hostname   string            `json:"hostname"`
	Cwd        string            `json:"cwd"`
	Root       []string          `json:"root"`       // the names in /
	Namespaces map[string]uint64 `json:"namespaces"` // /proc/self/ns/<name> -> inode
	Mounts     []Mount           `json:"mounts"`
	Cgroup     []string          `json:"cgroup"`  // lines of /proc/self/cgroup
	Limits     map[string]string `json:"limits"`  // cgroup limit files found, by name
	Caps       Caps              `json:"caps"`    // hex masks from /proc/self/status
	Seccomp    int               `json:"seccomp"` // 0 off, 1 strict, 2 filter
	NoNewPrivs bool              `json:"no_new_privs"`
	Interfaces []Interface       `json:"interfaces"`
	Errors     map[string]string `json:"errors,omitempty"`
}

// Mount is one line of /proc/self/mountinfo.
type Mount struct {
	Target  string `json:"target"`
	FSType  string `json:"fstype"`
	Source  string `json:"source"`
	Options string `json:"options"`
}

// Caps holds the capability sets as the kernel prints them.
type Caps struct {
	Inheritable string `json:"inheritable"`
	Permitted   string `json:"permitted"`
	Effective   string `json:"effective"`
	Bounding    string `json:"bounding"`
	Ambient     string `json:"ambient"`
}

// Interface is a network interface and its addresses in CIDR form.
type Interface struct {
	Name  string   `json:"name"`
	Up    bool     `json:"up"`
	Addrs []string `json:"addrs"`
}

// Collect reads everything the report holds.
func Collect() Report {
	r := Report{
		PID: os.Getpid(), PPID: os.Getppid(),
		UID: os.Getuid(), GID: os.Getgid(), EUID: os.Geteuid(), EGID: os.Getegid(),
		Namespaces: map[string]uint64{},
		Limits:     map[string]string{},
		Errors:     map[string]string{},
	}
	fail := func(field string, err error) { r.Errors[field] = err.Error() }

	if g, err := os.Getgroups(); err == nil {
		r.Groups = g
	} else {
		fail("groups", err)
	}
	if h, err := os.Hostname(); err == nil {
		r.Hostname = h
	} else {
		fail("hostname", err)
	}
	if wd, err := os.Getwd(); err == nil {
		r.Cwd = wd
	} else {
		fail("cwd", err)
	}
	if entries, err := os.ReadDir("/"); err == nil {
		for _, e := range entries {
			r.Root = append(r.Root, e.Name())
		}
	} else {
		fail("root", err)
	}
	for _, ns := range []string{"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "user", "uts"} {
		if ino, err := nsInode("/proc/self/ns/" + ns); err == nil {
			r.Namespaces[ns] = ino
		}
	}
	if m, err := readMounts("/proc/self/mountinfo"); err == nil {
		r.Mounts = m
	} else {
		fail("mounts", err)
	}
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		r.Cgroup = strings.Split(strings.TrimSpace(string(b)), "\n")
		readLimits(r.Cgroup, r.Limits)
	} else {
		fail("cgroup", err)
	}
	if st, err := readStatus("/proc/self/status"); err == nil {
		r.Caps = Caps{st["CapInh"], st["CapPrm"], st["CapEff"], st["CapBnd"], st["CapAmb"]}
		r.Seccomp, _ = strconv.Atoi(st["Seccomp"])
		r.NoNewPrivs = st["NoNewPrivs"] == "1"
	} else {
		fail("status", err)
	}
	if ifs, err := interfaces(); err == nil {
		r.Interfaces = ifs
	} else {
		fail("interfaces", err)
	}
	return r
}

// readMounts parses mountinfo(5): the fields before " - " describe the mount
// point, the ones after it the filesystem.
func readMounts(path string) ([]Mount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var mounts []Mount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) < 6 || len(b) < 3 {
			continue
		}
		mounts = append(mounts, Mount{Target: unescape(a[4]), Options: a[5], FSType: b[0], Source: unescape(b[1])})
	}
	return mounts, sc.Err()
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

func readStatus(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m, nil
}

// limitFiles are the cgroup files, v2 then v1, that hold the limits the
// course sets.
var limitFiles = []string{
	"memory.max", "memory.swap.max", "cpu.max", "cpu.weight", "pids.max", "cpuset.cpus", "cpuset.mems",
	"memory/memory.limit_in_bytes", "cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us", "cpu/cpu.shares",
	"pids/pids.max", "cpuset/cpuset.cpus",
}

// readLimits looks for the limit files of the process's own cgroups under
// /sys/fs/cgroup, when it is mounted where the process can see it.
func readLimits(cgroupLines []string, out map[string]string) {
	paths := map[string]string{} // controller ("" for v2) -> path
	for _, line := range cgroupLines {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			paths[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			paths[c] = parts[2]
		}
	}
	for _, name := range limitFiles {
		var file string
		if ctrl, base, ok := strings.Cut(name, "/"); ok {
			p, found := paths[ctrl]
			if !found {
				continue
			}
			file = filepath.Join("/sys/fs/cgroup", ctrl, p, base)
		} else {
			p, found := paths[""]
			if !found {
				continue
			}
			file = filepath.Join("/sys/fs/cgroup", p, name)
		}
		if b, err := os.ReadFile(file); err == nil {
			out[name] = strings.TrimSpace(string(b))
		}
	}
}

func interfaces() ([]Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []Interface
	for _, i := range ifs {
		it := Interface{Name: i.Name, Up: i.Flags&net.FlagUp != 0}
		if addrs, err := i.Addrs(); err == nil {
			for _, a := range addrs {
				it.Addrs = append(it.Addrs, a.String())
			}
			sort.Strings(it.Addrs)
		}
		out = append(out, it)
	}
	return out, nil
}
