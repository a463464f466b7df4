package testkit

import (
	"os/exec"
	"runtime"
	"syscall"
)

func init() { startProcess = startWithDeathSignal }

// startWithDeathSignal starts cmd with PR_SET_PDEATHSIG, so the kernel
// kills it if the test binary dies without running its cleanups (a
// timeout's panic, ^C: in its own process group the registry does not get
// the terminal's SIGINT). The signal comes when the thread that forked
// exits, not the process (prctl(2)), and Go ends a thread whose goroutine
// locked it and returned, as NewNetNS does: so the fork happens on a
// locked thread held until the registry exits (golang/go#27505).
func startWithDeathSignal(cmd *exec.Cmd) (<-chan error, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	started := make(chan error)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		done <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return done, nil
}
