// Package runtime is berth's OCI runtime: given an OCI runtime spec
// (config.json, github.com/opencontainers/runtime-spec) and a root
// filesystem already assembled on the host, it creates the container and
// starts its process, and later runs more processes inside it. It does, in
// Go and in a few hundred lines, what runc does for Docker and containerd.
//
// Start clones a copy of the running program (/proc/self/exe, re-executed
// under the private name "berth-runtime-init") into the namespaces the spec
// asks for. The parent first lets the engine put the new process into its
// cgroups and network (StartOptions.Prestart), then sends it the spec over an
// inherited pipe. The init then follows a Plan, a list of system calls
// computed from the spec by a pure function, so it can be printed and tested
// without root:
//
//  1. make every mount private, and bind the rootfs onto itself;
//  2. mount spec.Mounts inside the rootfs, each destination resolved without
//     ever following a symlink out of it (a hostile image may make /etc a
//     link to the host's /);
//  3. create the default device nodes and links in the new /dev;
//  4. pivot_root into the rootfs and detach the old root;
//  5. mask and write-protect the sensitive parts of /proc and /sys, remount
//     the root read-only if asked, set the hostname;
//  6. become the process: session and controlling terminal, rlimits,
//     working directory, capabilities, user and groups, no_new_privs;
//     then execve the command.
//
// Where the plan and the kernel allow it, Start makes the same steps without
// re-executing anything (see directPlan): a thread of the caller, locked
// for it, unshares the namespaces, mounts and pivots, and forks the command
// stopped at its first instruction (ptrace); it then mounts the container's
// /proc for the new PID namespace with fsconfig's "pidns" key (Linux 6.18),
// masks it, and lets the command go. A re-executed Go program takes longer
// to start than the rest of a container's start; the direct start spares
// it. A terminal, the tiny init, joined namespaces, ambient capabilities
// and older kernels keep the init (StartOptions.ReExec forces it).
//
// A failed step comes back to Start as a *StartError with Docker's exit
// code: 125 when the container could not be set up, 126 when the command
// cannot be invoked, 127 when it does not exist. The report pipe is
// close-on-exec, so a successful execve closes it: EOF means "running".
//
// Why re-execute instead of forking: a Go program is multi-threaded before
// main runs, and fork(2) without exec only copies the calling thread; the
// namespace and credential changes must also all happen on one thread of a
// fresh process. Re-executing gives a fresh Go runtime whose first thread
// is locked for the whole setup.
//
// Exec runs another process in a running container, as `runc exec` and
// `docker exec` do. setns(CLONE_NEWPID) only applies to the caller's future
// children, so Exec enters the target's PID, network, UTS, IPC and cgroup
// namespaces on a locked thread of the calling program, forks the new
// process from it (born inside them, and a direct child of the caller),
// and brings the thread back into its own namespaces. The new process, a
// re-execution under the name "berth-runtime-exec", starts on the host's
// filesystem (where the program's dynamic loader is), enters the mount
// namespace itself, applies the process settings and execs the command:
// the Process that Exec returns is the command itself.
//
// Not implemented, on purpose or not yet: user namespaces (rootless
// containers), seccomp, AppArmor and SELinux (their spec fields are
// ignored), cgroup limits (the engine manages cgroups; Start and Exec only
// clone into the directory they are given), cgroup v1 mounts inside the
// container, and joining an existing mount or PID namespace.
//
// Everything that touches the kernel needs root. The program using the
// package must call Init first thing in main (tests: in TestMain).
//
// This is the runtime of berth's final engine (final/engine); the course's
// chapters 01 (pivot_root) and 02 (namespaces) explain the pieces.
package runtime
