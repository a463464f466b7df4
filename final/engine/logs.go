//go:build linux

package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A container's output is kept in Docker's json-file format: one JSON
// object a line, each holding one line of output (its newline included),
// the stream it came on and when.
//
//	{"log":"hello\n","stream":"stdout","time":"2026-11-22T10:00:00.123456789Z"}
type logEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// maxLogLine is where a line without a newline is cut into an entry of its
// own, as Docker cuts at 16 KiB, so one endless line cannot fill memory.
const maxLogLine = 16 << 10

// logWriter turns a stream's bytes into entries, line by line. Both
// streams of a container share the file: the mutex keeps their entries
// whole.
type logWriter struct {
	mu      *sync.Mutex
	f       *os.File
	stream  string
	partial []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	n := len(p)
	now := time.Now().UTC()
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			for len(w.partial) >= maxLogLine {
				w.emit(w.partial[:maxLogLine], now)
				w.partial = append(w.partial[:0], w.partial[maxLogLine:]...)
			}
			break
		}
		line := p[:i+1]
		if len(w.partial) > 0 {
			line = append(w.partial, line...)
			w.partial = w.partial[:0]
		}
		w.emit(line, now)
		p = p[i+1:]
	}
	return n, nil
}

// Flush writes what is left of an unfinished last line.
func (w *logWriter) Flush() {
	if len(w.partial) > 0 {
		w.emit(w.partial, time.Now().UTC())
		w.partial = nil
	}
}

func (w *logWriter) emit(line []byte, t time.Time) {
	b, _ := json.Marshal(logEntry{Log: string(line), Stream: w.stream, Time: t})
	w.mu.Lock()
	w.f.Write(append(b, '\n')) // a full disk loses log lines, never the container
	w.mu.Unlock()
}

// Logs writes the container's output kept so far to stdout and stderr, as
// the options ask; with Follow it goes on until the container stops or ctx
// ends.
func (e *Engine) Logs(ctx context.Context, ref string, opts LogsOptions, stdout, stderr io.Writer) error {
	c, err := e.find(ref)
	if err != nil {
		return err
	}
	if !opts.Stdout && !opts.Stderr {
		opts.Stdout, opts.Stderr = true, true
	}
	tail := -1
	if opts.Tail != "" && opts.Tail != "all" {
		if tail, err = strconv.Atoi(opts.Tail); err != nil || tail < 0 {
			return fmt.Errorf("%w: --tail %q: want a number of lines or \"all\"", ErrInvalid, opts.Tail)
		}
	}
	f, err := os.Open(e.logPath(c.ID))
	if errors.Is(err, fs.ErrNotExist) {
		if !opts.Follow {
			return nil // never started: no output yet
		}
		// Wait for the log to appear while the container is not running.
		for errors.Is(err, fs.ErrNotExist) {
			if s, _ := e.status(c); s.Status != "created" && s.Status != "running" {
				return nil
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
			f, err = os.Open(e.logPath(c.ID))
		}
	}
	if err != nil {
		return fmt.Errorf("engine: reading the log of %s: %w", c.Name, err)
	}
	defer f.Close()
	show := func(le logEntry) error {
		w := stdout
		if le.Stream == "stderr" {
			if !opts.Stderr {
				return nil
			}
			w = stderr
		} else if !opts.Stdout {
			return nil
		}
		if !opts.Since.IsZero() && le.Time.Before(opts.Since) || !opts.Until.IsZero() && le.Time.After(opts.Until) {
			return nil
		}
		if opts.Timestamps {
			if _, err := io.WriteString(w, le.Time.Format(time.RFC3339Nano)+" "); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, le.Log)
		return err
	}
	r := bufio.NewReaderSize(f, 64<<10)
	var kept []logEntry
	for {
		le, err := readEntry(r)
		if err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("engine: the log of %s: %w", c.Name, err)
		}
		if tail < 0 {
			if err := show(le); err != nil {
				return err
			}
			continue
		}
		kept = append(kept, le)
		if len(kept) > tail {
			kept = kept[1:]
		}
	}
	for _, le := range kept {
		if err := show(le); err != nil {
			return err
		}
	}
	if !opts.Follow {
		return nil
	}
	// Follow: read what the monitor appends, until the container is no
	// longer running and everything it wrote has been read.
	for {
		le, err := readEntry(r)
		if err == nil {
			if err := show(le); err != nil {
				return err
			}
			continue
		}
		if err != io.EOF {
			return fmt.Errorf("engine: the log of %s: %w", c.Name, err)
		}
		if s, _ := e.status(c); !s.Running {
			// One last read: the monitor writes the last lines before
			// recording the exit.
			for {
				le, err := readEntry(r)
				if err != nil {
					return nil
				}
				if err := show(le); err != nil {
					return err
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// readEntry reads one entry. A line still being written (no newline yet)
// is put back, to be read whole next time.
func readEntry(r *bufio.Reader) (logEntry, error) {
	var le logEntry
	line, err := r.ReadBytes('\n')
	if err == io.EOF {
		if len(line) > 0 {
			// Being written: the monitor writes each entry in one
			// write(2), so the rest follows at once. A line that never
			// ends (a disk that filled up) is given up after a second.
			for tries := 0; err == io.EOF && tries < 100; tries++ {
				time.Sleep(10 * time.Millisecond)
				var more []byte
				more, err = r.ReadBytes('\n')
				line = append(line, more...)
			}
		} else {
			return le, io.EOF
		}
	}
	if err == io.EOF {
		return le, fmt.Errorf("an unfinished last line %q", strings.TrimSpace(string(line)))
	} else if err != nil {
		return le, err
	}
	if err := json.Unmarshal(line, &le); err != nil {
		return le, fmt.Errorf("a damaged line %q: %w", strings.TrimSpace(string(line)), err)
	}
	return le, nil
}
