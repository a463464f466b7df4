//go:build !linux

package network

import (
	"errors"
	"net/netip"
)

// ErrNotSupported is returned on systems other than Linux.
var ErrNotSupported = errors.New("network: bridges, veth pairs and iptables need Linux")

// Options configure a Manager.
type Options struct {
	StateDir       string
	HostNS         string
	DefaultSubnet  netip.Prefix
	HostResolvConf string
}

// Manager needs Linux.
type Manager struct{}

// Open needs Linux.
func Open(Options) (*Manager, error) { return nil, ErrNotSupported }

// InNamespace needs Linux.
func InNamespace(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	return ErrNotSupported
}

// The Manager's methods need Linux.
func (*Manager) Create(Config) (Network, error)                    { return Network{}, ErrNotSupported }
func (*Manager) Default() (Network, error)                         { return Network{}, ErrNotSupported }
func (*Manager) Get(string) (Network, error)                       { return Network{}, ErrNotSupported }
func (*Manager) List() ([]Network, error)                          { return nil, ErrNotSupported }
func (*Manager) Remove(string) error                               { return ErrNotSupported }
func (*Manager) Attach(string, EndpointConfig) (Endpoint, error)   { return Endpoint{}, ErrNotSupported }
func (*Manager) Detach(string, string) error                       { return ErrNotSupported }
func (*Manager) Release(string, string) error                      { return ErrNotSupported }
func (*Manager) Endpoints(string) ([]Endpoint, error)              { return nil, ErrNotSupported }
func (*Manager) Loopback(string) error                             { return ErrNotSupported }
func (*Manager) Prune(func(string) bool) error                     { return ErrNotSupported }
func (*Manager) Allocations(string) (map[netip.Addr]string, error) { return nil, ErrNotSupported }
