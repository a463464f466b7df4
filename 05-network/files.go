package network

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// HostEntry is a line of /etc/hosts: an address and its names.
type HostEntry struct {
	IP    netip.Addr
	Names []string
}

// HostsFile is a container's /etc/hosts: localhost, its own address under
// its own names, then its peers on user-defined networks, so that they
// resolve each other by name. self.IP may be zero (--network none).
func HostsFile(self HostEntry, peers []HostEntry) []byte {
	var b bytes.Buffer
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
	if self.IP.IsValid() && len(self.Names) > 0 {
		fmt.Fprintf(&b, "%s\t%s\n", self.IP, strings.Join(self.Names, " "))
	}
	sorted := append([]HostEntry(nil), peers...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].IP.Less(sorted[j].IP) })
	for _, p := range sorted {
		if len(p.Names) > 0 {
			fmt.Fprintf(&b, "%s\t%s\n", p.IP, strings.Join(p.Names, " "))
		}
	}
	return b.Bytes()
}

// DefaultNameservers are used when the host has none a container can
// reach, as Docker does.
var DefaultNameservers = []string{"8.8.8.8", "8.8.4.4"}

// ResolvConf derives a container's /etc/resolv.conf from the host's. A
// nameserver on a loopback address (systemd-resolved's 127.0.0.53, a
// local dnsmasq) means nothing inside the container's own network
// namespace, so those lines are dropped; if none is left, the defaults
// are used. search and options lines are kept.
func ResolvConf(host []byte) []byte {
	var out []string
	servers := 0
	sc := bufio.NewScanner(bytes.NewReader(host))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) < 2 {
				continue
			}
			a, err := netip.ParseAddr(strings.SplitN(f[1], "%", 2)[0])
			if err != nil || a.IsLoopback() {
				continue
			}
			servers++
		case "search", "domain", "options":
		default:
			continue
		}
		out = append(out, strings.Join(f, " "))
	}
	if servers == 0 {
		var ns []string
		for _, s := range DefaultNameservers {
			ns = append(ns, "nameserver "+s)
		}
		out = append(ns, out...)
	}
	return []byte(strings.Join(out, "\n") + "\n")
}
