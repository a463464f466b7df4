package namespaces_test

import (
	"os"
	"testing"

	namespaces "berth/02-namespaces"
)

// TestMain lets the test binary serve as the container's init and as the
// joiner: Start and Join re-execute /proc/self/exe, which here is this
// test binary.
//
// Run as nobody by TestRootless, it plays the rootless scenario instead.
func TestMain(m *testing.M) {
	namespaces.Init()
	if rootfs := os.Getenv(rootlessEnv); rootfs != "" && os.Geteuid() != 0 {
		os.Exit(rootlessScenario(rootfs))
	}
	os.Exit(m.Run())
}

// rootlessEnv names the rootfs TestRootless hands to the binary it runs as
// nobody.
const rootlessEnv = "BERTH_ROOTLESS_ROOTFS"
