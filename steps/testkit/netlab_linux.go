package testkit

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// NetLab is a small network made for a test or a demo, out of the
// machine's way: a namespace playing the host and one playing the outside
// world, joined by a veth pair, "uplink" on the host and "wan" outside.
// Its addresses come from TEST-NET-1 (192.0.2.0/24), which is never routed
// for real.
type NetLab struct {
	Host, Outside         string // paths that open the namespaces
	HostAddr, OutsideAddr string
	release               []func() error
}

// NewNetLab builds a NetLab; Close takes it down. Everything in it lives
// in its two namespaces, so it vanishes with them.
func NewNetLab() (lab *NetLab, err error) {
	lab = &NetLab{HostAddr: "192.0.2.1", OutsideAddr: "192.0.2.2"}
	defer func() {
		if err != nil {
			lab.Close()
		}
	}()
	for _, p := range []*string{&lab.Host, &lab.Outside} {
		path, release, err := NewNetNS()
		if err != nil {
			return nil, err
		}
		*p = path
		lab.release = append(lab.release, release)
	}
	hns, err := netns.GetFromPath(lab.Host)
	if err != nil {
		return nil, err
	}
	defer hns.Close()
	ons, err := netns.GetFromPath(lab.Outside)
	if err != nil {
		return nil, err
	}
	defer ons.Close()
	hh, err := netlink.NewHandleAt(hns)
	if err != nil {
		return nil, err
	}
	defer hh.Close()
	oh, err := netlink.NewHandleAt(ons)
	if err != nil {
		return nil, err
	}
	defer oh.Close()
	if err := hh.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "uplink"}, PeerName: "wan", PeerNamespace: netlink.NsFd(ons)}); err != nil {
		return nil, fmt.Errorf("testkit: the lab's uplink: %w", err)
	}
	for _, end := range []struct {
		h          *netlink.Handle
		name, addr string
	}{{hh, "uplink", lab.HostAddr}, {oh, "wan", lab.OutsideAddr}} {
		link, err := end.h.LinkByName(end.name)
		if err != nil {
			return nil, fmt.Errorf("testkit: the lab's %s: %w", end.name, err)
		}
		a, err := netlink.ParseAddr(end.addr + "/24")
		if err != nil {
			return nil, err
		}
		if err := end.h.AddrAdd(link, a); err != nil {
			return nil, fmt.Errorf("testkit: the lab's %s: %w", end.name, err)
		}
		if err := end.h.LinkSetUp(link); err != nil {
			return nil, fmt.Errorf("testkit: the lab's %s: %w", end.name, err)
		}
	}
	return lab, nil
}

// Close releases the lab's namespaces; the kernel deletes what was in
// them.
func (l *NetLab) Close() error {
	var errs []error
	for i := len(l.release) - 1; i >= 0; i-- {
		errs = append(errs, l.release[i]())
	}
	l.release = nil
	return errors.Join(errs...)
}

// Lab is NewNetLab for a test: it needs root and goes when the test ends.
func Lab(t testing.TB) *NetLab {
	t.Helper()
	RequireRoot(t)
	lab, err := NewNetLab()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lab.Close() })
	return lab
}
