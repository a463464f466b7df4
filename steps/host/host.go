package host

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Status is the outcome of one check.
type Status int

const (
	// OK means the host is ready for what the check looks at.
	OK Status = iota
	// Warn means some chapters or some parts of them will not work.
	Warn
	// Fail means the course cannot run until it is fixed (when Core).
	Fail
)

// String is what doctor prints in its status column. FAIL is upper case so
// it stands out among the oks.
func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Warn:
		return "warn"
	case Fail:
		return "FAIL"
	}
	return "unknown"
}

// Result is the answer of one check.
type Result struct {
	Name   string // short, e.g. "kernel", "cgroups"
	Status Status
	Detail string // what was found
	Fix    string // what to do when not OK, a command when there is one; empty when OK
	Core   bool   // a failing core check makes doctor exit non-zero
	Needed string // which chapters need it
}

// Host describes where to look. The zero value is not usable: use System,
// or fill every field in tests.
type Host struct {
	// Root is "/" on a real host, a directory holding fake proc/ and sys/
	// trees in tests.
	Root string
	// Euid is the effective user id the course will run with.
	Euid int
	// LookPath finds a program in PATH (exec.LookPath on a real host).
	LookPath func(file string) (string, error)
	// Run runs a command and returns its combined output.
	Run func(name string, args ...string) ([]byte, error)
	// Busybox finds a static busybox; doctor passes testkit.FindBusybox.
	// When nil the busybox check reports "not checked".
	Busybox func() (string, error)
}

// runTimeout bounds each command doctor runs: a check must never hang the
// runner, and none of them should take more than a moment.
const runTimeout = 10 * time.Second

// System describes the real host. Busybox is left nil so that this package
// does not depend on testkit; the caller sets it.
func System() Host {
	return Host{
		Root:     "/",
		Euid:     os.Geteuid(),
		LookPath: exec.LookPath,
		Run:      run,
	}
}

func run(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	return exec.CommandContext(ctx, name, args...).CombinedOutput()
}

// Check runs every check, in the order doctor prints them: the core
// requirements first, then what single chapters need, then information.
func (h Host) Check() []Result {
	return []Result{
		h.checkRoot(),
		h.checkKernel(),
		h.checkCgroups(),
		h.checkOverlayfs(),
		h.checkUserNamespaces(),
		h.checkVethBridge(),
		h.checkFirewall(),
		h.checkRegistry(),
		h.checkSkopeo(),
		h.checkUmoci(),
		h.checkBusybox(),
		h.checkPropagation(),
		h.checkWSL(),
	}
}

// path turns an absolute host path such as "/proc/filesystems" into the
// file to read below h.Root.
func (h Host) path(p string) string {
	return filepath.Join(h.Root, p)
}
