package engine

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	image "berth/06-images"
)

// CommitOptions are POST /commit's parameters: docker commit's flags.
type CommitOptions struct {
	// Reference names the new image (REPOSITORY[:TAG]); empty, the image
	// is named by its ID, as an unnamed import is.
	Reference string
	Comment   string   // -m: the history entry's comment
	Author    string   // -a
	Changes   []string // -c: Dockerfile instructions applied to the config
	// Pause freezes the container's processes while its layer is read, so
	// that the layer is one moment's state (docker commit's default).
	Pause bool
	// Config, if set, is the starting point of the image's configuration
	// instead of the container's (the API's request body); what it leaves
	// empty is still taken from the container's, as Docker merges them.
	Config *Config
}

// commitConfig is the run configuration a committed image records:
// Docker's rule is the container's own (its command, environment,
// working directory, user, ports, volumes, labels), or the request's
// Config, with the --change instructions applied, then what is still
// empty filled from the container's.
func commitConfig(c Config, req *Config, changes []string) (v1.ImageConfig, error) {
	start := c
	if req != nil {
		start = *req
	}
	cfg := imageConfig(start)
	// Parse every change before applying any: a typo in the last one
	// leaves nothing half-done.
	fns := make([]image.Change, len(changes))
	for i, ch := range changes {
		fn, err := image.ParseChange(ch)
		if err != nil {
			return v1.ImageConfig{}, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		fns[i] = fn
	}
	cmdSet := false
	for i, fn := range fns {
		fn(&cfg)
		switch instruction(changes[i]) {
		case "CMD":
			cmdSet = true
		case "ENTRYPOINT":
			// As in a Dockerfile: a new entrypoint drops the command it
			// inherited, unless a CMD of these changes set one.
			if !cmdSet {
				cfg.Cmd = nil
			}
		}
	}
	mergeCommitConfig(&cfg, imageConfig(c))
	return cfg, nil
}

// instruction is a change's keyword, upper-cased: "CMD", "ENV"...
func instruction(change string) string {
	f := strings.Fields(change)
	if len(f) == 0 {
		return ""
	}
	return strings.ToUpper(f[0])
}

// imageConfig is the part of a container's Config an image config keeps
// (an OCI config has no Hostname, Tty or StopTimeout), copied so that
// editing it never edits c.
func imageConfig(c Config) v1.ImageConfig {
	return v1.ImageConfig{
		User:         c.User,
		ExposedPorts: maps.Clone(c.ExposedPorts),
		Env:          slices.Clone(c.Env),
		Entrypoint:   slices.Clone(c.Entrypoint),
		Cmd:          slices.Clone(c.Cmd),
		Volumes:      maps.Clone(c.Volumes),
		WorkingDir:   c.WorkingDir,
		Labels:       maps.Clone(c.Labels),
		StopSignal:   c.StopSignal,
	}
}

// mergeCommitConfig fills what cfg leaves empty from the container's
// config, field by field, as Docker's commit does: ports, volumes and
// labels are joined, environment variables joined by name, and the
// command taken only when cfg sets no entrypoint.
func mergeCommitConfig(cfg *v1.ImageConfig, from v1.ImageConfig) {
	if cfg.User == "" {
		cfg.User = from.User
	}
	for p := range from.ExposedPorts {
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		cfg.ExposedPorts[p] = struct{}{}
	}
	for _, kv := range from.Env {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.ContainsFunc(cfg.Env, func(e string) bool { ek, _, _ := strings.Cut(e, "="); return ek == k }) {
			cfg.Env = append(cfg.Env, kv)
		}
	}
	for k, v := range from.Labels {
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		if _, ok := cfg.Labels[k]; !ok {
			cfg.Labels[k] = v
		}
	}
	if len(cfg.Entrypoint) == 0 {
		if len(cfg.Cmd) == 0 {
			cfg.Cmd = from.Cmd
		}
		if cfg.Entrypoint == nil {
			cfg.Entrypoint = from.Entrypoint
		}
	}
	if cfg.WorkingDir == "" {
		cfg.WorkingDir = from.WorkingDir
	}
	for v := range from.Volumes {
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		cfg.Volumes[v] = struct{}{}
	}
	if cfg.StopSignal == "" {
		cfg.StopSignal = from.StopSignal
	}
}

// mountpointFiles are the files berth bind-mounts into every container
// (setup_linux.go): when the image lacks them, the runtime creates them
// empty in the writable layer, as mount points. They are berth's, not
// the container's changes, and whatever the container writes to them
// goes to the files mounted over them, never to the layer. Docker keeps
// such mount points in an "init" layer of its own between the image and
// the container's layer, which commit leaves out; berth has no such
// layer, so commit leaves these entries out instead.
var mountpointFiles = map[string]bool{"etc/hostname": true, "etc/hosts": true, "etc/resolv.conf": true}

// withoutMountpoints copies the layer tarball r to w, leaving out the
// empty mount point files berth itself made (mountpointFiles).
func withoutMountpoints(w io.Writer, r io.Reader) error {
	tr := tar.NewReader(r)
	tw := tar.NewWriter(w)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return fmt.Errorf("engine: reading the container's changes: %w", err)
		}
		name := path.Clean("/" + hdr.Name)[1:]
		if mountpointFiles[name] && hdr.Typeflag == tar.TypeReg && hdr.Size == 0 {
			continue
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("engine: writing the layer: %w", err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return fmt.Errorf("engine: writing the layer: %w", err)
		}
	}
	return tw.Close()
}

// freezer pauses a cgroup's processes (cgroups v1's freezer controller,
// v2's cgroup.freeze): a frozen process is not scheduled at all, so the
// files it was writing stay as they are while commit reads them.
type freezer struct {
	control      string // the file written: freezer.state or cgroup.freeze
	freeze, thaw string // what is written to it
	events       string // the file that says the group is frozen
	frozen       func(events string) bool
}

// errNoFreezer means a container's cgroups have no freezer.
var errNoFreezer = errors.New("no cgroup freezer")

// findFreezer finds the freezer among a container's cgroup directories:
// on v2 the one directory's cgroup.freeze, on v1 the freezer hierarchy's
// freezer.state.
func findFreezer(dirs []string) (freezer, error) {
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "cgroup.freeze")); err == nil {
			// The kernel says "frozen 1" in cgroup.events once every
			// process has stopped (it may take a moment).
			return freezer{
				control: filepath.Join(d, "cgroup.freeze"), freeze: "1", thaw: "0",
				events: filepath.Join(d, "cgroup.events"),
				frozen: func(ev string) bool { return slices.Contains(strings.Split(ev, "\n"), "frozen 1") },
			}, nil
		}
		if _, err := os.Stat(filepath.Join(d, "freezer.state")); err == nil {
			// v1 reads FREEZING until every task is frozen.
			state := filepath.Join(d, "freezer.state")
			return freezer{
				control: state, freeze: "FROZEN", thaw: "THAWED", events: state,
				frozen: func(s string) bool { return strings.TrimSpace(s) == "FROZEN" },
			}, nil
		}
	}
	return freezer{}, fmt.Errorf("%w in %v", errNoFreezer, dirs)
}

// Freeze freezes the group and waits until the kernel says it is frozen;
// if it does not within timeout, the group is thawed again.
func (f freezer) Freeze(timeout time.Duration) error {
	if err := os.WriteFile(f.control, []byte(f.freeze), 0o644); err != nil {
		return fmt.Errorf("engine: freezing: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(f.events)
		if err == nil && f.frozen(string(b)) {
			return nil
		}
		if time.Now().After(deadline) {
			f.Thaw()
			return fmt.Errorf("engine: %s did not say frozen within %s", f.events, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Thaw lets the group run again.
func (f freezer) Thaw() error {
	if err := os.WriteFile(f.control, []byte(f.thaw), 0o644); err != nil {
		return fmt.Errorf("engine: thawing: %w", err)
	}
	return nil
}
