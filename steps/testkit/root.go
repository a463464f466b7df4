package testkit

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// RequireRoot skips t unless the test runs as root, and says how to run it
// as root instead. It is the only place in the course that decides whether
// a test is privileged.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	t.Skip(SkipReason(callerPackageDir()))
}

// SkipReason is the message a privileged test skips with when it is not
// root: the reason and the command that runs it as root.
func SkipReason(pkgDir string) string {
	return fmt.Sprintf("needs root (it changes mounts, namespaces or cgroups); run: go test -exec sudo %s", pkgDir)
}

// callerPackageDir returns the package of the test that called RequireRoot,
// relative to the module root ("./01-chroot/"), for the skip message.
func callerPackageDir() string {
	for skip := 2; skip < 8; skip++ {
		_, file, _, ok := runtime.Caller(skip)
		if !ok {
			break
		}
		if !strings.HasSuffix(file, "_test.go") {
			continue
		}
		dir := filepath.Dir(file)
		if root, err := ModuleRoot(); err == nil {
			if rel, err := filepath.Rel(root, dir); err == nil && !strings.HasPrefix(rel, "..") {
				return "./" + filepath.ToSlash(rel) + "/"
			}
		}
		return dir
	}
	return "./..."
}
