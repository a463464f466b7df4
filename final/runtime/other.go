//go:build !linux

package runtime

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Init does nothing off Linux.
func Init() {}

// Start needs Linux.
func Start(*specs.Spec, StartOptions) (*Process, error) { return nil, ErrNotSupported }

// Exec needs Linux.
func Exec(int, *specs.Process, ExecOptions) (*Process, error) { return nil, ErrNotSupported }

// Wait needs Linux.
func (*Process) Wait() (ExitStatus, error) { return ExitStatus{}, ErrNotSupported }

// Signal needs Linux.
func (*Process) Signal(unix.Signal) error { return ErrNotSupported }

// cgroup2Only: no cgroups off Linux.
func cgroup2Only() bool { return false }
