package network_test

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	namespaces "berth/02-namespaces"
	network "berth/05-network"
	"berth/steps/testkit"
)

const httpd = "exec httpd -f -p 80 -h /www"

func TestContainersReachEachOtherByIPAndName(t *testing.T) {
	l := newLab(t)
	l.createNetwork("backend", "10.89.1.0/24")
	web := l.start("backend", "web", nil, "/bin/sh", "-c", httpd)
	assert.Equal(t, "10.89.1.2", web.ep.IP.String())
	eventually(t, func() (string, error) { return httpGet(l.host, web.ep.IP.String()+":80") })

	out, err := l.run("backend", "client", fmt.Sprintf(
		"wget -q -O - http://%s/ && wget -q -O - http://web/ && ip -o -4 addr show eth0 && ip route && cat /etc/resolv.conf", web.ep.IP))
	require.NoError(t, err, out)
	assert.Equal(t, 2, strings.Count(out, "hello from web"), "by address and by name:\n%s", out)
	assert.Contains(t, out, "eth0    inet 10.89.1.3/24", "the container's end is eth0 with an address of the network")
	assert.Contains(t, out, "default via 10.89.1.1 dev eth0", "the gateway is the bridge")
	assert.Contains(t, out, "nameserver 8.8.8.8", "the host's loopback resolver is replaced")
	assert.Contains(t, out, "search example.test")

	hosts, err := os.ReadFile(filepath.Join(web.rootfs, "etc/hosts"))
	require.NoError(t, err)
	assert.Contains(t, string(hosts), "10.89.1.2\tweb\n10.89.1.3\tclient\n", "each knows its own name and its peers'")
	require.NoError(t, l.m.Detach("backend", "client"))
	hosts, err = os.ReadFile(filepath.Join(web.rootfs, "etc/hosts"))
	require.NoError(t, err)
	assert.NotContains(t, string(hosts), "client", "a peer that left is gone from the others' hosts files")
}

func TestDefaultNetworkHasNoNames(t *testing.T) {
	l := newLab(t)
	t.Cleanup(func() { assert.NoError(t, l.m.Remove(network.DefaultNetwork)) })
	web := l.start(network.DefaultNetwork, "web", nil, "/bin/sh", "-c", httpd)
	assert.True(t, network.DefaultSubnet.Contains(web.ep.IP))
	eventually(t, func() (string, error) { return httpGet(l.host, web.ep.IP.String()+":80") })
	out, err := l.run(network.DefaultNetwork, "client", fmt.Sprintf("wget -q -O - http://%s/; grep -w web /etc/hosts || echo no name for web", web.ep.IP))
	require.NoError(t, err, out)
	assert.Contains(t, out, "hello from web")
	assert.Contains(t, out, "no name for web", "as on Docker's default bridge, names resolve only on user-defined networks")
}

func TestOutboundTrafficIsMasqueraded(t *testing.T) {
	l := newLab(t)
	l.createNetwork("front", "")
	// A web server in the outside world that answers with who called.
	var ln net.Listener
	require.NoError(t, network.InNamespace(l.outside, func() (err error) {
		ln, err = net.Listen("tcp4", outsideAddr+":9000")
		return err
	}))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "you are %s\n", r.RemoteAddr)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	out, err := l.run("front", "client", "wget -q -O - http://"+outsideAddr+":9000/")
	require.NoError(t, err, out)
	assert.Contains(t, out, "you are "+hostAddr+":", "the outside sees the host's address, not the container's")
	assert.Contains(t, iptablesIn(t, l.host, "nat"), "-A BERTH-POSTROUTING -s 10.89.0.0/24 ! -o br-")
}

func TestPublishedPorts(t *testing.T) {
	l := newLab(t)
	l.createNetwork("front", "")
	ports := []network.PortMapping{
		{HostPort: 8080, ContainerPort: 80, Proto: "tcp"},
		{HostPort: 5353, ContainerPort: 53, Proto: "udp"},
		{ContainerPort: 80, Proto: "tcp"}, // a host port of the kernel's choosing
	}
	web := l.start("front", "web", ports, "/bin/sh", "-c", "berth-probe udp-echo 53 & "+httpd)
	require.Len(t, web.ep.Ports, 3)
	free := web.ep.Ports[2].HostPort
	assert.NotZero(t, free)

	for _, from := range []struct{ ns, addr string }{
		{l.outside, hostAddr + ":8080"},                   // another machine
		{l.host, hostAddr + ":8080"},                      // the host, by its address
		{l.host, "127.0.0.1:8080"},                        // the host, by loopback
		{l.outside, fmt.Sprintf("%s:%d", hostAddr, free)}, // the chosen port
	} {
		body := eventually(t, func() (string, error) { return httpGet(from.ns, from.addr) })
		assert.Equal(t, "hello from web\n", body, "%s from %s", from.addr, from.ns)
	}

	// UDP, from the outside: the container sees the real sender.
	var c net.PacketConn
	require.NoError(t, network.InNamespace(l.outside, func() (err error) {
		c, err = net.ListenPacket("udp4", outsideAddr+":0")
		return err
	}))
	defer c.Close()
	reply := eventually(t, func() (string, error) {
		if _, err := c.WriteTo([]byte("ping"), &net.UDPAddr{IP: net.ParseIP(hostAddr), Port: 5353}); err != nil {
			return "", err
		}
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf := make([]byte, 256)
		n, _, err := c.ReadFrom(buf)
		return string(buf[:n]), err
	})
	assert.Contains(t, reply, "echo from "+outsideAddr+":")
	assert.Contains(t, reply, ": ping")

	nat := iptablesIn(t, l.host, "nat")
	assert.Contains(t, nat, fmt.Sprintf("-A BERTH -p tcp -m tcp --dport 8080 -m comment --comment \"berth:front\" -j DNAT --to-destination %s:80", web.ep.IP))
	assert.Contains(t, nat, fmt.Sprintf("-A BERTH -p udp -m udp --dport 5353 -m comment --comment \"berth:front\" -j DNAT --to-destination %s:53", web.ep.IP))
}

func TestNetworksAreIsolated(t *testing.T) {
	l := newLab(t)
	l.createNetwork("red", "")
	l.createNetwork("blue", "")
	web := l.start("blue", "web", nil, "/bin/sh", "-c", httpd)
	// (busybox 1.35's wget -T crashes; timeout(1) bounds the wait instead.)
	// The host reaches blue's server: what follows is isolation, not a
	// server that is down.
	eventually(t, func() (string, error) { return httpGet(l.host, web.ep.IP.String()+":80") })
	out, err := l.run("red", "intruder", fmt.Sprintf("timeout 2 wget -q -O - http://%s/ || echo unreachable", web.ep.IP))
	require.NoError(t, err, out)
	assert.Contains(t, out, "unreachable")
	assert.NotContains(t, out, "hello from web")
	out, err = l.run("blue", "neighbour", fmt.Sprintf("wget -q -O - http://%s/", web.ep.IP))
	require.NoError(t, err, out)
	assert.Contains(t, out, "hello from web", "the same network is reachable")
}

func TestNoneAndHostModes(t *testing.T) {
	l := newLab(t)
	out, err := l.run("", "hermit", "ip -o link")
	require.NoError(t, err, out)
	require.Len(t, lines(out), 1, out)
	assert.Contains(t, out, "lo: <LOOPBACK,UP,LOWER_UP>", "none: a namespace of its own, with only lo, up")

	// host: no network namespace; the container sees the host's interfaces.
	// It is started from a thread in the lab's host namespace, which it
	// inherits.
	var b testkit.SyncBuffer
	err = network.InNamespace(l.host, func() error {
		return namespaces.Run(t.Context(), namespaces.Spec{Rootfs: testkit.Rootfs(t), Args: []string{"/bin/sh", "-c", "ip -o -4 addr show uplink"},
			Namespaces: []namespaces.Namespace{namespaces.Mount, namespaces.PID}}, nil, &b, &b)
	})
	require.NoError(t, err, b.String())
	assert.Contains(t, b.String(), "inet "+hostAddr+"/24")
}

func TestTeardownLeavesNothing(t *testing.T) {
	l := newLab(t)
	before := linksIn(t, l.host)
	n, err := l.m.Create(network.Config{Name: "temp"})
	require.NoError(t, err)
	a := l.start("temp", "a", []network.PortMapping{{HostPort: 8081, ContainerPort: 80, Proto: "tcp"}}, "sleep", "60")
	l.start("temp", "b", nil, "sleep", "60")
	assert.Contains(t, linksIn(t, l.host), n.Bridge)
	assert.Contains(t, linksIn(t, l.host), a.ep.HostVeth)

	err = l.m.Remove("temp")
	assert.ErrorIs(t, err, network.ErrNetworkInUse)
	assert.ErrorContains(t, err, "(a, b)")
	_, err = l.m.Get("temp")
	assert.NoError(t, err, "a refused removal changes nothing")

	for _, id := range []string{"a", "b"} {
		require.NoError(t, l.m.Detach("temp", id))
		require.NoError(t, l.m.Detach("temp", id), "detaching twice is harmless")
	}
	assert.NotContains(t, linksIn(t, l.host), a.ep.HostVeth)
	assert.NotContains(t, iptablesIn(t, l.host, "nat"), "8081", "the port's rules are gone with its container")
	require.NoError(t, l.m.Remove("temp"))

	assert.ElementsMatch(t, before, linksIn(t, l.host), "no link left")
	for _, table := range []string{"nat", "filter"} {
		assert.NotContains(t, iptablesIn(t, l.host, table), "BERTH", "no rule or chain left in %s", table)
	}
	left, err := l.m.List()
	require.NoError(t, err)
	assert.Empty(t, left)
}

// Release leaves the veth pair of an exited container to the kernel,
// which deletes it with the container's dying network namespace, and
// frees everything else: the address, the port rules and the record.
func TestReleaseLeavesThePairToTheKernel(t *testing.T) {
	l := newLab(t)
	l.createNetwork("rel", "")
	a := l.start("rel", "a", []network.PortMapping{{HostPort: 8082, ContainerPort: 80, Proto: "tcp"}}, "sleep", "60")
	require.Contains(t, linksIn(t, l.host), a.ep.HostVeth)
	require.NoError(t, a.Signal(unix.SIGKILL))
	a.Wait() // killed: the namespace's last process is gone

	require.NoError(t, l.m.Release("rel", "a"))
	eps, err := l.m.Endpoints("rel")
	require.NoError(t, err)
	assert.Empty(t, eps, "the record is gone")
	owners, err := l.m.Allocations("rel")
	require.NoError(t, err)
	assert.Empty(t, owners, "the address is free")
	assert.NotContains(t, iptablesIn(t, l.host, "nat"), "8082", "the port's rules are gone")
	assert.Eventually(t, func() bool { return !slices.Contains(linksIn(t, l.host), a.ep.HostVeth) },
		10*time.Second, 20*time.Millisecond, "the kernel deletes %s with the namespace", a.ep.HostVeth)
	require.NoError(t, l.m.Release("rel", "a"), "releasing twice is harmless")
}

func TestFailuresLeaveNothingHalfMade(t *testing.T) {
	l := newLab(t)
	_, err := l.m.Create(network.Config{Name: "clash", Subnet: netip.MustParsePrefix("192.0.2.0/25")})
	assert.ErrorIs(t, err, network.ErrSubnetConflict)
	assert.ErrorContains(t, err, "route to 192.0.2.0/24 via uplink")
	_, err = l.m.Create(network.Config{Name: "host"})
	assert.ErrorContains(t, err, "network mode")

	n := l.createNetwork("ok", "")
	_, err = l.m.Create(network.Config{Name: "ok"})
	assert.ErrorIs(t, err, network.ErrNetworkExists)
	before := iptablesIn(t, l.host, "nat") + iptablesIn(t, l.host, "filter")

	_, err = l.m.Attach("ok", network.EndpointConfig{ID: "ghost", NetNS: "/proc/999999999/ns/net",
		Ports: []network.PortMapping{{HostPort: 8082, ContainerPort: 80, Proto: "tcp"}}})
	assert.ErrorContains(t, err, "network namespace /proc/999999999/ns/net")
	eps, err := l.m.Endpoints("ok")
	require.NoError(t, err)
	assert.Empty(t, eps)
	for _, name := range linksIn(t, l.host) {
		assert.False(t, strings.HasPrefix(name, "veth"), "no veth left: %s", name)
	}
	assert.Equal(t, before, iptablesIn(t, l.host, "nat")+iptablesIn(t, l.host, "filter"), "no rule left")
	held, err := l.m.Allocations(n.Name)
	require.NoError(t, err)
	assert.Empty(t, held, "the address went back")

	_, err = l.m.Attach("missing", network.EndpointConfig{ID: "x", NetNS: "/proc/self/ns/net"})
	assert.ErrorIs(t, err, network.ErrNoSuchNetwork)
}

func TestPruneRecoversFromACrash(t *testing.T) {
	l := newLab(t)
	l.createNetwork("crashy", "")
	b := l.start("crashy", "gone", nil, "sleep", "60")
	// The container dies while no berth process is watching: its veth pair
	// goes with its namespace; its record and address stay.
	require.NoError(t, b.Signal(os.Kill))
	b.Wait()
	eps, err := l.m.Endpoints("crashy")
	require.NoError(t, err)
	require.Len(t, eps, 1)
	require.NoError(t, l.m.Prune(func(id string) bool { return false }))
	eps, err = l.m.Endpoints("crashy")
	require.NoError(t, err)
	assert.Empty(t, eps, "the dead container's endpoint is gone")
	held, err := l.m.Allocations("crashy")
	require.NoError(t, err)
	assert.NotContains(t, held, b.ep.IP, "and its address is free again")
}

func TestAContainerOnTwoNetworksKnowsPeersOnBoth(t *testing.T) {
	l := newLab(t)
	l.createNetwork("red", "")
	l.createNetwork("blue", "")
	hosts := filepath.Join(t.TempDir(), "hosts")
	require.NoError(t, os.WriteFile(hosts, nil, 0o644))
	attach := func(net, id, ifname, ns, hostsPath string) network.Endpoint {
		e, err := l.m.Attach(net, network.EndpointConfig{ID: id, Name: id, NetNS: ns, IfName: ifname, HostsPath: hostsPath})
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, l.m.Detach(net, id)) })
		return e
	}
	multi := testkit.NetNS(t)
	onBlue := attach("blue", "multi", "", multi, hosts)
	onRed := attach("red", "multi", "", multi, hosts)
	assert.Equal(t, []string{"eth0", "eth1"}, []string{onBlue.IfName, onRed.IfName}, "one interface per network, named in turn")
	r := attach("red", "r1", "", testkit.NetNS(t), "")
	b := attach("blue", "b1", "", testkit.NetNS(t), "")

	got, err := os.ReadFile(hosts)
	require.NoError(t, err)
	assert.Contains(t, string(got), onBlue.IP.String()+"\tmulti\n", "its own address on the first network by name")
	assert.Contains(t, string(got), r.IP.String()+"\tr1\n")
	assert.Contains(t, string(got), b.IP.String()+"\tb1\n", "a change on red kept blue's peers")
}

func TestAPublishedPortIsTakenOnce(t *testing.T) {
	l := newLab(t)
	l.createNetwork("front", "")
	p := []network.PortMapping{{HostPort: 8090, ContainerPort: 80, Proto: "tcp"}}
	l.start("front", "first", p, "sleep", "60")
	_, err := l.m.Attach("front", network.EndpointConfig{ID: "second", NetNS: testkit.NetNS(t), Ports: p})
	assert.ErrorIs(t, err, network.ErrPortInUse)
	assert.ErrorContains(t, err, "already published by container first")

	// A program on the host holds a port: publishing it would shadow it.
	var ln net.Listener
	require.NoError(t, network.InNamespace(l.host, func() (err error) {
		ln, err = net.Listen("tcp4", "0.0.0.0:8091")
		return err
	}))
	defer ln.Close()
	_, err = l.m.Attach("front", network.EndpointConfig{ID: "third", NetNS: testkit.NetNS(t),
		Ports: []network.PortMapping{{HostPort: 8091, ContainerPort: 80, Proto: "tcp"}}})
	assert.ErrorIs(t, err, network.ErrPortInUse)
	eps, err := l.m.Endpoints("front")
	require.NoError(t, err)
	assert.Len(t, eps, 1, "the refused containers left nothing")
}
