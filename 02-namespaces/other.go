//go:build !linux

package namespaces

import (
	"context"
	"io"
	"os"
)

// Container needs Linux.
type Container struct{ Pid int }

// Start needs Linux.
func Start(Spec, io.Reader, io.Writer, io.Writer) (*Container, error) { return nil, ErrNotSupported }

// Run needs Linux.
func Run(context.Context, Spec, io.Reader, io.Writer, io.Writer) error { return ErrNotSupported }

// Wait needs Linux.
func (*Container) Wait() error { return ErrNotSupported }

// Signal needs Linux.
func (*Container) Signal(os.Signal) error { return ErrNotSupported }

// JoinSpec is a command to run inside a running process's namespaces.
type JoinSpec struct {
	Pid        int
	Namespaces []Namespace
	Args, Env  []string
}

// Join needs Linux.
func Join(context.Context, JoinSpec, io.Reader, io.Writer, io.Writer) error { return ErrNotSupported }

// Init does nothing off Linux.
func Init() {}

// Inodes needs Linux.
func Inodes(int) (map[Namespace]uint64, error) { return nil, ErrNotSupported }

// Children needs Linux.
func Children(int) []int { return nil }

// Zombies needs Linux.
func Zombies(int) int { return 0 }
