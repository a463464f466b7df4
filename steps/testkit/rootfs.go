package testkit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// rootfsVersion changes whenever BuildRootfs lays out something new, so a
// cached template built by an older testkit is not reused.
const rootfsVersion = "4"

// FixturesEnv, when set to 1, turns a missing fixture (no static busybox)
// from a skip into a failure. `make test` and CI set it, so a missing
// package can never hide tests behind skips there.
const FixturesEnv = "BERTH_REQUIRE_FIXTURES"

// OSRelease is written to the rootfs's /etc/os-release; demos and tests use
// it to tell the jail's files from the host's.
const OSRelease = "NAME=\"berth busybox rootfs\"\nID=berth\n"

// BuildRootfs lays out a minimal root filesystem in dir, which must be empty
// or missing: the static busybox as /bin/busybox, a symlink per applet at the
// path busybox gives it (`busybox --list-full`), /etc/passwd and /etc/group
// with root and nobody, /tmp with mode 1777, and empty /proc, /sys and /dev
// for the kernel's filesystems to be mounted on.
func BuildRootfs(dir string) error {
	bb, err := FindBusybox()
	if err != nil {
		return err
	}
	applets, err := busyboxApplets(bb)
	if err != nil {
		return err
	}
	dirs := []struct {
		path string
		mode os.FileMode
	}{
		{"bin", 0o755}, {"sbin", 0o755}, {"usr/bin", 0o755}, {"usr/sbin", 0o755},
		{"usr/local/bin", 0o755}, {"etc", 0o755}, {"root", 0o700}, {"home", 0o755},
		{"var/log", 0o755}, {"run", 0o755}, {"proc", 0o555}, {"sys", 0o555},
		{"dev", 0o755}, {"tmp", os.ModeSticky | 0o777},
	}
	for _, d := range dirs {
		p := filepath.Join(dir, d.path)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("building rootfs: %w", err)
		}
		// Chmod after MkdirAll: the umask would otherwise drop the sticky
		// and world-writable bits of /tmp.
		if err := os.Chmod(p, d.mode); err != nil {
			return fmt.Errorf("building rootfs: %w", err)
		}
	}
	if err := copyFile(bb, filepath.Join(dir, "bin/busybox"), 0o755); err != nil {
		return fmt.Errorf("building rootfs: copying busybox: %w", err)
	}
	for _, a := range applets {
		if a == "bin/busybox" {
			continue
		}
		link := filepath.Join(dir, a)
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return fmt.Errorf("building rootfs: %w", err)
		}
		if err := os.Symlink("/bin/busybox", link); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("building rootfs: applet link: %w", err)
		}
	}
	files := map[string]string{
		"etc/passwd":     "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":      "root:x:0:\nnogroup:x:65534:\n",
		"etc/hostname":   "berth\n",
		"etc/hosts":      "127.0.0.1\tlocalhost\n::1\tlocalhost\n",
		"etc/os-release": OSRelease,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("building rootfs: %w", err)
		}
	}
	return nil
}

// busyboxApplets returns the applets' paths relative to /, as the binary
// itself lists them.
func busyboxApplets(bb string) ([]string, error) {
	out, err := exec.Command(bb, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("listing busybox applets (%s --list-full): %w", bb, err)
	}
	var applets []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		a := strings.TrimSpace(sc.Text())
		// An applet path is relative and clean; anything else would write
		// outside the rootfs.
		if a == "" || filepath.IsAbs(a) || a != filepath.Clean(a) || strings.HasPrefix(a, "..") {
			continue
		}
		applets = append(applets, a)
	}
	if len(applets) == 0 {
		return nil, fmt.Errorf("%s --list-full listed no applets", bb)
	}
	return applets, nil
}

var template struct {
	once sync.Once
	dir  string
	err  error
}

// RootfsTemplate returns a rootfs built once per busybox binary and testkit
// version and shared by every test and demo. Treat it as read-only: copy it
// with CopyTree (or use Rootfs in a test) before changing anything.
func RootfsTemplate() (string, error) {
	template.once.Do(func() { template.dir, template.err = buildTemplate() })
	return template.dir, template.err
}

func buildTemplate() (string, error) {
	bb, err := FindBusybox()
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(bb)
	if err != nil {
		return "", err
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, fmt.Sprintf("rootfs-v%s-%d-%d", rootfsVersion, fi.Size(), fi.ModTime().Unix()))
	if _, err := os.Stat(filepath.Join(dir, "etc/os-release")); err == nil {
		return dir, nil
	}
	// Build beside the final name and rename: test binaries run in parallel
	// and must never see a half-built template.
	tmp, err := os.MkdirTemp(cache, "rootfs-building-")
	if err != nil {
		return "", err
	}
	if err := BuildRootfs(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp) // another process won the race; its template is as good
		if _, statErr := os.Stat(filepath.Join(dir, "etc/os-release")); statErr != nil {
			return "", fmt.Errorf("installing rootfs template: %w", err)
		}
	}
	return dir, nil
}

// Rootfs returns a fresh, writable busybox rootfs in a temporary directory
// that is removed when the test ends. Without a static busybox the test is
// skipped with the package to install (failed instead under
// BERTH_REQUIRE_FIXTURES=1).
func Rootfs(t testing.TB) string {
	t.Helper()
	tmpl, err := RootfsTemplate()
	if err != nil {
		missingFixture(t, err)
	}
	dst := filepath.Join(t.TempDir(), "rootfs")
	if err := CopyTree(tmpl, dst); err != nil {
		t.Fatalf("copying rootfs: %v", err)
	}
	return dst
}

func missingFixture(t testing.TB, err error) {
	t.Helper()
	if os.Getenv(FixturesEnv) == "1" || !errors.Is(err, ErrNoBusybox) {
		t.Fatal(err)
	}
	t.Skip(err)
}

// CopyTree copies the directory src to dst (which must not exist),
// preserving modes and symlinks. It refuses special files: a rootfs template
// never holds device nodes; /dev is mounted, not copied.
func CopyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
			// Set the real mode after creation: the umask would strip 1777.
			return os.Chmod(target, mode.Perm()|mode&(os.ModeSticky|os.ModeSetuid|os.ModeSetgid))
		case mode&os.ModeSymlink != 0:
			dest, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(dest, target)
		case mode.IsRegular():
			return copyFile(path, target, mode.Perm())
		default:
			return fmt.Errorf("copying %s: unsupported file type %v", path, mode.Type())
		}
	})
}

func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, perm)
}

// ScratchRootfs makes a temporary directory named after prefix holding a
// fresh copy of the rootfs template in its "rootfs" subdirectory, for a
// demo. The caller removes dir (a demo registers that with its narrator).
func ScratchRootfs(prefix string) (dir, rootfs string, err error) {
	tmpl, err := RootfsTemplate()
	if err != nil {
		return "", "", err
	}
	dir, err = os.MkdirTemp("", prefix)
	if err != nil {
		return "", "", err
	}
	rootfs = filepath.Join(dir, "rootfs")
	if err := CopyTree(tmpl, rootfs); err != nil {
		os.RemoveAll(dir)
		return "", "", err
	}
	return dir, rootfs, nil
}

// ChownTree gives every file under dir, dir included, to uid and gid,
// without following symlinks: a rootfs for a user namespace must belong to
// the ids the container's root maps to.
func ChownTree(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}
