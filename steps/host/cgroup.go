package host

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// CgroupInfo says how cgroups are laid out on the host.
type CgroupInfo struct {
	// Mode is "v2" (one unified hierarchy at /sys/fs/cgroup), "hybrid" (v1
	// hierarchies own the controllers, cgroup2 is mounted beside them with
	// none) or "v1".
	Mode string
	// V2Path is where cgroup2 is mounted, "" for pure v1.
	V2Path string
	// Controllers are the usable controllers, sorted: on v2 those listed in
	// <V2Path>/cgroup.controllers, on v1 and hybrid the v1 hierarchies
	// mounted. On hybrid a controller bound to v1 cannot be used in v2, so
	// the v1 ones are the usable ones.
	Controllers []string
}

// Where systemd, and every distribution, mounts cgroups.
const cgroupRoot = "/sys/fs/cgroup"

// v1Options are cgroup v1 mount options that are not controllers; see
// Documentation/admin-guide/cgroup-v1/cgroups.rst. "name=" hierarchies such
// as name=systemd have no controller either.
var v1Options = map[string]bool{
	"rw": true, "ro": true, "all": true, "none": true, "noprefix": true,
	"clone_children": true, "xattr": true, "cpuset_v2_mode": true,
	"favordynmods": true, "nofavordynmods": true,
}

// CgroupMode works out the cgroup layout from mountinfo. On v2 it returns
// the mode and V2Path together with the error when cgroup.controllers cannot
// be read.
func (h Host) CgroupMode() (CgroupInfo, error) {
	mounts, err := h.mounts()
	if err != nil {
		return CgroupInfo{}, err
	}
	var v2Paths []string
	v1 := map[string]bool{}
	for _, m := range mounts {
		switch m.FSType {
		case "cgroup2":
			v2Paths = append(v2Paths, m.Point)
		case "cgroup":
			for _, opt := range strings.Split(m.SuperOptions, ",") {
				if v1Options[opt] || strings.Contains(opt, "=") || opt == "" {
					continue
				}
				v1[opt] = true
			}
		}
	}
	controllers := make([]string, 0, len(v1))
	for c := range v1 {
		controllers = append(controllers, c)
	}
	slices.Sort(controllers)

	switch {
	case slices.Contains(v2Paths, cgroupRoot):
		return h.cgroupV2(cgroupRoot)
	case len(controllers) > 0 && len(v2Paths) > 0:
		return CgroupInfo{Mode: "hybrid", V2Path: v2Paths[0], Controllers: controllers}, nil
	case len(controllers) > 0:
		return CgroupInfo{Mode: "v1", Controllers: controllers}, nil
	case len(v2Paths) > 0:
		// cgroup2 somewhere else and no v1 controllers: still one unified
		// hierarchy, as in some containers.
		return h.cgroupV2(v2Paths[0])
	}
	return CgroupInfo{}, ErrNoCgroup
}

func (h Host) cgroupV2(path string) (CgroupInfo, error) {
	info := CgroupInfo{Mode: "v2", V2Path: path}
	data, err := os.ReadFile(h.path(filepath.Join(path, "cgroup.controllers")))
	if err != nil {
		return info, fmt.Errorf("reading cgroup v2 controllers: %w", err)
	}
	info.Controllers = strings.Fields(string(data))
	slices.Sort(info.Controllers)
	return info, nil
}

// The controllers chapter 03 uses, in the order the chapter introduces them;
// memory, cpu and pids are the chapter's core, cpuset one exercise.
var (
	coreControllers   = []string{"memory", "cpu", "pids"}
	wantedControllers = []string{"memory", "cpu", "pids", "cpuset"}
)

func (h Host) checkCgroups() Result {
	r := Result{Name: "cgroups", Core: true, Needed: "chapter 03"}
	info, err := h.CgroupMode()
	if err != nil {
		r.Status = Fail
		r.Detail = err.Error()
		if info.Mode == "v2" {
			r.Detail = fmt.Sprintf("v2 at %s: %v", info.V2Path, err)
		}
		r.Fix = "mount cgroup v2: sudo mount -t cgroup2 cgroup2 /sys/fs/cgroup"
		return r
	}
	if info.Mode == "hybrid" {
		r.Detail = fmt.Sprintf("hybrid: v1 controllers %s; cgroup2 at %s", list(info.Controllers), info.V2Path)
	} else if info.Mode == "v2" {
		r.Detail = fmt.Sprintf("v2 at %s: controllers %s", info.V2Path, list(info.Controllers))
	} else {
		r.Detail = fmt.Sprintf("v1: controllers %s", list(info.Controllers))
	}

	var missing []string
	for _, c := range wantedControllers {
		if !slices.Contains(info.Controllers, c) {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		r.Status = OK
		return r
	}
	r.Detail += "; missing " + strings.Join(missing, ",")
	r.Status = Warn
	usable := false
	for _, c := range coreControllers {
		usable = usable || slices.Contains(info.Controllers, c)
	}
	if !usable {
		r.Status = Fail
	}
	if info.Mode == "v2" {
		plus := make([]string, len(missing))
		for i, c := range missing {
			plus[i] = "+" + c
		}
		// A v2 cgroup only offers what its parent enabled in
		// cgroup.subtree_control; at the root, only what the kernel
		// command line did not disable.
		r.Fix = fmt.Sprintf("enable them in the parent cgroup of %s: echo '%s' | sudo tee <parent>/cgroup.subtree_control (in a container, on the host; at the host's root cgroup, remove cgroup_disable= from the kernel command line)",
			info.V2Path, strings.Join(plus, " "))
		return r
	}
	cmds := make([]string, len(missing))
	for i, c := range missing {
		dir := filepath.Join(cgroupRoot, c)
		cmds[i] = fmt.Sprintf("sudo mkdir -p %s && sudo mount -t cgroup -o %s cgroup %s", dir, c, dir)
	}
	r.Fix = "mount the missing v1 hierarchies: " + strings.Join(cmds, " && ") +
		" (or boot with systemd.unified_cgroup_hierarchy=1 to get cgroup v2)"
	return r
}

// list joins names for a Detail, saying "none" rather than printing nothing.
func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ",")
}
