package testkit

import (
	"fmt"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// NewNetNS makes a new network namespace with its loopback up, and returns
// a path that opens it, /proc/PID/fd/N, for setns(2), netlink or
// nsenter --net. The namespace lives as long as release has not been
// called: it is held by that descriptor only, so nothing of it shows on
// the host (no /run/netns file) and a killed test leaves nothing behind.
func NewNetNS() (path string, release func() error, err error) {
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result)
	go func() {
		// This thread leaves the process's namespace for good: it is never
		// unlocked, so Go ends it when the goroutine returns.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ch <- result{-1, fmt.Errorf("unshare(CLONE_NEWNET): %w", err)}
			return
		}
		if err := loopbackUp(); err != nil {
			ch <- result{-1, err}
			return
		}
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		ch <- result{fd, err}
	}()
	r := <-ch
	if r.err != nil {
		return "", nil, fmt.Errorf("testkit: new network namespace: %w", r.err)
	}
	return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), r.fd), func() error { return unix.Close(r.fd) }, nil
}

// loopbackUp sets IFF_UP on lo in the calling thread's namespace.
func loopbackUp() error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("lo flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	return nil
}

// NetNS is NewNetNS for a test: it needs root, and the namespace goes
// away when the test ends.
func NetNS(t testing.TB) string {
	t.Helper()
	RequireRoot(t)
	path, release, err := NewNetNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { release() })
	return path
}
