package runtime

import (
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	chroot "berth/01-chroot"
)

// A direct start carries out a plan without a re-executed init. The
// re-executed berth is a Go program of several megabytes: reaching its
// main takes longer than all the rest of a start. So, where the plan
// allows it, the caller's own process does the init's work, on a thread
// locked for it:
//
//  1. the thread unshares its filesystem context (root, working
//     directory, umask) and the container's namespaces; the PID namespace
//     is for its children only;
//  2. it makes the plan's mounts, pivot_root, hostname, loopback, bounding
//     set and no_new_privs: everything a child inherits;
//  3. it forks the command, which becomes PID 1 of the new PID namespace,
//     changes its user (the kernel's rules then give root the bounding set
//     as its capabilities, and any other user none), and stops at its
//     execve under ptrace, before its first instruction;
//  4. the caller's prestart joins it to its cgroups and cables its network;
//  5. the thread mounts the container's /proc, which needs a PID namespace
//     with a process in it (fsconfig's "pidns" key names it from outside),
//     hides the masked paths, writes the sysctls, sets the resource limits
//     on the child, and lets it go (PTRACE_DETACH).
//
// What a forked child cannot be told (a terminal to make its own, the tiny
// init, namespaces to join, ambient capabilities) goes through the
// re-executed init, as does every plan on a kernel without "pidns" (before
// 6.18) or where ptrace is forbidden.
type directPlan struct {
	flags     uintptr // the namespaces to unshare
	thread    []Step  // on the locked thread, before the fork, in plan order
	procMount Step    // the container's /proc, once its PID 1 exists
	after     []Step  // masks, read-only paths, sysctls: they need that /proc
	child     []Step  // resource limits and oom_score_adj, set on the child
	setsid    bool
	uid, gid  uint32
	groups    []uint32
	exe       Step
}

// planDirect splits plan for a direct start, or says why it cannot be
// started that way ("" when it can).
func planDirect(p InitPlan) (directPlan, string) {
	d := directPlan{flags: p.CloneFlags}
	switch {
	case p.TinyInit:
		return d, "the tiny init is a re-executed berth"
	case p.CloneFlags&nsKind(specs.CgroupNamespace).flag != 0:
		return d, "a cgroup namespace is rooted where its creator stands"
	case len(p.Steps) == 0:
		return d, "no steps"
	}
	var dropped CapMask
	var sets *CapSets
	procFound := false
	last := len(p.Steps) - 1
	for _, s := range p.Steps[:last] {
		switch s.Op {
		case OpSetns, OpSetctty, OpWinsize, OpKeepCaps, OpAmbient:
			return d, "the process needs " + string(s.Op) + " from its own side of the fork"
		case chroot.OpMount:
			switch {
			case s.FSType == "proc" && s.Root != "" && !procFound:
				if s.Data != "" || s.Flags&^(msRdonly|msNosuid|msNodev|msNoexec) != 0 {
					return d, "a /proc mount with options fsmount has no attribute for"
				}
				procFound = true
				d.procMount = s
			case strings.HasPrefix(s.Source, "/proc/self/fd/"):
				return d, "the console is the caller's terminal"
			case procFound && s.Root != "" && (s.Path == d.procMount.Path || strings.HasPrefix(s.Path, strings.TrimSuffix(d.procMount.Path, "/")+"/")):
				return d, "a mount inside /proc before /proc is mounted"
			default:
				d.thread = append(d.thread, s)
			}
		case OpMask, OpReadonly, OpSysctl:
			d.after = append(d.after, s)
		case OpSetrlimit, OpOOMScoreAdj:
			d.child = append(d.child, s)
		case OpSetsid:
			d.setsid = true
		case OpSetgroups:
			d.groups = s.IDs
		case OpSetgid:
			d.gid = s.GID
		case OpSetuid:
			d.uid = s.UID
		case OpCapBsetDrop:
			m, err := capMask(s.Caps)
			if err != nil {
				return d, err.Error()
			}
			dropped |= m
			d.thread = append(d.thread, s)
		case OpCapset:
			sets = &s.Sets
		default:
			d.thread = append(d.thread, s)
		}
	}
	if !procFound {
		return d, "no /proc mount"
	}
	for _, s := range d.child {
		if s.Op == OpSetrlimit && d.uid != 0 {
			// The child has changed its user when it stops at execve,
			// and prlimit on another user's process needs
			// CAP_SYS_RESOURCE, which the re-executed init does not
			// need to lower its own limits.
			return d, "resource limits for a user other than root"
		}
	}
	// After execve, root has its bounding set as permitted and effective
	// capabilities, and any other user none (no file capabilities, no
	// ambient set): those must be the sets the plan asks for.
	if sets != nil {
		bounding := allCaps() &^ dropped
		root := CapSets{Effective: bounding, Permitted: bounding}
		switch {
		case d.uid == 0 && *sets != root:
			return d, "capabilities for root other than its bounding set"
		case d.uid != 0 && *sets != (CapSets{}):
			return d, "capabilities for a user other than root"
		}
	}
	d.exe = p.Steps[last]
	if d.exe.Op != chroot.OpExec {
		return d, "the plan does not end with execve"
	}
	return d, ""
}

// allCaps is the mask of every capability this package knows.
func allCaps() CapMask {
	m, _ := capMask(capNames)
	return m
}
