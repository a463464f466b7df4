package runtime_test

import (
	"testing"

	"berth/final/runtime"
	"berth/steps/testkit"
)

// BenchmarkStart measures a whole container run of `true` with Docker's
// default spec: clone, re-exec, mounts, pivot_root, execve, wait. Compare
// with `unshare --fork --pid --mount --uts --ipc --net true`.
func BenchmarkStart(b *testing.B) {
	testkit.RequireRoot(b)
	spec := runtime.Default(testkit.Rootfs(b), []string{"true"})
	for b.Loop() {
		p, err := runtime.Start(spec, runtime.StartOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if st, err := p.Wait(); err != nil || st.Code != 0 {
			b.Fatal(st, err)
		}
	}
}
