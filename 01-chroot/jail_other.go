//go:build !linux

package chroot

import (
	"context"
	"io"
)

// Run needs Linux.
func Run(context.Context, Jail, io.Reader, io.Writer, io.Writer) error { return ErrNotSupported }

// Init does nothing off Linux.
func Init() {}

// Escape needs Linux.
func Escape() error { return ErrNotSupported }

// Do needs Linux.
func (Step) Do() error { return ErrNotSupported }
