package host

import "strings"

// imageTool is a program chapter 06's tests check berth against, and the
// Debian package that has it. Without it those tests skip (or fail under
// BERTH_REQUIRE_FIXTURES=1, as in sudo make test); the chapter's code does
// not need it.
type imageTool struct {
	name, pkg, role string
}

func (h Host) checkRegistry() Result {
	return h.checkImageTool(imageTool{"docker-registry", "docker-registry", "a local registry to push to and pull from"})
}

func (h Host) checkSkopeo() Result {
	return h.checkImageTool(imageTool{"skopeo", "skopeo", "the reference client for registries and OCI layouts"})
}

func (h Host) checkUmoci() Result {
	return h.checkImageTool(imageTool{"umoci", "umoci", "the reference tool for OCI layouts"})
}

func (h Host) checkImageTool(t imageTool) Result {
	r := Result{Name: t.name, Needed: "chapter 06 (tests: " + t.role + ")"}
	path, err := h.LookPath(t.name)
	if err != nil {
		r.Status = Warn
		r.Detail = t.name + " not found: the chapter 06 tests that use it will skip"
		r.Fix = "sudo apt-get install " + t.pkg
		return r
	}
	r.Status = OK
	r.Detail = path
	if v := h.toolVersion(path); v != "" {
		r.Detail += " " + v
	}
	return r
}

// toolVersion asks a program for its version, the last word of the first
// line of --version: "docker-registry github.com/docker/distribution
// 2.8.2+ds1", "skopeo version 1.9.3", "umoci version 0.4.7+ds-3+b7".
// It returns "" when the program does not say.
func (h Host) toolVersion(path string) string {
	out, err := h.Run(path, "--version")
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	f := strings.Fields(line)
	if len(f) < 2 {
		return ""
	}
	return f[len(f)-1]
}
