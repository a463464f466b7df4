package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/creack/pty"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	cgroup "berth/03-cgroups"
	unionfs "berth/04-unionfs"
	network "berth/05-network"
	"berth/final/runtime"
)

// running is what a start set up for a container, in the order it is
// done: a cgroup (chapter 03), the root filesystem mounted (chapter 04),
// the files it sees as /etc/hostname, /etc/hosts and /etc/resolv.conf,
// and, once its init exists, its network (chapter 05).
type running struct {
	cg     cgroup.Manager
	v2     bool
	mode   network.Mode
	netErr error
}

// setup prepares everything the container's init needs and returns the
// runtime spec and how to start it. What it made is undone by teardown,
// whether setup fails half-way or the container ends.
//
// Where the runtime can start the container directly, from a thread of
// this process, setup prepares everything first. Elsewhere (an older
// kernel; a terminal or the tiny init, which need the re-executed init)
// the init is spawned early, as soon as its standard streams exist (and,
// on cgroup v2, the cgroup it is cloned into): the re-executed berth takes
// longer to reach its main than everything else here takes, so the root
// filesystem, the cgroups and the spec are made while it starts.
func (s *shim) setup() (*specs.Spec, *starter, error) {
	c := s.c
	s.rt = &running{}
	r, err := resources(c.HostConfig)
	if err != nil {
		return nil, nil, err
	}
	if s.rt.mode, err = network.ParseMode(c.HostConfig.NetworkMode); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	stdio, err := s.openStdio()
	if err != nil {
		return nil, nil, err
	}
	var layout cgroup.Layout
	s.rt.cg, layout, err = containerCgroup(c)
	if err != nil {
		closeStdio(stdio)
		return nil, nil, fmt.Errorf("engine: cgroups: %w", err)
	}
	s.rt.v2 = layout.Mode == "v2"
	makeCgroup := func() error {
		if err := s.rt.cg.Create(); err != nil {
			return fmt.Errorf("engine: creating the container's cgroup: %w", err)
		}
		s.st.CgroupDir = s.rt.cg.Paths()
		if err := s.rt.cg.Apply(r); err != nil {
			return fmt.Errorf("engine: applying limits: %w", err)
		}
		return nil
	}
	// On v2 the init is cloned straight into its cgroup, which must exist
	// first (one mkdir); on v1 it joins its six in prestart.
	if s.rt.v2 {
		if err := makeCgroup(); err != nil {
			closeStdio(stdio)
			return nil, nil, err
		}
	}
	// The root filesystem too: a mount made after the init is cloned
	// would not reach its mount namespace, unless the host's mounts are
	// shared (systemd's are; not every host's).
	if err := s.mountRootfs(); err != nil {
		closeStdio(stdio)
		return nil, nil, err
	}
	st := &starter{opts: runtime.StartOptions{Stdio: stdio, CgroupDir: s.rt.cgroupV2Dir(), Prestart: s.prestart}}
	direct := runtime.DirectSupported() && !c.Config.Tty && (c.HostConfig.Init == nil || !*c.HostConfig.Init)
	if !direct {
		st.pending, err = runtime.Spawn(namespaces(s.rt.mode), st.opts)
		// The monitor's copies of the container's ends are no longer
		// needed: the init holds its own, and their closing is how EOF
		// arrives.
		closeStdio(stdio)
		if err != nil {
			return nil, nil, err
		}
	}
	spec, err := s.prepare(makeCgroup)
	if err != nil {
		st.abort()
		return nil, nil, err
	}
	return spec, st, nil
}

// starter starts a prepared container: gives the spec to the init spawned
// early, or has the runtime start it (directly, where it can).
type starter struct {
	pending *runtime.Pending
	opts    runtime.StartOptions
}

func (st *starter) start(spec *specs.Spec) (*runtime.Process, error) {
	if st.pending != nil {
		return st.pending.Start(spec)
	}
	p, err := runtime.Start(spec, st.opts)
	closeStdio(st.opts.Stdio) // see setup
	return p, err
}

// abort gives up a start: the spawned init is killed.
func (st *starter) abort() {
	if st.pending != nil {
		st.pending.Abort()
		return
	}
	closeStdio(st.opts.Stdio)
}

// containerCgroup is the manager of c's cgroup, and the host's layout.
// On cgroup v1 it leaves out the cpuset hierarchy unless c asked for CPUs:
// a new v1 cpuset group starts with no CPUs and no memory nodes, and must
// copy its parent's before a process may join, which made it the slowest
// of the six to make, for a container that asked for nothing (the host's
// cpuset is then its). teardown removes whatever groups exist.
func containerCgroup(c *container) (cgroup.Manager, cgroup.Layout, error) {
	layout, err := hostLayout()
	if err != nil {
		return nil, layout, err
	}
	if _, ok := layout.V1["cpuset"]; ok && c.HostConfig.CpusetCpus == "" {
		layout.V1 = maps.Clone(layout.V1) // hostLayout's own stays whole
		delete(layout.V1, "cpuset")
	}
	m, err := layout.Manager(c.ID)
	return m, layout, err
}

// prepare does the rest of setup (while the init starts, when one was
// spawned): the cgroups on v1, the /etc files and the spec.
func (s *shim) prepare(makeCgroup func() error) (*specs.Spec, error) {
	e, c := s.e, s.c
	if !s.rt.v2 {
		if err := makeCgroup(); err != nil {
			return nil, err
		}
	}
	target := e.rootfs(c.ID)
	if err := e.writeEtcFiles(c, s.rt.mode); err != nil {
		return nil, err
	}
	return e.spec(c, target, s.rt.mode)
}

// bundleAfter is how long a container runs before its bundle is written.
const bundleAfter = 10 * time.Millisecond

// writeBundle writes the spec the runtime was given as the bundle's
// config.json, in the container's runtime directory, for people to read
// (and for runc to run: it is a valid OCI bundle). The container does not
// depend on it, so it is written beside the running container, not
// before, and a failure is only noted in the monitor's state.json.
// Encoding the spec's tree of types costs 2 ms of CPU in a new process,
// which a container that ends within bundleAfter (`true`, `echo`) would
// pay for a file gone with it, unread: it gets none (exited closes first).
func (s *shim) writeBundle(spec *specs.Spec, exited <-chan struct{}) {
	defer close(s.bundleDone)
	select {
	case <-exited:
		return
	case <-time.After(bundleAfter):
	}
	s.bundleErr = writeFile(filepath.Join(s.e.bundle(s.c.ID), "config.json"), spec, false)
}

// mountRootfs mounts the container's root filesystem: the image's layers
// under the container's own (chapter 04).
func (s *shim) mountRootfs() error {
	e, c := s.e, s.c
	layers := make([]string, len(c.Layers))
	for i, l := range c.Layers {
		layers[i] = filepath.Join(e.images.Root(), "layers", l)
	}
	target := e.rootfs(c.ID)
	if err := os.MkdirAll(target, 0o755); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	mounts, err := e.images.Snapshotter().Mounts(layers, e.layerCdir(c.ID), target)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	if c.HostConfig.AutoRemove {
		// Its writable layer goes when it exits: nothing in it needs to
		// reach the disk, and the unmount need not wait until it has.
		if err := clearVolatileMarker(e.layerCdir(c.ID)); err != nil {
			return err
		}
		err = unionfs.MountAll(unionfs.Volatile(mounts))
		if errors.Is(err, unix.EINVAL) {
			err = unionfs.MountAll(mounts) // before Linux 5.10: no volatile
		}
	} else {
		err = unionfs.MountAll(mounts)
	}
	if err != nil {
		return fmt.Errorf("engine: mounting the root filesystem: %w", err)
	}
	s.st.Rootfs = target
	return nil
}

// clearVolatileMarker removes the mark of an earlier volatile mount of
// the container directory cdir's layer, so that it mounts again. A --rm
// container is mounted twice only when its monitor died before removing
// it, and someone starts it again. If the host has not restarted since the
// mark was made, no crash can have torn the layer, and the mark can go.
// If it has, nothing says what the layer lost: the container must go.
func clearVolatileMarker(cdir string) error {
	marker := unionfs.VolatileMarker(cdir)
	fi, err := os.Stat(marker)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return fmt.Errorf("engine: sysinfo: %w", err)
	}
	booted := time.Now().Add(-time.Duration(si.Uptime+1) * time.Second)
	if fi.ModTime().Before(booted) {
		return fmt.Errorf("%w: the container's writable layer was mounted volatile (--rm) before the host restarted, so a crash may have torn it: remove the container (berth rm)", ErrConflict)
	}
	if err := os.RemoveAll(marker); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	return nil
}

func closeStdio(stdio runtime.Stdio) {
	for _, f := range []*os.File{stdio.Stdin, stdio.Stdout, stdio.Stderr} {
		if f != nil {
			f.Close()
		}
	}
}

// openStdio makes the container's standard streams: a pseudo-terminal
// with -t, pipes otherwise, and starts copying its output to the log.
func (s *shim) openStdio() (runtime.Stdio, error) {
	c := s.c
	var stdio runtime.Stdio
	logf, err := os.OpenFile(s.e.logPath(c.ID), os.O_WRONLY|os.O_CREATE|os.O_APPEND|unix.O_CLOEXEC, 0o640)
	if err != nil {
		return stdio, fmt.Errorf("engine: opening the log: %w", err)
	}
	var mu sync.Mutex
	if c.Config.Tty {
		master, slave, err := pty.Open()
		if err != nil {
			logf.Close()
			return stdio, fmt.Errorf("engine: opening a pseudo-terminal: %w", err)
		}
		if h, w := c.HostConfig.ConsoleSize[0], c.HostConfig.ConsoleSize[1]; h > 0 && w > 0 {
			pty.Setsize(master, &pty.Winsize{Rows: uint16(h), Cols: uint16(w)})
		}
		s.ptyMaster = master
		if c.Config.OpenStdin {
			s.stdin = master
		}
		stdio = runtime.Stdio{Stdin: slave, Stdout: slave, Stderr: slave}
		s.outputDone.Add(1)
		go s.copyOutput(master, streamStdout, &logWriter{mu: &mu, f: logf, stream: "stdout"})
		return stdio, nil
	}
	if c.Config.OpenStdin {
		r, w, err := os.Pipe()
		if err != nil {
			return stdio, fmt.Errorf("engine: %w", err)
		}
		stdio.Stdin, s.stdin = r, w
	}
	for _, o := range []struct {
		stream byte
		name   string
		dst    **os.File
	}{{streamStdout, "stdout", &stdio.Stdout}, {streamStderr, "stderr", &stdio.Stderr}} {
		r, w, err := os.Pipe()
		if err != nil {
			return stdio, fmt.Errorf("engine: %w", err)
		}
		*o.dst = w
		s.outputDone.Add(1)
		go s.copyOutput(r, o.stream, &logWriter{mu: &mu, f: logf, stream: o.name})
	}
	return stdio, nil
}

// prestart runs while the init waits in its new namespaces: it joins the
// v1 cgroups and, on a bridge, gets its network.
func (s *shim) prestart(pid int) error {
	if !s.rt.v2 {
		if err := s.rt.cg.Add(pid); err != nil {
			return fmt.Errorf("engine: adding the init to its cgroup: %w", err)
		}
	}
	// host: the host's network; none: lo alone, which the runtime
	// brings up in every new network namespace.
	if s.rt.mode.Kind != "bridge" {
		return nil
	}
	ns := fmt.Sprintf("/proc/%d/ns/net", pid)
	m, err := s.e.network()
	if err != nil {
		return err
	}
	c := s.c
	if err := s.e.ensureBridge(m, s.rt.mode.Network); err != nil {
		return err
	}
	ports, err := portMappings(c.HostConfig.PortBindings)
	if err != nil {
		return err
	}
	ep, err := m.Attach(s.rt.mode.Network, network.EndpointConfig{
		ID:             c.ID,
		Name:           c.Name,
		Aliases:        []string{c.ID[:12], c.Config.Hostname},
		NetNS:          ns,
		Ports:          ports,
		HostsPath:      filepath.Join(s.e.dir(c.ID), "hosts"),
		ResolvConfPath: filepath.Join(s.e.dir(c.ID), "resolv.conf"),
	})
	if err != nil {
		return fmt.Errorf("engine: connecting to network %s: %w", s.rt.mode.Network, err)
	}
	s.st.Network = networkSettings(ep)
	return nil
}

// ensureBridge makes sure network name's bridge exists. After a reboot
// (or in a fresh network namespace) berth's records survive but the kernel
// has forgotten the bridge and its rules: the network is then made again
// as it was, same name, subnet and bridge, after dropping the endpoints of
// containers that no longer run.
func (e *Engine) ensureBridge(m *network.Manager, name string) error {
	n, err := m.Get(name)
	if err != nil {
		if name == network.DefaultNetwork {
			_, err = m.Default()
		}
		return err
	}
	if _, err := net.InterfaceByName(n.Bridge); err == nil {
		return nil
	}
	unlock, err := lockFile(filepath.Join(e.networkDir(), ".restore.lock"), lockEX)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := net.InterfaceByName(n.Bridge); err == nil {
		return nil // another berth restored it meanwhile
	}
	if err := m.Prune(e.running); err != nil {
		return fmt.Errorf("engine: restoring network %s: %w", name, err)
	}
	if err := m.Remove(name); err != nil {
		return fmt.Errorf("engine: restoring network %s: %w", name, err)
	}
	if _, err := m.Create(network.Config{Name: n.Name, Subnet: n.Subnet, Bridge: n.Bridge}); err != nil {
		return fmt.Errorf("engine: restoring network %s: %w", name, err)
	}
	return nil
}

// running says whether the container with that ID runs.
func (e *Engine) running(id string) bool {
	st, err := e.loadStatus(id)
	return err == nil && st.Running && st.Monitor.alive()
}

// cgroupV2Dir is the v2 directory the init is cloned into, "" on v1.
func (r *running) cgroupV2Dir() string {
	if r == nil || !r.v2 {
		return ""
	}
	return r.cg.Paths()[0]
}

// oomKilled says whether the kernel's OOM killer struck in the group.
func (r *running) oomKilled() bool {
	if r == nil || r.cg == nil {
		return false
	}
	st, err := r.cg.Stats()
	return err == nil && st.OOMKills > 0
}

// teardown is Engine.teardown of a start that failed.
func (s *shim) teardown() { s.e.teardown(s.c, false) }

// teardown undoes a start, in reverse order: network, root filesystem,
// cgroup. It is also how another berth process cleans up after a monitor
// that died, so every step is harmless when there is nothing to undo.
// exited says the container's init has been waited for: every process of
// its PID namespace is gone, its network namespace is being dismantled,
// and the kernel deletes its veth pair with it (network.Manager.Release).
func (e *Engine) teardown(c *container, exited bool) error {
	var errs []string
	if mode, err := network.ParseMode(c.HostConfig.NetworkMode); err == nil && mode.Kind == "bridge" {
		if m, err := e.network(); err == nil {
			detach := m.Detach
			if exited {
				detach = m.Release
			}
			// A network that does not exist (never made: the container
			// was only created; or removed since) holds no endpoint.
			if err := detach(mode.Network, c.ID); err != nil && !errors.Is(err, network.ErrNoSuchNetwork) {
				errs = append(errs, err.Error())
			}
		}
	}
	// A container never started has no rootfs directory to unmount.
	if err := unionfs.Unmount(e.rootfs(c.ID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err.Error())
	}
	if layout, err := hostLayout(); err == nil {
		if cg, err := layout.Manager(c.ID); err == nil {
			if err := cg.Destroy(); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("engine: cleaning up after %s: %s", c.Name, strings.Join(errs, "; "))
	}
	return nil
}

// isCgroup2 says whether dir is on a cgroup2 filesystem.
func isCgroup2(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "cgroup.controllers"))
	return err == nil
}

// networkSettings is an endpoint as inspect shows it.
func networkSettings(ep network.Endpoint) *NetworkSettings {
	ns := &NetworkSettings{
		IPAddress: ep.IP.String(),
		Gateway:   ep.Gateway.String(),
		Ports:     map[string][]PortBinding{},
		Networks: map[string]*EndpointSettings{ep.Network: {
			NetworkID:   ep.Network,
			EndpointID:  ep.ID,
			Gateway:     ep.Gateway.String(),
			IPAddress:   ep.IP.String(),
			IPPrefixLen: ep.Subnet.Bits(),
		}},
	}
	for _, p := range ep.Ports {
		key := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
		ip := "0.0.0.0"
		if p.HostIP.IsValid() {
			ip = p.HostIP.String()
		}
		ns.Ports[key] = append(ns.Ports[key], PortBinding{HostIP: ip, HostPort: fmt.Sprint(p.HostPort)})
	}
	return ns
}
