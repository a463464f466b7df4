//go:build !linux

package image

import "golang.org/x/sys/unix"

const ioctlGetTermios = unix.TIOCGETA
