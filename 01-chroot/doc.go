// Package chroot runs a command with its root directory changed to a root
// filesystem (a rootfs): the first thing every container engine does.
//
// It does it twice. With chroot(2) the process sees only the rootfs, but a
// process that may still call chroot walks back out to the host's root (see
// Escape). With pivot_root(2), inside a new mount namespace whose
// propagation is private, the rootfs becomes the root of the namespace and
// the old root is unmounted and removed, so there is nothing left to walk
// back to. The new root gets the minimal /proc and /dev a program expects.
//
// What will be done is first described as a Plan of system calls (pure data,
// printable, tested without root); then a re-executed copy of the current
// program carries the plan out (jail_linux.go) and executes the command.
// Running a jail needs root (CAP_SYS_CHROOT and CAP_SYS_ADMIN).
//
// This is chapter 01 of the berth course: see docs/01-chroot.md.
package chroot
