package network

import (
	"fmt"
	"net/netip"
	"strings"
)

// Rule is one iptables rule: a table, a chain and the match and target
// that follow `iptables -A CHAIN`.
type Rule struct {
	Table string
	Chain string
	Args  []string
}

// String renders r as the command that appends it.
func (r Rule) String() string {
	return fmt.Sprintf("iptables -t %s -A %s %s", r.Table, r.Chain, strings.Join(r.Args, " "))
}

// line renders r for iptables-restore with the given operation (-A, -I,
// -D).
func (r Rule) line(op string) string {
	return op + " " + r.Chain + " " + strings.Join(r.Args, " ")
}

// berth's chains. Each built-in chain jumps to one of them once; every
// other rule berth writes lives inside them.
const (
	ChainDNAT       = "BERTH"             // nat: published ports, from PREROUTING and OUTPUT
	ChainPost       = "BERTH-POSTROUTING" // nat: masquerade, from POSTROUTING
	ChainForward    = "BERTH-FORWARD"     // filter: what may cross a bridge, from FORWARD
	ChainIsolation1 = "BERTH-ISOLATION-1" // filter: leaving a berth bridge for another...
	ChainIsolation2 = "BERTH-ISOLATION-2" // ...is dropped here
	ChainInput      = "BERTH-INPUT"       // filter: what containers may send to the host itself
)

// chain is one of berth's chains and the built-in jumps that lead to it.
type chain struct {
	Table, Name string
	Jumps       []Rule // inserted at the top of built-in chains
}

// baseChains is what the first network creates and the last one removes.
// The jumps to BERTH match only packets for the host's own addresses
// (addrtype LOCAL), so forwarded traffic is never DNATed by mistake; OUTPUT
// includes 127.0.0.1, so the host itself reaches published ports.
var baseChains = []chain{
	{"nat", ChainDNAT, []Rule{
		{"nat", "PREROUTING", []string{"-m", "addrtype", "--dst-type", "LOCAL", "-j", ChainDNAT}},
		{"nat", "OUTPUT", []string{"-m", "addrtype", "--dst-type", "LOCAL", "-j", ChainDNAT}},
	}},
	{"nat", ChainPost, []Rule{{"nat", "POSTROUTING", []string{"-j", ChainPost}}}},
	{"filter", ChainIsolation2, nil},
	{"filter", ChainIsolation1, nil},
	{"filter", ChainForward, []Rule{{"filter", "FORWARD", []string{"-j", ChainForward}}}},
	{"filter", ChainInput, []Rule{{"filter", "INPUT", []string{"-j", ChainInput}}}},
}

// baseRules come first in berth's own chains: isolation is decided before
// anything is accepted.
var baseRules = []Rule{{"filter", ChainForward, []string{"-j", ChainIsolation1}}}

// tagged puts a comment naming the network before the rule's target, so
// that iptables -S says whose rule it is.
func tagged(n Network, args ...string) []string {
	c := []string{"-m", "comment", "--comment", "berth:" + n.Name}
	for i, a := range args {
		if a == "-j" {
			return append(append(append([]string{}, args[:i]...), c...), args[i:]...)
		}
	}
	return append(args, c...)
}

// NetworkRules are the rules a network adds:
//   - masquerade what leaves the subnet for anywhere but the bridge, so
//     the outside sees the host's address;
//   - masquerade the host's own 127.0.0.1 when it reaches a container
//     through a published port (the reply could not come back to a
//     loopback address);
//   - the host's loopback stays the host's: route_localnet, which lets
//     127.0.0.1 reach containers, would also let a container that routes
//     127.0.0.1 to its gateway reach services listening on the host's
//     loopback, so new connections from the bridge to 127.0.0.0/8 are
//     dropped (replies to the host's own 127.0.0.1 still pass);
//   - isolation: nothing from this bridge to another berth bridge;
//   - forward: replies back in, and anything out.
func NetworkRules(n Network) []Rule {
	return []Rule{
		{"nat", ChainPost, tagged(n, "-s", n.Subnet.String(), "!", "-o", n.Bridge, "-j", "MASQUERADE")},
		{"nat", ChainPost, tagged(n, "-s", "127.0.0.0/8", "-o", n.Bridge, "-j", "MASQUERADE")},
		{"filter", ChainInput, tagged(n, "-i", n.Bridge, "-d", "127.0.0.0/8", "-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED", "-j", "DROP")},
		{"filter", ChainIsolation1, tagged(n, "-i", n.Bridge, "!", "-o", n.Bridge, "-j", ChainIsolation2)},
		{"filter", ChainIsolation2, tagged(n, "-o", n.Bridge, "-j", "DROP")},
		{"filter", ChainForward, tagged(n, "-o", n.Bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT")},
		{"filter", ChainForward, tagged(n, "-i", n.Bridge, "-j", "ACCEPT")},
	}
}

// PortRules publish p of the container at ip: DNAT the host port to the
// container's, and let the translated packets through to the bridge.
func PortRules(n Network, ip netip.Addr, p PortMapping) []Rule {
	dnat := []string{"-p", p.Proto}
	if p.HostIP.IsValid() {
		dnat = append(dnat, "-d", p.HostIP.String()+"/32")
	}
	dnat = append(dnat, "-m", p.Proto, "--dport", fmt.Sprint(p.HostPort),
		"-j", "DNAT", "--to-destination", fmt.Sprintf("%s:%d", ip, p.ContainerPort))
	return []Rule{
		{"nat", ChainDNAT, tagged(n, dnat...)},
		{"filter", ChainForward, tagged(n, "-d", ip.String()+"/32", "!", "-i", n.Bridge, "-o", n.Bridge,
			"-p", p.Proto, "-m", p.Proto, "--dport", fmt.Sprint(p.ContainerPort), "-j", "ACCEPT")},
	}
}

// restoreScript renders rules as iptables-restore input that applies op
// to each, one transaction per table. With --noflush it changes nothing
// else.
func restoreScript(op string, rules []Rule) string {
	var b strings.Builder
	for _, table := range []string{"nat", "filter"} {
		var lines []string
		for _, r := range rules {
			if r.Table == table {
				lines = append(lines, r.line(op))
			}
		}
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(&b, "*%s\n%s\nCOMMIT\n", table, strings.Join(lines, "\n"))
	}
	return b.String()
}
