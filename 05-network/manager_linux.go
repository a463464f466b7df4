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
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Options configure a Manager.
type Options struct {
	// StateDir records networks, endpoints and address allocations.
	StateDir string
	// HostNS is the network namespace that plays the host: where bridges,
	// host ends of veth pairs and rules go. "" is this process's own.
	HostNS string
	// DefaultSubnet is the default network's; zero means DefaultSubnet.
	DefaultSubnet netip.Prefix
	// HostResolvConf is read for containers' /etc/resolv.conf; "" means
	// /etc/resolv.conf.
	HostResolvConf string
}

// Manager creates networks and attaches containers to them. Its methods
// may be called by several processes at once: each holds the state
// directory's lock while it works.
type Manager struct {
	opts Options
	ipam *IPAM
	ipt  iptables
}

// Open returns a Manager keeping its state in o.StateDir.
func Open(o Options) (*Manager, error) {
	if o.StateDir == "" {
		return nil, errors.New("network: a state directory is needed")
	}
	if !o.DefaultSubnet.IsValid() {
		o.DefaultSubnet = DefaultSubnet
	}
	if o.HostResolvConf == "" {
		o.HostResolvConf = "/etc/resolv.conf"
	}
	for _, d := range []string{"networks", "endpoints", "ipam"} {
		if err := os.MkdirAll(filepath.Join(o.StateDir, d), 0o755); err != nil {
			return nil, fmt.Errorf("network: %w", err)
		}
	}
	return &Manager{opts: o, ipam: NewIPAM(filepath.Join(o.StateDir, "ipam")), ipt: iptables{o.HostNS}}, nil
}

// locked runs fn holding the state directory's lock.
func (m *Manager) locked(fn func() error) error {
	f, err := os.OpenFile(filepath.Join(m.opts.StateDir, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("network: %w", err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("network: locking %s: %w", f.Name(), err)
	}
	return fn()
}

// handle opens a netlink socket in the namespace at path ("" for the
// host's). Only the routing family: links, addresses and routes are all
// this chapter asks of it, and each other family is one more socket (and,
// inside a namespace, two more setns calls) for every handle.
func (m *Manager) handle(path string) (*netlink.Handle, error) {
	if path == "" {
		path = m.opts.HostNS
	}
	if path == "" {
		return netlink.NewHandle(unix.NETLINK_ROUTE)
	}
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("network: opening network namespace %s: %w", path, err)
	}
	defer ns.Close()
	return netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
}

func (m *Manager) networkFile(name string) string {
	return filepath.Join(m.opts.StateDir, "networks", name+".json")
}

// Get returns the network called name.
func (m *Manager) Get(name string) (Network, error) {
	var n Network
	if !validName().MatchString(name) {
		return n, fmt.Errorf("network: %q: %w", name, ErrNoSuchNetwork)
	}
	b, err := os.ReadFile(m.networkFile(name))
	if errors.Is(err, fs.ErrNotExist) {
		return n, fmt.Errorf("network: %q: %w (List shows the networks there are)", name, ErrNoSuchNetwork)
	}
	if err != nil {
		return n, fmt.Errorf("network: %w", err)
	}
	if err := json.Unmarshal(b, &n); err != nil {
		return n, fmt.Errorf("network: record %s is damaged: %w", m.networkFile(name), err)
	}
	return n, nil
}

// List returns every network, by name.
func (m *Manager) List() ([]Network, error) {
	files, err := filepath.Glob(filepath.Join(m.opts.StateDir, "networks", "*.json"))
	if err != nil {
		return nil, err
	}
	var out []Network
	for _, f := range files {
		n, err := m.Get(strings.TrimSuffix(filepath.Base(f), ".json"))
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// routes lists the host's IPv4 routes.
func (m *Manager) routes() ([]Route, error) {
	h, err := m.handle("")
	if err != nil {
		return nil, err
	}
	defer h.Close()
	rs, err := h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("network: listing routes: %w", err)
	}
	var out []Route
	for _, r := range rs {
		if r.Dst == nil {
			continue
		}
		p, ok := netip.AddrFromSlice(r.Dst.IP.To4())
		if !ok {
			continue
		}
		bits, _ := r.Dst.Mask.Size()
		dev := fmt.Sprintf("if%d", r.LinkIndex)
		if l, err := h.LinkByIndex(r.LinkIndex); err == nil {
			dev = l.Attrs().Name
		}
		out = append(out, Route{Dst: netip.PrefixFrom(p, bits), Device: dev})
	}
	return out, nil
}

// Create makes a network: its bridge with the gateway address, IP
// forwarding, and its rules. On any failure nothing of it is left.
func (m *Manager) Create(c Config) (Network, error) {
	var n Network
	err := m.locked(func() (err error) {
		n, err = m.create(c)
		return err
	})
	return n, err
}

// Default returns the default network, creating it the first time.
func (m *Manager) Default() (Network, error) {
	var n Network
	err := m.locked(func() (err error) {
		if n, err = m.Get(DefaultNetwork); err == nil || !errors.Is(err, ErrNoSuchNetwork) {
			return err
		}
		n, err = m.create(Config{Name: DefaultNetwork, Subnet: m.opts.DefaultSubnet, Bridge: DefaultBridge})
		return err
	})
	return n, err
}

func (m *Manager) create(c Config) (n Network, retErr error) {
	if err := checkName(c.Name); err != nil {
		return n, err
	}
	if _, err := m.Get(c.Name); err == nil {
		return n, fmt.Errorf("network: %q: %w", c.Name, ErrNetworkExists)
	}
	existing, err := m.List()
	if err != nil {
		return n, err
	}
	routes, err := m.routes()
	if err != nil {
		return n, err
	}
	if c.Subnet.IsValid() {
		if _, err := ParseSubnet(c.Subnet.String()); err != nil {
			return n, err
		}
		if err := CheckSubnet(c.Subnet, routes, existing); err != nil {
			return n, err
		}
	} else if c.Subnet, err = pickSubnet(routes, existing); err != nil {
		return n, err
	}
	now := time.Now().UTC()
	n = Network{Name: c.Name, ID: networkID(c.Name, now), Subnet: c.Subnet, Gateway: Gateway(c.Subnet), Bridge: c.Bridge, Created: now}
	if n.Bridge == "" {
		n.Bridge = "br-" + n.ID[:12]
	}
	for _, e := range existing {
		if e.Bridge == n.Bridge {
			return Network{}, fmt.Errorf("network: bridge %s already belongs to network %q", n.Bridge, e.Name)
		}
	}

	var undo []func()
	defer func() {
		if retErr != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	h, err := m.handle("")
	if err != nil {
		return n, err
	}
	defer h.Close()
	if _, err := h.LinkByName(n.Bridge); err == nil {
		return n, fmt.Errorf("network: the host already has an interface named %s: remove it (ip link del %s) or choose another bridge name", n.Bridge, n.Bridge)
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.Bridge}}
	if err := h.LinkAdd(br); err != nil {
		return n, fmt.Errorf("network: creating bridge %s: %w", n.Bridge, err)
	}
	undo = append(undo, func() { h.LinkDel(br) })
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: n.Gateway.AsSlice(), Mask: net.CIDRMask(n.Subnet.Bits(), 32)}}
	if err := h.AddrAdd(br, addr); err != nil {
		return n, fmt.Errorf("network: giving %s the address %s: %w", n.Bridge, addr, err)
	}
	if err := h.LinkSetUp(br); err != nil {
		return n, fmt.Errorf("network: bringing %s up: %w", n.Bridge, err)
	}
	// Routing between the bridge and the world, and 127.0.0.1 reaching
	// containers through published ports.
	if err := m.sysctl("net/ipv4/ip_forward", "1"); err != nil {
		return n, err
	}
	if err := m.sysctl("net/ipv4/conf/"+n.Bridge+"/route_localnet", "1"); err != nil {
		return n, err
	}
	// Every time, not only for the first network: a reboot or a flush may
	// have taken the chains while the records stayed.
	if err := m.ipt.ensureBase(); err != nil {
		return n, err
	}
	if len(existing) == 0 {
		undo = append(undo, func() { m.ipt.removeBase() })
	}
	rules := NetworkRules(n)
	if err := m.ipt.apply("-A", rules); err != nil {
		return n, err
	}
	undo = append(undo, func() { m.ipt.remove(rules) })
	b, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		return n, err
	}
	if err := writeFileAtomic(m.networkFile(n.Name), b); err != nil {
		return n, err
	}
	return n, nil
}

// sysctl writes a /proc/sys/net value in the host's namespace.
func (m *Manager) sysctl(key, value string) error {
	return InNamespace(m.opts.HostNS, func() error {
		if err := os.WriteFile("/proc/sys/"+key, []byte(value), 0o644); err != nil {
			return fmt.Errorf("network: sysctl %s=%s: %w", strings.ReplaceAll(key, "/", "."), value, err)
		}
		return nil
	})
}

// Remove deletes a network with no containers attached: its rules, its
// bridge, its allocations; with the last network, berth's chains.
func (m *Manager) Remove(name string) error {
	return m.locked(func() error {
		n, err := m.Get(name)
		if err != nil {
			return err
		}
		eps, err := m.endpoints(name)
		if err != nil {
			return err
		}
		if len(eps) > 0 {
			var who []string
			for _, e := range eps {
				who = append(who, e.Name)
			}
			return fmt.Errorf("network: cannot remove %q: %w (%s): stop or disconnect them first", name, ErrNetworkInUse, strings.Join(who, ", "))
		}
		errs := []error{m.ipt.remove(NetworkRules(n))}
		h, err := m.handle("")
		if err != nil {
			return err
		}
		defer h.Close()
		if l, err := h.LinkByName(n.Bridge); err == nil {
			if err := h.LinkDel(l); err != nil {
				errs = append(errs, fmt.Errorf("network: deleting bridge %s: %w", n.Bridge, err))
			}
		}
		errs = append(errs, m.ipam.Drop(name))
		os.Remove(filepath.Join(m.opts.StateDir, "endpoints", name))
		if err := os.Remove(m.networkFile(name)); err != nil {
			errs = append(errs, fmt.Errorf("network: %w", err))
		}
		if rest, err := m.List(); err == nil && len(rest) == 0 {
			errs = append(errs, m.ipt.removeBase())
		}
		return errors.Join(errs...)
	})
}
