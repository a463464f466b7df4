package runtime_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"berth/final/runtime"
	"berth/steps/testkit"
)

// An init spawned before its spec waits for it: what is prepared after the
// spawn (here a file in the root filesystem, and the spec itself) is what
// the container gets.
func TestSpawnThenStart(t *testing.T) {
	testkit.RequireRoot(t)
	spec := newSpec(t, "sh", "-c", "hostname; cat /made-after-spawn")
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	pending, err := runtime.Spawn(spec.Linux.Namespaces, runtime.StartOptions{Stdio: runtime.Stdio{Stdout: w, Stderr: w}})
	w.Close()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(spec.Root.Path, "made-after-spawn"), []byte("prepared meanwhile\n"), 0o644))
	spec.Hostname = "spawned"
	p, err := pending.Start(spec)
	require.NoError(t, err)
	out, _ := io.ReadAll(r)
	st, err := p.Wait()
	require.NoError(t, err)
	assert.Equal(t, 0, st.Code)
	assert.Equal(t, "spawned\nprepared meanwhile\n", string(out))
}

// Abort kills and reaps a pending init.
func TestSpawnAbort(t *testing.T) {
	testkit.RequireRoot(t)
	pending, err := runtime.Spawn(newSpec(t).Linux.Namespaces, runtime.StartOptions{})
	require.NoError(t, err)
	pid := pending.Pid()
	require.NoError(t, unix.Kill(pid, 0), "the pending init exists")
	pending.Abort()
	assert.ErrorIs(t, unix.Kill(pid, 0), unix.ESRCH, "aborted and reaped: no zombie left")
}

// A spec whose namespaces are not the ones the init was cloned into is
// refused, and the init does not survive the refusal.
func TestSpawnRefusesOtherNamespaces(t *testing.T) {
	testkit.RequireRoot(t)
	spec := newSpec(t, "true")
	var noNet []specs.LinuxNamespace
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type != specs.NetworkNamespace {
			noNet = append(noNet, ns)
		}
	}
	pending, err := runtime.Spawn(noNet, runtime.StartOptions{})
	require.NoError(t, err)
	pid := pending.Pid()
	_, err = pending.Start(spec)
	se := startError(t, err)
	assert.Equal(t, runtime.ExitSetupFailed, se.ExitCode)
	assert.Contains(t, se.Error(), "namespaces")
	assert.ErrorIs(t, unix.Kill(pid, 0), unix.ESRCH)
}
