//go:build linux

package cli

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"berth/final/engine"
)

// attachSpec is what the user's side of an attachment holds: stdin or
// not, a terminal or not, the keys that detach.
type attachSpec struct {
	stdin      bool
	tty        bool
	detachKeys string
	// here monitors the container from this berth process rather than
	// the shared berth-shim (engine.StartOptions.InProcess).
	here bool
}

// terminalFd is x's file descriptor if x is a terminal.
func terminalFd(x any) (int, bool) {
	f, ok := x.(interface{ Fd() uintptr })
	if !ok {
		return 0, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}

// terminalSize is the size of the user's terminal (stdout's, else
// stdin's) as the API has it: height, width.
func (b *berthCLI) terminalSize() ([2]uint, bool) {
	for _, s := range []any{b.out, b.in} {
		if fd, ok := terminalFd(s); ok {
			if w, h, err := term.GetSize(fd); err == nil && w > 0 && h > 0 {
				return [2]uint{uint(h), uint(w)}, true
			}
		}
	}
	return [2]uint{}, false
}

// checkTTY refuses -it when stdin is not a terminal, as docker: raw input
// to a container's terminal makes no sense from a pipe.
func (b *berthCLI) checkTTY(stdin, tty bool) error {
	if _, ok := terminalFd(b.in); stdin && tty && !ok {
		return errors.New("the input device is not a TTY")
	}
	return nil
}

// attach prepares the user's side of an attachment: the streams; with a
// container terminal and stdin from the user's, that terminal in raw mode
// (every key goes to the container, ctrl-C included) and its size changes
// sent on. The returned func undoes it; it may be called more than once,
// and must be on every path.
func (b *berthCLI) attach(s attachSpec) (engine.AttachOptions, func(), error) {
	opts := engine.AttachOptions{
		Streams:    engine.Streams{Stdout: b.out, Stderr: b.err},
		DetachKeys: s.detachKeys,
	}
	if s.tty {
		opts.Stderr = b.out // a terminal has one output
	}
	if s.stdin {
		opts.Stdin = b.in
	}
	var undo []func()
	if fd, ok := terminalFd(b.in); ok && s.tty && s.stdin {
		state, err := term.MakeRaw(fd)
		if err != nil {
			return opts, func() {}, fmt.Errorf("setting the terminal to raw mode: %w", err)
		}
		undo = append(undo, func() { _ = term.Restore(fd, state) })
	}
	if s.tty {
		if size, ok := b.terminalSize(); ok {
			sizes, stop := b.watchSize(size)
			opts.Resize = sizes
			undo = append(undo, stop)
		}
	}
	var once sync.Once
	return opts, func() {
		once.Do(func() {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		})
	}, nil
}

// watchSize sends the terminal's size, first, then after every SIGWINCH.
// Only the latest size matters: one waiting is replaced by a newer one.
func (b *berthCLI) watchSize(first [2]uint) (<-chan [2]uint, func()) {
	sizes := make(chan [2]uint, 1)
	sizes <- first
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, unix.SIGWINCH)
	done := make(chan struct{})
	go func() {
		defer close(sizes) // the only sender: the engine's reader ends
		for {
			select {
			case <-done:
				return
			case <-winch:
				size, ok := b.terminalSize()
				if !ok {
					continue
				}
				select {
				case <-sizes:
				default:
				}
				select {
				case sizes <- size:
				default:
				}
			}
		}
	}()
	return sizes, func() {
		signal.Stop(winch)
		close(done)
	}
}

// validateDetachKeys checks --detach-keys: a comma-separated list of
// single characters and ctrl-<key>, key one of a-z @ [ \ ] ^ _.
func validateDetachKeys(keys string) error {
	if keys == "" {
		return nil
	}
	for _, k := range strings.Split(keys, ",") {
		if len(k) == 1 {
			continue
		}
		if rest, ok := strings.CutPrefix(strings.ToLower(k), "ctrl-"); ok && len(rest) == 1 &&
			(rest[0] >= 'a' && rest[0] <= 'z' || strings.ContainsRune(`@[\]^_`, rune(rest[0]))) {
			continue
		}
		return fmt.Errorf("invalid detach keys %q: want a comma-separated list of ctrl-<key> (key a-z, @, [, \\, ], ^ or _) and single characters, such as ctrl-p,ctrl-q", keys)
	}
	return nil
}
