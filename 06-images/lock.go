package image

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lock serialises changes to index.json between goroutines and processes:
// each change is read, modify, write-and-rename, under an exclusive flock(2).
// The kernel drops the lock if its holder dies, so a killed berth never
// leaves the store locked.
func (s *Store) lock() (unlock func(), err error) {
	return flock(filepath.Join(s.root, "lock"), unix.LOCK_EX)
}

// hold keeps garbage collection away while blobs and layers are written
// but not yet named: writers share the gc lock, GC takes it alone.
func (s *Store) hold() (release func(), err error) {
	return flock(filepath.Join(s.root, "gc.lock"), unix.LOCK_SH)
}

func flock(path string, how int) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("image: locking the store: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("image: locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
