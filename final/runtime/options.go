package runtime

import (
	"os"
	"os/exec"
	"sync"
)

// Stdio are the files a container's process gets as 0, 1 and 2: pipes,
// files, or the slave side of a pseudo-terminal (then the spec's
// Process.Terminal is true, and the process makes it its controlling
// terminal). A nil file means /dev/null.
type Stdio struct{ Stdin, Stdout, Stderr *os.File }

// StartOptions are what Start needs besides the spec.
type StartOptions struct {
	Stdio Stdio
	// CgroupDir, if set, is a cgroup v2 directory the init is cloned into
	// (clone3's CLONE_INTO_CGROUP): it never runs a single instruction
	// outside it. On cgroup v1, use Prestart instead.
	CgroupDir string
	// Prestart, if set, is called with the init's host PID once it exists
	// in its new namespaces and before it does anything else (it blocks
	// reading its configuration): the moment to add it to v1 cgroups and to
	// cable its network namespace (/proc/PID/ns/net). An error aborts Start
	// and kills the init.
	Prestart func(pid int) error
	// ReExec starts the container through a re-executed init even where
	// the caller's own thread could start it directly (see directPlan):
	// the slower, older way, for comparison and tests.
	ReExec bool
}

// ExecOptions are what Exec needs besides the process.
type ExecOptions struct {
	Stdio Stdio
	// CgroupDir, if set, is a cgroup v2 directory the process is cloned
	// into; "" leaves it in the caller's cgroups (on cgroup v1, move it
	// with Prestart).
	CgroupDir string
	// Prestart, if set, is called with the process's host PID before it
	// enters the container's mount namespace and runs anything.
	Prestart func(pid int) error
}

// Process is a container's init or a process started by Exec.
//
// The init is started with Pdeathsig SIGKILL: it is killed if the thread
// that called Start dies, so a caller that outlives its goroutines (a
// monitor) should call Start from a goroutine locked to its OS thread.
type Process struct {
	Pid int // PID on the host

	cmd      *exec.Cmd
	release  func() // lets the thread of a direct start go, once waited for
	waitOnce sync.Once
	status   ExitStatus
	waitErr  error
}
