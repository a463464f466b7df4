package network

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// InNamespace runs fn on a thread that has joined the network namespace at
// path (for example /proc/PID/ns/net); "" runs fn where it is. Sockets fn
// opens, processes it starts and /proc/sys/net files it opens belong to
// that namespace.
//
// A namespace belongs to a thread, not to a process, so the goroutine is
// locked to its thread while it is away. If the thread cannot come back,
// it stays locked and Go discards it when fn's goroutine ends.
func InNamespace(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	target, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("network: opening network namespace %s: %w", path, err)
	}
	defer unix.Close(target)
	runtime.LockOSThread()
	home, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("network: %w", err)
	}
	defer unix.Close(home)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("network: joining network namespace %s: %w", path, err)
	}
	defer func() {
		if unix.Setns(home, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	return fn()
}
