//go:build linux

package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	network "berth/05-network"
	image "berth/06-images"
)

// DefaultRoot is where berth keeps its state when --root and BERTH_ROOT
// are not set: images, containers, volumes and networks.
const DefaultRoot = "/var/lib/berth"

// DefaultExecRoot holds what lives only while the host runs: the monitors'
// sockets. Like /run, a reboot empties it.
const DefaultExecRoot = "/run/berth"

// Options configure an Engine.
type Options struct {
	// Root is the state directory; "" means DefaultRoot.
	Root string
	// ExecRoot is the runtime directory; "" means DefaultExecRoot for the
	// default Root and Root/run for any other, so that engines with
	// different roots never share sockets.
	ExecRoot string
}

// StartOptions are Start's: with Attach set, the container's streams are
// attached before its command runs, so not a byte of output is missed
// (docker run without -d, docker start -a).
type StartOptions struct {
	Attach *AttachOptions
	// InProcess monitors the container from this process instead of
	// handing it to the root's shared berth-shim: no monitor program to
	// start (or reach), but the
	// container lives only as long as this process (it is killed if the
	// process dies). It needs Attach, and suits a container that nothing
	// outlives anyway: `berth run --rm` in the foreground, without -t.
	InProcess bool
}

// Engine is one berth state directory and what it holds.
type Engine struct {
	root, execRoot string

	images *image.Store

	netOnce sync.Once
	net     *network.Manager
	netErr  error
}

// Open opens (creating it the first time) the engine's state directory.
func Open(o Options) (*Engine, error) {
	if o.Root == "" {
		o.Root = DefaultRoot
	}
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return nil, fmt.Errorf("engine: root %s: %w", o.Root, err)
	}
	if o.ExecRoot == "" {
		o.ExecRoot = DefaultExecRoot
		if root != DefaultRoot {
			o.ExecRoot = filepath.Join(root, "run")
		}
	}
	e := &Engine{root: root, execRoot: o.ExecRoot}
	for _, d := range []string{e.containersDir(), e.volumesDir(), e.execRoot} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			if errors.Is(err, fs.ErrPermission) {
				return nil, fmt.Errorf("engine: creating %s: %w (berth needs root: run it with sudo, or choose a --root you own)", d, err)
			}
			return nil, fmt.Errorf("engine: creating %s: %w", d, err)
		}
	}
	e.images, err = image.Open(filepath.Join(root, "image"))
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	return e, nil
}

// Root is the engine's state directory.
func (e *Engine) Root() string { return e.root }

// Images is the engine's image store (chapter 06).
func (e *Engine) Images() *image.Store { return e.images }

// Close releases what Open took. Nothing stays open between calls today;
// Close is there so that callers need not change when something does.
func (e *Engine) Close() error { return nil }

func (e *Engine) containersDir() string { return filepath.Join(e.root, "containers") }
func (e *Engine) volumesDir() string    { return filepath.Join(e.root, "volumes") }
func (e *Engine) networkDir() string    { return filepath.Join(e.root, "network") }

// network opens chapter 05's manager on first use: commands that never
// touch a network (ps, logs, inspect) do not pay for it.
func (e *Engine) network() (*network.Manager, error) {
	e.netOnce.Do(func() {
		e.net, e.netErr = network.Open(network.Options{StateDir: e.networkDir()})
		if e.netErr != nil {
			e.netErr = fmt.Errorf("engine: %w", e.netErr)
		}
	})
	return e.net, e.netErr
}
