package network

import "net/netip"

// EndpointConfig attaches one container to one network.
type EndpointConfig struct {
	ID      string   // the container's ID: owns the address
	Name    string   // its name, resolvable by its peers on user-defined networks
	Aliases []string // more names for the same address (the short ID, the hostname)
	// NetNS is the container's network namespace, e.g. /proc/PID/ns/net.
	NetNS string
	// IfName is the interface's name inside; "" means eth0.
	IfName string
	Ports  []PortMapping
	// HostsPath and ResolvConfPath, if set, are files the container sees
	// as /etc/hosts and /etc/resolv.conf; they are written here and kept
	// up to date as peers come and go.
	HostsPath      string
	ResolvConfPath string
}

// Endpoint is a container's attachment to a network, as recorded.
type Endpoint struct {
	Network        string        `json:"network"`
	ID             string        `json:"id"`
	Name           string        `json:"name"`
	Aliases        []string      `json:"aliases,omitempty"`
	IP             netip.Addr    `json:"ip"`
	Subnet         netip.Prefix  `json:"subnet"`
	Gateway        netip.Addr    `json:"gateway"`
	HostVeth       string        `json:"host_veth"`
	IfName         string        `json:"if_name"`
	Ports          []PortMapping `json:"ports,omitempty"` // with host ports chosen
	HostsPath      string        `json:"hosts_path,omitempty"`
	ResolvConfPath string        `json:"resolv_conf_path,omitempty"`
}

// names are the endpoint's names for /etc/hosts.
func (e Endpoint) names() []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range append([]string{e.Name}, e.Aliases...) {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}
