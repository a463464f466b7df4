package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	goruntime "runtime"
	"sync/atomic"

	"berth/final/runtime"
)

// Start starts a created or stopped container: it hands it to the
// shared monitor of the engine's root (starting one if none runs), which
// sets up the container and starts its command, and returns once the
// command runs. With opts.Attach the streams are attached before the
// command starts, and the returned Attachment carries them.
// Starting a running container does nothing (or attaches to it).
func (e *Engine) Start(ctx context.Context, ref string, opts StartOptions) (*Attachment, error) {
	c, err := e.find(ref)
	if err != nil {
		return nil, err
	}
	att, err := e.start(c, opts)
	var se *StartError
	if errors.As(err, &se) && c.HostConfig.AutoRemove {
		// docker run --rm of a command that cannot start leaves nothing.
		if rerr := e.Remove(ctx, c.ID, RemoveOptions{Force: true, RemoveVolumes: true}); rerr != nil {
			return nil, fmt.Errorf("%w (and removing the container failed: %v)", err, rerr)
		}
	}
	return att, err
}

func (e *Engine) start(c *container, opts StartOptions) (_ *Attachment, retErr error) {
	unlock, err := e.lockContainer(c.ID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := e.statusLocked(c)
	if err != nil {
		return nil, err
	}
	if st.Running {
		if opts.Attach != nil {
			return e.attach(c, *opts.Attach)
		}
		return nil, nil
	}
	if st.Status == "removing" || st.Dead {
		return nil, fmt.Errorf("%w: container %s is being removed", ErrConflict, c.Name)
	}
	var ready io.ReadCloser
	var monitorDone chan struct{}
	if opts.InProcess && opts.Attach != nil {
		ready, monitorDone, err = e.monitorHere(c)
	} else {
		ready, err = e.handOver(c, opts.Attach != nil)
	}
	if err != nil {
		return nil, err
	}
	defer ready.Close()
	r := bufio.NewReader(ready)
	msg, err := e.readReady(r, c)
	if err != nil {
		return nil, err
	}
	var att *Attachment
	if msg.Listening {
		// The monitor waits for this attachment before it starts the
		// command: nothing the command writes can be missed.
		if att, err = e.attach(c, *opts.Attach); err != nil {
			return nil, err
		}
		att.monitorDone = monitorDone
		defer func() {
			if retErr != nil {
				att.close()
			}
		}()
		if msg, err = e.readReady(r, c); err != nil {
			return nil, err
		}
	}
	if !msg.Started {
		return nil, fmt.Errorf("engine: the monitor of %s stopped without a word", c.Name)
	}
	return att, nil
}

// readReady reads the monitor's next report; its error becomes a
// *StartError carrying Docker's exit code.
func (e *Engine) readReady(r *bufio.Reader, c *container) (readyMsg, error) {
	var m readyMsg
	line, err := r.ReadBytes('\n')
	if err != nil {
		return m, fmt.Errorf("engine: the monitor of %s exited before the container started; its last word is in %s", c.Name, e.statePath(c.ID))
	}
	if err := json.Unmarshal(line, &m); err != nil {
		return m, fmt.Errorf("engine: the monitor of %s: %w", c.Name, err)
	}
	if m.Error != "" {
		return m, &StartError{Msg: m.Error, Code: m.Code}
	}
	return m, nil
}

// StartError is a container that could not be started: Code is Docker's
// exit code for it, 126 when its command cannot be run, 127 when it is not
// found, 125 for anything else.
type StartError struct {
	Msg  string
	Code int
}

func (e *StartError) Error() string { return e.Msg }

// ExitCode is the exit status berth's CLI should end with for err: the
// runtime's 126 or 127 when the command could not be run, else 125.
func ExitCode(err error) int {
	var se *StartError
	if errors.As(err, &se) && se.Code != 0 {
		return se.Code
	}
	var re *runtime.StartError
	if errors.As(err, &re) && (re.ExitCode == 126 || re.ExitCode == 127) {
		return re.ExitCode
	}
	return 125
}

// monitorHere runs the container's monitor in this process, on a thread
// of its own (the init dies with the thread that started it), and returns
// the read end of its reports and a channel closed when it is done.
func (e *Engine) monitorHere(c *container) (*os.File, chan struct{}, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("engine: %w", err)
	}
	// The monitor gets an engine of its own: it runs beside the caller's.
	m, err := Open(Options{Root: e.root, ExecRoot: e.execRoot})
	if err != nil {
		r.Close()
		w.Close()
		return nil, nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		goruntime.LockOSThread()
		// Not unlocked: a thread that started a container's init must
		// not be reused by other goroutines (nor end) while it runs,
		// and this one ends with the goroutine once the container has.
		m.monitor(c.ID, true, w, nil)
	}()
	return r, done, nil
}

// Attachment is a live attachment to a container's streams.
type Attachment struct {
	conn        *net.UnixConn
	monitorDone chan struct{} // closed when an in-process monitor is done
	done        chan struct{}
	code        int
	err         error
	detached    atomic.Bool
}

// Wait blocks until the attachment ends and returns the container's exit
// code: its output ended because it exited (and, with AutoRemove, it has
// been removed). It returns ErrDetached after the detach keys, the
// container still running. Use it rather than Engine.Wait after an
// attached Start: a --rm container may be gone by the time Engine.Wait
// would look for it.
func (a *Attachment) Wait() (int, error) {
	<-a.done
	if a.monitorDone != nil && !a.detached.Load() {
		// The monitor runs in this process: let it finish (the
		// container removed, its socket gone) before the caller exits.
		<-a.monitorDone
	}
	return a.code, a.err
}

func (a *Attachment) close() { a.conn.Close() }

// Attach attaches the streams to a running container.
func (e *Engine) Attach(ctx context.Context, ref string, opts AttachOptions) (*Attachment, error) {
	c, err := e.find(ref)
	if err != nil {
		return nil, err
	}
	st, err := e.status(c)
	if err != nil {
		return nil, err
	}
	if !st.Running {
		return nil, fmt.Errorf("%w: you cannot attach to a stopped container, start it first (berth start -a %s)", ErrConflict, c.Name)
	}
	return e.attach(c, opts)
}

// attach connects to the monitor and pumps the streams.
func (e *Engine) attach(c *container, opts AttachOptions) (*Attachment, error) {
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: e.socketPath(c.ID), Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("engine: attaching to %s: %w", c.Name, err)
	}
	req := request{Op: "attach", Stdin: opts.Stdin != nil, Stdout: opts.Stdout != nil, Stderr: opts.Stderr != nil}
	if err := writeRequest(conn, req); err != nil {
		conn.Close()
		return nil, fmt.Errorf("engine: attaching to %s: %w", c.Name, err)
	}
	a := &Attachment{conn: conn, done: make(chan struct{}), code: -1}
	detach := opts.DetachKeys
	if detach == "" && c.Config.Tty {
		detach = "ctrl-p,ctrl-q"
	}
	keys, err := parseDetachKeys(detach)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if opts.Stdin != nil {
		go func() {
			err := copyStdin(conn, opts.Stdin, keys)
			if errors.Is(err, ErrDetached) {
				a.detached.Store(true)
				conn.Close()
				return
			}
			conn.CloseWrite()
		}()
	}
	if opts.Resize != nil {
		go func() {
			for sz := range opts.Resize {
				e.resize(c, sz[0], sz[1])
			}
		}()
	}
	go func() {
		defer close(a.done)
		br := bufio.NewReaderSize(conn, 64<<10)
		var buf []byte
		for {
			stream, p, err := readFrame(br, buf)
			if err != nil {
				if a.detached.Load() {
					a.err = ErrDetached
				} else {
					// The monitor went away without an exit status:
					// killed. What state.json says is all there is.
					a.code, a.err = e.exitFromState(c)
				}
				return
			}
			buf = p[:0]
			switch stream {
			case streamStdout:
				if opts.Stdout != nil {
					opts.Stdout.Write(p)
				}
			case streamStderr:
				if opts.Stderr != nil {
					opts.Stderr.Write(p)
				}
			case streamExit:
				var w WaitResponse
				if err := json.Unmarshal(p, &w); err != nil {
					a.err = fmt.Errorf("engine: the exit status of %s: %w", c.Name, err)
				}
				a.code = w.StatusCode
				conn.Close()
				return
			}
		}
	}()
	return a, nil
}

// exitFromState is the exit code state.json holds once the container is
// no longer running.
func (e *Engine) exitFromState(c *container) (int, error) {
	st, err := e.status(c)
	if err != nil {
		return -1, err
	}
	if st.Running {
		return -1, fmt.Errorf("engine: lost the connection to the monitor of %s, which still runs", c.Name)
	}
	return st.ExitCode, nil
}

// copyStdin sends in to the monitor, watching for the detach keys.
func copyStdin(conn io.Writer, in io.Reader, keys []byte) error {
	buf := make([]byte, 32<<10)
	matched := 0
	for {
		n, err := in.Read(buf)
		if n > 0 {
			out := buf[:n]
			if len(keys) > 0 {
				var send []byte
				for _, b := range buf[:n] {
					if b == keys[matched] {
						matched++
						if matched == len(keys) {
							if len(send) > 0 {
								conn.Write(send)
							}
							return ErrDetached
						}
						continue
					}
					// Not the sequence after all: what was held back
					// goes through.
					send = append(send, keys[:matched]...)
					matched = 0
					if b == keys[0] {
						matched = 1
						continue
					}
					send = append(send, b)
				}
				out = send
			}
			if _, werr := conn.Write(out); werr != nil {
				return werr
			}
		}
		if err != nil {
			return nil
		}
	}
}

// parseDetachKeys reads Docker's --detach-keys: comma-separated keys, each
// a single character or ctrl-<letter> (ctrl-@, ctrl-[ ... too).
func parseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	var out []byte
	for _, k := range splitComma(s) {
		switch {
		case len(k) == 1:
			out = append(out, k[0])
		case len(k) == 6 && (k[:5] == "ctrl-"):
			ch := k[5]
			switch {
			case ch >= 'a' && ch <= 'z':
				out = append(out, ch-'a'+1)
			case ch >= '@' && ch <= '_':
				out = append(out, ch-'@')
			default:
				return nil, fmt.Errorf("%w: --detach-keys: unknown key %q", ErrInvalid, k)
			}
		default:
			return nil, fmt.Errorf("%w: --detach-keys: unknown key %q (want a letter or ctrl-<letter>)", ErrInvalid, k)
		}
	}
	return out, nil
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// resize asks the monitor to resize the container's terminal.
func (e *Engine) resize(c *container, h, w uint) error {
	conn, err := net.Dial("unix", e.socketPath(c.ID))
	if err != nil {
		return fmt.Errorf("%w: %s is not running", ErrNotRunning, c.Name)
	}
	defer conn.Close()
	if err := writeRequest(conn, request{Op: "resize", Height: h, Width: w}); err != nil {
		return err
	}
	io.Copy(io.Discard, conn) // the monitor closes once it is done
	return nil
}

// Resize sets the size of a -t container's terminal.
func (e *Engine) Resize(ctx context.Context, ref string, h, w uint) error {
	c, err := e.find(ref)
	if err != nil {
		return err
	}
	if !c.Config.Tty {
		return fmt.Errorf("%w: %s has no terminal (it was not created with -t)", ErrConflict, c.Name)
	}
	return e.resize(c, h, w)
}
