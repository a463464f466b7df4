//go:build linux

package cli

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// newTable is docker's table layout: columns at least 10 wide, 3 spaces apart.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
}

// truncateID is the 12-character short form of an ID, without its
// algorithm ("sha256:").
func truncateID(id string) string {
	if _, hex, ok := strings.Cut(id, ":"); ok {
		id = hex
	}
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// ellipsis shortens s to max characters, the last one an ellipsis.
func ellipsis(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	if max <= 1 {
		return string(r[:max])
	}
	return string(r[:max-1]) + "…"
}

// humanDuration says how long d is the way docker's CREATED column does:
// "Less than a second", "5 seconds", "About a minute", "3 hours".
func humanDuration(d time.Duration) string {
	s := int(d.Seconds())
	switch {
	case s < 1:
		return "Less than a second"
	case s == 1:
		return "1 second"
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	}
	m := int(d.Minutes())
	switch {
	case m == 1:
		return "About a minute"
	case m < 60:
		return fmt.Sprintf("%d minutes", m)
	}
	h := int(d.Hours() + 0.5)
	switch {
	case h == 1:
		return "About an hour"
	case h < 48:
		return fmt.Sprintf("%d hours", h)
	case h < 24*7*2:
		return fmt.Sprintf("%d days", h/24)
	case h < 24*30*2:
		return fmt.Sprintf("%d weeks", h/24/7)
	case h < 24*365*2:
		return fmt.Sprintf("%d months", h/24/30)
	}
	return fmt.Sprintf("%d years", int(d.Hours())/24/365)
}

// ago is a past moment as "5 seconds ago".
func ago(t, now time.Time) string { return humanDuration(now.Sub(t)) + " ago" }

// portSummary is the fields of a container's port that the PORTS column
// shows; engine.Port converts to it.
type portSummary struct {
	IP          string
	PrivatePort uint16
	PublicPort  uint16
	Type        string
}

// displayablePorts is docker ps's PORTS column: published ports as
// "0.0.0.0:8080->80/tcp", exposed ones as "80/tcp", runs of consecutive
// ports folded into ranges ("8000-8002/tcp").
func displayablePorts(ports []portSummary) string {
	ports = append([]portSummary(nil), ports...)
	sort.SliceStable(ports, func(i, j int) bool {
		a, b := ports[i], ports[j]
		if a.PrivatePort != b.PrivatePort {
			return a.PrivatePort < b.PrivatePort
		}
		if a.IP != b.IP {
			return lessIP(a.IP, b.IP)
		}
		if a.PublicPort != b.PublicPort {
			return a.PublicPort < b.PublicPort
		}
		return a.Type < b.Type
	})
	// A group is a run of ports published on the same address at the same
	// number inside and out, or exposed only.
	type group struct {
		ip, proto   string
		first, last uint16
	}
	var (
		out      []string
		mappings []string // published on another number: never folded
		open     = map[string]*group{}
		order    []string
	)
	render := func(g *group) string {
		ports := strconv.Itoa(int(g.first))
		if g.first != g.last {
			ports += "-" + strconv.Itoa(int(g.last))
		}
		if g.ip != "" {
			ports = net.JoinHostPort(g.ip, ports) + "->" + ports
		}
		return ports + "/" + g.proto
	}
	for _, p := range ports {
		key := p.Type
		if p.IP != "" {
			if p.PublicPort != p.PrivatePort {
				mappings = append(mappings, fmt.Sprintf("%s->%d/%s", net.JoinHostPort(p.IP, strconv.Itoa(int(p.PublicPort))), p.PrivatePort, p.Type))
				continue
			}
			key = p.IP + "/" + p.Type
		}
		g := open[key]
		switch {
		case g == nil:
			open[key] = &group{ip: p.IP, proto: p.Type, first: p.PrivatePort, last: p.PrivatePort}
			order = append(order, key)
		case p.PrivatePort == g.last+1:
			g.last = p.PrivatePort
		default:
			out = append(out, render(g))
			open[key] = &group{ip: p.IP, proto: p.Type, first: p.PrivatePort, last: p.PrivatePort}
		}
	}
	for _, k := range order {
		out = append(out, render(open[k]))
	}
	return strings.Join(append(out, mappings...), ", ")
}

// lessIP orders addresses as netip does (IPv4 first), strings otherwise.
func lessIP(a, b string) bool {
	x, errA := netip.ParseAddr(a)
	y, errB := netip.ParseAddr(b)
	if errA != nil || errB != nil {
		return a < b
	}
	return x.Less(y)
}

var (
	decimalUnits = []string{"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"}
	binaryUnits  = []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"}
)

func scaleSize(size, base float64, units []string) (float64, string) {
	i := 0
	for size >= base && i < len(units)-1 {
		size /= base
		i++
	}
	return size, units[i]
}

// bytesSize is a size in powers of 1024, 4 significant digits: "1.5MiB".
func bytesSize(size float64) string {
	v, u := scaleSize(size, 1024, binaryUnits)
	return fmt.Sprintf("%.4g%s", v, u)
}

// humanSize is a size in powers of 1000, 3 significant digits: "1.23kB".
func humanSize(size float64) string {
	v, u := scaleSize(size, 1000, decimalUnits)
	return fmt.Sprintf("%.3g%s", v, u)
}
