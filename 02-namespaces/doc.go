// Package namespaces starts a command isolated from the host by Linux
// namespaces: its own hostname (UTS), process IDs (PID), mount table
// (mount), System V IPC (IPC), network stack (network), user and group IDs
// (user) and cgroup root (cgroup), inside a root filesystem it cannot leave
// (chapter 01's pivot_root).
//
// A Spec says what the container gets; Spec.Plan describes, as data, the
// clone flags, the uid/gid maps and every system call the container's init
// will make, so it can be printed and tested without root. Start carries
// the plan out: it re-executes this program as the container's init in the
// new namespaces, sends it the Spec over an inherited pipe, and gets back
// any failure as a *StepError. The optional tiny init (Spec.Init, Docker's
// --init) stays as PID 1 to reap zombies and forward signals. Join runs a
// command inside the namespaces of a running container: the basis of exec.
//
// Everything but rootless containers needs root. This is chapter 02 of the
// berth course: see docs/02-namespaces.md.
package namespaces
