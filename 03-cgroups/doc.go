// Package cgroup limits what a container may use: memory (and swap), CPU
// time, CPU placement and the number of processes, through the kernel's
// control groups, and reads back what it used.
//
// Resources holds the limits with Docker's meaning (--memory, --cpus,
// --cpu-shares, --cpuset-cpus, --pids-limit). Their translation into the
// files of cgroup v1 and of cgroup v2 is pure (Resources.V1, Resources.V2),
// tested without root. A Manager creates a group, applies the limits, adds
// processes, reads statistics and destroys the group, killing what still
// runs in it; New picks the v1 or the v2 implementation by looking at how
// the host mounts its cgroups: pure v2, hybrid (v1 controllers, cgroup2
// beside them) or pure v1.
//
// Changing cgroups needs root. This is chapter 03 of the berth course: see
// docs/03-cgroups.md.
package cgroup
