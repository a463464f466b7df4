package network_test

import (
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	network "berth/05-network"
	"berth/steps/testkit"
)

// benchLab is a namespace playing the host, with a network, and one
// playing a container's.
func benchLab(b *testing.B) (*network.Manager, string) {
	testkit.RequireRoot(b)
	host, ctr := testkit.NetNS(b), testkit.NetNS(b)
	m, err := network.Open(network.Options{StateDir: b.TempDir(), HostNS: host})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.Create(network.Config{Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Remove("bench") })
	return m, ctr
}

func attach(b *testing.B, m *network.Manager, ctr string, ports []network.PortMapping) {
	if _, err := m.Attach("bench", network.EndpointConfig{ID: "c", Name: "c", NetNS: ctr, Ports: ports}); err != nil {
		b.Fatal(err)
	}
}

func detach(b *testing.B, m *network.Manager) {
	if err := m.Detach("bench", "c"); err != nil {
		b.Fatal(err)
	}
}

// The target: setup plus teardown of one container's endpoint
// ≤ 10 ms. See BenchmarkKernelVethAddDelete for the part no user space
// program can shorten.
func BenchmarkEndpointSetupTeardown(b *testing.B) {
	m, ctr := benchLab(b)
	for b.Loop() {
		attach(b, m, ctr, nil)
		detach(b, m)
	}
}

func BenchmarkEndpointSetup(b *testing.B) {
	m, ctr := benchLab(b)
	for b.Loop() {
		attach(b, m, ctr, nil)
		b.StopTimer()
		detach(b, m)
		b.StartTimer()
	}
}

func BenchmarkEndpointTeardown(b *testing.B) {
	m, ctr := benchLab(b)
	for b.Loop() {
		b.StopTimer()
		attach(b, m, ctr, nil)
		b.StartTimer()
		detach(b, m)
	}
}

// With a published port, setup and teardown each run iptables-restore
// once: a process, not a system call.
func BenchmarkEndpointWithPublishedPort(b *testing.B) {
	m, ctr := benchLab(b)
	ports := []network.PortMapping{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}
	for b.Loop() {
		attach(b, m, ctr, ports)
		detach(b, m)
	}
}

// BenchmarkKernelVethAddDelete is the floor, in the same run: the bare
// netlink calls that create a veth pair across two namespaces and delete
// it. Deleting a network device waits for RCU grace periods
// (synchronize_net in the kernel), which is most of a teardown.
func BenchmarkKernelVethAddDelete(b *testing.B) {
	testkit.RequireRoot(b)
	host, ctr := testkit.NetNS(b), testkit.NetNS(b)
	hns, err := netns.GetFromPath(host)
	if err != nil {
		b.Fatal(err)
	}
	defer hns.Close()
	cns, err := netns.GetFromPath(ctr)
	if err != nil {
		b.Fatal(err)
	}
	defer cns.Close()
	h, err := netlink.NewHandleAt(hns)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	for b.Loop() {
		v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "vbench"}, PeerName: "eth0", PeerNamespace: netlink.NsFd(cns)}
		if err := h.LinkAdd(v); err != nil {
			b.Fatal(err)
		}
		if err := h.LinkDel(v); err != nil {
			b.Fatal(err)
		}
	}
}
