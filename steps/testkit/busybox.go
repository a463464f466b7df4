package testkit

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// ErrNoBusybox means no statically linked busybox was found on the host.
var ErrNoBusybox = errors.New("testkit: no static busybox found")

// BusyboxEnv names an environment variable that points at a busybox binary,
// overriding the search of the usual places.
const BusyboxEnv = "BERTH_BUSYBOX"

// BusyboxFix is what a student types to get a static busybox on Debian or
// Ubuntu.
const BusyboxFix = "sudo apt-get install busybox-static (or set BERTH_BUSYBOX to a static busybox)"

// busyboxCandidates are the places Debian's busybox-static and other
// distributions' packages install the binary.
var busyboxCandidates = []string{"/bin/busybox", "/usr/bin/busybox", "/usr/sbin/busybox", "/sbin/busybox"}

// FindBusybox returns the path of a statically linked busybox. A dynamically
// linked one is refused: inside a rootfs there is no libc for it to load.
func FindBusybox() (string, error) {
	if p := os.Getenv(BusyboxEnv); p != "" {
		if err := checkStatic(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", BusyboxEnv, p, err)
		}
		return p, nil
	}
	candidates := busyboxCandidates
	if p, err := exec.LookPath("busybox"); err == nil {
		candidates = append([]string{p}, candidates...)
	}
	var dynamic string
	for _, p := range candidates {
		err := checkStatic(p)
		if err == nil {
			return p, nil
		}
		if errors.Is(err, errDynamic) && dynamic == "" {
			dynamic = p
		}
	}
	if dynamic != "" {
		return "", fmt.Errorf("%w: %s is dynamically linked and cannot run inside a rootfs without its libc; install: %s", ErrNoBusybox, dynamic, BusyboxFix)
	}
	return "", fmt.Errorf("%w; install: %s", ErrNoBusybox, BusyboxFix)
}

var errDynamic = errors.New("dynamically linked")

// checkStatic reports whether path is an ELF executable with no program
// interpreter, that is, one the kernel can start without ld.so.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errDynamic
		}
	}
	return nil
}
