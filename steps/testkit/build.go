package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
	"testing"
)

// ProbePackage is the import path of the probe program.
const ProbePackage = "berth/steps/testkit/probe/berth-probe"

// ProbeInRootfs is where InstallProbe puts the probe inside a rootfs.
const ProbeInRootfs = "/usr/local/bin/berth-probe"

var builds struct {
	sync.Mutex
	done map[string]string
}

// BuildStatic builds the main package pkg (an import path inside berth) as a
// static binary that can run inside a busybox rootfs, and returns its path.
// It builds once per process; Go's build cache makes later runs cheap.
func BuildStatic(pkg string) (string, error) {
	builds.Lock()
	defer builds.Unlock()
	if p, ok := builds.done[pkg]; ok {
		return p, nil
	}
	goTool, err := GoTool()
	if err != nil {
		return "", err
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	out := filepath.Join(cache, path.Base(pkg))
	// Build to a temporary name and rename: test binaries run in parallel,
	// and one must never exec a binary another is still writing.
	tmp, err := os.CreateTemp(cache, path.Base(pkg)+".building-*")
	if err != nil {
		return "", err
	}
	tmp.Close()
	cmd := exec.Command(goTool, "build", "-trimpath", "-o", tmp.Name(), pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("building %s: %w\n%s", pkg, err, b)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	if builds.done == nil {
		builds.done = map[string]string{}
	}
	builds.done[pkg] = out
	return out, nil
}

// Static is BuildStatic for tests: it fails the test when the build fails.
func Static(t testing.TB, pkg string) string {
	t.Helper()
	p, err := BuildStatic(pkg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// InstallBinary copies the static binary bin into rootfs at dest (an
// absolute path inside the rootfs) and returns dest.
func InstallBinary(rootfs, bin, dest string) error {
	target := filepath.Join(rootfs, dest)
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	os.Remove(target)
	return copyFile(bin, target, 0o755)
}

// InstallProbe builds the probe (once) and copies it into rootfs; it returns
// the probe's path as seen from inside the rootfs.
func InstallProbe(t testing.TB, rootfs string) string {
	t.Helper()
	bin := Static(t, ProbePackage)
	if err := InstallBinary(rootfs, bin, ProbeInRootfs); err != nil {
		t.Fatalf("installing probe: %v", err)
	}
	return ProbeInRootfs
}
