package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/creack/pty"

	"berth/final/runtime"
)

// Exec runs a command in a running container, as docker exec does, and
// returns its exit code. The command is this process's child: it enters
// the container's namespaces and cgroup, takes the container's user (or
// cfg.User), environment plus cfg.Env, and working directory (or
// cfg.WorkingDir), and its streams are opts's, through a pseudo-terminal
// with cfg.Tty.
func (e *Engine) Exec(ctx context.Context, ref string, cfg ExecConfig, opts AttachOptions) (int, error) {
	c, err := e.find(ref)
	if err != nil {
		return -1, err
	}
	if len(cfg.Cmd) == 0 {
		return -1, fmt.Errorf("%w: exec needs a command", ErrInvalid)
	}
	if cfg.Privileged {
		return -1, fmt.Errorf("%w: berth has no privileged mode (exec --privileged): the command gets the container's capabilities", ErrInvalid)
	}
	st, err := e.status(c)
	if err != nil {
		return -1, err
	}
	if !st.Running {
		return -1, fmt.Errorf("%w: container %s is not running: start it first (berth start %s)", ErrConflict, c.Name, c.Name)
	}
	root := fmt.Sprintf("/proc/%d/root", st.Pid)
	base := runtime.Default(root, cfg.Cmd)
	proc := base.Process
	proc.Terminal = cfg.Tty
	user := c.Config.User
	if cfg.User != "" {
		user = cfg.User
	}
	u, home, err := runtime.ResolveUser(root, user)
	if err != nil {
		return -1, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	proc.User = u
	ccfg := c.Config
	ccfg.Env = mergeEnv(c.Config.Env, cfg.Env)
	ccfg.Tty = cfg.Tty
	proc.Env = containerEnv(ccfg, home)
	proc.Cwd = "/"
	if c.Config.WorkingDir != "" {
		proc.Cwd = c.Config.WorkingDir
	}
	if cfg.WorkingDir != "" {
		proc.Cwd = cfg.WorkingDir
	}

	xo := runtime.ExecOptions{}
	if len(st.CgroupDir) == 1 && isCgroup2(st.CgroupDir[0]) {
		xo.CgroupDir = st.CgroupDir[0]
	} else if cg, _, err := containerCgroup(c); err == nil {
		xo.Prestart = cg.Add
	}
	var copies sync.WaitGroup
	var closers []io.Closer
	defer func() {
		for _, cl := range closers {
			cl.Close()
		}
	}()
	if cfg.Tty {
		master, slave, err := pty.Open()
		if err != nil {
			return -1, fmt.Errorf("engine: opening a pseudo-terminal: %w", err)
		}
		closers = append(closers, master)
		if cfg.ConsoleSize[0] > 0 && cfg.ConsoleSize[1] > 0 {
			pty.Setsize(master, &pty.Winsize{Rows: uint16(cfg.ConsoleSize[0]), Cols: uint16(cfg.ConsoleSize[1])})
		}
		xo.Stdio = runtime.Stdio{Stdin: slave, Stdout: slave, Stderr: slave}
		defer slave.Close()
		if opts.Stdin != nil {
			keys, err := parseDetachKeys(orDefault(opts.DetachKeys, "ctrl-p,ctrl-q"))
			if err != nil {
				return -1, err
			}
			go copyStdin(master, opts.Stdin, keys)
		}
		if opts.Stdout != nil {
			copies.Add(1)
			go func() { defer copies.Done(); io.Copy(opts.Stdout, master) }()
		}
		if opts.Resize != nil {
			go func() {
				for sz := range opts.Resize {
					pty.Setsize(master, &pty.Winsize{Rows: uint16(sz[0]), Cols: uint16(sz[1])})
				}
			}()
		}
	} else {
		if opts.Stdin != nil {
			r, w, err := os.Pipe()
			if err != nil {
				return -1, fmt.Errorf("engine: %w", err)
			}
			xo.Stdio.Stdin = r
			defer r.Close()
			go func() { io.Copy(w, opts.Stdin); w.Close() }()
		}
		for _, o := range []struct {
			dst io.Writer
			set **os.File
		}{{opts.Stdout, &xo.Stdio.Stdout}, {opts.Stderr, &xo.Stdio.Stderr}} {
			if o.dst == nil {
				continue
			}
			r, w, err := os.Pipe()
			if err != nil {
				return -1, fmt.Errorf("engine: %w", err)
			}
			*o.set = w
			closers = append(closers, r)
			copies.Add(1)
			go func(dst io.Writer) { defer copies.Done(); io.Copy(dst, r) }(o.dst)
		}
	}
	if cfg.Detach {
		// exec -d: started, not waited for; its output goes nowhere.
		xo.Stdio = runtime.Stdio{}
		p, err := runtime.Exec(st.Pid, proc, xo)
		if err != nil {
			return -1, err
		}
		go p.Wait() // reaped if this process outlives it
		return 0, nil
	}
	p, err := runtime.Exec(st.Pid, proc, xo)
	for _, f := range []*os.File{xo.Stdio.Stdout, xo.Stdio.Stderr} {
		if f != nil && !cfg.Tty {
			f.Close() // the command holds its own copies: EOF when it ends
		}
	}
	if err != nil {
		return -1, err
	}
	stop := context.AfterFunc(ctx, func() { p.Signal(9) })
	defer stop()
	es, err := p.Wait()
	if err != nil && !errors.Is(err, context.Canceled) {
		return -1, fmt.Errorf("engine: waiting for the exec'd command: %w", err)
	}
	if cfg.Tty {
		// The slave's last holder is gone: the master reads EIO after
		// the output, which ends the copy.
		xo.Stdio.Stdin.Close()
	}
	copies.Wait()
	return es.Code, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
