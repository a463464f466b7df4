package engine

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"berth/final/runtime"
)

// shimName is argv[0] of a monitor: Shim recognises it.
const shimName = "berth-shim"

// Shim turns this process into the shared monitor of an engine root
// (argv: berth-shim ROOT EXECROOT) when Start re-executed it as one;
// otherwise it returns at once. Call it first thing in main, after
// runtime.Init. As a monitor it never returns.
func Shim() {
	if len(os.Args) != 3 || os.Args[0] != shimName {
		return
	}
	os.Exit(runMonitor(os.Args[1], os.Args[2]))
}

// readyFD is the pipe a starting monitor reports on to the berth process
// that started it: that it listens (monitorHello).
const readyFD = 3

// readyMsg is one line of a monitor's reports on a container it was
// handed: "listening" (when it waits for an attachment), then "started"
// or the error that stopped the start.
type readyMsg struct {
	Listening bool   `json:",omitempty"`
	Started   bool   `json:",omitempty"`
	Pid       int    `json:",omitempty"`
	Error     string `json:",omitempty"`
	Code      int    `json:",omitempty"` // 125, 126 or 127 with Error
}

// shim is one container's monitor.
type shim struct {
	e  *Engine
	c  *container
	st status
	rt *running // what was set up, to undo

	stdin      io.WriteCloser // the container's stdin, nil without -i
	stdinOnce  sync.Once
	ptyMaster  *os.File
	outputDone sync.WaitGroup

	mu       sync.Mutex
	clients  map[net.Conn]bool // attached, receiving output
	waiters  []waiter
	attached chan struct{} // closed by the first attachment (attach mode)
	exit     *WaitResponse // set once the container ended
	removed  bool

	bundleDone chan struct{} // closed once writeBundle is done
	bundleErr  error
}

type waiter struct {
	conn net.Conn
	cond WaitCondition
}

func report(w io.Writer, m readyMsg) {
	b, _ := json.Marshal(m)
	w.Write(append(b, '\n'))
}

// monitor is a container's monitor: it sets the container up, starts it,
// serves its socket, and records its end. It reports on ready (the
// connection that handed the container to the shared monitor, or
// monitorHere's pipe) and closes it once the container runs (then calls
// started, if set). It returns when the container has ended and, with
// --rm, been removed. It must run on a locked thread.
func (e *Engine) monitor(id string, attachMode bool, ready io.WriteCloser, started func()) int {
	c, err := e.load(id)
	if err != nil {
		report(ready, readyMsg{Error: err.Error(), Code: 125})
		ready.Close()
		return 1
	}
	s := &shim{e: e, c: c, clients: map[net.Conn]bool{}, attached: make(chan struct{})}
	s.st, _ = e.loadStatus(id)

	fail := func(err error) int {
		code := ExitCode(err)
		s.teardown()
		s.st.State = State{Status: "created", ExitCode: code, Error: err.Error(), FinishedAt: time.Now().UTC()}
		s.st.Monitor, s.st.Init, s.st.Network, s.st.CgroupDir, s.st.Rootfs = proc{}, proc{}, nil, nil, ""
		e.saveStatus(id, s.st)
		report(ready, readyMsg{Error: err.Error(), Code: code})
		ready.Close()
		return 1
	}

	ln, err := s.listen()
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(e.runDir(id))
	go s.serve(ln)
	spec, st, err := s.setup()
	if err != nil {
		ln.Close()
		return fail(err)
	}
	if attachMode {
		// Only now: an attachment needs the container's stdin, which
		// setup made.
		report(ready, readyMsg{Listening: true})
		select {
		case <-s.attached:
		case <-time.After(30 * time.Second):
			// Whoever asked for the attachment is gone: run detached.
		}
	}
	p, err := st.start(spec)
	if err != nil {
		ln.Close()
		return fail(err)
	}
	s.st.State = State{Status: "running", Running: true, Pid: p.Pid, StartedAt: time.Now().UTC()}
	s.st.Monitor, s.st.Init = procOf(os.Getpid()), procOf(p.Pid)
	if err := e.saveStatus(id, s.st); err != nil {
		p.Signal(unix.SIGKILL)
		p.Wait()
		ln.Close()
		return fail(err)
	}
	report(ready, readyMsg{Started: true, Pid: p.Pid})
	ready.Close()
	s.bundleDone = make(chan struct{})
	exited := make(chan struct{})
	go s.writeBundle(spec, exited)
	if started != nil {
		started()
	}

	es, werr := p.Wait()
	close(exited)
	if werr != nil {
		es = runtime.ExitStatus{Code: 255}
	}
	s.finish(es)
	ln.Close()
	return 0
}

// listen opens the monitor's socket, replacing one left by a dead monitor.
func (s *shim) listen() (net.Listener, error) {
	dir := s.e.runDir(s.c.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("engine: creating %s: %w", dir, err)
	}
	path := s.e.socketPath(s.c.ID)
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("engine: the monitor's socket: %w", err)
	}
	return ln, nil
}

// serve answers the socket's requests until the listener closes.
func (s *shim) serve(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go s.handle(conn)
	}
}

func (s *shim) handle(conn net.Conn) {
	br := bufio.NewReader(conn)
	line, err := br.ReadBytes('\n')
	var req request
	if err != nil || json.Unmarshal(line, &req) != nil {
		conn.Close()
		return
	}
	switch req.Op {
	case "attach":
		s.attach(conn, br, req)
	case "wait":
		s.mu.Lock()
		if s.exit != nil && (req.Condition != WaitRemoved || s.removed || !s.c.HostConfig.AutoRemove) {
			exit := *s.exit
			s.mu.Unlock()
			json.NewEncoder(conn).Encode(exit)
			conn.Close()
			return
		}
		s.waiters = append(s.waiters, waiter{conn, req.Condition})
		s.mu.Unlock()
	case "resize":
		if s.ptyMaster != nil {
			pty.Setsize(s.ptyMaster, &pty.Winsize{Rows: uint16(req.Height), Cols: uint16(req.Width)})
		}
		conn.Close()
	default:
		conn.Close()
	}
}

// attach adds conn to the output's receivers and copies what it sends to
// the container's stdin.
func (s *shim) attach(conn net.Conn, br *bufio.Reader, req request) {
	s.mu.Lock()
	if s.exit != nil {
		exit := *s.exit
		s.mu.Unlock()
		b, _ := json.Marshal(exit)
		writeFrame(conn, streamExit, b)
		conn.Close()
		return
	}
	s.clients[conn] = req.Stdout || req.Stderr
	select {
	case <-s.attached:
	default:
		close(s.attached)
	}
	s.mu.Unlock()
	if !req.Stdin || s.stdin == nil {
		return
	}
	go func() {
		io.Copy(s.stdin, br)
		// The client's stdin ended. With StdinOnce (docker run -i) that
		// ends the container's stdin too: `echo hi | berth run -i cat`.
		if s.c.Config.StdinOnce && !s.c.Config.Tty {
			s.stdinOnce.Do(func() { s.stdin.Close() })
		}
	}()
}

// copyOutput sends what the container writes on one stream to the log
// and to every attached client.
func (s *shim) copyOutput(r io.Reader, stream byte, log *logWriter) {
	defer s.outputDone.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			log.Write(buf[:n])
			s.mu.Lock()
			for conn, wants := range s.clients {
				if !wants {
					continue
				}
				conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if writeFrame(conn, stream, buf[:n]) != nil {
					// A client that cannot keep up, or is gone, is
					// dropped; the container is never held back by it.
					conn.Close()
					delete(s.clients, conn)
				}
			}
			s.mu.Unlock()
		}
		if err != nil {
			log.Flush()
			return
		}
	}
}

// finish records the container's end, undoes what start set up, tells the
// clients and waiters, and removes the container if it asked for that.
func (s *shim) finish(es runtime.ExitStatus) {
	// Output first: every line the container wrote is in the log before
	// its end is recorded. The init's death killed every process of the
	// PID namespace, so the pipes close; a bounded wait covers the rest.
	done := make(chan struct{})
	go func() { s.outputDone.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	if s.bundleDone != nil {
		<-s.bundleDone // before the runtime directory goes
	}
	// OOMKilled is the OOM killer's SIGKILL: only an exit by SIGKILL
	// (137) needs the cgroup's counters read.
	oom := es.Code == 137 && s.rt.oomKilled()
	unlock, lerr := s.e.lockContainer(s.c.ID)
	terr := s.e.teardown(s.c, true)
	s.st.State = State{Status: "exited", ExitCode: es.Code, OOMKilled: oom,
		StartedAt: s.st.StartedAt, FinishedAt: time.Now().UTC()}
	if s.bundleErr != nil {
		s.st.State.Error = fmt.Sprintf("engine: writing the bundle's config.json: %v", s.bundleErr)
	}
	s.st.Monitor, s.st.Init, s.st.Network, s.st.CgroupDir, s.st.Rootfs = proc{}, proc{}, nil, nil, ""
	s.e.saveStatus(s.c.ID, s.st)
	if lerr == nil {
		unlock()
	}

	exit := WaitResponse{StatusCode: es.Code}
	s.mu.Lock()
	s.exit = &exit
	s.mu.Unlock()
	s.notify(false)
	if s.c.HostConfig.AutoRemove {
		if err := s.e.remove(s.c.ID, RemoveOptions{Force: true, RemoveVolumes: true}, terr == nil); err != nil {
			exit.Error = &struct{ Message string }{err.Error()}
		}
	}
	s.mu.Lock()
	s.removed = true
	s.mu.Unlock()
	s.notify(true)
}

// notify answers the waiters and clients whose condition is met: at the
// exit, those waiting for it (and everyone, without --rm); after the
// removal, the rest.
func (s *shim) notify(removed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	exit := *s.exit
	b, _ := json.Marshal(exit)
	last := removed || !s.c.HostConfig.AutoRemove
	var keep []waiter
	for _, w := range s.waiters {
		if w.cond == WaitRemoved && !last {
			keep = append(keep, w)
			continue
		}
		w.conn.Write(append(b, '\n'))
		w.conn.Close()
	}
	s.waiters = keep
	if !last {
		return
	}
	for conn := range s.clients {
		conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		writeFrame(conn, streamExit, b)
		conn.Close()
		delete(s.clients, conn)
	}
}
