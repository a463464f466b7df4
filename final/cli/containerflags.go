//go:build linux

package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/pflag"

	cgroup "berth/03-cgroups"
	"berth/final/engine"
)

// containerOptions are the flags run and create share, as typed. Sizes and
// CPUs are parsed as they are read (a bad -m is a flag error, like a bad
// number); the rest by parseContainerFlags, which needs them all at once.
type containerOptions struct {
	name        string
	interactive bool
	tty         bool
	autoRemove  bool
	env         []string
	envFiles    []string
	workdir     string
	user        string
	hostname    string
	volumes     []string
	publish     []string
	network     string
	memory      int64
	memorySwap  int64
	nanoCPUs    int64
	cpuShares   int64
	cpusetCPUs  string
	pidsLimit   int64
	init        bool
	entrypoint  string
	readOnly    bool
	labels      []string
	stopSignal  string
	stopTimeout int
}

// addContainerFlags defines the shared flags on fs. Lists are StringArray,
// not StringSlice: a value may hold commas (-e PATH=a,b).
func addContainerFlags(fs *pflag.FlagSet) *containerOptions {
	o := &containerOptions{}
	fs.StringVar(&o.name, "name", "", "Assign a name to the container")
	fs.BoolVarP(&o.interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	fs.BoolVarP(&o.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	fs.BoolVar(&o.autoRemove, "rm", false, "Automatically remove the container and its anonymous volumes when it exits")
	fs.StringArrayVarP(&o.env, "env", "e", nil, "Set environment variables (KEY=VALUE, or KEY to pass berth's own)")
	fs.StringArrayVar(&o.envFiles, "env-file", nil, "Read in a file of environment variables")
	fs.StringVarP(&o.workdir, "workdir", "w", "", "Working directory inside the container")
	fs.StringVarP(&o.user, "user", "u", "", `Username or UID (format: "<name|uid>[:<group|gid>]")`)
	fs.StringVarP(&o.hostname, "hostname", "h", "", "Container host name")
	fs.StringArrayVarP(&o.volumes, "volume", "v", nil, "Bind mount a volume (SRC:DST[:ro|rw], NAME:DST[:ro|rw], or DST for an anonymous volume)")
	fs.StringArrayVarP(&o.publish, "publish", "p", nil, "Publish a container's port(s) to the host ([ip:][hostPort:]containerPort[/proto])")
	fs.StringVar(&o.network, "network", "", `Connect a container to a network ("bridge", "host", "none" or a network's name)`)
	fs.VarP(&sizeValue{&o.memory, false}, "memory", "m", "Memory limit")
	fs.Var(&sizeValue{&o.memorySwap, true}, "memory-swap", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
	fs.Var(&cpusValue{&o.nanoCPUs}, "cpus", "Number of CPUs")
	fs.Int64VarP(&o.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	fs.StringVar(&o.cpusetCPUs, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	fs.Int64Var(&o.pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	fs.BoolVar(&o.init, "init", false, "Run an init inside the container that forwards signals and reaps processes")
	fs.StringVar(&o.entrypoint, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
	fs.BoolVar(&o.readOnly, "read-only", false, "Mount the container's root filesystem as read only")
	fs.StringArrayVarP(&o.labels, "label", "l", nil, "Set meta data on a container")
	fs.StringVar(&o.stopSignal, "stop-signal", "", "Signal to stop the container")
	fs.IntVar(&o.stopTimeout, "stop-timeout", 0, "Timeout (in seconds) to stop a container")
	return o
}

// parseContainerFlags turns run's or create's parsed flags and their
// arguments, IMAGE [COMMAND [ARG...]], into the request the engine takes.
// lookupEnv resolves -e KEY and the bare KEYs of --env-file. It is pure
// but for reading the --env-file files.
func parseContainerFlags(fs *pflag.FlagSet, o *containerOptions, args []string, lookupEnv func(string) (string, bool)) (engine.CreateRequest, error) {
	if len(args) == 0 {
		return engine.CreateRequest{}, errors.New("no image given")
	}
	env, err := readEnv(o.envFiles, o.env, lookupEnv)
	if err != nil {
		return engine.CreateRequest{}, err
	}
	binds, anonymous, err := parseVolumes(o.volumes)
	if err != nil {
		return engine.CreateRequest{}, err
	}
	exposed, bindings, err := parsePublish(o.publish)
	if err != nil {
		return engine.CreateRequest{}, err
	}
	if o.workdir != "" && !path.IsAbs(o.workdir) {
		return engine.CreateRequest{}, fmt.Errorf("the working directory %q is invalid: it must be an absolute path", o.workdir)
	}
	if o.cpuShares < 0 {
		return engine.CreateRequest{}, fmt.Errorf("invalid --cpu-shares %d: must be positive", o.cpuShares)
	}
	// The limits' own rules (memory-swap needs memory, shares in range,
	// a cpuset's syntax) are chapter 03's: check them before anything is made.
	res := cgroup.Resources{
		Memory: o.memory, MemorySwap: o.memorySwap, CPUs: float64(o.nanoCPUs) / 1e9,
		CPUShares: uint64(o.cpuShares), CpusetCPUs: o.cpusetCPUs, PidsLimit: o.pidsLimit,
	}
	if err := res.Validate(cgroup.Host{}); err != nil {
		return engine.CreateRequest{}, err
	}

	req := engine.CreateRequest{Name: o.name}
	c := &req.Config
	c.Image = args[0]
	if len(args) > 1 {
		c.Cmd = args[1:]
	}
	c.Hostname = o.hostname
	c.User = o.user
	c.Tty = o.tty
	c.OpenStdin = o.interactive
	c.AttachStdin = o.interactive
	c.StdinOnce = o.interactive
	c.AttachStdout, c.AttachStderr = true, true
	c.Env = env
	c.WorkingDir = o.workdir
	c.Volumes = anonymous
	c.ExposedPorts = exposed
	c.StopSignal = o.stopSignal
	if fs.Changed("entrypoint") {
		// --entrypoint "" clears the image's: docker sends [""].
		c.Entrypoint = []string{o.entrypoint}
	}
	if fs.Changed("stop-timeout") {
		t := o.stopTimeout
		c.StopTimeout = &t
	}
	if len(o.labels) > 0 {
		c.Labels = map[string]string{}
		for _, l := range o.labels {
			k, v, _ := strings.Cut(l, "=")
			if k == "" {
				return engine.CreateRequest{}, fmt.Errorf("invalid label %q: no key", l)
			}
			c.Labels[k] = v
		}
	}

	h := &req.HostConfig
	h.Binds = binds
	h.NetworkMode = o.network
	h.PortBindings = bindings
	h.AutoRemove = o.autoRemove
	h.ReadonlyRootfs = o.readOnly
	h.Memory = o.memory
	h.MemorySwap = o.memorySwap
	h.NanoCpus = o.nanoCPUs
	h.CpuShares = o.cpuShares
	h.CpusetCpus = o.cpusetCPUs
	if fs.Changed("init") {
		v := o.init
		h.Init = &v
	}
	if fs.Changed("pids-limit") {
		v := o.pidsLimit
		h.PidsLimit = &v
	}
	return req, nil
}

// sizeValue is -m and --memory-swap: a size with Docker's units, parsed by
// chapter 03. "0" leaves the limit unset; --memory-swap also takes -1.
type sizeValue struct {
	bytes     *int64
	allowSwap bool // -1: unlimited swap
}

func (v *sizeValue) Set(s string) error {
	switch {
	case s == "0":
		*v.bytes = 0
		return nil
	case s == "-1" && v.allowSwap:
		*v.bytes = -1
		return nil
	}
	n, err := cgroup.ParseMemory(s)
	if err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "cgroup: "))
	}
	*v.bytes = n
	return nil
}

func (v *sizeValue) String() string {
	if v.bytes == nil || *v.bytes == 0 {
		return "0"
	}
	return strconv.FormatInt(*v.bytes, 10)
}

func (v *sizeValue) Type() string { return "bytes" }

// cpusValue is --cpus: a decimal number of CPUs, kept as nanoCPUs as the
// API has it (1.5 → 1500000000).
type cpusValue struct{ nano *int64 }

func (v *cpusValue) Set(s string) error {
	if s == "0" {
		*v.nano = 0
		return nil
	}
	n, err := cgroup.ParseCPUs(s)
	if err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "cgroup: "))
	}
	nano := math.Round(n * 1e9)
	if nano > math.MaxInt64/2 {
		return fmt.Errorf("invalid --cpus %q: too large", s)
	}
	*v.nano = int64(nano)
	return nil
}

func (v *cpusValue) String() string {
	if v.nano == nil || *v.nano == 0 {
		return "0"
	}
	return strconv.FormatFloat(float64(*v.nano)/1e9, 'f', 3, 64)
}

func (v *cpusValue) Type() string { return "decimal" }

// readEnv is the container's environment from --env-file files, in order,
// then -e flags, which override them by coming later. A bare KEY takes its
// value from berth's own environment, and is dropped if berth has none.
func readEnv(files, flags []string, lookupEnv func(string) (string, bool)) ([]string, error) {
	var env []string
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		vars, err := parseEnvFile(f, lookupEnv)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("invalid env file (%s): %w", name, err)
		}
		env = append(env, vars...)
	}
	for _, e := range flags {
		k, _, hasValue := strings.Cut(e, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid environment variable: %s", e)
		}
		if hasValue {
			env = append(env, e)
		} else if v, ok := lookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env, nil
}

// parseEnvFile reads Docker's env-file format: one KEY=VALUE a line, taken
// as written (no quotes, no expansion; a value keeps its spaces), leading
// spaces ignored, '#' lines and blank lines skipped, a bare KEY taken from
// lookupEnv or dropped.
func parseEnvFile(r io.Reader, lookupEnv func(string) (string, bool)) ([]string, error) {
	var env []string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if n == 1 {
			text = strings.TrimPrefix(text, "\uFEFF") // a byte-order mark
		}
		if !utf8.ValidString(text) {
			return nil, fmt.Errorf("line %d is not valid UTF-8", n)
		}
		line := strings.TrimLeftFunc(text, unicode.IsSpace)
		if line == "" || line[0] == '#' {
			continue
		}
		k, _, hasValue := strings.Cut(line, "=")
		switch {
		case k == "":
			return nil, fmt.Errorf("line %d: no variable name in %q", n, line)
		case strings.ContainsAny(k, " \t"):
			return nil, fmt.Errorf("line %d: variable %q contains whitespace", n, k)
		case hasValue:
			env = append(env, line)
		default:
			if v, ok := lookupEnv(k); ok {
				env = append(env, k+"="+v)
			}
		}
	}
	return env, sc.Err()
}

// volumeName is what a named volume may be called (docker's local driver).
var volumeName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`) })

// parseVolumes reads -v flags: SRC:DST[:MODE] where SRC is a host path
// (absolute, or relative starting with '.', made absolute here) for a bind
// mount or a name for a named volume, both into Binds; or DST alone for an
// anonymous volume, into Config.Volumes. Whether a bind's source exists is
// the engine's to check.
func parseVolumes(specs []string) (binds []string, anonymous map[string]struct{}, err error) {
	seen := map[string]bool{}
	for _, spec := range specs {
		parts := strings.Split(spec, ":")
		var src, dst, mode string
		switch len(parts) {
		case 1:
			dst = parts[0]
		case 2:
			src, dst = parts[0], parts[1]
			if dst == "ro" || dst == "rw" {
				return nil, nil, fmt.Errorf("invalid volume specification: %q: an anonymous volume takes no mode", spec)
			}
		case 3:
			src, dst, mode = parts[0], parts[1], parts[2]
		default:
			return nil, nil, fmt.Errorf("invalid volume specification: %q: want SRC:DST[:ro|rw]", spec)
		}
		switch {
		case dst == "":
			return nil, nil, fmt.Errorf("invalid volume specification: %q: no destination", spec)
		case !path.IsAbs(dst):
			return nil, nil, fmt.Errorf("invalid volume specification: %q: the destination %q must be an absolute path", spec, dst)
		case path.Clean(dst) == "/":
			return nil, nil, fmt.Errorf("invalid volume specification: %q: the destination can't be '/'", spec)
		}
		if mode != "" && mode != "ro" && mode != "rw" {
			return nil, nil, fmt.Errorf("invalid volume specification: %q: invalid mode %q: want ro or rw", spec, mode)
		}
		if seen[path.Clean(dst)] {
			return nil, nil, fmt.Errorf("duplicate mount point: %s", dst)
		}
		seen[path.Clean(dst)] = true

		if len(parts) == 1 {
			if anonymous == nil {
				anonymous = map[string]struct{}{}
			}
			anonymous[dst] = struct{}{}
			continue
		}
		switch {
		case src == "":
			return nil, nil, fmt.Errorf("invalid volume specification: %q: no source", spec)
		case filepath.IsAbs(src):
		case strings.HasPrefix(src, "."):
			abs, err := filepath.Abs(src)
			if err != nil {
				return nil, nil, err
			}
			src = abs
		case !volumeName().MatchString(src):
			return nil, nil, fmt.Errorf("invalid volume specification: %q: %q includes invalid characters for a volume name, only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed; a host directory must be an absolute path", spec, src)
		}
		bind := src + ":" + dst
		if mode != "" {
			bind += ":" + mode
		}
		binds = append(binds, bind)
	}
	return binds, anonymous, nil
}

// parsePublish reads -p flags, docker's [ip:][hostPort:]containerPort[/proto]
// (ranges allowed on both sides; an IPv6 address in brackets), or the long
// form published=8080,target=80[,protocol=udp]. It returns the exposed
// ports ("80/tcp") and their host bindings; an empty host port asks the
// engine to choose one, an empty IP means every address.
func parsePublish(specs []string) (map[string]struct{}, map[string][]engine.PortBinding, error) {
	if len(specs) == 0 {
		return nil, nil, nil
	}
	exposed := map[string]struct{}{}
	bindings := map[string][]engine.PortBinding{}
	for _, spec := range specs {
		maps, err := parsePortSpec(spec)
		if err != nil {
			return nil, nil, err
		}
		for _, m := range maps {
			exposed[m.port] = struct{}{}
			bindings[m.port] = append(bindings[m.port], m.binding)
		}
	}
	return exposed, bindings, nil
}

type portMapping struct {
	port    string // "80/tcp"
	binding engine.PortBinding
}

func parsePortSpec(spec string) ([]portMapping, error) {
	if strings.Contains(spec, "=") {
		long, err := longPortSpec(spec)
		if err != nil {
			return nil, err
		}
		spec = long
	}
	// The last two colon-separated fields are the ports; what comes before
	// is the IP, which may itself hold colons.
	var ip, hostPort, containerPort string
	parts := strings.Split(spec, ":")
	switch n := len(parts); n {
	case 1:
		containerPort = parts[0]
	case 2:
		hostPort, containerPort = parts[0], parts[1]
	default:
		ip, hostPort, containerPort = strings.Join(parts[:n-2], ":"), parts[n-2], parts[n-1]
	}
	containerPort, proto, _ := strings.Cut(containerPort, "/")
	if containerPort == "" {
		return nil, fmt.Errorf("invalid port %q: no container port", spec)
	}
	proto = strings.ToLower(proto)
	switch proto {
	case "":
		proto = "tcp"
	case "tcp", "udp", "sctp":
	default:
		return nil, fmt.Errorf("invalid port %q: invalid protocol %q: want tcp, udp or sctp", spec, proto)
	}
	if strings.HasPrefix(ip, "[") && strings.HasSuffix(ip, "]") {
		ip = ip[1 : len(ip)-1]
	}
	if ip != "" && net.ParseIP(ip) == nil {
		return nil, fmt.Errorf("invalid port %q: invalid IP address %q", spec, ip)
	}
	start, end, err := parsePortRange(containerPort, 1)
	if err != nil {
		return nil, fmt.Errorf("invalid port %q: invalid container port %q", spec, containerPort)
	}
	var hostStart, hostEnd int
	if hostPort != "" {
		hostStart, hostEnd, err = parsePortRange(hostPort, 0) // 0: any free port
		if err != nil {
			return nil, fmt.Errorf("invalid port %q: invalid host port %q", spec, hostPort)
		}
		// A host range for one container port is a range to choose from;
		// otherwise the two ranges pair up and must be as long.
		if end-start != hostEnd-hostStart && end != start {
			return nil, fmt.Errorf("invalid port %q: the container ports %s and the host ports %s are not ranges of the same length", spec, containerPort, hostPort)
		}
	}
	var out []portMapping
	for i := 0; i <= end-start; i++ {
		hp := ""
		if hostPort != "" {
			hp = strconv.Itoa(hostStart + i)
			if start == end && hostStart != hostEnd {
				hp = fmt.Sprintf("%d-%d", hostStart, hostEnd)
			}
		}
		out = append(out, portMapping{
			port:    fmt.Sprintf("%d/%s", start+i, proto),
			binding: engine.PortBinding{HostIP: ip, HostPort: hp},
		})
	}
	return out, nil
}

// longPortSpec turns -p published=8080,target=80,protocol=udp into 8080:80/udp.
func longPortSpec(spec string) (string, error) {
	kv := map[string]string{"protocol": "tcp"}
	for _, f := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return "", fmt.Errorf("invalid port %q: want name=value, got %q", spec, f)
		}
		switch k {
		case "published", "target", "protocol", "mode":
		default:
			return "", fmt.Errorf("invalid port %q: unknown field %q", spec, k)
		}
		kv[k] = v
	}
	if kv["target"] == "" {
		return "", fmt.Errorf("invalid port %q: no target", spec)
	}
	if kv["published"] == "" {
		return kv["target"] + "/" + kv["protocol"], nil
	}
	return kv["published"] + ":" + kv["target"] + "/" + kv["protocol"], nil
}

// parsePortRange reads "80" or "8000-8010", ports no lower than least.
func parsePortRange(s string, least int) (start, end int, err error) {
	lo, hi, isRange := strings.Cut(s, "-")
	start, err = parsePort(lo, least)
	if err != nil {
		return 0, 0, err
	}
	end = start
	if isRange {
		if end, err = parsePort(hi, least); err != nil {
			return 0, 0, err
		}
		if end < start {
			return 0, 0, fmt.Errorf("invalid range %s", s)
		}
	}
	return start, end, nil
}

func parsePort(s string, least int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < least || n > 65535 {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return n, nil
}
