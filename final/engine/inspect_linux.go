package engine

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	cgroup "berth/03-cgroups"
	network "berth/05-network"
)

// Inspect returns everything berth knows about a container.
func (e *Engine) Inspect(ctx context.Context, ref string) (ContainerJSON, error) {
	c, err := e.find(ref)
	if err != nil {
		return ContainerJSON{}, err
	}
	st, err := e.status(c)
	if err != nil {
		return ContainerJSON{}, err
	}
	cfg, hc := c.Config, c.HostConfig
	j := ContainerJSON{
		ID:             c.ID,
		Created:        c.Created,
		Path:           c.Path,
		Args:           append([]string{}, c.Args...),
		State:          &st.State,
		Image:          c.ImageID,
		ResolvConfPath: filepath.Join(e.dir(c.ID), "resolv.conf"),
		HostnamePath:   filepath.Join(e.dir(c.ID), "hostname"),
		HostsPath:      filepath.Join(e.dir(c.ID), "hosts"),
		LogPath:        e.logPath(c.ID),
		Name:           "/" + c.Name,
		Driver:         c.Snapshotter,
		Platform:       "linux",
		HostConfig:     &hc,
		Mounts:         append([]MountPoint{}, c.Mounts...),
		Config:         &cfg,
	}
	j.Config.Image = c.Image
	j.GraphDriver.Name = c.Snapshotter
	j.GraphDriver.Data = map[string]string{
		"UpperDir":  filepath.Join(e.layerCdir(c.ID), "upper"),
		"WorkDir":   filepath.Join(e.layerCdir(c.ID), "work"),
		"MergedDir": e.rootfs(c.ID),
	}
	var lowers []string
	for i := len(c.Layers) - 1; i >= 0; i-- {
		lowers = append(lowers, filepath.Join(e.images.Root(), "layers", c.Layers[i]))
	}
	j.GraphDriver.Data["LowerDir"] = strings.Join(lowers, ":")
	j.NetworkSettings = st.Network
	if j.NetworkSettings == nil {
		j.NetworkSettings = &NetworkSettings{Networks: map[string]*EndpointSettings{}}
		if mode, err := network.ParseMode(hc.NetworkMode); err == nil {
			name := mode.Kind
			if mode.Kind == "bridge" {
				name = mode.Network
			}
			j.NetworkSettings.Networks[name] = &EndpointSettings{}
		}
	}
	if st.Running {
		j.NetworkSettings.SandboxKey = fmt.Sprintf("/proc/%d/ns/net", st.Pid)
	}
	return j, nil
}

// List returns the running containers (all of them with opts.All), the
// newest first, as docker ps shows them.
func (e *Engine) List(ctx context.Context, opts ListOptions) ([]Summary, error) {
	all, err := e.all()
	if err != nil {
		return nil, err
	}
	out := []Summary{}
	for i := len(all) - 1; i >= 0; i-- {
		c := all[i]
		st, err := e.status(c)
		if err != nil {
			return nil, err
		}
		if !opts.All && !st.Running {
			continue
		}
		s := Summary{
			ID:      c.ID,
			Names:   []string{"/" + c.Name},
			Image:   c.Image,
			ImageID: c.ImageID,
			Command: quoteCommand(append([]string{c.Path}, c.Args...)),
			Created: c.Created.Unix(),
			Labels:  c.Config.Labels,
			State:   st.Status,
			Status:  statusLine(st.State, time.Now()),
			Ports:   []Port{},
		}
		s.HostConfig.NetworkMode = c.HostConfig.NetworkMode
		if st.Network != nil {
			s.NetworkSettings.Networks = st.Network.Networks
			for key, binds := range st.Network.Ports {
				p, proto, _ := strings.Cut(key, "/")
				priv, _ := strconv.Atoi(p)
				for _, b := range binds {
					pub, _ := strconv.Atoi(b.HostPort)
					s.Ports = append(s.Ports, Port{IP: b.HostIP, PrivatePort: uint16(priv), PublicPort: uint16(pub), Type: proto})
				}
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// statusLine is ps's STATUS column: "Up 5 seconds", "Exited (0) 3 minutes
// ago", "Created".
func statusLine(s State, now time.Time) string {
	switch s.Status {
	case "running":
		return "Up " + shortDuration(now.Sub(s.StartedAt))
	case "exited":
		if s.FinishedAt.IsZero() {
			return fmt.Sprintf("Exited (%d)", s.ExitCode)
		}
		return fmt.Sprintf("Exited (%d) %s ago", s.ExitCode, shortDuration(now.Sub(s.FinishedAt)))
	case "created":
		return "Created"
	}
	return s.Status
}

// quoteCommand renders a command as ps's COMMAND column: the words joined
// by spaces, unquoted, as Docker shows it.
func quoteCommand(argv []string) string { return strings.Join(argv, " ") }

// Top lists the container's processes with ps, as docker top does: the
// host's ps (with psArgs, default -ef), filtered to the container's PIDs.
func (e *Engine) Top(ctx context.Context, ref, psArgs string) (TopResponse, error) {
	c, err := e.find(ref)
	if err != nil {
		return TopResponse{}, err
	}
	st, err := e.status(c)
	if err != nil {
		return TopResponse{}, err
	}
	if !st.Running {
		return TopResponse{}, fmt.Errorf("%w: container %s is not running", ErrConflict, c.Name)
	}
	pids, err := e.pids(c, st)
	if err != nil {
		return TopResponse{}, err
	}
	if psArgs == "" {
		psArgs = "-ef"
	}
	out, err := exec.CommandContext(ctx, "ps", strings.Fields(psArgs)...).Output()
	if err != nil {
		return TopResponse{}, fmt.Errorf("engine: running ps %s: %w (install procps)", psArgs, err)
	}
	return parsePS(string(out), pids)
}

// parsePS keeps the lines of ps's output whose PID column holds one of
// pids.
func parsePS(out string, pids map[int]bool) (TopResponse, error) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	var t TopResponse
	if len(lines) == 0 {
		return t, fmt.Errorf("engine: ps printed nothing")
	}
	t.Titles = strings.Fields(lines[0])
	col := -1
	for i, title := range t.Titles {
		if title == "PID" {
			col = i
		}
	}
	if col < 0 {
		return t, fmt.Errorf("engine: ps's output has no PID column: keep pid in the ps options")
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) <= col {
			continue
		}
		pid, err := strconv.Atoi(f[col])
		if err != nil || !pids[pid] {
			continue
		}
		// The last column (the command) may hold spaces: keep it whole.
		if len(f) > len(t.Titles) {
			f = append(f[:len(t.Titles)-1], strings.Join(f[len(t.Titles)-1:], " "))
		}
		t.Processes = append(t.Processes, f)
	}
	return t, nil
}

// pids are the host PIDs of the container's processes: its cgroup's.
func (e *Engine) pids(c *container, st status) (map[int]bool, error) {
	pids := map[int]bool{}
	for _, dir := range st.CgroupDir {
		f, err := os.Open(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if pid, err := strconv.Atoi(sc.Text()); err == nil {
				pids[pid] = true
			}
		}
		f.Close()
	}
	if len(pids) == 0 {
		pids[st.Pid] = true
	}
	return pids, nil
}

// Stats samples what the container uses now: cgroup counters (chapter
// 03) and its network interface's.
func (e *Engine) Stats(ctx context.Context, ref string) (Stats, error) {
	c, err := e.find(ref)
	if err != nil {
		return Stats{}, err
	}
	st, err := e.status(c)
	if err != nil {
		return Stats{}, err
	}
	s := Stats{ID: c.ID, Name: c.Name, Read: time.Now().UTC()}
	if !st.Running {
		return s, nil
	}
	layout, err := hostLayout()
	if err != nil {
		return s, fmt.Errorf("engine: %w", err)
	}
	cg, err := layout.Manager(c.ID)
	if err != nil {
		return s, fmt.Errorf("engine: %w", err)
	}
	cs, err := cg.Stats()
	if err != nil {
		return s, fmt.Errorf("engine: reading %s's cgroup: %w", c.Name, err)
	}
	s.CPUNanos = uint64(cs.CPUUsage.Nanoseconds())
	s.MemoryUsage = cs.MemoryUsage
	s.Pids = cs.Pids
	s.SystemNanos = systemCPUNanos()
	s.OnlineCPUs = onlineCPUs()
	s.MemoryLimit = uint64(c.HostConfig.Memory)
	if s.MemoryLimit == 0 {
		s.MemoryLimit = memTotal()
	}
	s.NetRx, s.NetTx = netCounters(st.Pid)
	return s, nil
}

// systemCPUNanos is the host's CPU time so far, from /proc/stat's cpu line.
func systemCPUNanos() uint64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var total uint64
	for _, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseUint(f, 10, 64)
		total += v
	}
	return total * uint64(time.Second) / 100 // USER_HZ is 100 on Linux
}

func onlineCPUs() int {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return 1
	}
	ids, err := cgroup.ParseList(strings.TrimSpace(string(b)))
	if err != nil || len(ids) == 0 {
		return 1
	}
	return len(ids)
}

func memTotal() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// netCounters reads the container's interfaces' bytes from /proc/PID/net/dev,
// which shows the network namespace of PID.
func netCounters(pid int) (rx, tx uint64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", pid))
	if err != nil {
		return 0, 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(l, ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 9 {
			continue
		}
		r, _ := strconv.ParseUint(f[0], 10, 64)
		t, _ := strconv.ParseUint(f[8], 10, 64)
		rx, tx = rx+r, tx+t
	}
	return rx, tx
}
