package main

import (
	"os"
	"testing"

	chroot "berth/01-chroot"
	namespaces "berth/02-namespaces"
)

// The demos re-execute /proc/self/exe, which under test is this binary.
func TestMain(m *testing.M) {
	chroot.Init()
	namespaces.Init()
	os.Exit(m.Run())
}
