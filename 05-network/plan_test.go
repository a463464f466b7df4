package network_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	network "berth/05-network"
)

func TestParsePort(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	for _, tc := range []struct {
		in   string
		want network.PortMapping
		err  string
	}{
		{in: "80", want: network.PortMapping{ContainerPort: 80, Proto: "tcp"}},
		{in: "8080:80", want: network.PortMapping{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}},
		{in: "127.0.0.1:8080:80", want: network.PortMapping{HostIP: lo, HostPort: 8080, ContainerPort: 80, Proto: "tcp"}},
		{in: "127.0.0.1::80", want: network.PortMapping{HostIP: lo, ContainerPort: 80, Proto: "tcp"}},
		{in: "0.0.0.0:53:53/udp", want: network.PortMapping{HostPort: 53, ContainerPort: 53, Proto: "udp"}},
		{in: "8053:53/udp", want: network.PortMapping{HostPort: 8053, ContainerPort: 53, Proto: "udp"}},
		{in: "80/sctp", err: `protocol "sctp"`},
		{in: "8080-8081:80-81", err: "port ranges"},
		{in: "0", err: "from 1 to 65535"},
		{in: "70000", err: "from 1 to 65535"},
		{in: "http", err: "not a port number"},
		{in: "localhost:80:80", err: "not an IPv4 address"},
		{in: "1:2:3:4", err: "want [host-ip:]"},
		{in: ":80", want: network.PortMapping{ContainerPort: 80, Proto: "tcp"}},
	} {
		got, err := network.ParsePort(tc.in)
		if tc.err != "" {
			assert.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]network.Mode{
		"":         {Kind: "bridge", Network: "bridge"},
		"bridge":   {Kind: "bridge", Network: "bridge"},
		"none":     {Kind: "none"},
		"host":     {Kind: "host"},
		"backend":  {Kind: "bridge", Network: "backend"},
		"my.net-1": {Kind: "bridge", Network: "my.net-1"},
	} {
		got, err := network.ParseMode(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"../etc", "a b", "-x"} {
		_, err := network.ParseMode(bad)
		assert.Error(t, err, bad)
	}
}

func TestParseSubnet(t *testing.T) {
	p, err := network.ParseSubnet("10.90.0.0/24")
	require.NoError(t, err)
	assert.Equal(t, "10.90.0.1", network.Gateway(p).String())
	for in, msg := range map[string]string{
		"10.90.0.5/24": "did you mean 10.90.0.0/24",
		"fd00::/64":    "only IPv4",
		"10.0.0.0/30":  "from /8 to /29",
		"10.0.0.0":     "CIDR form",
	} {
		_, err := network.ParseSubnet(in)
		assert.ErrorContains(t, err, msg, in)
	}
}

func TestCheckSubnetRefusesOverlaps(t *testing.T) {
	routes := []network.Route{
		{Dst: netip.MustParsePrefix("0.0.0.0/0"), Device: "eth0"},
		{Dst: netip.MustParsePrefix("192.168.1.0/24"), Device: "eth0"},
		{Dst: netip.MustParsePrefix("172.17.0.0/16"), Device: "docker0"},
	}
	nets := []network.Network{{Name: "red", Subnet: netip.MustParsePrefix("10.89.0.0/24")}}
	for subnet, want := range map[string]string{
		"10.90.0.0/24":   "",
		"192.168.0.0/16": "overlaps the host's route to 192.168.1.0/24 via eth0",
		"172.17.5.0/24":  "via docker0",
		"10.89.0.128/25": `overlaps network "red"'s 10.89.0.0/24`,
		"10.0.0.0/8":     `network "red"`,
	} {
		err := network.CheckSubnet(netip.MustParsePrefix(subnet), routes, nets)
		if want == "" {
			assert.NoError(t, err, subnet)
			continue
		}
		assert.ErrorContains(t, err, want, subnet)
		assert.ErrorIs(t, err, network.ErrSubnetConflict)
	}
}

func TestHostsFile(t *testing.T) {
	got := string(network.HostsFile(
		network.HostEntry{IP: netip.MustParseAddr("10.89.0.3"), Names: []string{"web", "4f2a9c"}},
		[]network.HostEntry{
			{IP: netip.MustParseAddr("10.89.0.10"), Names: []string{"db"}},
			{IP: netip.MustParseAddr("10.89.0.2"), Names: []string{"cache"}},
		}))
	assert.True(t, strings.HasPrefix(got, "127.0.0.1\tlocalhost\n::1\tlocalhost"))
	assert.Contains(t, got, "10.89.0.3\tweb 4f2a9c\n10.89.0.2\tcache\n10.89.0.10\tdb\n", "self first, then peers by address")
	assert.NotContains(t, string(network.HostsFile(network.HostEntry{}, nil)), "\t\n", "no address, no line for it")
}

func TestResolvConf(t *testing.T) {
	for _, tc := range []struct{ host, want string }{
		{"nameserver 192.168.1.1\nsearch lan\n", "nameserver 192.168.1.1\nsearch lan\n"},
		{"# systemd-resolved\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n",
			"nameserver 8.8.8.8\nnameserver 8.8.4.4\noptions edns0 trust-ad\nsearch .\n"},
		{"nameserver ::1\nnameserver 1.1.1.1\n", "nameserver 1.1.1.1\n"},
		{"nameserver fe80::1%eth0\n", "nameserver fe80::1%eth0\n"},
		{"", "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"},
		{"sortlist 130.155.160.0\nnameserver\n", "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"},
	} {
		assert.Equal(t, tc.want, string(network.ResolvConf([]byte(tc.host))), tc.host)
	}
}

func TestRulesLiveInBerthChains(t *testing.T) {
	n := network.Network{Name: "red", Bridge: "br-red", Subnet: netip.MustParsePrefix("10.89.0.0/24")}
	rules := network.NetworkRules(n)
	rules = append(rules, network.PortRules(n, netip.MustParseAddr("10.89.0.2"),
		network.PortMapping{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 8080, ContainerPort: 80, Proto: "tcp"})...)
	var all []string
	for _, r := range rules {
		assert.True(t, strings.HasPrefix(r.Chain, "BERTH"), "%s: every rule lives in a berth chain", r)
		all = append(all, r.String())
	}
	text := strings.Join(all, "\n")
	assert.Contains(t, text, "iptables -t nat -A BERTH-POSTROUTING -s 10.89.0.0/24 ! -o br-red -m comment --comment berth:red -j MASQUERADE")
	assert.Contains(t, text, "iptables -t nat -A BERTH -p tcp -d 127.0.0.1/32 -m tcp --dport 8080 -m comment --comment berth:red -j DNAT --to-destination 10.89.0.2:80")
	assert.Contains(t, text, "-A BERTH-ISOLATION-2 -o br-red -m comment --comment berth:red -j DROP")
	assert.Contains(t, text, "--comment berth:red")
	assert.Contains(t, text, "-A BERTH-INPUT -i br-red -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED -m comment --comment berth:red -j DROP", "the host's loopback is not the containers'")
}
