package image

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// Event is one step of one blob's journey, as `docker pull` shows it:
// "a3ed95caeb02: Downloading  1.2MB/2.2MB".
type Event struct {
	ID      string // the blob's short digest (12 hex digits)
	Action  string // "Waiting", "Downloading", "Pull complete", "Pushed", ...
	Current int64  // bytes done, for Downloading, Pushing and Extracting
	Total   int64  // bytes in all; 0 when unknown
}

// Progress receives events. Two kinds: bars redrawn in place for a
// terminal, and plain lines for logs and pipes.
type Progress interface {
	Update(Event)
}

// ShortID is the 12 hex digits Docker prints for a blob.
func ShortID(d digest.Digest) string {
	e := d.Encoded()
	if len(e) > 12 {
		e = e[:12]
	}
	return e
}

// NewProgress draws bars when w is a terminal and writes lines otherwise.
func NewProgress(w io.Writer) Progress {
	if f, ok := w.(*os.File); ok {
		if _, err := unix.IoctlGetTermios(int(f.Fd()), ioctlGetTermios); err == nil {
			return &Bars{w: w}
		}
	}
	return &Lines{w: w}
}

// Discard ignores every event.
type Discard struct{}

func (Discard) Update(Event) {}

func orDiscard(p Progress) Progress {
	if p == nil {
		return Discard{}
	}
	return p
}

// Lines writes one line when a blob's action changes and, while bytes
// move, one at each quarter: readable in a log, never a flood.
type Lines struct {
	w    io.Writer
	mu   sync.Mutex
	last map[string]string // ID → last line's action and quarter
}

// NewLines writes progress lines to w.
func NewLines(w io.Writer) *Lines { return &Lines{w: w} }

func (l *Lines) Update(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = map[string]string{}
	}
	key := e.Action
	if e.Total > 0 && e.Current < e.Total {
		key = fmt.Sprintf("%s %d", e.Action, 4*e.Current/e.Total)
	}
	if l.last[e.ID] == key {
		return
	}
	l.last[e.ID] = key
	fmt.Fprintln(l.w, line(e))
}

func line(e Event) string {
	s := e.Action
	if e.ID != "" {
		s = e.ID + ": " + s
	}
	if e.Total > 0 && movesBytes(e.Action) {
		s += fmt.Sprintf(" %s/%s", HumanSize(e.Current), HumanSize(e.Total))
	}
	return s
}

// movesBytes says which actions show a byte count.
func movesBytes(action string) bool {
	switch action {
	case "Downloading", "Pushing", "Extracting", "Loading layer":
		return true
	}
	return false
}

// Bars redraws one line per blob in place, with a bar for bytes moving,
// the way the docker CLI does in a terminal.
type Bars struct {
	w     io.Writer
	mu    sync.Mutex
	order []string
	state map[string]Event
	drawn int
}

func (b *Bars) Update(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == nil {
		b.state = map[string]Event{}
	}
	if _, ok := b.state[e.ID]; !ok {
		b.order = append(b.order, e.ID)
	}
	b.state[e.ID] = e
	var sb strings.Builder
	if b.drawn > 0 {
		fmt.Fprintf(&sb, "\x1b[%dA", b.drawn) // back to the first line
	}
	for _, id := range b.order {
		sb.WriteString("\x1b[2K") // clear the line
		sb.WriteString(bar(b.state[id]))
		sb.WriteByte('\n')
	}
	b.drawn = len(b.order)
	io.WriteString(b.w, sb.String())
}

func bar(e Event) string {
	if e.Total <= 0 || e.Current >= e.Total || !movesBytes(e.Action) {
		return line(e)
	}
	const width = 40
	n := int(width * e.Current / e.Total)
	arrow := strings.Repeat("=", n)
	if n < width {
		arrow += ">" + strings.Repeat(" ", width-n-1)
	}
	return fmt.Sprintf("%s: %-11s [%s] %s/%s", e.ID, e.Action, arrow, HumanSize(e.Current), HumanSize(e.Total))
}

// HumanSize writes bytes as Docker does: decimal units, three digits.
func HumanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%dB", n)
	}
	return fmt.Sprintf("%.3g%s", f, units[i])
}

// counter reports bytes as they pass.
type counter struct {
	r     io.Reader
	p     Progress
	ev    Event
	every int64 // report at most this often, in bytes
	next  int64
}

func newCounter(r io.Reader, p Progress, id, action string, total int64) *counter {
	every := total / 100
	if every < 256<<10 {
		every = 256 << 10
	}
	return &counter{r: r, p: p, ev: Event{ID: id, Action: action, Total: total}, every: every}
}

func (c *counter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.ev.Current += int64(n)
	if c.ev.Current >= c.next || err != nil {
		c.p.Update(c.ev)
		c.next = c.ev.Current + c.every
	}
	return n, err
}
