package main

import (
	"os"
	"testing"

	chroot "berth/01-chroot"
)

// The demos re-execute /proc/self/exe, which under test is this binary.
func TestMain(m *testing.M) {
	chroot.Init()
	os.Exit(m.Run())
}
