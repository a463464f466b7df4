package image

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"

	unionfs "berth/04-unionfs"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseChangeEditsTheConfigAsDockerDoes(t *testing.T) {
	tests := []struct {
		change string
		start  v1.ImageConfig
		want   v1.ImageConfig
	}{
		{`CMD ["sh", "-c", "echo hi"]`, v1.ImageConfig{}, v1.ImageConfig{Cmd: []string{"sh", "-c", "echo hi"}}},
		{`CMD echo "hi there"`, v1.ImageConfig{}, v1.ImageConfig{Cmd: []string{"/bin/sh", "-c", `echo "hi there"`}}},
		{`cmd ["/bin/true"]`, v1.ImageConfig{Cmd: []string{"old"}}, v1.ImageConfig{Cmd: []string{"/bin/true"}}},
		{`CMD []`, v1.ImageConfig{Cmd: []string{"old"}}, v1.ImageConfig{Cmd: []string{}}},
		{`ENTRYPOINT ["/init"]`, v1.ImageConfig{}, v1.ImageConfig{Entrypoint: []string{"/init"}}},
		{`ENTRYPOINT exec nginx`, v1.ImageConfig{}, v1.ImageConfig{Entrypoint: []string{"/bin/sh", "-c", "exec nginx"}}},
		{`ENV A=1`, v1.ImageConfig{}, v1.ImageConfig{Env: []string{"A=1"}}},
		{`ENV A=1 B="two words" C=it\'s`, v1.ImageConfig{}, v1.ImageConfig{Env: []string{"A=1", "B=two words", "C=it's"}}},
		{`ENV PATH=/opt/bin`, v1.ImageConfig{Env: []string{"PATH=/bin", "X=y"}}, v1.ImageConfig{Env: []string{"PATH=/opt/bin", "X=y"}}},
		{`ENV GREETING hello  world`, v1.ImageConfig{}, v1.ImageConfig{Env: []string{"GREETING=hello  world"}}},
		{`ENV EMPTY=`, v1.ImageConfig{}, v1.ImageConfig{Env: []string{"EMPTY="}}},
		{`LABEL org.example.a=1 "b c"='d e'`, v1.ImageConfig{}, v1.ImageConfig{Labels: map[string]string{"org.example.a": "1", "b c": "d e"}}},
		{`WORKDIR /app`, v1.ImageConfig{}, v1.ImageConfig{WorkingDir: "/app"}},
		{`WORKDIR sub`, v1.ImageConfig{WorkingDir: "/app"}, v1.ImageConfig{WorkingDir: "/app/sub"}},
		{`WORKDIR rel`, v1.ImageConfig{}, v1.ImageConfig{WorkingDir: "/rel"}},
		{`USER nobody:nogroup`, v1.ImageConfig{}, v1.ImageConfig{User: "nobody:nogroup"}},
		{`EXPOSE 80 53/udp 8000-8002/TCP`, v1.ImageConfig{}, v1.ImageConfig{ExposedPorts: map[string]struct{}{
			"80/tcp": {}, "53/udp": {}, "8000/tcp": {}, "8001/tcp": {}, "8002/tcp": {}}}},
		{`VOLUME /data /logs`, v1.ImageConfig{}, v1.ImageConfig{Volumes: map[string]struct{}{"/data": {}, "/logs": {}}}},
		{`VOLUME ["/data"]`, v1.ImageConfig{}, v1.ImageConfig{Volumes: map[string]struct{}{"/data": {}}}},
		{`STOPSIGNAL SIGQUIT`, v1.ImageConfig{}, v1.ImageConfig{StopSignal: "SIGQUIT"}},
		{"  STOPSIGNAL\t9 ", v1.ImageConfig{}, v1.ImageConfig{StopSignal: "9"}},
	}
	for _, tt := range tests {
		t.Run(tt.change, func(t *testing.T) {
			fn, err := ParseChange(tt.change)
			require.NoError(t, err)
			cfg := tt.start
			fn(&cfg)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestParseChangeRefusesWhatDockerImportDoesNot(t *testing.T) {
	tests := []struct{ change, msg string }{
		{"", "empty"},
		{"RUN apt-get update", "build instruction"},
		{"FROM busybox", "build instruction"},
		{"HEALTHCHECK CMD true", "no field in an OCI image config"},
		{"ONBUILD RUN x", "no field in an OCI image config"},
		{"FROB x", `unknown instruction "FROB"`},
		{"CMD", "needs an argument"},
		{`CMD ['sh']`, "not a JSON array"},
		{`CMD ["sh", 1]`, "not a JSON array"},
		{"ENV A", "NAME=VALUE"},
		{"ENV A=1 B", `"B" is not NAME=VALUE`},
		{"ENV =1", "not NAME=VALUE"},
		{`ENV A="open`, "unterminated"},
		{"WORKDIR /a /b", "one argument"},
		{"EXPOSE 0", "not a port"},
		{"EXPOSE 70000", "not a port"},
		{"EXPOSE 90-80", "not a port"},
		{"EXPOSE 80/icmp", "tcp, udp or sctp"},
		{"STOPSIGNAL SIG!", "not a signal"},
		{`VOLUME [""]`, "empty path"},
		{`VOLUME [/x]`, "JSON array"},
	}
	for _, tt := range tests {
		t.Run(tt.change, func(t *testing.T) {
			_, err := ParseChange(tt.change)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.msg)
			assert.True(t, strings.HasPrefix(err.Error(), "image: change "), err.Error())
		})
	}
}

func TestApplyChangesAppliesAllOrNothing(t *testing.T) {
	cfg := v1.ImageConfig{Cmd: []string{"old"}}
	err := ApplyChanges(&cfg, []string{"CMD new", "BOGUS"})
	require.Error(t, err)
	assert.Equal(t, []string{"old"}, cfg.Cmd, "a bad change anywhere leaves the config alone")
	require.NoError(t, ApplyChanges(&cfg, []string{"WORKDIR /a", "WORKDIR b", "ENV X=1", "ENV X=2"}))
	assert.Equal(t, "/a/b", cfg.WorkingDir)
	assert.Equal(t, []string{"X=2"}, cfg.Env)
}

// tbRootfs is a small root filesystem tarball.
func tbRootfs(t testing.TB) []byte {
	return tbTar(t, tbDir("bin/"), tbFile("bin/hello", "#!/bin/sh\necho hello\n"), tbDir("etc/"),
		tbFile("etc/os-release", "ID=berth\n"), tbSymlink("etc/alias", "os-release"))
}

func TestImportMakesAOneLayerImage(t *testing.T) {
	rootfs := tbRootfs(t)
	diffID := digest.FromBytes(rootfs)
	created := time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)
	var ids []digest.Digest
	for name, input := range map[string][]byte{"plain": rootfs, "gzip": tbGzip(t, rootfs), "zstd": tbZstd(t, rootfs)} {
		t.Run(name, func(t *testing.T) {
			s := tbStore(t)
			img, err := Import(bytes.NewReader(input), s, ImportOptions{
				Ref:     "berth/rootfs:" + name,
				Changes: []string{`CMD ["/bin/hello"]`, "ENV GREETING=hi", "WORKDIR /srv", "EXPOSE 8080", "LABEL made.by=berth"},
				Created: created,
			})
			require.NoError(t, err)
			assert.Equal(t, "docker.io/berth/rootfs:"+name, img.Ref.String())
			require.Len(t, img.Manifest.Layers, 1)
			l := img.Manifest.Layers[0]
			assert.Equal(t, v1.MediaTypeImageLayer, l.MediaType, "stored uncompressed")
			assert.Equal(t, diffID, l.Digest, "so its digest is its diff ID, whatever the input's compression")
			assert.Equal(t, int64(len(rootfs)), l.Size)
			assert.Equal(t, []digest.Digest{diffID}, img.DiffIDs())

			c := img.Config
			assert.Equal(t, runtime.GOARCH, c.Architecture)
			assert.Equal(t, "linux", c.OS)
			assert.Equal(t, created, *c.Created)
			assert.Equal(t, []string{"/bin/hello"}, c.Config.Cmd)
			assert.Equal(t, []string{"GREETING=hi"}, c.Config.Env)
			assert.Equal(t, "/srv", c.Config.WorkingDir)
			assert.Equal(t, map[string]struct{}{"8080/tcp": {}}, c.Config.ExposedPorts)
			assert.Equal(t, map[string]string{"made.by": "berth"}, c.Config.Labels)
			require.Len(t, c.History, 1)
			assert.Equal(t, "Imported from -", c.History[0].Comment)
			ids = append(ids, img.ID())
			tbRefusedIngest(t, s)
		})
	}
	require.Len(t, ids, 3)
	assert.Equal(t, ids[0], ids[1], "same rootfs, same date, same options: the same image ID")
	assert.Equal(t, ids[1], ids[2])
}

func TestImportWithoutANameIsNamedByItsID(t *testing.T) {
	s := tbStore(t)
	img, err := Import(bytes.NewReader(tbRootfs(t)), s, ImportOptions{
		Message:  "from a backup",
		Platform: v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"},
	})
	require.NoError(t, err)
	assert.Equal(t, IDReference(img.ID()), img.Ref)
	assert.True(t, IsIDReference(img.Ref))
	assert.Equal(t, "sha256:"+img.ID().Encoded(), img.Ref.Familiar(), "shown as the ID it is")
	assert.Equal(t, "from a backup", img.Config.History[0].Comment)
	assert.Equal(t, "arm64", img.Config.Architecture)
	assert.Equal(t, "v8", img.Config.Variant)

	_, err = s.GC()
	require.NoError(t, err)
	for _, name := range []string{img.ID().String(), img.ID().Encoded()[:8], img.Ref.Familiar()} {
		got, err := s.Image(name)
		require.NoError(t, err, "GC keeps it, and %q finds it", name)
		assert.Equal(t, img.ID(), got.ID())
	}
	// Saved by that name, it goes out unnamed, as docker saves an ID.
	_, bodies, _ := tbEntries(t, tbSave(t, s, img.Ref.Familiar()))
	assert.Contains(t, string(bodies["manifest.json"]), `"RepoTags":null`)

	// The name goes like any other, and GC takes the rest.
	_, err = s.Remove(img.ID().String())
	require.NoError(t, err)
	_, err = s.Image(img.ID().String())
	assert.ErrorIs(t, err, ErrNotFound)

	// An ID name is not mistaken for a real one.
	assert.False(t, IsIDReference(tbRef(t, "busybox")))
	assert.False(t, IsIDReference(tbRef(t, "sha256:latest")))
	assert.Equal(t, IDReference(img.ID()), tbRef(t, img.Ref.String()), "the name parses back to itself")
}

func TestImportRefusesWhatIsNotARootFilesystem(t *testing.T) {
	saveTarball := func() []byte {
		s := tbStore(t)
		tbImage(t, s, "busybox", Gzip, tbBase(t))
		return tbSave(t, s, "busybox")
	}()
	rootfs := tbRootfs(t)
	tests := []struct {
		name  string
		input []byte
		opts  ImportOptions
		msg   string
	}{
		{"a docker save tarball", saveTarball, ImportOptions{}, "berth load"},
		{"not a tarball", bytes.Repeat([]byte("rootfs? "), 200), ImportOptions{}, "not a tar archive"},
		{"an entry that climbs out", tbTar(t, tbFile("../../etc/passwd", "x")), ImportOptions{}, "climbs out"},
		{"a hard link out", tbTar(t, tbEntry{name: "x", typ: '1', link: "../etc/shadow"}), ImportOptions{}, "points out"},
		{"truncated", tbGzip(t, rootfs)[:40], ImportOptions{}, "truncated"},
		{"nothing at all", nil, ImportOptions{}, "empty"},
		{"xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0, 0, 0, 0, 0}, ImportOptions{}, "xz -dc"},
		{"a bad change", rootfs, ImportOptions{Changes: []string{"RUN rm -rf /"}}, "build instruction"},
		{"a bad name", rootfs, ImportOptions{Ref: "Not A Name"}, "invalid reference"},
		{"a digest for a name", rootfs, ImportOptions{Ref: "x@sha256:" + strings.Repeat("a", 64)}, "tag, not a digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tbStore(t)
			_, err := Import(bytes.NewReader(tt.input), s, tt.opts)
			require.Error(t, err)
			t.Log(err) // what the user reads
			assert.Contains(t, err.Error(), tt.msg)
			tbRefused(t, s)
		})
	}
}

// An empty tar (its end marker alone) is an empty root filesystem.
func TestImportTakesAnEmptyTar(t *testing.T) {
	s := tbStore(t)
	img, err := Import(bytes.NewReader(tbTar(t)), s, ImportOptions{Ref: "scratch:empty"})
	require.NoError(t, err)
	assert.Equal(t, int64(1024), img.Manifest.Layers[0].Size)
}

func TestExportViewIsReadOnlyAndLeavesTheUpperAlone(t *testing.T) {
	overlay, err := unionfs.Overlay().Mounts([]string{"/l/1", "/l/2"}, "/c", "/mnt")
	require.NoError(t, err)
	copied, err := unionfs.Copy().Mounts([]string{"/l/1"}, "/c", "/mnt")
	require.NoError(t, err)
	tests := []struct {
		name string
		in   []unionfs.Mount
		want []unionfs.Mount
		err  string
	}{
		{"overlay: the upper becomes the top lower, no workdir", overlay,
			[]unionfs.Mount{{Type: "overlay", Source: "overlay", Target: "/mnt", Options: []string{"lowerdir=/c/upper:/l/2:/l/1"}}}, ""},
		{"other options stay", []unionfs.Mount{{Type: "overlay", Source: "overlay", Target: "/m",
			Options: []string{"lowerdir=/a:/b", "upperdir=/u", "workdir=/w", "userxattr"}}},
			[]unionfs.Mount{{Type: "overlay", Source: "overlay", Target: "/m", Options: []string{"lowerdir=/u:/a:/b", "userxattr"}}}, ""},
		{"copy: the bind as it is (made read-only when mounted)", copied, copied, ""},
		{"an overlay with no lower", []unionfs.Mount{{Type: "overlay", Options: []string{"upperdir=/u"}}}, nil, "no lowerdir"},
		{"anything else", []unionfs.Mount{{Type: "tmpfs"}}, nil, "tmpfs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := exportView(tt.in)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// Import's output saved and loaded elsewhere is the same image.
func TestImportThenSaveThenLoad(t *testing.T) {
	s := tbStore(t)
	img, err := Import(bytes.NewReader(tbGzip(t, tbRootfs(t))), s, ImportOptions{Ref: "imported:1"})
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, Save(&buf, s, "imported:1"))
	dst := tbStore(t)
	_, err = Load(&buf, dst, nil)
	require.NoError(t, err)
	got, err := dst.Image("imported:1")
	require.NoError(t, err)
	assert.Equal(t, img.Descriptor.Digest, got.Descriptor.Digest, "import and load store the same manifest")
	b, err := json.Marshal(got.Manifest)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "gzip")
}
