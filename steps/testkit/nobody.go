package testkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// NobodyUID is the unprivileged user tests switch to.
const NobodyUID = 65534

// RunTestsAsNobody runs the tests of the current test binary that match
// pattern again, as the unprivileged user nobody, and returns their verbose
// output. Root uses it to prove that privileged tests skip with a clear
// reason for a normal user. The binary is copied where nobody can run it.
func RunTestsAsNobody(t testing.TB, pattern string) string {
	t.Helper()
	RequireRoot(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// t.TempDir makes its directories 0700; nobody must be able to enter them.
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, filepath.Base(self))
	if err := copyFile(self, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	cmd := exec.Command(bin, "-test.run", pattern, "-test.v", "-test.count=1")
	cmd.Dir = wd
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "TMPDIR=" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: NobodyUID, Gid: NobodyUID}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("running %s as nobody: %v\n%s", pattern, err, out)
	}
	return string(out)
}
