//go:build linux

package engine

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	network "berth/05-network"
	"berth/final/runtime"
)

// spec is the OCI runtime spec of c, rooted at rootfs: the runtime's
// Docker defaults (namespaces, capabilities, masked paths, /proc, /dev,
// read-only /sys), then the container's own settings.
func (e *Engine) spec(c *container, rootfs string, mode network.Mode) (*specs.Spec, error) {
	s := runtime.Default(rootfs, append([]string{c.Path}, c.Args...))
	cfg := c.Config
	s.Hostname = cfg.Hostname
	s.Root.Readonly = c.HostConfig.ReadonlyRootfs
	s.Process.Terminal = cfg.Tty
	s.Process.Cwd = "/"
	if cfg.WorkingDir != "" {
		s.Process.Cwd = cfg.WorkingDir
	}
	user, home, err := runtime.ResolveUser(rootfs, cfg.User)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	s.Process.User = user
	s.Process.Env = containerEnv(cfg, home)
	if c.HostConfig.Init != nil && *c.HostConfig.Init {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations["berth.init"] = "true"
	}
	s.Linux.Namespaces = namespaces(mode)
	// The files berth writes for it, then the volumes: Docker's order.
	for _, f := range []string{"hostname", "hosts", "resolv.conf"} {
		s.Mounts = append(s.Mounts, specs.Mount{
			Destination: "/etc/" + f, Type: "bind", Source: filepath.Join(e.dir(c.ID), f),
			Options: []string{"rbind", "rprivate"},
		})
	}
	for _, m := range c.Mounts {
		opts := []string{"rbind", "rprivate"}
		if !m.RW {
			opts = append(opts, "ro")
		}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: m.Destination, Type: "bind", Source: m.Source, Options: opts})
	}
	return s, nil
}

// namespaces are the namespaces a container's init is cloned into:
// Docker's five (pid, mount, uts, ipc, network), less the network one with
// --network host, where the container uses the host's interfaces.
func namespaces(mode network.Mode) []specs.LinuxNamespace {
	var ns []specs.LinuxNamespace
	for _, n := range runtime.Default("/", nil).Linux.Namespaces {
		if n.Type == specs.NetworkNamespace && mode.Kind == "host" {
			continue
		}
		ns = append(ns, n)
	}
	return ns
}

// containerEnv is the command's environment, as Docker makes it: PATH if
// the image sets none, HOSTNAME, TERM with a terminal, HOME from passwd.
func containerEnv(cfg Config, home string) []string {
	env := []string{}
	has := map[string]bool{}
	for _, kv := range cfg.Env {
		k, _, _ := strings.Cut(kv, "=")
		has[k] = true
	}
	if !has["PATH"] {
		env = append(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	env = append(env, "HOSTNAME="+cfg.Hostname)
	env = append(env, cfg.Env...)
	if cfg.Tty && !has["TERM"] {
		env = append(env, "TERM=xterm")
	}
	if !has["HOME"] {
		if home == "" {
			home = "/"
		}
		env = append(env, "HOME="+home)
	}
	return env
}

// writeEtcFiles writes the container's /etc/hostname, and its /etc/hosts
// and /etc/resolv.conf as they are before a network is attached (which
// rewrites them with the container's address and peers).
func (e *Engine) writeEtcFiles(c *container, mode network.Mode) error {
	dir := e.dir(c.ID)
	hosts := network.HostsFile(network.HostEntry{IP: netip.MustParseAddr("127.0.1.1"), Names: []string{c.Config.Hostname}}, nil)
	hostResolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("engine: reading the host's resolv.conf: %w", err)
	}
	resolv := network.ResolvConf(hostResolv)
	if mode.Kind == "host" {
		// The host's network, the host's names.
		if b, err := os.ReadFile("/etc/hosts"); err == nil {
			hosts = b
		}
		resolv = hostResolv
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"hostname", []byte(c.Config.Hostname + "\n")}, {"hosts", hosts}, {"resolv.conf", resolv}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return fmt.Errorf("engine: writing the container's /etc/%s: %w", f.name, err)
		}
	}
	return nil
}
