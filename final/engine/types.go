package engine

import (
	"io"
	"time"
)

// The types below have the shape and the field names of the Docker Engine
// API's JSON (API 1.41+), so that a daemon can decode the docker client's
// requests straight into them and encode the answers back. Only the
// fields berth implements are here.

// Config is what a container runs: the image's settings overridden by the
// user's (docker run's -e, -w, -u, --entrypoint, the command...).
type Config struct {
	Hostname     string
	Domainname   string              `json:",omitempty"`
	User         string              `json:",omitempty"`
	AttachStdin  bool                `json:",omitempty"`
	AttachStdout bool                `json:",omitempty"`
	AttachStderr bool                `json:",omitempty"`
	ExposedPorts map[string]struct{} `json:",omitempty"`
	Tty          bool                `json:",omitempty"`
	OpenStdin    bool                `json:",omitempty"`
	StdinOnce    bool                `json:",omitempty"`
	Env          []string            `json:",omitempty"`
	Cmd          []string            `json:",omitempty"`
	Image        string
	Volumes      map[string]struct{} `json:",omitempty"`
	WorkingDir   string              `json:",omitempty"`
	Entrypoint   []string            `json:",omitempty"`
	Labels       map[string]string   `json:",omitempty"`
	StopSignal   string              `json:",omitempty"`
	StopTimeout  *int                `json:",omitempty"`
}

// PortBinding is where on the host a container port is published.
type PortBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string
}

// HostConfig is how the host treats the container: mounts, networking,
// limits, and what happens when it ends.
type HostConfig struct {
	Binds          []string                 `json:",omitempty"` // -v SRC:DST[:ro]: a host path or a named volume
	NetworkMode    string                   `json:",omitempty"` // bridge, none, host, or a network's name
	PortBindings   map[string][]PortBinding `json:",omitempty"` // "80/tcp" -> host side
	AutoRemove     bool                     `json:",omitempty"` // --rm
	Init           *bool                    `json:",omitempty"` // --init
	ReadonlyRootfs bool                     `json:",omitempty"`
	Memory         int64                    `json:",omitempty"` // bytes
	MemorySwap     int64                    `json:",omitempty"`
	NanoCpus       int64                    `json:",omitempty"` // --cpus × 1e9
	CpuShares      int64                    `json:",omitempty"` //nolint:revive // Docker's spelling
	CpusetCpus     string                   `json:",omitempty"` //nolint:revive
	PidsLimit      *int64                   `json:",omitempty"`
	ConsoleSize    [2]uint                  `json:",omitempty"` // height, width of a -t container's terminal at start
}

// EndpointSettings is a container's place on one network.
type EndpointSettings struct {
	Aliases     []string `json:",omitempty"`
	NetworkID   string
	EndpointID  string
	Gateway     string
	IPAddress   string
	IPPrefixLen int
	MacAddress  string `json:",omitempty"`
}

// NetworkingConfig carries the networks a container is created on.
type NetworkingConfig struct {
	EndpointsConfig map[string]*EndpointSettings `json:",omitempty"`
}

// CreateRequest is POST /containers/create's body and ?name=.
type CreateRequest struct {
	Name             string `json:"-"`
	Config           Config
	HostConfig       HostConfig
	NetworkingConfig NetworkingConfig
}

// CreateResponse is POST /containers/create's answer.
type CreateResponse struct {
	ID       string `json:"Id"`
	Warnings []string
}

// State is a container's lifecycle state, as `docker inspect` shows it.
type State struct {
	Status     string // created, running, exited, dead (removing: while removed)
	Running    bool
	Paused     bool
	Restarting bool
	OOMKilled  bool
	Dead       bool
	Pid        int
	ExitCode   int
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
}

// Port is one line of a container's published ports, as `docker ps` shows it.
type Port struct {
	IP          string `json:",omitempty"`
	PrivatePort uint16
	PublicPort  uint16 `json:",omitempty"`
	Type        string
}

// Summary is one container in a list: GET /containers/json.
type Summary struct {
	ID              string `json:"Id"`
	Names           []string
	Image           string
	ImageID         string
	Command         string
	Created         int64
	Ports           []Port
	Labels          map[string]string
	State           string
	Status          string
	HostConfig      struct{ NetworkMode string }
	NetworkSettings struct{ Networks map[string]*EndpointSettings }
}

// MountPoint is a volume or bind mount, as `docker inspect` shows it.
type MountPoint struct {
	Type        string // "volume" or "bind"
	Name        string `json:",omitempty"`
	Source      string
	Destination string
	Driver      string `json:",omitempty"`
	Mode        string
	RW          bool
	Propagation string
}

// NetworkSettings is a container's networking, as `docker inspect` shows it.
type NetworkSettings struct {
	SandboxKey string
	Ports      map[string][]PortBinding
	IPAddress  string
	Gateway    string
	Networks   map[string]*EndpointSettings
}

// ContainerJSON is GET /containers/{id}/json: everything about a container.
type ContainerJSON struct {
	ID              string `json:"Id"`
	Created         time.Time
	Path            string
	Args            []string
	State           *State
	Image           string // the image's ID
	ResolvConfPath  string
	HostnamePath    string
	HostsPath       string
	LogPath         string
	Name            string // with Docker's leading slash
	RestartCount    int
	Driver          string
	Platform        string
	MountLabel      string
	ProcessLabel    string
	AppArmorProfile string
	HostConfig      *HostConfig
	GraphDriver     struct {
		Name string
		Data map[string]string
	}
	Mounts          []MountPoint
	Config          *Config
	NetworkSettings *NetworkSettings
}

// WaitCondition is what Wait waits for: Docker's ?condition=.
type WaitCondition string

const (
	WaitNotRunning WaitCondition = "not-running" // the default: return at once if not running
	WaitNextExit   WaitCondition = "next-exit"   // the next time it stops
	WaitRemoved    WaitCondition = "removed"     // until it is gone (--rm)
)

// WaitResponse is POST /containers/{id}/wait's answer.
type WaitResponse struct {
	StatusCode int
	Error      *struct{ Message string } `json:",omitempty"`
}

// LogsOptions are GET /containers/{id}/logs's parameters.
type LogsOptions struct {
	Stdout, Stderr bool
	Follow         bool
	Timestamps     bool
	Tail           string // "all" or a number of lines
	Since, Until   time.Time
}

// Streams are the ends of an attachment: the caller's stdin, stdout and
// stderr. A nil field is not attached. With a terminal (Tty) everything
// arrives on Stdout, as a terminal merges them.
type Streams struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// AttachOptions are POST /containers/{id}/attach's parameters.
type AttachOptions struct {
	Streams
	// DetachKeys ends the attachment, not the container, when read from
	// Stdin: Docker's ctrl-p,ctrl-q by default with a terminal.
	DetachKeys string
	// Resize, if set, delivers the caller's terminal sizes as they change.
	Resize <-chan [2]uint
}

// ExecConfig is POST /containers/{id}/exec's body.
type ExecConfig struct {
	User         string   `json:",omitempty"`
	Privileged   bool     `json:",omitempty"`
	Tty          bool     `json:",omitempty"`
	AttachStdin  bool     `json:",omitempty"`
	AttachStdout bool     `json:",omitempty"`
	AttachStderr bool     `json:",omitempty"`
	Detach       bool     `json:",omitempty"`
	Env          []string `json:",omitempty"`
	WorkingDir   string   `json:",omitempty"`
	Cmd          []string
	ConsoleSize  [2]uint `json:",omitempty"`
}

// RemoveOptions are DELETE /containers/{id}'s parameters.
type RemoveOptions struct {
	Force         bool // kill it first if it runs
	RemoveVolumes bool // remove its anonymous volumes
}

// ListOptions are GET /containers/json's parameters.
type ListOptions struct {
	All bool // stopped containers too
}

// TopResponse is GET /containers/{id}/top's answer: ps output as a table.
type TopResponse struct {
	Titles    []string
	Processes [][]string
}

// Stats is one sample of what a container uses, the numbers `docker stats`
// shows.
type Stats struct {
	ID          string
	Name        string
	Read        time.Time
	CPUNanos    uint64 // cumulative CPU time
	SystemNanos uint64 // the host's cumulative CPU time, to turn CPUNanos into a percentage
	OnlineCPUs  int
	MemoryUsage uint64
	MemoryLimit uint64
	Pids        uint64
	NetRx       uint64
	NetTx       uint64
	BlockRead   uint64
	BlockWrite  uint64
}

// Volume is a named volume: GET /volumes/{name}.
type Volume struct {
	Name       string
	Driver     string
	Mountpoint string
	CreatedAt  time.Time
	Labels     map[string]string
	Scope      string
	Options    map[string]string
}

// VolumeCreateRequest is POST /volumes/create's body.
type VolumeCreateRequest struct {
	Name   string
	Driver string
	Labels map[string]string
}

// NetworkResource is a network: GET /networks/{id}.
type NetworkResource struct {
	Name       string
	ID         string `json:"Id"`
	Created    time.Time
	Scope      string
	Driver     string
	EnableIPv6 bool
	IPAM       struct {
		Driver string
		Config []struct{ Subnet, Gateway string }
	}
	Internal   bool
	Attachable bool
	Containers map[string]NetworkContainer
	Options    map[string]string
	Labels     map[string]string
}

// NetworkContainer is a container on a network, in NetworkResource.
type NetworkContainer struct {
	Name        string
	EndpointID  string
	IPv4Address string
	MacAddress  string
}

// NetworkCreateRequest is POST /networks/create's body.
type NetworkCreateRequest struct {
	Name   string
	Driver string
	IPAM   struct{ Config []struct{ Subnet string } }
	Labels map[string]string
}

// Version is GET /version's answer.
type Version struct {
	Platform      struct{ Name string }
	Version       string
	APIVersion    string `json:"ApiVersion"`
	MinAPIVersion string `json:"MinAPIVersion"`
	GitCommit     string
	GoVersion     string
	Os            string
	Arch          string
	KernelVersion string
}

// Info is GET /info's answer, the fields berth fills.
type Info struct {
	ID                string
	Containers        int
	ContainersRunning int
	ContainersPaused  int
	ContainersStopped int
	Images            int
	Driver            string
	DockerRootDir     string
	CgroupDriver      string
	CgroupVersion     string
	KernelVersion     string
	OperatingSystem   string
	OSType            string
	Architecture      string
	NCPU              int
	MemTotal          int64
	Name              string
	ServerVersion     string
	Runtimes          map[string]struct{ Path string }
	DefaultRuntime    string
	SecurityOptions   []string
	// ContainerStart is berth's own: how its runtime starts containers on
	// this host, directly or through a re-executed init, and why.
	ContainerStart string `json:",omitempty"`
}
