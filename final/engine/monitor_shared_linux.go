package engine

// The shared monitor: one berth-shim process per engine root, berth
// binary and namespaces monitors every container handed to it, each on
// a goroutine locked to a thread of its own, as containerd groups the
// containers of a pod under one shim. A Go program built from this binary costs about
// 2.4 MB of anonymous memory however little it does; one per container
// was most of a container's cost to the host, one for all of them is
// paid once.
//
// The price is shared fate: a crash of the monitor (a panic, SIGKILL, the
// OOM killer) kills every container it monitors, since each init dies
// with the thread that started it (PR_SET_PDEATHSIG). Their state.json
// names the dead monitor, so the next berth command records each as
// exited 137 and tears it down, as it did for one container.

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// monitorRequest is what a berth sends the shared monitor, one JSON line:
// the container to set up, start and watch, and whether an attachment
// comes before its command starts.
type monitorRequest struct {
	ID     string
	Attach bool
}

// monitorAck is the monitor's first answer to a request: it has taken
// the container. A connection that ends before it was never served (the
// monitor was exiting), so trying again cannot start the container twice.
// The readyMsg lines of Engine.monitor follow on the same connection.
type monitorAck struct {
	Monitor int // its PID
}

// monitorHello is what a starting monitor says on its ready pipe.
type monitorHello struct {
	Listening bool   `json:",omitempty"` // its socket is open: dial it
	Busy      bool   `json:",omitempty"` // another holds the lock: it is starting or exiting
	Error     string `json:",omitempty"`
}

const (
	// handOverTimeout bounds the attempts to reach a monitor: a few
	// rounds of one exiting while another starts take milliseconds.
	handOverTimeout = 10 * time.Second
	// idleGrace is how long a new monitor waits for its first
	// container: the berth that started it may have been killed before
	// it asked.
	idleGrace = 2 * time.Second
)

var (
	errNoMonitor  = errors.New("no monitor listens")
	errUnanswered = errors.New("the monitor closed the connection unanswered")
)

// monitorKey names the running binary's shared monitor: 8 hex digits of
// a hash of what identifies the executable file. A rebuilt berth is
// another file (another inode, size or modification time), so it never
// hands a container to a monitor running the old code, whose protocol
// and setup may differ. The monitor, re-executed from the same inode,
// computes the same key.
//
// The namespaces it would inherit count too: a monitor sets containers up
// in its own network and mount namespaces, so a berth run in other ones
// (a test's network namespace, say) gets a monitor of its own, as each
// container had before monitors were shared.
func monitorKey() (string, error) {
	id, err := exeKey("/proc/self/exe")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte(id))
	for _, ns := range []string{"net", "mnt"} {
		var st unix.Stat_t
		if err := unix.Stat("/proc/self/ns/"+ns, &st); err != nil {
			return "", fmt.Errorf("engine: identifying this process's %s namespace: %w", ns, err)
		}
		fmt.Fprintf(h, " %s:%d", ns, st.Ino)
	}
	return hex.EncodeToString(h.Sum(nil)[:4]), nil
}

func exeKey(path string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", fmt.Errorf("engine: identifying this program (stat %s): %w", path, err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%d %d %d %d.%09d", st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec)
	return hex.EncodeToString(h.Sum(nil)[:4]), nil
}

func (e *Engine) monitorSocket(key string) string {
	return filepath.Join(e.execRoot, "monitor-"+key+".sock")
}

func (e *Engine) monitorLock(key string) string {
	return filepath.Join(e.execRoot, "monitor-"+key+".lock")
}

// handOver gives container c to the shared monitor of this root and
// binary, starting one if none listens, and returns the monitor's
// reports on c: the readyMsg lines start reads.
func (e *Engine) handOver(c *container, attach bool) (io.ReadCloser, error) {
	key, err := monitorKey()
	if err != nil {
		return nil, err
	}
	sock := e.monitorSocket(key)
	deadline := time.Now().Add(handOverTimeout)
	pause := 5 * time.Millisecond
	for {
		r, err := offer(sock, monitorRequest{ID: c.ID, Attach: attach})
		if err == nil {
			return r, nil
		}
		retryNow := false
		switch {
		case errors.Is(err, errNoMonitor):
			// It answers once it listens, or that another monitor
			// holds the lock: one starting (it will listen) or one
			// exiting (it will let go).
			var serr error
			if retryNow, serr = e.spawnMonitor(); serr != nil {
				return nil, serr
			}
		case errors.Is(err, errUnanswered):
			// That monitor was exiting, idle: the next attempt starts
			// a new one.
		default:
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("engine: no monitor at %s took %s for %s (%v): look for a stuck berth-shim process",
				sock, c.Name, handOverTimeout, err)
		}
		if !retryNow {
			time.Sleep(pause)
			pause = min(2*pause, 100*time.Millisecond)
		}
	}
}

// offer asks the monitor listening at sock to take the container and,
// once it has, returns the rest of its answer.
func offer(sock string, req monitorRequest) (io.ReadCloser, error) {
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: sock, Net: "unix"})
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ECONNREFUSED):
		return nil, errNoMonitor
	case errors.Is(err, unix.EAGAIN):
		// Its backlog is full: it lives, and is busy.
		return nil, errUnanswered
	case err != nil:
		return nil, fmt.Errorf("engine: reaching the monitor at %s: %w", sock, err)
	}
	b, _ := json.Marshal(req)
	if _, err := conn.Write(append(b, '\n')); err != nil {
		conn.Close()
		return nil, errUnanswered
	}
	br := bufio.NewReader(conn)
	line, err := br.ReadBytes('\n')
	if err != nil {
		conn.Close()
		return nil, errUnanswered
	}
	var ack monitorAck
	if err := json.Unmarshal(line, &ack); err != nil || ack.Monitor == 0 {
		conn.Close()
		return nil, fmt.Errorf("engine: the monitor at %s answered %q, not what this berth expects: stop that berth-shim", sock, line)
	}
	return struct {
		io.Reader
		io.Closer
	}{br, conn}, nil
}

// spawnMonitor starts a shared monitor: this program re-executed under
// another name, in a session of its own so that it outlives the berth
// command that started it (and the terminal's hangup), with nothing of
// ours but the ready pipe. It returns true once the monitor listens,
// false if another monitor holds the lock.
func (e *Engine) spawnMonitor() (bool, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return false, fmt.Errorf("engine: %w", err)
	}
	defer r.Close()
	// It works in / (below): a relative ExecRoot would mean another place.
	execRoot, err := filepath.Abs(e.execRoot)
	if err != nil {
		w.Close()
		return false, fmt.Errorf("engine: %w", err)
	}
	cmd := exec.Command("/proc/self/exe", e.root, execRoot)
	cmd.Args[0] = shimName
	// It may outlive many berth commands: it holds no one's directory.
	cmd.Dir = "/"
	// Its goroutines mostly wait: one thread for Go code is plenty, and
	// keeps its memory small.
	cmd.Env = []string{"GOMAXPROCS=1", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.ExtraFiles = []*os.File{w} // fd 3
	cmd.SysProcAttr = &unix.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return false, fmt.Errorf("engine: starting the monitor: %w", err)
	}
	// Reap it when it ends, should this process still be there (a
	// daemon); a CLI that exits first hands it to init.
	go cmd.Wait()
	line, err := bufio.NewReader(r).ReadBytes('\n')
	if err != nil {
		return false, fmt.Errorf("engine: the monitor (pid %d) exited before it listened in %s: is that directory writable?",
			cmd.Process.Pid, e.execRoot)
	}
	var h monitorHello
	if err := json.Unmarshal(line, &h); err != nil {
		return false, fmt.Errorf("engine: the monitor's first word %q: %w", line, err)
	}
	if h.Error != "" {
		return false, fmt.Errorf("engine: starting the monitor: %s", h.Error)
	}
	return h.Listening, nil
}

// sharedMonitor is the berth-shim process: the containers it monitors,
// counted so that it exits when none is left.
type sharedMonitor struct {
	root, execRoot string

	mu      sync.Mutex
	n       int           // containers taken and not yet done
	closing bool          // decided to exit: nothing more is taken
	idle    chan struct{} // closed when closing is set
}

// runMonitor is the shared monitor's main. It takes the lock of its key,
// listens, serves until it monitors no container, then closes and removes
// its socket before letting go of the lock: a berth that dials in between
// finds nobody and starts a new monitor, which waits for the lock.
func runMonitor(root, execRoot string) int {
	// A monitor lives as long as its containers: keep its heap small.
	debug.SetGCPercent(25)
	ready := os.NewFile(readyFD, "ready")
	unix.CloseOnExec(readyFD)
	say := func(h monitorHello) {
		b, _ := json.Marshal(h)
		ready.Write(append(b, '\n'))
		ready.Close()
	}
	key, err := monitorKey()
	if err != nil {
		say(monitorHello{Error: err.Error()})
		return 1
	}
	e := &Engine{root: root, execRoot: execRoot}
	lockPath, sock := e.monitorLock(key), e.monitorSocket(key)
	lock, err := lockMonitor(lockPath)
	if errors.Is(err, unix.EWOULDBLOCK) {
		say(monitorHello{Busy: true})
		return 0
	}
	if err != nil {
		say(monitorHello{Error: err.Error()})
		return 1
	}
	defer lock.Close()
	// Left by a monitor that was killed: only the lock's holder may
	// remove it.
	os.Remove(sock)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		os.Remove(lockPath)
		say(monitorHello{Error: fmt.Sprintf("listening on %s: %v", sock, err)})
		return 1
	}
	m := &sharedMonitor{root: root, execRoot: execRoot, idle: make(chan struct{})}
	// bootID fills a package-level cache on first use, without a lock:
	// fill it now, before containers start on goroutines of their own.
	bootID()
	say(monitorHello{Listening: true})
	// Whoever started this monitor should ask at once; if it was killed
	// first, nobody will.
	time.AfterFunc(idleGrace, func() { m.done(0) })
	go func() {
		for {
			conn, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			go m.take(conn)
		}
	}()
	<-m.idle
	ln.Close() // and removes the socket: Listen made it
	os.Remove(lockPath)
	return 0
}

// lockMonitor takes the lock file at path, or fails with EWOULDBLOCK if
// another monitor holds it. An exiting monitor removes the file: a lock
// taken on the file it removed would be no lock, so it is checked to
// still be the one at path.
func lockMonitor(path string) (*os.File, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("opening the monitor's lock: %w", err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, err
			}
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		var held, now unix.Stat_t
		if unix.Fstat(int(f.Fd()), &held) == nil && unix.Stat(path, &now) == nil &&
			held.Dev == now.Dev && held.Ino == now.Ino {
			return f, nil
		}
		f.Close()
	}
}

// take serves one request: it counts the container, acknowledges it, and
// monitors it on this goroutine, locked to its thread for good.
func (m *sharedMonitor) take(conn *net.UnixConn) {
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	var req monitorRequest
	if err != nil || json.Unmarshal(line, &req) != nil || !isID(req.ID) {
		// An ID that is not one would make paths of its own (and
		// runDir cuts 12 characters from it): refused.
		conn.Close()
		return
	}
	conn.SetReadDeadline(time.Time{})
	m.mu.Lock()
	if m.closing {
		// Decided to exit before this came: unanswered, the berth
		// tries again and starts a new monitor.
		m.mu.Unlock()
		conn.Close()
		return
	}
	m.n++
	m.mu.Unlock()
	defer m.done(-1)
	b, _ := json.Marshal(monitorAck{Monitor: os.Getpid()})
	conn.Write(append(b, '\n'))

	// The container's init dies with the thread that started it
	// (PR_SET_PDEATHSIG): this goroutine keeps that thread to itself for
	// the container's life. Not unlocked: when the goroutine returns, Go
	// ends the thread, once the container is gone.
	goruntime.LockOSThread()
	// An engine of its own, as monitorHere's: nothing is shared with
	// the other containers' monitors but the process.
	e, err := Open(Options{Root: m.root, ExecRoot: m.execRoot})
	if err != nil {
		report(conn, readyMsg{Error: err.Error(), Code: 125})
		conn.Close()
		return
	}
	e.monitor(req.ID, req.Attach, conn, func() {
		// Setting up made garbage the monitor will never need again;
		// give its pages back now rather than hold them for the
		// container's life.
		debug.FreeOSMemory()
	})
}

// done adds delta to the count of containers; at zero the monitor
// decides to exit, once: from then on nothing more is taken.
func (m *sharedMonitor) done(delta int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n += delta
	if m.n == 0 && !m.closing {
		m.closing = true
		close(m.idle)
	}
}

// isID is true of a full container ID: 64 lowercase hex digits.
func isID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
