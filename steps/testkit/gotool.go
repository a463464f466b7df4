package testkit

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// ModuleRoot returns the directory holding berth's go.mod. It is found from
// the source path compiled into this package, so it works from tests, from
// `go run ./steps` and under sudo, whatever the working directory.
func ModuleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("testkit: cannot locate the source tree")
	}
	root := filepath.Dir(filepath.Dir(filepath.Dir(file))) // steps/testkit/gotool.go -> module root
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("testkit: berth's source tree is not at %s (was the binary built elsewhere?): %w", root, err)
	}
	return root, nil
}

// GoTool returns the path of the go command. Under sudo, root's PATH often
// has no Go, so after PATH it tries $GOROOT, the toolchain this binary was
// built with, and the usual install places.
func GoTool() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	candidates := []string{}
	if g := os.Getenv("GOROOT"); g != "" {
		candidates = append(candidates, filepath.Join(g, "bin", "go"))
	}
	candidates = append(candidates,
		filepath.Join(runtime.GOROOT(), "bin", "go"), //nolint:staticcheck // the toolchain that built us is the best guess
		"/usr/local/go/bin/go", "/usr/lib/go/bin/go", "/snap/bin/go")
	for _, p := range candidates {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("testkit: the go command is not on PATH nor in /usr/local/go/bin; run with PATH set (sudo env PATH=\"$PATH\" ...) or use `sudo make test`")
}

// CacheDir returns the directory where testkit keeps what it builds once per
// source version (the rootfs template, the probe): $BERTH_CACHE, else the
// user's cache directory, else the temporary directory. `make clean` removes it.
func CacheDir() (string, error) {
	dir := os.Getenv("BERTH_CACHE")
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil || !writable(base) {
			base = os.TempDir()
		}
		dir = filepath.Join(base, fmt.Sprintf("berth-testkit-%d", os.Geteuid()))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("testkit: creating cache directory: %w", err)
	}
	return dir, nil
}

func writable(dir string) bool {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}
