package runtime_test

import (
	"os"
	"testing"

	"berth/final/runtime"
)

// TestMain lets the test binary serve as the container's init and as the
// exec'd process: Start and Exec re-execute /proc/self/exe, which here is
// this test binary.
func TestMain(m *testing.M) {
	runtime.Init()
	os.Exit(m.Run())
}
