package chroot_test

import (
	"os"
	"testing"

	chroot "berth/01-chroot"
)

// TestMain lets the test binary serve as the jail's init: Run re-executes
// /proc/self/exe, which here is this test binary.
func TestMain(m *testing.M) {
	chroot.Init()
	os.Exit(m.Run())
}
