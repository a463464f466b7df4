package network

import (
	"fmt"
	"net/netip"
)

// ParseSubnet reads an IPv4 subnet in CIDR form. A host address with a
// prefix (10.1.2.3/24) is refused with the subnet it probably means.
func ParseSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("network: subnet %q: want CIDR form such as 10.90.0.0/24", s)
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("network: subnet %s: only IPv4 subnets are supported", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("network: subnet %s has host bits set: did you mean %s?", s, p.Masked())
	}
	if p.Bits() < 8 || p.Bits() > 29 {
		return netip.Prefix{}, fmt.Errorf("network: subnet %s: the prefix length must be from /8 to /29", s)
	}
	return p, nil
}

// Gateway is the subnet's first address, which the bridge takes.
func Gateway(p netip.Prefix) netip.Addr { return p.Addr().Next() }

// broadcast is the subnet's last address.
func broadcast(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// usable says whether a can be given to a container: inside p and not
// the network address, the gateway or the broadcast address.
func usable(p netip.Prefix, a netip.Addr) bool {
	return p.Contains(a) && a != p.Addr() && a != Gateway(p) && a != broadcast(p)
}

// Route is a destination the host already routes somewhere.
type Route struct {
	Dst    netip.Prefix
	Device string
}

// CheckSubnet refuses a subnet that overlaps one of the host's routes
// (other than the default route) or another network's subnet: packets
// for it would go two ways.
func CheckSubnet(p netip.Prefix, routes []Route, networks []Network) error {
	for _, n := range networks {
		if n.Subnet.Overlaps(p) {
			return fmt.Errorf("network: subnet %s overlaps network %q's %s: %w; choose another with --subnet", p, n.Name, n.Subnet, ErrSubnetConflict)
		}
	}
	for _, r := range routes {
		if r.Dst.Bits() == 0 {
			continue // the default route covers everything; it is not a conflict
		}
		if r.Dst.Overlaps(p) {
			return fmt.Errorf("network: subnet %s overlaps the host's route to %s via %s: %w; choose another with --subnet", p, r.Dst, r.Device, ErrSubnetConflict)
		}
	}
	return nil
}

// pickSubnet finds the first /24 of the pool that CheckSubnet accepts.
func pickSubnet(routes []Route, networks []Network) (netip.Prefix, error) {
	a := userPool.Addr().As4()
	for i := 0; i < 1<<(24-userPool.Bits()); i++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{a[0], a[1], byte(i), 0}), 24)
		if CheckSubnet(p, routes, networks) == nil {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("network: every /24 of %s is taken: give a subnet with --subnet", userPool)
}
