package network

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// PortMapping publishes a container's port on the host, as docker run -p
// does: connections to HostIP:HostPort reach the container's
// ContainerPort.
type PortMapping struct {
	HostIP        netip.Addr `json:"host_ip,omitzero"` // zero: every host address
	HostPort      uint16     `json:"host_port"`        // 0: pick a free one
	ContainerPort uint16     `json:"container_port"`
	Proto         string     `json:"proto"` // "tcp" or "udp"
}

func (p PortMapping) String() string {
	host := ""
	if p.HostIP.IsValid() {
		host = p.HostIP.String() + ":"
	}
	return fmt.Sprintf("%s%d->%d/%s", host, p.HostPort, p.ContainerPort, p.Proto)
}

// ParsePort reads docker run's -p syntax:
//
//	80                 container port 80, a free host port
//	8080:80            host port 8080
//	127.0.0.1:8080:80  only on that host address
//	127.0.0.1::80      that address, a free port
//	8053:53/udp        UDP
func ParsePort(s string) (PortMapping, error) {
	p := PortMapping{Proto: "tcp"}
	spec := s
	if i := strings.LastIndexByte(spec, '/'); i >= 0 {
		p.Proto = spec[i+1:]
		spec = spec[:i]
		if p.Proto != "tcp" && p.Proto != "udp" {
			return PortMapping{}, fmt.Errorf("network: -p %s: protocol %q is not tcp or udp", s, p.Proto)
		}
	}
	parts := strings.Split(spec, ":")
	if len(parts) > 3 {
		return PortMapping{}, fmt.Errorf("network: -p %s: want [host-ip:][host-port:]container-port[/proto]", s)
	}
	var err error
	if p.ContainerPort, err = parsePortNumber(parts[len(parts)-1], false); err != nil {
		return PortMapping{}, fmt.Errorf("network: -p %s: container port: %w", s, err)
	}
	if len(parts) >= 2 {
		if p.HostPort, err = parsePortNumber(parts[len(parts)-2], true); err != nil {
			return PortMapping{}, fmt.Errorf("network: -p %s: host port: %w", s, err)
		}
	}
	if len(parts) == 3 {
		ip := strings.Trim(parts[0], "[]")
		if p.HostIP, err = netip.ParseAddr(ip); err != nil || !p.HostIP.Is4() {
			return PortMapping{}, fmt.Errorf("network: -p %s: %q is not an IPv4 address", s, parts[0])
		}
		if p.HostIP.IsUnspecified() {
			p.HostIP = netip.Addr{}
		}
	}
	return p, nil
}

func parsePortNumber(s string, mayBeEmpty bool) (uint16, error) {
	if s == "" && mayBeEmpty {
		return 0, nil
	}
	if strings.Contains(s, "-") {
		return 0, fmt.Errorf("port ranges (%s) are not supported: publish each port with its own -p", s)
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not a port number from 1 to 65535", s)
	}
	return uint16(n), nil
}
