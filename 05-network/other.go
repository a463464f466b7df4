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
