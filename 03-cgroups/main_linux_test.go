package cgroup_test

import (
	"os"
	"testing"

	namespaces "berth/02-namespaces"
)

// The workloads run in chapter 02's containers, whose init re-executes this
// test binary.
func TestMain(m *testing.M) {
	namespaces.Init()
	os.Exit(m.Run())
}
