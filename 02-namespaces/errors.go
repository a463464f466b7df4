package namespaces

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	chroot "berth/01-chroot"
)

// ErrNotSupported is returned on systems other than Linux.
var ErrNotSupported = errors.New("namespaces: containers need Linux")

// ErrJoinUser is returned when Join is asked to enter another user
// namespace: setns(2) refuses that to a multi-threaded process, and a Go
// program is multi-threaded before main runs.
var ErrJoinUser = errors.New("namespaces: cannot join another user namespace from Go: setns(CLONE_NEWUSER) needs a single-threaded process (runc does it in C before the Go runtime starts)")

// ExitError is a command that did not exit 0. Code follows the shell and
// Docker: the exit status, or 128 plus the signal that killed it.
type ExitError struct {
	Code   int
	Signal unix.Signal // the signal that killed it, or 0
}

func (e *ExitError) Error() string {
	if e.Signal != 0 {
		return fmt.Sprintf("killed by %s (exit code %d)", unix.SignalName(e.Signal), e.Code)
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// ExitCode returns the code err carries: 0 for nil, an ExitError's or a
// failed init's code, else 125 (the engine failed, as Docker says).
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	var se *chroot.StepError
	if errors.As(err, &se) && se.ExitCode != 0 {
		return se.ExitCode
	}
	return 125
}
