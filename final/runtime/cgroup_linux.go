package runtime

import "golang.org/x/sys/unix"

// cgroup2Only says whether the host runs cgroup v2 alone (the "unified"
// mode): /sys/fs/cgroup itself is a cgroup2 filesystem. A hybrid host has a
// tmpfs there holding v1 hierarchies (and maybe a v2 one in "unified").
func cgroup2Only() bool {
	var st unix.Statfs_t
	return unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}
