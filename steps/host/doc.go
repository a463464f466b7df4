// Package host checks whether this Linux machine can run the course and
// says, for each thing it checks, either "ok" or exactly what to type to fix
// it. The course runner's doctor command prints the results and exits
// non-zero when a core check fails.
//
// It reads what the kernel publishes under /proc and /sys (the kernel
// release, /proc/self/mountinfo for the cgroup layout and the propagation of
// /, /proc/filesystems, the user namespace sysctls) and runs a few harmless
// commands (ip in a throwaway network namespace, iptables -V). Every file is
// read below Host.Root and every command goes through Host.Run, so the tests
// build a fake /proc and /sys in a temporary directory and need no root.
//
// Only the veth+bridge check needs root; without it that check reports what
// to do instead. The package belongs to no chapter: it is the course's
// preflight, run before chapter 01.
package host
