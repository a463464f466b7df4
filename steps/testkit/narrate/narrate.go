// Package narrate tells a chapter's demo as a sequence of beats. Each beat
// says what is about to happen and which system call or file is behind it,
// does it for real, and shows the evidence. With Pause it waits for Enter
// between beats, for live teaching; without it the demo runs straight
// through, with no terminal, as CI runs it.
//
// A demo registers the undo of every side effect with Defer as soon as the
// effect succeeds; Cleanup runs them in reverse order, also after Ctrl-C.
package narrate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Narrator prints a demo's beats and keeps its undo stack.
type Narrator struct {
	out   io.Writer
	pause bool
	lines chan string // lines typed on the input, when pausing
	beat  int

	mu   sync.Mutex
	undo []undo
}

type undo struct {
	what string
	fn   func() error
}

// New returns a narrator writing to out. When pause is set, each beat waits
// for a line (Enter) on in.
func New(out io.Writer, in io.Reader, pause bool) *Narrator {
	n := &Narrator{out: out, pause: pause}
	if pause && in != nil {
		n.lines = make(chan string)
		go func() {
			sc := bufio.NewScanner(in)
			for sc.Scan() {
				n.lines <- sc.Text()
			}
			close(n.lines)
		}()
	}
	return n
}

// Title opens a chapter's demo; beats are numbered from 1 again.
func (n *Narrator) Title(chapter int, title string) {
	n.beat = 0
	fmt.Fprintf(n.out, "\n  berth, chapter %02d: %s\n  %s\n", chapter, title, strings.Repeat("=", len(title)+20))
}

// Beat starts a new beat: its title and what is about to happen. With Pause
// it waits for Enter first; it returns ctx's error if the demo is
// interrupted while waiting.
func (n *Narrator) Beat(ctx context.Context, title string, about ...string) error {
	n.beat++
	fmt.Fprintf(n.out, "\n--- %d. %s\n", n.beat, title)
	for _, line := range about {
		fmt.Fprintf(n.out, "    %s\n", line)
	}
	if !n.pause || n.lines == nil {
		return ctx.Err()
	}
	fmt.Fprint(n.out, "    [Enter] ")
	select {
	case <-ctx.Done():
		return ctx.Err()
	case _, ok := <-n.lines:
		if !ok {
			n.lines = nil // input closed: run the rest straight through
		}
		return nil
	}
}

// Say prints a line of narration.
func (n *Narrator) Say(format string, args ...any) {
	fmt.Fprintf(n.out, "    "+format+"\n", args...)
}

// Syscall shows the system call (or file write) about to be made.
func (n *Narrator) Syscall(call string) {
	fmt.Fprintf(n.out, "    syscall> %s\n", call)
}

// Evidence shows what a command printed, under the command line that
// produced it.
func (n *Narrator) Evidence(where, command, output string) {
	fmt.Fprintf(n.out, "    %s $ %s\n", where, command)
	output = strings.TrimRight(output, "\n")
	if output == "" {
		output = "(no output)"
	}
	for _, line := range strings.Split(output, "\n") {
		fmt.Fprintf(n.out, "      | %s\n", line)
	}
}

// Defer registers the undo of a side effect that just succeeded.
func (n *Narrator) Defer(what string, fn func() error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.undo = append(n.undo, undo{what, fn})
}

// Cleanup undoes every registered side effect, last first, and reports all
// that failed. It is safe to call more than once.
func (n *Narrator) Cleanup() error {
	n.mu.Lock()
	stack := n.undo
	n.undo = nil
	n.mu.Unlock()
	var errs []error
	for i := len(stack) - 1; i >= 0; i-- {
		fmt.Fprintf(n.out, "    cleanup: %s\n", stack[i].what)
		if err := stack[i].fn(); err != nil {
			errs = append(errs, fmt.Errorf("cleanup %s: %w", stack[i].what, err))
		}
	}
	return errors.Join(errs...)
}
