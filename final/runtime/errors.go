package runtime

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrNotSupported is returned on systems other than Linux.
var ErrNotSupported = errors.New("runtime: containers need Linux")

// Docker's exit codes for a container that did not get to run its command.
const (
	ExitSetupFailed = 125 // the runtime failed: mounts, namespaces, capabilities...
	ExitCannotRun   = 126 // the command exists but cannot be invoked
	ExitNotFound    = 127 // the command is not in the container
)

// StartError is a container (or an exec'd process) that could not be
// started: which step failed, the kernel's errno if it was a system call,
// the message, and the exit code Docker would report. The init process sends
// it back to Start over the report pipe.
type StartError struct {
	Step     string     `json:"step"`            // the step, as Step.String renders it, or the parent's own phase
	Errno    unix.Errno `json:"errno,omitempty"` // 0 if it was not a system call's error
	Msg      string     `json:"msg"`
	ExitCode int        `json:"exit_code"` // 125, 126 or 127

	err error // the parent's own error, for errors.Is/As; not sent over the pipe
}

func (e *StartError) Error() string {
	if e.Step == "" {
		return "runtime: " + e.Msg
	}
	return fmt.Sprintf("runtime: %s: %s", e.Step, e.Msg)
}

// Unwrap lets errors.Is(err, unix.ENOENT) and friends see the errno (or the
// wrapped error of a failure in the parent, such as Prestart's).
func (e *StartError) Unwrap() error {
	if e.Errno != 0 {
		return e.Errno
	}
	return e.err
}

// setupError is a StartError for something the parent could not do.
func setupError(step string, err error) *StartError {
	// The phase names the package already: no second "runtime: ".
	msg := strings.TrimPrefix(err.Error(), "runtime: ")
	se := &StartError{Step: step, Msg: msg, ExitCode: ExitSetupFailed, err: err}
	errors.As(err, &se.Errno)
	return se
}

// ExitStatus is how a process ended. Code is Docker's: the exit status, or
// 128 plus the number of the signal that killed it.
type ExitStatus struct {
	Code   int
	Signal unix.Signal // the signal that killed the process, 0 if it exited
}

func (s ExitStatus) String() string {
	if s.Signal != 0 {
		return fmt.Sprintf("killed by %s (exit code %d)", signalName(s.Signal), s.Code)
	}
	return fmt.Sprintf("exit code %d", s.Code)
}
