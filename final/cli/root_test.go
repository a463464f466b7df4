//go:build linux

package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"berth/final/engine"
)

// berthNoEngine runs berth in-process with a root of its own and checks
// that the engine was never opened: help and bad command lines need no
// root.
func berthNoEngine(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	b := &berthCLI{
		in: strings.NewReader(""), out: &out, err: &errb,
		args:      append([]string{"--root", t.TempDir()}, args...),
		lookupEnv: fakeEnv,
	}
	code = b.execute(context.Background())
	assert.Nil(t, b.eng, "berth %v opened the engine", args)
	return out.String(), errb.String(), code
}

func TestCommandLineErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want []string // in stderr
	}{
		{[]string{"foo"}, 1, []string{"berth: unknown command: berth foo", "Run 'berth --help'"}},
		{[]string{"psx"}, 1, []string{"Did you mean this?\n\tps"}},
		{[]string{"network", "foo"}, 1, []string{"unknown command: berth network foo"}},
		{[]string{"--foo"}, 125, []string{"unknown flag: --foo"}},
		{[]string{"run", "--foo", "busybox"}, 125, []string{"berth: unknown flag: --foo\nSee 'berth run --help'."}},
		{[]string{"ps", "--foo"}, 125, []string{"unknown flag: --foo", "See 'berth ps --help'."}},
		{[]string{"run"}, 1, []string{"'berth run' requires at least 1 argument", "Usage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]"}},
		{[]string{"exec", "c"}, 1, []string{"'berth exec' requires at least 2 arguments"}},
		{[]string{"stop"}, 1, []string{"requires at least 1 argument"}},
		{[]string{"logs", "a", "b"}, 1, []string{"'berth logs' requires exactly 1 argument"}},
		{[]string{"ps", "x"}, 1, []string{"'berth ps' accepts no arguments"}},
		{[]string{"volume", "create", "a", "b"}, 1, []string{"requires at least 0 and at most 1 argument"}},
		{[]string{"run", "-m", "lots", "busybox", "true"}, 125, []string{`invalid argument "lots" for "-m, --memory" flag`}},
		{[]string{"run", "--cpus", "x", "busybox"}, 125, []string{`for "--cpus" flag`}},
		{[]string{"create", "--cpus", "x", "busybox"}, 125, []string{`for "--cpus" flag`}},
		{[]string{"run", "-p", "80:abc", "busybox"}, 125, []string{`invalid container port "abc"`, "See 'berth run --help'."}},
		{[]string{"run", "-v", "rel/path:/x", "busybox"}, 125, []string{"invalid volume specification"}},
		{[]string{"run", "--detach-keys", "ctrl-1", "busybox"}, 125, []string{"invalid detach keys"}},
		{[]string{"logs", "--tail", "ten", "c"}, 125, []string{`invalid --tail "ten"`}},
		{[]string{"logs", "--since", "yesterday", "c"}, 125, []string{"invalid --since"}},
		{[]string{"inspect", "--type", "image", "x"}, 125, []string{"not a valid value for --type"}},
		{[]string{"network", "create", "--subnet", "10.0.0.0", "n"}, 125, []string{`invalid --subnet "10.0.0.0"`}},
		{[]string{"stop", "-t", "soon", "c"}, 125, []string{`invalid argument "soon" for "-t, --timeout" flag`}},
	}
	for _, tt := range tests {
		out, errs, code := berthNoEngine(t, tt.args...)
		assert.Equal(t, tt.code, code, "berth %v\nstderr: %s", tt.args, errs)
		assert.Empty(t, out, "berth %v", tt.args)
		for _, w := range tt.want {
			assert.Contains(t, errs, w, "berth %v", tt.args)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{nil, {"--help"}, {"help"}, {"-h"}} {
		out, errs, code := berthNoEngine(t, args...)
		assert.Equal(t, 0, code, "%v", args)
		assert.Empty(t, errs, "%v", args)
		assert.Contains(t, out, "Usage:\n  berth [OPTIONS] COMMAND [ARG...]", "%v", args)
		for _, c := range []string{"run", "ps", "network", "volume", "import", "version"} {
			assert.Contains(t, out, "\n  "+c+" ", "%v lists %s", args, c)
		}
	}
	// run's -h is --hostname, as docker's: its help is --help only.
	out, _, code := berthNoEngine(t, "run", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "-h, --hostname string")
	assert.Contains(t, out, "    --help ")

	out, _, code = berthNoEngine(t, "network")
	assert.Equal(t, 0, code, "a command group without a command shows its help")
	assert.Contains(t, out, "berth network [command]")

	out, _, code = berthNoEngine(t, "--version")
	assert.Equal(t, 0, code)
	assert.Equal(t, "berth version "+Version+"\n", out)
}

func TestRootFlag(t *testing.T) {
	var out bytes.Buffer
	b := &berthCLI{out: &out, err: &out, args: []string{"--help"}, lookupEnv: func(k string) (string, bool) {
		if k == "BERTH_ROOT" {
			return "/srv/berth", true
		}
		return "", false
	}}
	assert.Equal(t, 0, b.execute(context.Background()))
	assert.Contains(t, out.String(), `(default "/srv/berth")`, "BERTH_ROOT is --root's default")

	b = &berthCLI{out: &out, err: &out, args: []string{"--root", "/x", "--help"}, lookupEnv: fakeEnv}
	b.execute(context.Background())
	assert.Equal(t, "/x", b.root)
	assert.Empty(t, b.execRoot, "no --exec-root: the engine chooses")

	b = &berthCLI{out: &out, err: &out, args: []string{"--help"}, lookupEnv: func(k string) (string, bool) {
		if k == "BERTH_EXEC_ROOT" {
			return "/run/mine", true
		}
		return "", false
	}}
	b.execute(context.Background())
	assert.Equal(t, "/run/mine", b.execRoot, "BERTH_EXEC_ROOT is --exec-root's default")
	b = &berthCLI{out: &out, err: &out, args: []string{"--exec-root", "/run/x", "--help"}, lookupEnv: fakeEnv}
	b.execute(context.Background())
	assert.Equal(t, "/run/x", b.execRoot)
}

func TestMessage(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%w: no such container: web", engine.ErrNotFound), "No such container: web"},
		{fmt.Errorf("%w: the container name %q is already in use", engine.ErrConflict, "web"), `The container name "web" is already in use`},
		{fmt.Errorf("%w: unable to find image %q locally (make it with `berth import`)", engine.ErrImageNotFound, "x"), "Unable to find image \"x\" locally (make it with `berth import`)"},
		{engine.ErrImageNotFound, "image not found\nPull the image with `berth pull IMAGE`, or make one from a root filesystem with `berth import ROOTFS.tar IMAGE`."},
		{errors.New("not found: but not the engine's"), "not found: but not the engine's"},
		{errors.New("engine: creating /x: permission denied"), "engine: creating /x: permission denied"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, message(tt.err))
	}
	err := engineFailure(fmt.Errorf("%w: no such container: web", engine.ErrNotFound))
	var se statusError
	if assert.ErrorAs(t, err, &se) {
		assert.Equal(t, 125, se.code)
		assert.Equal(t, "berth: No such container: web", se.status)
	}
}

func TestForEach(t *testing.T) {
	var out, errb bytes.Buffer
	b := &berthCLI{out: &out, err: &errb}
	err := b.forEach([]string{"a", "b", "c"}, func(name string) error {
		if name == "b" {
			return fmt.Errorf("%w: no such container: b", engine.ErrNotFound)
		}
		return nil
	})
	assert.Equal(t, statusError{code: 1}, err)
	assert.Equal(t, "a\nc\n", out.String(), "each name as given, as docker")
	assert.Equal(t, "berth: No such container: b\n", errb.String())
}

func TestValidateDetachKeys(t *testing.T) {
	for _, ok := range []string{"", "ctrl-p,ctrl-q", "ctrl-a", "x", "ctrl-@", "ctrl-[,q", "CTRL-P"} {
		assert.NoError(t, validateDetachKeys(ok), ok)
	}
	for _, bad := range []string{"ctrl-", "ctrl-1", "alt-x", "ctrl-p,,", "ab"} {
		assert.Error(t, validateDetachKeys(bad), bad)
	}
}

func TestClientVersion(t *testing.T) {
	var out bytes.Buffer
	writeClientVersion(&out)
	assert.Regexp(t, `^Client:\n Version:    dev\n Go version: go1\.\S+\n Git commit: \S+\n Built:      \S+\n OS/Arch:    linux/\w+\n$`, out.String())
}

// The table of top-level commands names each by the name it answers to,
// and holds all of them once.
func TestTopLevelNamesItsCommands(t *testing.T) {
	b := &berthCLI{lookupEnv: fakeEnv}
	seen := map[string]bool{}
	for _, c := range topLevel {
		assert.Equal(t, c.name, c.make(b).Name())
		assert.False(t, seen[c.name], "%s twice", c.name)
		seen[c.name] = true
	}
	all := newRootCommand(b, "")
	assert.Len(t, all.Commands(), len(topLevel), "every command")
	only := newRootCommand(b, "run").Commands()
	if assert.Len(t, only, 1) {
		assert.Equal(t, "run", only[0].Name())
	}
	assert.Len(t, newRootCommand(b, "nosuch").Commands(), len(topLevel), "an unknown name gets them all, for the suggestions")
}

func TestCommandName(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", "busybox"}, "run"},
		{[]string{"--root", "/tmp/r", "ps", "-a"}, "ps"},
		{[]string{"--root=/tmp/r", "network", "ls"}, "network"},
		{[]string{"--help"}, ""},
		{[]string{"-v"}, ""},
		{[]string{"--root", "/r"}, ""},
		{[]string{"--exec-root", "/run/x", "--root=/r", "ps"}, "ps"},
		{[]string{"--exec-root=/run/x", "logs", "web"}, "logs"},
		{nil, ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, commandName(tt.args), "%q", tt.args)
	}
}
