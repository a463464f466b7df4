package network

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"sync"
	"time"
)

// Network is a bridge network as recorded on disk.
type Network struct {
	Name    string       `json:"name"`
	ID      string       `json:"id"`
	Bridge  string       `json:"bridge"` // the Linux bridge's name
	Subnet  netip.Prefix `json:"subnet"`
	Gateway netip.Addr   `json:"gateway"` // the bridge's own address
	Created time.Time    `json:"created"`
}

// IsDefault says whether n is the default network, "bridge": as on
// Docker's default bridge, its containers do not resolve each other's
// names.
func (n Network) IsDefault() bool { return n.Name == DefaultNetwork }

// Config asks for a new network. Zero fields get defaults: a free /24
// from 10.89.0.0/16, a bridge named br-<id>.
type Config struct {
	Name   string
	Subnet netip.Prefix
	Bridge string
}

// The default network, like Docker's "bridge" network on docker0.
const (
	DefaultNetwork = "bridge"
	DefaultBridge  = "berth0"
)

// DefaultSubnet is the default network's subnet unless Options say
// otherwise.
var DefaultSubnet = netip.MustParsePrefix("10.88.0.0/16")

// userPool is where networks created without a subnet get theirs, a /24
// at a time.
var userPool = netip.MustParsePrefix("10.89.0.0/16")

// validName is compiled on first use, not at package init: every berth
// process (its container monitors and inits too) would pay for it at start.
var validName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`) })

// Errors a caller may want to tell apart.
var (
	ErrNetworkExists   = errors.New("network already exists")
	ErrNoSuchNetwork   = errors.New("no such network")
	ErrNetworkInUse    = errors.New("network has containers attached")
	ErrSubnetConflict  = errors.New("subnet overlaps")
	ErrAddressesUsedUp = errors.New("no free address left")
	ErrPortInUse       = errors.New("port already in use")
)

// Mode is how a container is networked: docker run's --network.
type Mode struct {
	Kind    string // "bridge", "none" or "host"
	Network string // for Kind "bridge": which network
}

// ParseMode reads --network: "bridge" (the default network), "none" (a
// namespace with only lo), "host" (no namespace: the host's network), or
// a user-defined network's name.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "", "default", DefaultNetwork:
		return Mode{Kind: "bridge", Network: DefaultNetwork}, nil
	case "none", "host":
		return Mode{Kind: s}, nil
	}
	if !validName().MatchString(s) {
		return Mode{}, fmt.Errorf("network: --network %q: want bridge, none, host or a network's name", s)
	}
	return Mode{Kind: "bridge", Network: s}, nil
}

// checkName refuses names that are not usable or are reserved for modes.
func checkName(name string) error {
	switch {
	case name == "none" || name == "host" || name == "default":
		return fmt.Errorf("network: %q is a network mode, not a name you can create", name)
	case !validName().MatchString(name):
		return fmt.Errorf("network: name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", name)
	}
	return nil
}

// networkID derives a stable ID from the name and creation time.
func networkID(name string, created time.Time) string {
	h := sha256.Sum256([]byte(name + "\x00" + created.Format(time.RFC3339Nano)))
	return hex.EncodeToString(h[:])
}

// vethName names the host end of an endpoint's veth pair: "veth" and 7
// hex digits, within the kernel's 15-character limit, the same for the
// same network and container.
func vethName(network, id string) string {
	h := sha256.Sum256([]byte(network + "/" + id))
	return "veth" + hex.EncodeToString(h[:])[:7]
}
