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
func proxySignals(ctx context.Context, e *engine.Engine, id string) (stop func()) {
	sigs := make(chan os.Signal, 128)
	done := make(chan struct{})
	go func() {
		signal.Notify(sigs)
		for {
			select {
			case <-done:
				return
			case s := <-sigs:
				sig, ok := s.(syscall.Signal)
				if !ok {
					continue
				}
				switch sig {
				case unix.SIGCHLD, unix.SIGPIPE, unix.SIGURG, unix.SIGWINCH:
					continue
				}
				if name := unix.SignalName(sig); name != "" {
					_ = e.Kill(context.WithoutCancel(ctx), id, name)
				}
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done) }) }
}
