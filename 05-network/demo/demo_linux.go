// Package demo is chapter 05's narrated demo: `go run ./steps demo 5`.
// In a small world of its own (a namespace playing the host, another
// playing the outside world), it compares a fresh network namespace with a
// cabled one, pings between two containers by name, goes out through NAT,
// comes in through a published port, lists the rules that did it, and
// tears it all down.
package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	namespaces "berth/02-namespaces"
	network "berth/05-network"
	"berth/steps/testkit"
	"berth/steps/testkit/narrate"
)

// box is one of the demo's containers.
type box struct {
	c      *namespaces.Container
	ep     network.Endpoint
	out    *bytes.Buffer
	rootfs string
}

// Run plays the demo; every side effect is registered with n.Defer.
func Run(ctx context.Context, n *narrate.Narrator) error {
	n.Title(5, Title)
	if os.Geteuid() != 0 {
		return errors.New("demo 5 creates network namespaces, bridges and iptables rules: run it as root (sudo make demo, or sudo env PATH=\"$PATH\" go run ./steps demo 5)")
	}
	tmpl, err := testkit.RootfsTemplate()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "berth-demo05-")
	if err != nil {
		return err
	}
	n.Defer("remove "+work, func() error { return os.RemoveAll(work) })
	lab, err := testkit.NewNetLab()
	if err != nil {
		return err
	}
	n.Defer("release the lab's namespaces", lab.Close)
	m, err := network.Open(network.Options{StateDir: filepath.Join(work, "state"), HostNS: lab.Host})
	if err != nil {
		return err
	}

	// hostSh runs a command in the lab's host namespace, with the host's
	// own ip and iptables.
	hostSh := func(command string) error {
		var out bytes.Buffer
		err := network.InNamespace(lab.Host, func() error {
			cmd := exec.CommandContext(ctx, "sh", "-c", command)
			cmd.Stdout, cmd.Stderr = &out, &out
			return cmd.Run()
		})
		n.Evidence("host", command, out.String())
		return err
	}
	// start runs a container on network netName ("" for --network none),
	// cabled by the Prestart hook before its command runs.
	start := func(netName, name string, ports []network.PortMapping, args ...string) (*box, error) {
		b := &box{out: &bytes.Buffer{}, rootfs: filepath.Join(work, name)}
		if err := testkit.CopyTree(tmpl, b.rootfs); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Join(b.rootfs, "www"), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(b.rootfs, "www/index.html"), []byte("hello from "+name+"\n"), 0o644); err != nil {
			return nil, err
		}
		spec := namespaces.Spec{Rootfs: b.rootfs, Args: args, Hostname: name,
			Namespaces: []namespaces.Namespace{namespaces.Mount, namespaces.PID, namespaces.UTS, namespaces.Network},
			Prestart: func(pid int) (err error) {
				ns := fmt.Sprintf("/proc/%d/ns/net", pid)
				if netName == "" {
					return m.Loopback(ns)
				}
				b.ep, err = m.Attach(netName, network.EndpointConfig{ID: name, Name: name, NetNS: ns, Ports: ports,
					HostsPath: filepath.Join(b.rootfs, "etc/hosts"), ResolvConfPath: filepath.Join(b.rootfs, "etc/resolv.conf")})
				if err == nil {
					n.Defer("detach "+name, func() error { return unlessGone(m.Detach(netName, name)) })
				}
				return err
			}}
		c, err := namespaces.Start(spec, nil, b.out, b.out)
		if err != nil {
			return nil, err
		}
		b.c = c
		n.Defer("stop "+name, func() error { c.Signal(unix.SIGKILL); c.Wait(); return nil })
		return b, nil
	}
	// inside runs command in a new container and shows its output.
	inside := func(netName, name, command string) error {
		b, err := start(netName, name, nil, "/bin/sh", "-c", command)
		if err != nil {
			return err
		}
		err = b.c.Wait()
		var ee *namespaces.ExitError
		if err != nil && !errors.As(err, &ee) {
			return err
		}
		n.Evidence("container "+name, command, b.out.String())
		return nil
	}

	if err := n.Beat(ctx, "A small world of its own",
		"Nothing here touches your machine's network. One network namespace plays the host",
		"(uplink, "+lab.HostAddr+"), another the outside world (wan, "+lab.OutsideAddr+"), joined by a veth pair."); err != nil {
		return err
	}
	if err := hostSh("ip -br addr"); err != nil {
		return err
	}

	if err := n.Beat(ctx, "A new network namespace has only lo",
		"--network none: the container gets a namespace of its own, with the loopback up and",
		"nothing else. No route leads anywhere."); err != nil {
		return err
	}
	if err := inside("", "hermit", "ip addr; ip route; echo routes: $(ip route | wc -l)"); err != nil {
		return err
	}

	if err := n.Beat(ctx, "A network: a bridge, a subnet, rules",
		"The bridge is a virtual switch on the host that holds the gateway address. Its rules",
		"go into berth's own chains, so iptables -S shows them and teardown removes exactly them."); err != nil {
		return err
	}
	net1, err := m.Create(network.Config{Name: "demo"})
	if err != nil {
		return err
	}
	n.Defer("remove network demo", func() error { return unlessGone(m.Remove("demo")) })
	n.Say("network %q: bridge %s, subnet %s, gateway %s", net1.Name, net1.Bridge, net1.Subnet, net1.Gateway)
	for _, r := range network.NetworkRules(net1) {
		n.Syscall(r.String())
	}

	if err := n.Beat(ctx, "Two containers, each with a veth pair",
		"One end of each pair is on the bridge; the other is born in the container's namespace",
		"as eth0, with an address from the network's allocator and a default route via the",
		"gateway. web publishes its port 80 as the host's 8080."); err != nil {
		return err
	}
	web, err := start("demo", "web", []network.PortMapping{{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}},
		"/bin/sh", "-c", "exec httpd -f -p 80 -h /www")
	if err != nil {
		return err
	}
	for _, r := range network.PortRules(net1, web.ep.IP, web.ep.Ports[0]) {
		n.Syscall(r.String())
	}
	if err := hostSh("ip -br addr; bridge link"); err != nil {
		return err
	}
	if err := inside("demo", "client", "ip -4 addr show eth0 | grep inet; ip route; tail -2 /etc/hosts; ping -c 2 web"); err != nil {
		return err
	}

	if err := n.Beat(ctx, "Out through NAT",
		"A server in the outside world says who called. The container's packet leaves with its",
		"own address; MASQUERADE rewrites it to the host's on the way out, and conntrack",
		"rewrites the reply on the way back."); err != nil {
		return err
	}
	var ln net.Listener
	if err := network.InNamespace(lab.Outside, func() (err error) {
		ln, err = net.Listen("tcp4", lab.OutsideAddr+":9000")
		return err
	}); err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "outside: you are %s\n", r.RemoteAddr)
	})}
	go srv.Serve(ln)
	n.Defer("stop the outside server", srv.Close)
	if err := inside("demo", "traveller", "ip -4 addr show eth0 | grep inet; wget -q -O - http://"+lab.OutsideAddr+":9000/"); err != nil {
		return err
	}

	if err := n.Beat(ctx, "In through a published port",
		"DNAT sends the host's port 8080 to web's port 80, from another machine and from the",
		"host itself, 127.0.0.1 included."); err != nil {
		return err
	}
	for _, from := range []struct{ who, ns, addr string }{
		{"outside", lab.Outside, lab.HostAddr + ":8080"},
		{"host", lab.Host, "127.0.0.1:8080"},
	} {
		body, err := getWithRetry(ctx, from.ns, from.addr)
		if err != nil {
			return err
		}
		n.Evidence(from.who, "wget -q -O - http://"+from.addr+"/", body)
	}

	if err := n.Beat(ctx, "The rules that did it",
		"Each built-in chain jumps once into a berth chain; everything else lives there."); err != nil {
		return err
	}
	if err := hostSh("iptables -t nat -S | grep BERTH; iptables -t filter -S | grep BERTH"); err != nil {
		return err
	}

	if err := n.Beat(ctx, "Teardown removes exactly what was added",
		"Detaching a container deletes its veth pair (the kernel takes both ends), its port",
		"rules and its address. The last network takes berth's chains with it."); err != nil {
		return err
	}
	web.c.Signal(unix.SIGKILL)
	web.c.Wait()
	eps, err := m.Endpoints("demo")
	if err != nil {
		return err
	}
	for _, e := range eps {
		if err := m.Detach("demo", e.ID); err != nil {
			return err
		}
	}
	if err := m.Remove("demo"); err != nil {
		return err
	}
	return hostSh("ip -br link; echo BERTH rules left: $(iptables-save | grep -c BERTH)")
}

// unlessGone drops the error of an undo that the last beat made needless
// by removing the network.
func unlessGone(err error) error {
	if errors.Is(err, network.ErrNoSuchNetwork) {
		return nil
	}
	return err
}

// getWithRetry fetches http://addr/ from the namespace ns, waiting up to 5
// seconds for the server to listen. The socket is made on the namespace's
// thread: Go's http.Transport would dial from another goroutine.
func getWithRetry(ctx context.Context, ns, addr string) (string, error) {
	var last error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		var body string
		last = network.InNamespace(ns, func() error {
			c, err := net.DialTimeout("tcp4", addr, time.Second)
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(2 * time.Second))
			fmt.Fprintf(c, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", addr)
			b, err := io.ReadAll(c)
			_, body, _ = strings.Cut(string(b), "\r\n\r\n")
			return err
		})
		if last == nil {
			return body, nil
		}
	}
	return "", fmt.Errorf("GET http://%s/: %w", addr, last)
}
