package chroot

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// ErrNotSupported is returned on systems other than Linux.
var ErrNotSupported = errors.New("chroot: jails need Linux")

// StepError says which step of the plan failed inside the init process, and
// with which error. The init process sends it back to the parent over a
// pipe, so the caller sees it as an ordinary error.
type StepError struct {
	Index int        // 1-based position in the plan
	Call  string     // the system call as Step.String renders it
	Errno unix.Errno // the kernel's error, 0 if it was not a system call error
	Msg   string     // the error's text
	// ExitCode is what the init exited with, as Docker would: 125 when the
	// jail could not be set up, 126 when the command cannot be run, 127
	// when it does not exist.
	ExitCode int
}

func (e *StepError) Error() string {
	return fmt.Sprintf("init, step %d: %s: %s", e.Index, e.Call, e.Msg)
}

// Unwrap lets errors.Is(err, unix.EPERM) and friends see the errno.
func (e *StepError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}
