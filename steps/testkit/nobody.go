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
// pattern again, as the unprivileged user nobody, with env added to a
// minimal environment, and returns their verbose output. Root uses it to
// prove that privileged tests skip with a clear reason for a normal user,
// and to run rootless containers. The binary is copied where nobody can run
// it.
func RunTestsAsNobody(t testing.TB, pattern string, env ...string) string {
	t.Helper()
	RequireRoot(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	OpenToAll(t, dir)
	bin := filepath.Join(dir, filepath.Base(self))
	if err := copyFile(self, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	cmd := exec.Command(bin, "-test.run", pattern, "-test.v", "-test.count=1")
	cmd.Dir = wd
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "TMPDIR=" + dir}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: NobodyUID, Gid: NobodyUID}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("running %s as nobody: %v\n%s", pattern, err, out)
	}
	return string(out)
}

// OpenToAll makes dir and its parents up to the temporary directory
// enterable by every user: t.TempDir makes them 0700, and a test that hands
// a directory to nobody must open them.
func OpenToAll(t testing.TB, dir string) {
	t.Helper()
	for d := dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, fi.Mode().Perm()|0o055|fi.Mode()&os.ModeSticky); err != nil {
			t.Fatal(err)
		}
	}
}
