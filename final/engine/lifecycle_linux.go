package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"berth/final/runtime"
)

// status reads c's state, mending it first if its monitor died without
// recording the end (killed, or the host rebooted): then the container is
// exited, its init killed with the monitor (it dies with it), and what its
// start set up is undone.
func (e *Engine) status(c *container) (status, error) {
	st, err := e.loadStatus(c.ID)
	if err != nil || !st.Running || st.Monitor.alive() {
		return st, err
	}
	unlock, err := e.lockContainer(c.ID)
	if err != nil {
		return st, err
	}
	defer unlock()
	return e.statusLocked(c)
}

// statusLocked is status for a caller holding the container's lock.
func (e *Engine) statusLocked(c *container) (status, error) {
	st, err := e.loadStatus(c.ID)
	if err != nil || !st.Running || st.Monitor.alive() {
		return st, err
	}
	if st.Init.alive() {
		unix.Kill(st.Init.Pid, unix.SIGKILL)
	}
	terr := e.teardown(c, false)
	msg := fmt.Sprintf("the container's monitor (pid %d: a berth-shim, shared by the containers this berth binary started in this root, or the berth that ran it in the foreground with --rm) died; the container was killed with it", st.Monitor.Pid)
	if terr != nil {
		msg += "; " + terr.Error()
	}
	st.State = State{Status: "exited", ExitCode: 137, Error: msg, StartedAt: st.StartedAt, FinishedAt: time.Now().UTC()}
	st.Monitor, st.Init, st.Network, st.CgroupDir, st.Rootfs = proc{}, proc{}, nil, nil, ""
	os.RemoveAll(e.runDir(c.ID))
	return st, e.saveStatus(c.ID, st)
}

// Wait waits for the container to meet cond and returns its exit code.
func (e *Engine) Wait(ctx context.Context, ref string, cond WaitCondition) (WaitResponse, error) {
	c, err := e.find(ref)
	if err != nil {
		return WaitResponse{}, err
	}
	if cond == "" {
		cond = WaitNotRunning
	}
	st, err := e.status(c)
	if err != nil {
		return WaitResponse{}, err
	}
	if !st.Running && cond != WaitNextExit && cond != WaitRemoved {
		return WaitResponse{StatusCode: st.ExitCode}, nil
	}
	if !st.Running && cond == WaitRemoved && !c.HostConfig.AutoRemove {
		// Nothing will remove it but a remove: wait for the directory
		// to go.
		return e.waitRemoved(ctx, c, st.ExitCode)
	}
	resp, err := e.waitMonitor(ctx, c, cond)
	if err != nil && !st.Running {
		return WaitResponse{StatusCode: st.ExitCode}, nil
	}
	return resp, err
}

// waitMonitor asks the monitor to answer when cond is met.
func (e *Engine) waitMonitor(ctx context.Context, c *container, cond WaitCondition) (WaitResponse, error) {
	var resp WaitResponse
	conn, err := net.Dial("unix", e.socketPath(c.ID))
	if err != nil {
		code, serr := e.exitFromState(c)
		return WaitResponse{StatusCode: code}, serr
	}
	defer conn.Close()
	if err := writeRequest(conn, request{Op: "wait", Condition: cond}); err != nil {
		// The monitor closed its socket between our connect and our
		// request: it is finishing, and state.json has the end.
		code, serr := e.exitFromState(c)
		return WaitResponse{StatusCode: code}, serr
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if ctx.Err() != nil {
		return resp, ctx.Err()
	}
	if err != nil {
		// The monitor died before answering.
		code, serr := e.exitFromState(c)
		return WaitResponse{StatusCode: code}, serr
	}
	if err := json.Unmarshal(line, &resp); err != nil {
		return resp, fmt.Errorf("engine: the monitor's answer: %w", err)
	}
	return resp, nil
}

func (e *Engine) waitRemoved(ctx context.Context, c *container, code int) (WaitResponse, error) {
	for {
		if _, err := os.Stat(e.configPath(c.ID)); errors.Is(err, os.ErrNotExist) {
			return WaitResponse{StatusCode: code}, nil
		}
		select {
		case <-ctx.Done():
			return WaitResponse{StatusCode: -1}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// signal sends sig to the container's init, if it still runs: through a
// pidfd taken after checking the PID is still that process, so a recycled
// PID is never signalled.
func (e *Engine) signal(c *container, st status, sig unix.Signal) error {
	if !st.Running || !st.Init.alive() {
		return fmt.Errorf("%w: container %s is not running", ErrNotRunning, c.Name)
	}
	fd, err := unix.PidfdOpen(st.Init.Pid, 0)
	if err != nil {
		return fmt.Errorf("engine: signalling %s: %w", c.Name, err)
	}
	defer unix.Close(fd)
	if !st.Init.alive() {
		return fmt.Errorf("%w: container %s is not running", ErrNotRunning, c.Name)
	}
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil && err != unix.ESRCH {
		return fmt.Errorf("engine: signalling %s: %w", c.Name, err)
	}
	return nil
}

// Kill sends a signal (KILL by default) to the container's main process.
func (e *Engine) Kill(ctx context.Context, ref, signal string) error {
	c, err := e.find(ref)
	if err != nil {
		return err
	}
	sig := unix.SIGKILL
	if signal != "" {
		if sig, err = signalOf(signal); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	st, err := e.status(c)
	if err != nil {
		return err
	}
	if !st.Running {
		return fmt.Errorf("%w: cannot kill container %s: it is not running", ErrConflict, c.Name)
	}
	return e.signal(c, st, sig)
}

// Stop sends the stop signal (the image's STOPSIGNAL, else TERM), waits
// for the container to exit at most timeout seconds (its --stop-timeout,
// else 10), then kills it. Stopping a stopped container is not an error.
func (e *Engine) Stop(ctx context.Context, ref string, timeout *int) error {
	c, err := e.find(ref)
	if err != nil {
		return err
	}
	st, err := e.status(c)
	if err != nil || !st.Running {
		return err
	}
	grace := 10
	if c.Config.StopTimeout != nil {
		grace = *c.Config.StopTimeout
	}
	if timeout != nil {
		grace = *timeout
	}
	sig := unix.SIGTERM
	if c.Config.StopSignal != "" {
		if s, err := signalOf(c.Config.StopSignal); err == nil {
			sig = s
		}
	}
	if err := e.signal(c, st, sig); err != nil && !errors.Is(err, ErrNotRunning) {
		return err
	}
	wctx := ctx
	if grace >= 0 { // a negative timeout waits for as long as it takes
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, time.Duration(grace)*time.Second)
		defer cancel()
	}
	if _, err := e.waitMonitor(wctx, c, WaitNextExit); err == nil {
		return nil
	}
	// The grace period is over: KILL cannot be ignored.
	if st, err = e.status(c); err != nil || !st.Running {
		return err
	}
	if err := e.signal(c, st, unix.SIGKILL); err != nil && !errors.Is(err, ErrNotRunning) {
		return err
	}
	_, err = e.waitMonitor(ctx, c, WaitNextExit)
	return err
}

// Restart stops the container (if it runs) and starts it again.
func (e *Engine) Restart(ctx context.Context, ref string, timeout *int) error {
	if err := e.Stop(ctx, ref, timeout); err != nil {
		return err
	}
	_, err := e.Start(ctx, ref, StartOptions{})
	return err
}

// Remove deletes a container: its directory, its writable layer, and with
// RemoveVolumes its anonymous volumes. A running container is refused
// unless Force, which kills it first.
func (e *Engine) Remove(ctx context.Context, ref string, opts RemoveOptions) error {
	return e.remove(ref, opts, false)
}

// remove is Remove; tornDown says the caller, the container's monitor
// with --rm, has just undone its start, so nothing is left to undo.
func (e *Engine) remove(ref string, opts RemoveOptions, tornDown bool) error {
	c, err := e.find(ref)
	if err != nil {
		return err
	}
	st, err := e.status(c)
	if err != nil {
		return err
	}
	if st.Running {
		if !opts.Force {
			return fmt.Errorf("%w: cannot remove container %s: it is running: stop it first, or use rm -f", ErrConflict, c.Name)
		}
		if err := e.signal(c, st, unix.SIGKILL); err != nil && !errors.Is(err, ErrNotRunning) {
			return err
		}
		wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c.HostConfig.AutoRemove {
			// Its monitor removes it: wait for that.
			_, err := e.waitMonitor(wctx, c, WaitRemoved)
			if _, serr := os.Stat(e.dir(c.ID)); errors.Is(serr, os.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
		} else if _, err := e.waitMonitor(wctx, c, WaitNextExit); err != nil {
			return err
		}
	}
	unlockNames, err := e.lockNames()
	if err != nil {
		return err
	}
	defer unlockNames()
	unlock, err := e.lockContainer(c.ID)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(e.configPath(c.ID)); errors.Is(err, os.ErrNotExist) {
		return nil // removed meanwhile (by its monitor, with --rm)
	}
	if st, err = e.statusLocked(c); err != nil {
		return err
	}
	if st.Running {
		return fmt.Errorf("%w: container %s was started again while being removed", ErrConflict, c.Name)
	}
	// Whatever a crashed start may have left.
	if !tornDown {
		if err := e.teardown(c, false); err != nil {
			return err
		}
	}
	// Rename first: a half-removed container never shows in ps.
	gone := e.dir(c.ID) + ".removing"
	if err := os.Rename(e.dir(c.ID), gone); err != nil {
		return fmt.Errorf("engine: removing %s: %w", c.Name, err)
	}
	if err := removeAllMounted(gone); err != nil {
		return fmt.Errorf("engine: removing %s: %w", c.Name, err)
	}
	os.RemoveAll(e.runDir(c.ID))
	if opts.RemoveVolumes {
		for _, m := range c.Mounts {
			// Only anonymous volumes: named ones outlive containers.
			if m.Type == "volume" && len(m.Name) == 64 && isHex(m.Name) {
				if users, _ := e.volumeUsers(m.Name); len(users) == 0 {
					os.RemoveAll(e.volumeDir(m.Name))
				}
			}
		}
	}
	return nil
}

// removeAllMounted removes dir, refusing to descend into anything still
// mounted below it (a stale rootfs mount would otherwise lose the image's
// layers through it).
func removeAllMounted(dir string) error {
	if err := unix.Unmount(dir+"/rootfs", unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
		return fmt.Errorf("unmounting its root filesystem: %w", err)
	}
	return os.RemoveAll(dir)
}

func isHex(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// signalOf reads a signal's name or number (KILL, SIGKILL, 9).
func signalOf(s string) (unix.Signal, error) { return runtime.ParseSignal(s) }
