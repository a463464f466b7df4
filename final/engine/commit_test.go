package engine

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runningConfig is the config of a container of an image with ENTRYPOINT and
// ENV, started with a command and -e, as Create merges them.
var runningConfig = Config{
	Hostname:     "0123456789ab",
	User:         "nobody",
	Env:          []string{"PATH=/bin", "FROM_IMAGE=1", "FROM_RUN=2"},
	Entrypoint:   []string{"/init"},
	Cmd:          []string{"sh", "-c", "echo hi > /f"},
	WorkingDir:   "/app",
	ExposedPorts: map[string]struct{}{"80/tcp": {}},
	Volumes:      map[string]struct{}{"/data": {}},
	Labels:       map[string]string{"a": "1"},
	StopSignal:   "SIGQUIT",
	Tty:          true,
}

func TestCommitConfigRecordsTheContainersConfig(t *testing.T) {
	cfg, err := commitConfig(runningConfig, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, v1.ImageConfig{
		User:         "nobody",
		Env:          []string{"PATH=/bin", "FROM_IMAGE=1", "FROM_RUN=2"},
		Entrypoint:   []string{"/init"},
		Cmd:          []string{"sh", "-c", "echo hi > /f"},
		WorkingDir:   "/app",
		ExposedPorts: map[string]struct{}{"80/tcp": {}},
		Volumes:      map[string]struct{}{"/data": {}},
		Labels:       map[string]string{"a": "1"},
		StopSignal:   "SIGQUIT",
	}, cfg, "docker commit records the container's settings, not the image's")
	cfg.Env[0] = "PATH=changed"
	cfg.Labels["a"] = "changed"
	assert.Equal(t, "PATH=/bin", runningConfig.Env[0], "the container's config is not shared")
	assert.Equal(t, "1", runningConfig.Labels["a"])
}

func TestCommitConfigAppliesChangesAsDockerDoes(t *testing.T) {
	tests := []struct {
		name    string
		changes []string
		check   func(t *testing.T, c v1.ImageConfig)
	}{
		{"CMD replaces the command", []string{`CMD ["httpd", "-f"]`}, func(t *testing.T, c v1.ImageConfig) {
			assert.Equal(t, []string{"httpd", "-f"}, c.Cmd)
			assert.Equal(t, []string{"/init"}, c.Entrypoint)
		}},
		{"ENV adds and replaces by name", []string{"ENV DEBUG=true FROM_RUN=3"}, func(t *testing.T, c v1.ImageConfig) {
			assert.Equal(t, []string{"PATH=/bin", "FROM_IMAGE=1", "FROM_RUN=3", "DEBUG=true"}, c.Env)
		}},
		{"ENTRYPOINT drops the inherited command", []string{`ENTRYPOINT ["/new"]`}, func(t *testing.T, c v1.ImageConfig) {
			assert.Equal(t, []string{"/new"}, c.Entrypoint)
			assert.Nil(t, c.Cmd)
		}},
		{"a CMD before ENTRYPOINT stays", []string{`CMD ["x"]`, `ENTRYPOINT ["/new"]`}, func(t *testing.T, c v1.ImageConfig) {
			assert.Equal(t, []string{"x"}, c.Cmd)
		}},
		{"EXPOSE, VOLUME and LABEL join", []string{"EXPOSE 53/udp", "VOLUME /logs", "LABEL b=2"}, func(t *testing.T, c v1.ImageConfig) {
			assert.Equal(t, map[string]struct{}{"80/tcp": {}, "53/udp": {}}, c.ExposedPorts)
			assert.Equal(t, map[string]struct{}{"/data": {}, "/logs": {}}, c.Volumes)
			assert.Equal(t, map[string]string{"a": "1", "b": "2"}, c.Labels)
		}},
		{"USER and WORKDIR replace", []string{"USER root", "WORKDIR sub"}, func(t *testing.T, c v1.ImageConfig) {
			assert.Equal(t, "root", c.User)
			assert.Equal(t, "/app/sub", c.WorkingDir)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := commitConfig(runningConfig, nil, tt.changes)
			require.NoError(t, err)
			tt.check(t, cfg)
		})
	}
}

func TestCommitConfigFromTheRequestIsMergedWithTheContainers(t *testing.T) {
	req := &Config{Cmd: []string{"other"}, Env: []string{"FROM_RUN=9"}}
	cfg, err := commitConfig(runningConfig, req, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"other"}, cfg.Cmd)
	assert.Equal(t, []string{"FROM_RUN=9", "PATH=/bin", "FROM_IMAGE=1"}, cfg.Env, "the request's, then the container's by name")
	assert.Equal(t, "/app", cfg.WorkingDir, "what the request leaves empty comes from the container")
	assert.Equal(t, []string{"/init"}, cfg.Entrypoint)
}

func TestCommitConfigRefusesABadChangeWhole(t *testing.T) {
	_, err := commitConfig(runningConfig, nil, []string{"ENV A=1", "RUN apt-get update"})
	require.ErrorIs(t, err, ErrInvalid)
	assert.ErrorContains(t, err, "build instruction")
}

// layerTar writes a layer tarball of empty files, and directories for
// the names ending in "/".
func layerTar(t *testing.T, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		h := &tar.Header{Name: n, Mode: 0o644, Typeflag: tar.TypeReg}
		if n[len(n)-1] == '/' {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		}
		require.NoError(t, tw.WriteHeader(h))
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

func tarNames(t *testing.T, b []byte) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		require.NoError(t, err)
		names = append(names, h.Name)
	}
}

func TestWithoutMountpointsDropsBerthsEmptyMountPoints(t *testing.T) {
	var out bytes.Buffer
	in := layerTar(t, "etc/", "etc/resolv.conf", "etc/hosts", "./etc/hostname", "etc/passwd", "root/", "root/etc/hosts", ".wh.gone")
	require.NoError(t, withoutMountpoints(&out, bytes.NewReader(in)))
	assert.Equal(t, []string{"etc/", "etc/passwd", "root/", "root/etc/hosts", ".wh.gone"}, tarNames(t, out.Bytes()))

	// A mount point file with contents is the container's (a stopped
	// container's file copied in), not berth's: it stays.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "etc/hosts", Typeflag: tar.TypeReg, Size: 3, Mode: 0o644}))
	_, err := tw.Write([]byte("1.2"))
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	out.Reset()
	require.NoError(t, withoutMountpoints(&out, &buf))
	assert.Equal(t, []string{"etc/hosts"}, tarNames(t, out.Bytes()))
}

// fakeCgroup lays out a container's cgroup directory, v1 or v2, as the
// kernel shows it (only the files the freezer reads and writes).
func fakeCgroup(t *testing.T, v2 bool) (dirs []string, dir string) {
	t.Helper()
	root := t.TempDir()
	if v2 {
		dir = filepath.Join(root, "unified/berth/c1")
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "cgroup.freeze"), []byte("0\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "cgroup.events"), []byte("populated 1\nfrozen 0\n"), 0o644))
		return []string{dir}, dir
	}
	for _, c := range []string{"cpu", "memory", "freezer", "pids"} {
		d := filepath.Join(root, c, "berth/c1")
		require.NoError(t, os.MkdirAll(d, 0o755))
		if c == "freezer" {
			dir = d
			require.NoError(t, os.WriteFile(filepath.Join(d, "freezer.state"), []byte("THAWED\n"), 0o644))
		}
		dirs = append(dirs, d)
	}
	return dirs, dir
}

func TestFreezerV1WritesFreezerState(t *testing.T) {
	dirs, dir := fakeCgroup(t, false)
	f, err := findFreezer(dirs)
	require.NoError(t, err)
	require.NoError(t, f.Freeze(time.Second))
	b, _ := os.ReadFile(filepath.Join(dir, "freezer.state"))
	assert.Equal(t, "FROZEN", string(b))
	require.NoError(t, f.Thaw())
	b, _ = os.ReadFile(filepath.Join(dir, "freezer.state"))
	assert.Equal(t, "THAWED", string(b))
}

func TestFreezerV2WaitsForTheKernelToSayFrozen(t *testing.T) {
	dirs, dir := fakeCgroup(t, true)
	f, err := findFreezer(dirs)
	require.NoError(t, err)
	// The "kernel" says frozen a little after the write.
	go func() {
		time.Sleep(50 * time.Millisecond)
		os.WriteFile(filepath.Join(dir, "cgroup.events"), []byte("populated 1\nfrozen 1\n"), 0o644)
	}()
	start := time.Now()
	require.NoError(t, f.Freeze(5*time.Second))
	assert.GreaterOrEqual(t, time.Since(start), 40*time.Millisecond, "Freeze waited for cgroup.events")
	b, _ := os.ReadFile(filepath.Join(dir, "cgroup.freeze"))
	assert.Equal(t, "1", string(b))
	require.NoError(t, f.Thaw())
	b, _ = os.ReadFile(filepath.Join(dir, "cgroup.freeze"))
	assert.Equal(t, "0", string(b))
}

func TestFreezerThawsWhenTheGroupNeverFreezes(t *testing.T) {
	dirs, dir := fakeCgroup(t, true)
	f, err := findFreezer(dirs)
	require.NoError(t, err)
	err = f.Freeze(30 * time.Millisecond)
	assert.ErrorContains(t, err, "did not say frozen")
	b, _ := os.ReadFile(filepath.Join(dir, "cgroup.freeze"))
	assert.Equal(t, "0", string(b), "a freeze that did not finish is undone")
}

func TestFindFreezerWithoutOne(t *testing.T) {
	_, err := findFreezer([]string{t.TempDir()})
	assert.ErrorIs(t, err, errNoFreezer)
}
