package cgroup

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Resources are a container's limits, with the meaning Docker's flags give
// them. A zero field means "not set": the kernel's default applies.
type Resources struct {
	Memory     int64   // --memory, bytes
	MemorySwap int64   // --memory-swap: memory plus swap, bytes; -1 unlimited swap
	CPUs       float64 // --cpus: CPU time per wall-clock second
	CPUPeriod  uint64  // --cpu-period, microseconds (default 100000)
	CPUShares  uint64  // --cpu-shares: relative weight, 2 to 262144 (default 1024)
	CpusetCPUs string  // --cpuset-cpus, e.g. "0-2,4"
	CpusetMems string  // --cpuset-mems
	PidsLimit  int64   // --pids-limit; -1 unlimited
}

// Docker's bounds.
const (
	MinMemory        = 6 << 20 // Docker refuses less: the container could not even start
	DefaultCPUPeriod = 100000  // 100 ms, the kernel's and Docker's default
	MinCPUShares     = 2
	MaxCPUShares     = 262144
	minCPUPeriod     = 1000    // 1 ms: the kernel refuses shorter periods
	maxCPUPeriod     = 1000000 // 1 s
)

// Host is what the machine offers, for validation.
type Host struct {
	CPUs []int // online CPUs (cpuset.cpus of the root)
	Mems []int // memory nodes
}

// ParseMemory reads a size the way Docker does: a number with an optional
// unit b, k, m or g (powers of 1024), e.g. "512m". Zero and negative sizes
// are refused.
func ParseMemory(s string) (int64, error) {
	orig := s
	s = strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || s == "" {
		return 0, fmt.Errorf("cgroup: invalid size %q: want a number with an optional unit b, k, m or g (e.g. 512m)", orig)
	}
	if n <= 0 {
		return 0, fmt.Errorf("cgroup: invalid size %q: must be positive", orig)
	}
	v := n * float64(mult)
	if v > math.MaxInt64/2 {
		return 0, fmt.Errorf("cgroup: invalid size %q: too large", orig)
	}
	return int64(v), nil
}

// ParseCPUs reads --cpus: a positive decimal number of CPUs, e.g. "0.5".
func ParseCPUs(s string) (float64, error) {
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, fmt.Errorf("cgroup: invalid --cpus %q: want a decimal number such as 1.5", s)
	}
	if n <= 0 {
		return 0, fmt.Errorf("cgroup: invalid --cpus %q: must be positive", s)
	}
	return n, nil
}

// ParseList reads a cpuset list such as "0-2,4" into sorted numbers.
func ParseList(s string) ([]int, error) {
	seen := map[int]bool{}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("cgroup: empty cpu or memory-node list")
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a {
			return nil, fmt.Errorf("cgroup: invalid list %q: want numbers and ranges such as 0-2,4", s)
		}
		for i := a; i <= b; i++ {
			seen[i] = true
		}
	}
	out := make([]int, 0, len(seen))
	for i := range seen {
		out = append(out, i)
	}
	sort.Ints(out)
	return out, nil
}

// Validate reports what is wrong with r on host h, before anything is
// created.
func (r Resources) Validate(h Host) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("cgroup: "+format, args...)) }
	switch {
	case r.Memory < 0:
		bad("--memory %d: must be positive", r.Memory)
	case r.Memory > 0 && r.Memory < MinMemory:
		bad("--memory %d: the minimum is 6 MiB (6m), below which a container cannot start", r.Memory)
	}
	switch {
	case r.MemorySwap == 0:
	case r.Memory == 0:
		bad("--memory-swap needs --memory: it is memory plus swap")
	case r.MemorySwap < -1:
		bad("--memory-swap %d: must be -1 (unlimited) or at least --memory", r.MemorySwap)
	case r.MemorySwap > 0 && r.MemorySwap < r.Memory:
		bad("--memory-swap %d is smaller than --memory %d: it counts memory plus swap", r.MemorySwap, r.Memory)
	}
	if r.CPUs < 0 || math.IsNaN(r.CPUs) {
		bad("--cpus %v: must be positive", r.CPUs)
	} else if r.CPUs > 0 && len(h.CPUs) > 0 && r.CPUs > float64(len(h.CPUs)) {
		bad("--cpus %v: this host has %d CPUs", r.CPUs, len(h.CPUs))
	} else if r.CPUs > 0 && r.quota() < minCPUPeriod {
		bad("--cpus %v: too small, the quota must be at least 1 ms per period", r.CPUs)
	}
	if r.CPUPeriod != 0 && (r.CPUPeriod < minCPUPeriod || r.CPUPeriod > maxCPUPeriod) {
		bad("--cpu-period %d: must be between 1000 and 1000000 microseconds", r.CPUPeriod)
	}
	if r.CPUShares != 0 && (r.CPUShares < MinCPUShares || r.CPUShares > MaxCPUShares) {
		bad("--cpu-shares %d: must be between 2 and 262144", r.CPUShares)
	}
	if r.PidsLimit < -1 {
		bad("--pids-limit %d: must be positive, or -1 for unlimited", r.PidsLimit)
	}
	for _, set := range []struct {
		flag, list string
		avail      []int
	}{
		{"--cpuset-cpus", r.CpusetCPUs, h.CPUs}, {"--cpuset-mems", r.CpusetMems, h.Mems},
	} {
		if set.list == "" {
			continue
		}
		ids, err := ParseList(set.list)
		if err != nil {
			bad("%s: %v", set.flag, err)
			continue
		}
		if len(set.avail) == 0 {
			continue
		}
		have := map[int]bool{}
		for _, a := range set.avail {
			have[a] = true
		}
		for _, id := range ids {
			if !have[id] {
				bad("%s %s: %d is not available on this host (it has %s)", set.flag, set.list, id, FormatList(set.avail))
				break
			}
		}
	}
	return errors.Join(errs...)
}

func (r Resources) period() uint64 {
	if r.CPUPeriod != 0 {
		return r.CPUPeriod
	}
	return DefaultCPUPeriod
}

// quota is --cpus as CPU time per period, in microseconds.
func (r Resources) quota() int64 { return int64(math.Round(r.CPUs * float64(r.period()))) }

// SharesToWeight converts cgroup v1's cpu.shares (2..262144, default 1024)
// to cgroup v2's cpu.weight (1..10000, default 100) by mapping one range
// linearly onto the other, as the OCI runtimes do. 1024 becomes 39, not 100:
// the two defaults do not line up.
func SharesToWeight(shares uint64) uint64 {
	if shares == 0 {
		return 0
	}
	return 1 + ((shares-2)*9999)/262142
}

// Write is one value written to one cgroup file.
type Write struct {
	Controller string // the v1 hierarchy the file lives in; "" for v2
	File       string
	Value      string
}

func (w Write) String() string {
	if w.Controller == "" {
		return fmt.Sprintf("echo %q > %s", w.Value, w.File)
	}
	return fmt.Sprintf("echo %q > %s/%s", w.Value, w.Controller, w.File)
}

// V1 is r as cgroup v1 files, in the order they must be written (the
// memory limit before memory+swap, which may never be below it). Without
// --memory-swap a container may swap as much as its memory, as in Docker;
// a host without swap accounting has no memsw file, and a Manager then
// skips it.
func (r Resources) V1() []Write {
	var w []Write
	add := func(ctrl, file, value string) { w = append(w, Write{ctrl, file, value}) }
	if r.Memory > 0 {
		add("memory", "memory.limit_in_bytes", strconv.FormatInt(r.Memory, 10))
		switch {
		case r.MemorySwap > 0:
			add("memory", "memory.memsw.limit_in_bytes", strconv.FormatInt(r.MemorySwap, 10))
		case r.MemorySwap == -1:
			add("memory", "memory.memsw.limit_in_bytes", "-1")
		default: // Docker: as much swap as memory
			add("memory", "memory.memsw.limit_in_bytes", strconv.FormatInt(2*r.Memory, 10))
		}
	}
	if r.CPUs > 0 {
		add("cpu", "cpu.cfs_period_us", strconv.FormatUint(r.period(), 10))
		add("cpu", "cpu.cfs_quota_us", strconv.FormatInt(r.quota(), 10))
	}
	if r.CPUShares > 0 {
		add("cpu", "cpu.shares", strconv.FormatUint(r.CPUShares, 10))
	}
	if r.CpusetCPUs != "" {
		add("cpuset", "cpuset.cpus", r.CpusetCPUs)
	}
	if r.CpusetMems != "" {
		add("cpuset", "cpuset.mems", r.CpusetMems)
	}
	switch {
	case r.PidsLimit > 0:
		add("pids", "pids.max", strconv.FormatInt(r.PidsLimit, 10))
	case r.PidsLimit == -1:
		add("pids", "pids.max", "max")
	}
	return w
}

// V2 is r as cgroup v2 files: one directory for every controller, and some
// files count differently (swap alone, not memory plus swap; a weight, not
// shares; quota and period in one file).
func (r Resources) V2() []Write {
	var w []Write
	add := func(file, value string) { w = append(w, Write{"", file, value}) }
	if r.Memory > 0 {
		add("memory.max", strconv.FormatInt(r.Memory, 10))
		switch {
		case r.MemorySwap > 0:
			add("memory.swap.max", strconv.FormatInt(r.MemorySwap-r.Memory, 10))
		case r.MemorySwap == -1:
			add("memory.swap.max", "max")
		default: // Docker: as much swap as memory
			add("memory.swap.max", strconv.FormatInt(r.Memory, 10))
		}
	}
	if r.CPUs > 0 {
		add("cpu.max", fmt.Sprintf("%d %d", r.quota(), r.period()))
	}
	if r.CPUShares > 0 {
		add("cpu.weight", strconv.FormatUint(SharesToWeight(r.CPUShares), 10))
	}
	if r.CpusetCPUs != "" {
		add("cpuset.cpus", r.CpusetCPUs)
	}
	if r.CpusetMems != "" {
		add("cpuset.mems", r.CpusetMems)
	}
	switch {
	case r.PidsLimit > 0:
		add("pids.max", strconv.FormatInt(r.PidsLimit, 10))
	case r.PidsLimit == -1:
		add("pids.max", "max")
	}
	return w
}

// Controllers lists the controllers r needs, in the order v2 enables them.
func (r Resources) Controllers() []string {
	var c []string
	if r.CpusetCPUs != "" || r.CpusetMems != "" {
		c = append(c, "cpuset")
	}
	if r.CPUs > 0 || r.CPUShares > 0 {
		c = append(c, "cpu")
	}
	if r.Memory > 0 {
		c = append(c, "memory")
	}
	if r.PidsLimit != 0 {
		c = append(c, "pids")
	}
	return c
}

// FormatList renders numbers as a cpuset list: 0-3,5.
func FormatList(ids []int) string {
	var parts []string
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(ids[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", ids[i], ids[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}
