package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func (m *Manager) endpointFile(network, id string) string {
	return filepath.Join(m.opts.StateDir, "endpoints", network, id+".json")
}

// endpoints lists the endpoints recorded on network.
func (m *Manager) endpoints(network string) ([]Endpoint, error) {
	files, err := filepath.Glob(filepath.Join(m.opts.StateDir, "endpoints", network, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []Endpoint
	for _, f := range files {
		var e Endpoint
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("network: %w", err)
		}
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("network: record %s is damaged: %w", f, err)
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IP.Less(out[j].IP) })
	return out, nil
}

// Endpoints lists the containers attached to network.
func (m *Manager) Endpoints(network string) ([]Endpoint, error) {
	var out []Endpoint
	err := m.locked(func() (err error) {
		if _, err = m.Get(network); err != nil {
			return err
		}
		out, err = m.endpoints(network)
		return err
	})
	return out, err
}

// Attach cables a container into a network: an address, a veth pair with
// its host end on the bridge and the other end in the container's
// namespace as eth0, a default route through the gateway, the published
// ports' rules, and its hosts and resolv.conf files. On any failure,
// nothing of it is left.
func (m *Manager) Attach(network string, c EndpointConfig) (Endpoint, error) {
	if network == DefaultNetwork {
		if _, err := m.Default(); err != nil {
			return Endpoint{}, err
		}
	}
	var e Endpoint
	err := m.locked(func() (err error) {
		e, err = m.attach(network, c)
		return err
	})
	return e, err
}

func (m *Manager) attach(network string, c EndpointConfig) (e Endpoint, retErr error) {
	n, err := m.Get(network)
	if err != nil {
		return e, err
	}
	if !validName().MatchString(c.ID) {
		return e, fmt.Errorf("network: container id %q: use letters, digits, '_', '.' and '-'", c.ID)
	}
	if c.NetNS == "" {
		return e, errors.New("network: the container's network namespace is needed (its /proc/PID/ns/net)")
	}
	if _, err := os.Stat(m.endpointFile(network, c.ID)); err == nil {
		return e, fmt.Errorf("network: container %s is already attached to %q", c.ID, network)
	}
	e = Endpoint{Network: n.Name, ID: c.ID, Name: c.Name, Aliases: c.Aliases, Subnet: n.Subnet, Gateway: n.Gateway,
		HostVeth: vethName(n.Name, c.ID), IfName: c.IfName, HostsPath: c.HostsPath, ResolvConfPath: c.ResolvConfPath}

	var undo []func()
	defer func() {
		if retErr != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	if e.IP, err = m.ipam.Allocate(n.Name, n.Subnet, c.ID); err != nil {
		return e, err
	}
	undo = append(undo, func() { m.ipam.Release(n.Name, c.ID) })

	if err := m.cable(n, &e, c.NetNS); err != nil {
		return e, err
	}
	undo = append(undo, func() { m.uncable(e) })

	for _, p := range c.Ports {
		if p.HostPort == 0 {
			if p.HostPort, err = m.freePort(p); err != nil {
				return e, err
			}
		} else if err := m.portFree(p); err != nil {
			return e, err
		}
		e.Ports = append(e.Ports, p)
	}
	rules := m.portRules(n, e)
	if err := m.ipt.apply("-A", rules); err != nil {
		return e, fmt.Errorf("network: publishing %v: %w", e.Ports, err)
	}
	undo = append(undo, func() { m.ipt.remove(rules) })

	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return e, err
	}
	if err := os.MkdirAll(filepath.Dir(m.endpointFile(network, c.ID)), 0o755); err != nil {
		return e, fmt.Errorf("network: %w", err)
	}
	if err := writeFileAtomic(m.endpointFile(network, c.ID), b); err != nil {
		return e, err
	}
	undo = append(undo, func() { os.Remove(m.endpointFile(network, c.ID)) })
	if err := m.writeResolvConf(e.ResolvConfPath); err != nil {
		return e, err
	}
	return e, m.refreshHosts(n)
}

// cable makes the veth pair and configures the container's end.
func (m *Manager) cable(n Network, e *Endpoint, nsPath string) (retErr error) {
	host, err := m.handle("")
	if err != nil {
		return err
	}
	defer host.Close()
	br, err := host.LinkByName(n.Bridge)
	if err != nil {
		return fmt.Errorf("network: bridge %s of network %q is missing (%w): remove the network and create it again", n.Bridge, n.Name, err)
	}
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return fmt.Errorf("network: opening the container's network namespace %s: %w", nsPath, err)
	}
	defer ns.Close()
	inside, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("network: netlink in %s: %w", nsPath, err)
	}
	defer inside.Close()
	if e.IfName == "" {
		// eth0 for the first network, eth1 for the next, as Docker does.
		for i := 0; ; i++ {
			name := fmt.Sprintf("eth%d", i)
			if _, err := inside.LinkByName(name); err != nil {
				e.IfName = name
				break
			}
		}
	}
	// The peer is born inside the container's namespace under its final
	// name, so no temporary name can clash with the host's interfaces.
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: e.HostVeth, MasterIndex: br.Attrs().Index},
		PeerName: e.IfName, PeerNamespace: netlink.NsFd(ns)}
	if err := host.LinkAdd(veth); err != nil {
		return fmt.Errorf("network: creating veth pair %s/%s: %w", e.HostVeth, e.IfName, err)
	}
	defer func() {
		if retErr != nil {
			host.LinkDel(veth)
		}
	}()
	if err := host.LinkSetUp(veth); err != nil {
		return fmt.Errorf("network: bringing %s up: %w", e.HostVeth, err)
	}
	eth, err := inside.LinkByName(e.IfName)
	if err != nil {
		return fmt.Errorf("network: %s inside the container: %w", e.IfName, err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: e.IP.AsSlice(), Mask: net.CIDRMask(n.Subnet.Bits(), 32)}}
	if err := inside.AddrAdd(eth, addr); err != nil {
		return fmt.Errorf("network: giving %s the address %s: %w", e.IfName, addr, err)
	}
	if err := inside.LinkSetUp(eth); err != nil {
		return fmt.Errorf("network: bringing %s up: %w", e.IfName, err)
	}
	if err := loopbackUp(inside); err != nil {
		return err
	}
	// The first network gives the default route; a later one leaves it.
	def := &netlink.Route{LinkIndex: eth.Attrs().Index, Gw: n.Gateway.AsSlice()}
	if err := inside.RouteAdd(def); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("network: default route via %s: %w", n.Gateway, err)
	}
	return nil
}

func loopbackUp(h *netlink.Handle) error {
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		return fmt.Errorf("network: bringing lo up: %w", err)
	}
	return nil
}

// Loopback brings lo up in the namespace at nsPath: --network none.
func (m *Manager) Loopback(nsPath string) error {
	h, err := m.handle(nsPath)
	if err != nil {
		return err
	}
	defer h.Close()
	return loopbackUp(h)
}

// uncable deletes the host end of the veth pair; the kernel deletes the
// other end with it. A pair already gone (its namespace died) is fine.
func (m *Manager) uncable(e Endpoint) error {
	host, err := m.handle("")
	if err != nil {
		return err
	}
	defer host.Close()
	l, err := host.LinkByName(e.HostVeth)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("network: %w", err)
	}
	// ENODEV: the container's namespace died meanwhile, taking the pair.
	if err := host.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("network: deleting %s: %w", e.HostVeth, err)
	}
	return nil
}

func (m *Manager) portRules(n Network, e Endpoint) []Rule {
	var rules []Rule
	for _, p := range e.Ports {
		rules = append(rules, PortRules(n, e.IP, p)...)
	}
	return rules
}

// bindHost binds p's protocol on p's host address and port (0: any free
// one) in the host's namespace, closes it again, and says which port it
// got: how berth asks the host's kernel whether a port is free.
func (m *Manager) bindHost(p PortMapping) (uint16, error) {
	var port uint16
	err := InNamespace(m.opts.HostNS, func() error {
		ip := "0.0.0.0"
		if p.HostIP.IsValid() {
			ip = p.HostIP.String()
		}
		addr := fmt.Sprintf("%s:%d", ip, p.HostPort)
		if p.Proto == "udp" {
			c, err := net.ListenPacket("udp4", addr)
			if err != nil {
				return err
			}
			port = uint16(c.LocalAddr().(*net.UDPAddr).Port)
			return c.Close()
		}
		l, err := net.Listen("tcp4", addr)
		if err != nil {
			return err
		}
		port = uint16(l.Addr().(*net.TCPAddr).Port)
		return l.Close()
	})
	return port, err
}

// freePort asks the host's kernel for a free port of p's protocol.
func (m *Manager) freePort(p PortMapping) (uint16, error) {
	port, err := m.bindHost(p)
	if err != nil {
		return 0, fmt.Errorf("network: finding a free host port for %v: %w", p, err)
	}
	return port, nil
}

// portFree refuses a host port that another container already publishes,
// or that a program on the host listens on: the DNAT rule would shadow it
// silently, or never match.
func (m *Manager) portFree(p PortMapping) error {
	nets, err := m.List()
	if err != nil {
		return err
	}
	for _, n := range nets {
		eps, err := m.endpoints(n.Name)
		if err != nil {
			return err
		}
		for _, e := range eps {
			for _, q := range e.Ports {
				if q.Proto == p.Proto && q.HostPort == p.HostPort &&
					(!q.HostIP.IsValid() || !p.HostIP.IsValid() || q.HostIP == p.HostIP) {
					return fmt.Errorf("network: host port %d/%s is already published by container %s (%s): %w", p.HostPort, p.Proto, e.Name, q, ErrPortInUse)
				}
			}
		}
	}
	if _, err := m.bindHost(p); err != nil {
		return fmt.Errorf("network: host port %d/%s is taken on the host (stop what listens there, or publish another port): %w: %w", p.HostPort, p.Proto, ErrPortInUse, err)
	}
	return nil
}

// Detach undoes Attach: the published ports' rules, the veth pair, the
// address and the record. Detaching what is not attached is not an error.
func (m *Manager) Detach(network, id string) error { return m.detachLocked(network, id, true) }

// Release is Detach for a container whose processes have all exited, and
// whose network namespace is therefore being dismantled by the kernel. The
// kernel deletes every veth with an end in a dying namespace, its peer
// with it, so Release frees the rules, the address and the record, and
// leaves the pair to the kernel: deleting the host's end here as well
// would only wait for the kernel's own teardown (on a small VM, about
// 14 ms of RCU grace periods; docs/07-final.md, Speed). The address is
// not handed out again at once (see IPAM.Allocate), so no new container
// answers for it while the old pair is still going.
func (m *Manager) Release(network, id string) error { return m.detachLocked(network, id, false) }

func (m *Manager) detachLocked(network, id string, cable bool) error {
	return m.locked(func() error {
		n, err := m.Get(network)
		if err != nil {
			return err
		}
		return m.detach(n, id, cable)
	})
}

// detach removes id's endpoint from n; the veth pair too when cable.
func (m *Manager) detach(n Network, id string, cable bool) error {
	var e Endpoint
	b, err := os.ReadFile(m.endpointFile(n.Name, id))
	if errors.Is(err, fs.ErrNotExist) {
		return m.ipam.Release(n.Name, id) // perhaps a crash between the two
	}
	if err != nil {
		return fmt.Errorf("network: %w", err)
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return fmt.Errorf("network: record %s is damaged: %w", m.endpointFile(n.Name, id), err)
	}
	errs := []error{m.ipt.remove(m.portRules(n, e))}
	if cable {
		errs = append(errs, m.uncable(e))
	}
	errs = append(errs, m.ipam.Release(n.Name, id))
	if err := errors.Join(errs...); err != nil {
		return err // the record stays, so Detach can be tried again
	}
	if err := os.Remove(m.endpointFile(n.Name, id)); err != nil {
		return fmt.Errorf("network: %w", err)
	}
	return m.refreshHosts(n)
}

// Prune detaches, on every network, the containers alive rejects (those
// whose processes are gone after a crash) and returns any address left
// allocated to no endpoint.
func (m *Manager) Prune(alive func(id string) bool) error {
	return m.locked(func() error {
		nets, err := m.List()
		if err != nil {
			return err
		}
		var errs []error
		for _, n := range nets {
			eps, err := m.endpoints(n.Name)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			attached := map[string]bool{}
			for _, e := range eps {
				if alive(e.ID) {
					attached[e.ID] = true
				} else {
					errs = append(errs, m.detach(n, e.ID, true))
				}
			}
			_, err = m.ipam.Reclaim(n.Name, func(owner string) bool { return attached[owner] })
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

// writeResolvConf writes the container's resolv.conf from the host's.
func (m *Manager) writeResolvConf(path string) error {
	if path == "" {
		return nil
	}
	host, err := os.ReadFile(m.opts.HostResolvConf)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("network: %w", err)
	}
	return writeInPlace(path, ResolvConf(host))
}

// refreshHosts rewrites the hosts file of every endpoint on n. A
// container's file lists its peers on every user-defined network it is
// on, and its own address on the first of them by name, so that whichever
// network changes, the file comes out the same.
func (m *Manager) refreshHosts(n Network) error {
	eps, err := m.endpoints(n.Name)
	if err != nil {
		return err
	}
	if len(eps) == 0 {
		return nil
	}
	nets, err := m.List()
	if err != nil {
		return err
	}
	byNet := map[string][]Endpoint{}
	for _, other := range nets {
		if byNet[other.Name], err = m.endpoints(other.Name); err != nil {
			return err
		}
	}
	for _, e := range eps {
		if e.HostsPath == "" {
			continue
		}
		self := HostEntry{}
		var peers []HostEntry
		for _, other := range nets { // by name
			for _, p := range byNet[other.Name] {
				if p.ID == e.ID {
					if !self.IP.IsValid() {
						self = HostEntry{IP: p.IP, Names: p.names()}
					}
					continue
				}
				if !other.IsDefault() && attachedTo(byNet[other.Name], e.ID) {
					peers = append(peers, HostEntry{IP: p.IP, Names: p.names()})
				}
			}
		}
		if err := writeInPlace(e.HostsPath, HostsFile(self, peers)); err != nil {
			return err
		}
	}
	return nil
}

func attachedTo(eps []Endpoint, id string) bool {
	for _, e := range eps {
		if e.ID == id {
			return true
		}
	}
	return false
}

// writeInPlace rewrites a file without replacing it: a container that has
// it bind-mounted keeps seeing the same inode, now with new contents.
func writeInPlace(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("network: writing %s: %w", path, err)
	}
	return nil
}

// Allocations lists network's allocated addresses and their owners.
func (m *Manager) Allocations(network string) (map[netip.Addr]string, error) {
	if _, err := m.Get(network); err != nil {
		return nil, err
	}
	return m.ipam.Allocations(network)
}
