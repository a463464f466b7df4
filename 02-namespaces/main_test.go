package namespaces_test

import (
	"os"
	"testing"

	namespaces "berth/02-namespaces"
)

// TestMain lets the test binary serve as the container's init and as the
// joiner: Start and Join re-execute /proc/self/exe, which here is this
// test binary.
func TestMain(m *testing.M) {
	namespaces.Init()
	os.Exit(m.Run())
}
