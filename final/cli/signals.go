//go:build linux

package cli

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"berth/final/engine"
)

// proxySignals sends the signals berth receives to the container, as
// docker's --sig-proxy: ctrl-C in `berth run` (without -t) interrupts the
// container's command, not just berth. SIGCHLD and SIGPIPE are berth's own,
// SIGURG is Go's scheduler's, SIGWINCH becomes a resize.
//
// Go asks its signal thread to unmask each signal it is told to catch, one
// round trip per signal: catching all 65 took 2 ms, and letting go of them
// as long again. So berth starts catching them on the side, while the
// container starts (a signal in those few milliseconds ends berth, and the
// start with it), and never lets go: stop only ends the forwarding, right
// before berth exits.
//
// A signal caught before the caller says the container runs (running)
// waits for that: the container's first output can reach the user before
// its start is recorded, and the engine refuses to signal a container not
// yet running.
func proxySignals(ctx context.Context, e *engine.Engine, id string) *signalProxy {
	p := &signalProxy{run: make(chan struct{}), done: make(chan struct{})}
	sigs := make(chan os.Signal, 128)
	go func() {
		signal.Notify(sigs)
		for {
			var s os.Signal
			select {
			case <-p.done:
				return
			case s = <-sigs:
			}
			sig, ok := s.(syscall.Signal)
			if !ok {
				continue
			}
			switch sig {
			case unix.SIGCHLD, unix.SIGPIPE, unix.SIGURG, unix.SIGWINCH:
				continue
			}
			name := unix.SignalName(sig)
			if name == "" {
				continue
			}
			select {
			case <-p.run:
			case <-p.done:
				return
			}
			_ = e.Kill(context.WithoutCancel(ctx), id, name)
		}
	}()
	return p
}

// signalProxy is proxySignals' forwarding.
type signalProxy struct {
	run, done         chan struct{}
	runOnce, stopOnce sync.Once
}

// running says the container runs: signals go to it from now on.
func (p *signalProxy) running() { p.runOnce.Do(func() { close(p.run) }) }

// stop ends the forwarding; signals caught afterwards are dropped.
func (p *signalProxy) stop() { p.stopOnce.Do(func() { close(p.done) }) }
