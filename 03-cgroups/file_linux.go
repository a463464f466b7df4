package cgroup

import (
	"io/fs"
	"slices"

	"golang.org/x/sys/unix"
)

// readFile and writeFile use open(2), read(2) and write(2) themselves.
// cgroupfs files can be polled (memory.events, cgroup.events), so os.Open
// registers each one it opens with the Go runtime's epoll instance, and
// Close takes it out again: two more system calls for every file, on a
// path where a container's start reads and writes a dozen of them.

func readFile(path string) ([]byte, error) {
	fd, err := openFile(path, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 512)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, len(buf))
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

func writeFile(path, value string) error {
	fd, err := openFile(path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC)
	if err == nil {
		for {
			// One write: cgroupfs takes a value in one write(2) call.
			_, err = unix.Write(fd, []byte(value))
			if err != unix.EINTR {
				break
			}
		}
		if cerr := unix.Close(fd); err == nil {
			err = cerr
		}
		if err != nil {
			err = &fs.PathError{Op: "write", Path: path, Err: err}
		}
	}
	if err != nil {
		return writeError(path, value, err)
	}
	return nil
}

func openFile(path string, flags int) (int, error) {
	for {
		fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0o644)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	}
}
