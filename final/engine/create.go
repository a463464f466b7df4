//go:build linux

package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	cgroup "berth/03-cgroups"
	network "berth/05-network"
	image "berth/06-images"
)

// Create records a new container: the image's configuration merged with
// the request's, a name, its volumes, and the directory its writable layer
// will live in. Nothing runs yet. Every check that can fail is made before
// anything is written, and a failure after that removes what was made.
func (e *Engine) Create(ctx context.Context, req CreateRequest) (resp CreateResponse, retErr error) {
	if req.Config.Image == "" {
		return resp, fmt.Errorf("%w: an image is needed", ErrInvalid)
	}
	name := strings.TrimPrefix(req.Name, "/")
	if name != "" && !validName().MatchString(name) {
		return resp, fmt.Errorf("%w: invalid container name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", ErrInvalid, name)
	}
	img, err := e.images.Image(req.Config.Image)
	if err != nil {
		if errors.Is(err, image.ErrNotFound) || errors.Is(err, image.ErrInvalidReference) {
			return resp, fmt.Errorf("%w: unable to find image %q locally: pull it with `berth pull %s`, or make it from a root filesystem tarball with `berth import ROOTFS.tar %s` (%v)",
				ErrImageNotFound, req.Config.Image, req.Config.Image, req.Config.Image, err)
		}
		return resp, fmt.Errorf("engine: image %s: %w", req.Config.Image, err)
	}
	c := &container{
		ID:          newID(),
		Created:     time.Now().UTC(),
		Image:       req.Config.Image,
		ImageID:     img.ID().String(),
		Config:      req.Config,
		HostConfig:  req.HostConfig,
		Snapshotter: e.images.Snapshotter().Name(),
	}
	if err := mergeImageConfig(c, img); err != nil {
		return resp, err
	}
	if err := e.checkHostConfig(&c.HostConfig); err != nil {
		return resp, err
	}
	mounts, err := e.planMounts(c)
	if err != nil {
		return resp, err
	}

	unlock, err := e.lockNames()
	if err != nil {
		return resp, err
	}
	defer unlock()
	all, err := e.all()
	if err != nil {
		return resp, err
	}
	taken := map[string]bool{}
	for _, o := range all {
		taken[o.Name] = true
	}
	if name == "" {
		name = generateName(taken)
	} else if taken[name] {
		return resp, fmt.Errorf("%w: the container name %q is already in use: remove that container (berth rm %s) or choose another --name", ErrConflict, "/"+name, name)
	}
	c.Name = name

	// From here on, side effects: undo them all if anything fails.
	if err := os.MkdirAll(e.dir(c.ID), 0o710); err != nil {
		return resp, fmt.Errorf("engine: creating the container's directory: %w", err)
	}
	defer func() {
		if retErr != nil {
			os.RemoveAll(e.dir(c.ID))
		}
	}()
	layers, err := e.images.Unpack(img, nil)
	if err != nil {
		return resp, fmt.Errorf("engine: unpacking %s: %w", req.Config.Image, err)
	}
	for _, l := range layers {
		c.Layers = append(c.Layers, filepath.Base(l))
	}
	if err := e.images.Snapshotter().Prepare(layers, e.layerCdir(c.ID)); err != nil {
		return resp, fmt.Errorf("engine: preparing the container's layer: %w", err)
	}
	var made []string // volumes made here, removed if create fails
	defer func() {
		if retErr != nil {
			for _, v := range made {
				os.RemoveAll(e.volumeDir(v))
			}
		}
	}()
	for i, m := range mounts {
		if m.Type != "volume" {
			continue
		}
		_, missing := e.volume(m.Name)
		v, err := e.VolumeCreate(ctx, VolumeCreateRequest{Name: m.Name})
		if err != nil {
			return resp, err
		}
		if missing != nil {
			made = append(made, v.Name)
		}
		mounts[i].Name, mounts[i].Source = v.Name, v.Mountpoint
	}
	c.Mounts = mounts
	// No state.json yet: without one a container is "created" (loadStatus).
	if err := writeJSON(e.configPath(c.ID), c); err != nil {
		return resp, err
	}
	return CreateResponse{ID: c.ID, Warnings: []string{}}, nil
}

// mergeImageConfig applies the image's settings under the request's, as
// Docker does: the request wins field by field, environment variables key
// by key; a new entrypoint drops the image's command.
func mergeImageConfig(c *container, img *image.Image) error {
	ic := img.Config.Config
	cfg := &c.Config
	if cfg.Entrypoint == nil {
		cfg.Entrypoint = ic.Entrypoint
		if len(cfg.Cmd) == 0 {
			cfg.Cmd = ic.Cmd
		}
	} else if len(cfg.Entrypoint) == 1 && cfg.Entrypoint[0] == "" {
		cfg.Entrypoint = nil // --entrypoint "" clears it
	}
	argv := append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...)
	if len(argv) == 0 {
		return fmt.Errorf("%w: no command specified: image %s has no CMD or ENTRYPOINT; give one after the image name", ErrInvalid, c.Image)
	}
	c.Path, c.Args = argv[0], argv[1:]
	cfg.Env = mergeEnv(ic.Env, cfg.Env)
	if cfg.WorkingDir == "" {
		cfg.WorkingDir = ic.WorkingDir
	}
	if cfg.WorkingDir != "" && !filepath.IsAbs(cfg.WorkingDir) {
		return fmt.Errorf("%w: the working directory %q is not an absolute path", ErrInvalid, cfg.WorkingDir)
	}
	if cfg.User == "" {
		cfg.User = ic.User
	}
	if cfg.StopSignal == "" {
		cfg.StopSignal = ic.StopSignal
	}
	if cfg.Hostname == "" {
		cfg.Hostname = c.ID[:12]
	}
	for p := range ic.ExposedPorts {
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		cfg.ExposedPorts[p] = struct{}{}
	}
	for v := range ic.Volumes {
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		cfg.Volumes[v] = struct{}{}
	}
	for k, v := range ic.Labels {
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		if _, set := cfg.Labels[k]; !set {
			cfg.Labels[k] = v
		}
	}
	if _, err := signalOf(cfg.StopSignal); cfg.StopSignal != "" && err != nil {
		return fmt.Errorf("%w: --stop-signal: %v", ErrInvalid, err)
	}
	return nil
}

// mergeEnv lays over on base, key by key, keeping base's order.
func mergeEnv(base, over []string) []string {
	out := append([]string{}, base...)
	for _, kv := range over {
		k, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, b := range out {
			if bk, _, _ := strings.Cut(b, "="); bk == k {
				out[i], replaced = kv, true
				break
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

// checkHostConfig refuses what cannot work before anything is made: limits
// the host cannot give, an unknown network, malformed port bindings.
func (e *Engine) checkHostConfig(h *HostConfig) error {
	if _, err := resources(*h); err != nil {
		return err
	}
	mode, err := network.ParseMode(h.NetworkMode)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if h.NetworkMode == "" || h.NetworkMode == "default" {
		h.NetworkMode = "bridge"
	}
	if mode.Kind == "bridge" && mode.Network != network.DefaultNetwork {
		m, err := e.network()
		if err != nil {
			return err
		}
		if _, err := m.Get(mode.Network); err != nil {
			return fmt.Errorf("%w: network %s not found: create it with `berth network create %s`", ErrNotFound, mode.Network, mode.Network)
		}
	}
	if len(h.PortBindings) > 0 && mode.Kind != "bridge" {
		return fmt.Errorf("%w: published ports need a bridge network (--network %s has none)", ErrInvalid, h.NetworkMode)
	}
	if _, err := portMappings(h.PortBindings); err != nil {
		return err
	}
	return nil
}

// hostLayout reads the host's cgroup layout once per process: where the
// hierarchies are mounted does not change while berth runs, and a start
// needs it three times.
var hostLayout = sync.OnceValues(cgroup.DetectLayout)

// resources turns the host config's limits into chapter 03's Resources,
// checked against the host.
func resources(h HostConfig) (cgroup.Resources, error) {
	r := cgroup.Resources{
		Memory:     h.Memory,
		MemorySwap: h.MemorySwap,
		CPUs:       float64(h.NanoCpus) / 1e9,
		CPUShares:  uint64(h.CpuShares),
		CpusetCPUs: h.CpusetCpus,
	}
	if h.Memory < 0 || h.NanoCpus < 0 || h.CpuShares < 0 {
		return r, fmt.Errorf("%w: limits cannot be negative", ErrInvalid)
	}
	if h.PidsLimit != nil {
		r.PidsLimit = *h.PidsLimit
		if r.PidsLimit == 0 {
			r.PidsLimit = -1 // Docker: 0 or -1 mean unlimited
		}
	}
	var host cgroup.Host
	if r.CPUs > 0 || r.CpusetCPUs != "" {
		// The only limits checked against what the host has.
		layout, err := hostLayout()
		if err != nil {
			return r, fmt.Errorf("engine: %w", err)
		}
		if host, err = layout.Host(); err != nil {
			return r, fmt.Errorf("engine: %w", err)
		}
	}
	if err := r.Validate(host); err != nil {
		return r, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return r, nil
}

// portMappings turns Docker's port bindings into chapter 05's mappings.
func portMappings(b map[string][]PortBinding) ([]network.PortMapping, error) {
	var out []network.PortMapping
	for port, binds := range b {
		p, proto, _ := strings.Cut(port, "/")
		if proto == "" {
			proto = "tcp"
		}
		if len(binds) == 0 {
			binds = []PortBinding{{}}
		}
		for _, hb := range binds {
			spec := p + "/" + proto
			if hb.HostPort != "" || hb.HostIP != "" {
				spec = hb.HostPort + ":" + spec
			}
			if hb.HostIP != "" {
				if a, err := netip.ParseAddr(hb.HostIP); err == nil && a.Is6() {
					spec = "[" + hb.HostIP + "]:" + spec
				} else {
					spec = hb.HostIP + ":" + spec
				}
			}
			m, err := network.ParsePort(spec)
			if err != nil {
				return nil, fmt.Errorf("%w: publishing %s: %v", ErrInvalid, port, err)
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// planMounts reads -v and the image's VOLUMEs into the mounts the
// container gets: bind mounts of host paths that must exist, named volumes
// (made at create if missing) and anonymous ones (one per VOLUME not
// otherwise mounted).
func (e *Engine) planMounts(c *container) ([]MountPoint, error) {
	var out []MountPoint
	seen := map[string]bool{}
	for _, b := range c.HostConfig.Binds {
		m, err := parseBind(b)
		if err != nil {
			return nil, err
		}
		if seen[m.Destination] {
			return nil, fmt.Errorf("%w: duplicate mount point: %s", ErrInvalid, m.Destination)
		}
		seen[m.Destination] = true
		if m.Type == "bind" {
			if _, err := os.Stat(m.Source); err != nil {
				return nil, fmt.Errorf("%w: bind source path %s does not exist on the host: create it first, or name a volume instead", ErrInvalid, m.Source)
			}
		}
		out = append(out, m)
	}
	for dst := range c.Config.Volumes {
		dst = filepath.Clean(dst)
		if seen[dst] {
			continue
		}
		seen[dst] = true
		out = append(out, MountPoint{Type: "volume", Name: randomHex(32), Destination: dst, Driver: "local", RW: true})
	}
	return out, nil
}

// parseBind reads one -v: SRC:DST[:OPTS] or DST alone (an anonymous
// volume). SRC is a host path when absolute, else a volume's name.
func parseBind(s string) (MountPoint, error) {
	parts := strings.Split(s, ":")
	m := MountPoint{RW: true, Propagation: "rprivate"}
	switch len(parts) {
	case 1:
		m.Destination = parts[0]
	case 2, 3:
		m.Source, m.Destination = parts[0], parts[1]
		if len(parts) == 3 {
			m.Mode = parts[2]
			for _, o := range strings.Split(parts[2], ",") {
				switch o {
				case "ro":
					m.RW = false
				case "rw", "z", "Z", "rprivate", "private":
				default:
					return m, fmt.Errorf("%w: -v %s: unknown option %q (want ro or rw)", ErrInvalid, s, o)
				}
			}
		}
	default:
		return m, fmt.Errorf("%w: -v %s: want SOURCE:DESTINATION[:ro]", ErrInvalid, s)
	}
	if !filepath.IsAbs(m.Destination) {
		return m, fmt.Errorf("%w: -v %s: the destination %q must be an absolute path", ErrInvalid, s, m.Destination)
	}
	m.Destination = filepath.Clean(m.Destination)
	if m.Destination == "/" {
		return m, fmt.Errorf("%w: -v %s: cannot mount over the container's root", ErrInvalid, s)
	}
	switch {
	case m.Source == "":
		m.Type, m.Name, m.Driver, m.Propagation = "volume", randomHex(32), "local", ""
	case filepath.IsAbs(m.Source):
		m.Type, m.Source = "bind", filepath.Clean(m.Source)
	default:
		if !validName().MatchString(m.Source) {
			return m, fmt.Errorf("%w: -v %s: %q is neither an absolute host path nor a volume name", ErrInvalid, s, m.Source)
		}
		m.Type, m.Name, m.Driver, m.Propagation, m.Source = "volume", m.Source, "local", "", ""
	}
	return m, nil
}

// shortDuration renders d as Docker's ps does: "5 seconds", "About a
// minute", "2 hours".
func shortDuration(d time.Duration) string {
	switch s := int(d.Seconds()); {
	case s < 1:
		return "Less than a second"
	case s == 1:
		return "1 second"
	case s < 60:
		return strconv.Itoa(s) + " seconds"
	case d.Minutes() < 2:
		return "About a minute"
	case d.Minutes() < 60:
		return strconv.Itoa(int(d.Minutes())) + " minutes"
	case d.Hours() < 2:
		return "About an hour"
	case d.Hours() < 48:
		return strconv.Itoa(int(d.Hours())) + " hours"
	case d.Hours() < 24*7*2:
		return strconv.Itoa(int(d.Hours()/24)) + " days"
	case d.Hours() < 24*30*2:
		return strconv.Itoa(int(d.Hours()/24/7)) + " weeks"
	case d.Hours() < 24*365*2:
		return strconv.Itoa(int(d.Hours()/24/30)) + " months"
	}
	return strconv.Itoa(int(d.Hours()/24/365)) + " years"
}
