//go:build !linux

package unionfs

import (
	"errors"
	"io"
)

// ErrNotSupported is returned on systems other than Linux.
var ErrNotSupported = errors.New("unionfs: layers and overlay mounts need Linux")

func (overlay) Unpack(io.Reader, string, []string) error { return ErrNotSupported }
func (overlay) Prepare([]string, string) error           { return ErrNotSupported }
func (overlay) Diff(io.Writer, []string, string) error   { return ErrNotSupported }
func (copier) Unpack(io.Reader, string, []string) error  { return ErrNotSupported }
func (copier) Prepare([]string, string) error            { return ErrNotSupported }
func (copier) Diff(io.Writer, []string, string) error    { return ErrNotSupported }

// MountAll needs Linux.
func MountAll([]Mount) error { return ErrNotSupported }

// Unmount needs Linux.
func Unmount(string) error { return ErrNotSupported }

// Tar needs Linux.
func Tar(io.Writer, string) error { return ErrNotSupported }
