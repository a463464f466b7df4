package network_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	namespaces "berth/02-namespaces"
	network "berth/05-network"
	"berth/steps/testkit"
)

// lab is a small world made for one test, out of the machine's way: the
// test kit's NetLab (a namespace playing the host, uplink 192.0.2.1, and
// one playing the outside world, wan 192.0.2.2) and a Manager acting in
// its host.
type lab struct {
	t             *testing.T
	host, outside string
	m             *network.Manager
	probe         string
}

const hostAddr, outsideAddr = "192.0.2.1", "192.0.2.2"

func newLab(t *testing.T) *lab {
	testkit.RequireRoot(t)
	testkit.CheckResidue(t)
	nl := testkit.Lab(t)
	l := &lab{t: t, host: nl.Host, outside: nl.Outside}
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	require.NoError(t, os.WriteFile(resolv, []byte("nameserver 127.0.0.53\nsearch example.test\n"), 0o644))
	var err error
	l.m, err = network.Open(network.Options{StateDir: t.TempDir(), HostNS: l.host, HostResolvConf: resolv})
	require.NoError(t, err)
	return l
}

// createNetwork makes a network, removed when the test ends.
func (l *lab) createNetwork(name, subnet string) network.Network {
	cfg := network.Config{Name: name}
	if subnet != "" {
		p, err := network.ParseSubnet(subnet)
		require.NoError(l.t, err)
		cfg.Subnet = p
	}
	n, err := l.m.Create(cfg)
	require.NoError(l.t, err)
	l.t.Cleanup(func() { assert.NoError(l.t, l.m.Remove(name)) })
	return n
}

// box is a container of the lab.
type box struct {
	*namespaces.Container
	ep     network.Endpoint
	rootfs string
	out    *testkit.SyncBuffer
}

// start runs a container on network net ("" for none), cabled before its
// command runs, killed and detached when the test ends.
func (l *lab) start(net, name string, ports []network.PortMapping, args ...string) *box {
	t := l.t
	b := &box{rootfs: testkit.Rootfs(t), out: &testkit.SyncBuffer{}}
	require.NoError(t, os.MkdirAll(filepath.Join(b.rootfs, "www"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(b.rootfs, "www/index.html"), []byte("hello from "+name+"\n"), 0o644))
	if l.probe == "" {
		l.probe = testkit.Static(t, testkit.ProbePackage)
	}
	require.NoError(t, testkit.InstallBinary(b.rootfs, l.probe, testkit.ProbeInRootfs))
	spec := namespaces.Spec{Rootfs: b.rootfs, Args: args, Hostname: name,
		Namespaces: []namespaces.Namespace{namespaces.Mount, namespaces.PID, namespaces.UTS, namespaces.Network},
		Prestart: func(pid int) (err error) {
			nsPath := fmt.Sprintf("/proc/%d/ns/net", pid)
			if net == "" {
				return l.m.Loopback(nsPath)
			}
			b.ep, err = l.m.Attach(net, network.EndpointConfig{ID: name, Name: name, NetNS: nsPath, Ports: ports,
				HostsPath: filepath.Join(b.rootfs, "etc/hosts"), ResolvConfPath: filepath.Join(b.rootfs, "etc/resolv.conf")})
			return err
		}}
	if net != "" {
		t.Cleanup(func() {
			if err := l.m.Detach(net, name); !errors.Is(err, network.ErrNoSuchNetwork) {
				assert.NoError(t, err) // a test that removed the network detached it first
			}
		})
	}
	c, err := namespaces.Start(spec, nil, b.out, b.out)
	require.NoError(t, err)
	b.Container = c
	t.Cleanup(func() { c.Signal(unix.SIGKILL); c.Wait() })
	return b
}

// run runs a command in a new container on net and returns its output.
func (l *lab) run(net, name, script string) (string, error) {
	b := l.start(net, name, nil, "/bin/sh", "-c", script)
	err := b.Wait()
	return b.out.String(), err
}

// httpGet fetches http://addr/ from inside the namespace at ns. The socket
// is made on the namespace's thread; Go's http.Transport would dial on
// another goroutine, outside it.
func httpGet(ns, addr string) (string, error) {
	var body string
	err := network.InNamespace(ns, func() error {
		c, err := net.DialTimeout("tcp4", addr, time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprintf(c, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", addr)
		b, err := io.ReadAll(c)
		if err != nil {
			return err
		}
		_, body, _ = strings.Cut(string(b), "\r\n\r\n")
		return nil
	})
	return body, err
}

// eventually retries fn until it succeeds or 5 seconds pass: servers in
// containers take a moment to listen.
func eventually[T any](t *testing.T, fn func() (T, error)) T {
	t.Helper()
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var v T
		if v, err = fn(); err == nil {
			return v
		}
	}
	t.Fatalf("still failing after 5s: %v", err)
	var zero T
	return zero
}

// iptablesIn lists the rules of a table in the namespace at ns.
func iptablesIn(t *testing.T, ns, table string) string {
	var out []byte
	require.NoError(t, network.InNamespace(ns, func() (err error) {
		out, err = exec.Command("iptables", "-w", "-t", table, "-S").CombinedOutput()
		return err
	}))
	return string(out)
}

// linksIn lists the interface names in the namespace at ns.
func linksIn(t *testing.T, ns string) []string {
	h, err := netns.GetFromPath(ns)
	require.NoError(t, err)
	defer h.Close()
	nh, err := netlink.NewHandleAt(h)
	require.NoError(t, err)
	defer nh.Close()
	links, err := nh.LinkList()
	require.NoError(t, err)
	var names []string
	for _, l := range links {
		names = append(names, l.Attrs().Name)
	}
	return names
}

func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
