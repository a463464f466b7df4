package runtime_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/final/runtime"
)

// TestMain lets the test binary serve as the container's init and as the
// exec'd process: Start and Exec re-execute /proc/self/exe, which here is
// this test binary.
//
// Run by TestParentDeathKillsTheContainer with parentEnv set, it plays the
// container's parent instead.
func TestMain(m *testing.M) {
	runtime.Init()
	if v := os.Getenv(parentEnv); v != "" {
		os.Exit(parentScenario(v))
	}
	os.Exit(m.Run())
}

// parentEnv holds "ROOTFS:tiny" (or "ROOTFS:") for the parent scenario.
const parentEnv = "BERTH_RUNTIME_PARENT"

// parentScenario starts a container that sleeps, as nobody, prints its
// init's PID, and waits to be killed.
func parentScenario(v string) int {
	rootfs, tiny, _ := strings.Cut(v, ":")
	spec := runtime.Default(rootfs, []string{"sleep", "1000"})
	spec.Process.User = specs.User{UID: 65534, GID: 65534}
	if tiny == "tiny" {
		spec.Annotations = map[string]string{runtime.InitAnnotation: "true"}
	}
	p, err := runtime.Start(spec, runtime.StartOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(p.Pid)
	time.Sleep(time.Hour) // until the test kills this process
	return 0
}
