package main_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	unionfs "berth/04-unionfs"
	network "berth/05-network"
	"berth/steps/testkit"
)

// The image commands through the built binary: pull, push, save, load,
// tag, rmi, history, inspect, prune, df. A registry is Debian's
// docker-registry on the host's loopback; berth runs in the test's network
// namespace, so forwardInto makes the registry answer there too, at the
// same address.

// forwardInto listens on addr inside the network namespace netns and
// carries each connection to addr in this process's own namespace: a
// socket belongs to the namespace it was made in, whichever thread uses it
// later, so only the listen needs to happen in there.
func forwardInto(t testing.TB, netns, addr string) {
	t.Helper()
	var l net.Listener
	require.NoError(t, network.InNamespace(netns, func() (err error) {
		l, err = net.Listen("tcp", addr)
		return err
	}))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
	)
	track := func(c net.Conn, on bool) {
		mu.Lock()
		defer mu.Unlock()
		if on {
			conns[c] = true
		} else {
			delete(conns, c)
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			down, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer down.Close()
				up, err := net.Dial("tcp", addr) // this goroutine's thread is in our namespace
				if err != nil {
					return
				}
				defer up.Close()
				track(down, true)
				track(up, true)
				defer track(down, false)
				defer track(up, false)
				done := make(chan struct{}, 2)
				pipe := func(dst, src net.Conn) {
					io.Copy(dst, src)
					dst.(*net.TCPConn).CloseWrite()
					done <- struct{}{}
				}
				go pipe(up, down)
				go pipe(down, up)
				<-done
				<-done
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

// sibling is another berth with a root and a network namespace of its
// own: a second machine to load into. (Two roots in one namespace would
// each make a default bridge on the same subnet.)
func (b *berth) sibling(t *testing.T) *berth {
	s := &berth{t: t, bin: b.bin, root: t.TempDir(), netns: testkit.NetNS(t)}
	t.Cleanup(s.cleanup)
	return s
}

// withStdin runs berth with stdin, returning stdout, stderr and the code.
func (b *berth) withStdin(stdin io.Reader, args ...string) (string, string, int) {
	b.t.Helper()
	var out, errb bytes.Buffer
	cmd := b.cmd(args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		b.t.Fatalf("berth %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// imageID is the full ID of an image, and its 12-digit form.
func (b *berth) imageID(name string) (string, string) {
	b.t.Helper()
	id := strings.TrimSpace(b.ok("image", "inspect", "-f", "{{.Id}}", name))
	require.Regexp(b.t, `^sha256:[0-9a-f]{64}$`, id)
	return id, id[7:19]
}

// rootfsTar is the course's busybox root filesystem as a tar.
func rootfsTar(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, unionfs.Tar(&buf, testkit.Rootfs(t)))
	return buf.Bytes()
}

// rootfsEntries is the course's busybox root filesystem as test kit entries,
// for WriteOCILayout.
func rootfsEntries(t *testing.T) []testkit.Entry {
	t.Helper()
	dir := testkit.Rootfs(t)
	var out []testkit.Entry
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := testkit.Entry{Name: rel, Mode: int64(fi.Mode().Perm())}
		switch {
		case fi.IsDir():
			e.Name += "/"
			e.Type = tar.TypeDir
			if fi.Mode()&fs.ModeSticky != 0 {
				e.Mode |= 0o1000
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			e.Type = tar.TypeSymlink
			e.Linkname, err = os.Readlink(p)
		default:
			var b []byte
			b, err = os.ReadFile(p)
			e.Body = string(b)
		}
		out = append(out, e)
		return err
	}))
	return out
}

// lines splits output into its lines.
func lines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }

func TestImagesPulledFromARegistryRun(t *testing.T) {
	b := newBerth(t)
	reg := testkit.NewRegistry(t, testkit.RegistryOptions{})
	forwardInto(t, b.netns, reg.Addr)

	// The source: a two-layer image (busybox, then a file) that skopeo,
	// an independent client, pushes under three tags.
	layout := t.TempDir()
	_, err := testkit.WriteOCILayout(layout, "1", rootfsEntries(t),
		[]testkit.Entry{{Name: "etc/", Type: tar.TypeDir}, {Name: "etc/motd", Body: "pulled from a registry\n"}})
	require.NoError(t, err)
	for _, tag := range []string{"1", "2", "3"} {
		reg.Skopeo(t, "copy", "oci:"+layout+":1", "docker://"+reg.Ref("course/busybox:"+tag))
	}
	var remote struct {
		Digest string
		Layers []string
	}
	ref := reg.Ref("course/busybox:1")
	require.NoError(t, json.Unmarshal([]byte(reg.Skopeo(t, "inspect", "docker://"+ref)), &remote))

	// pull, not on a terminal: docker's plain lines.
	out := b.ok("pull", ref)
	t.Logf("berth pull:\n%s", out)
	ls := lines(out)
	assert.Equal(t, "1: Pulling from "+reg.Ref("course/busybox"), ls[0])
	for _, l := range remote.Layers {
		assert.Contains(t, out, l[7:19]+": Download complete\n")
		assert.Contains(t, out, l[7:19]+": Pull complete\n", "pull unpacks, as docker's does")
	}
	assert.Equal(t, []string{"Digest: " + remote.Digest, "Status: Downloaded newer image for " + ref, ref}, ls[len(ls)-3:])
	assert.Equal(t, "pulled from a registry\n", b.ok("run", "--rm", ref, "cat", "/etc/motd"))
	assert.Contains(t, b.ok("run", "--rm", ref, "cat", "/etc/os-release"), "berth busybox rootfs")

	again := b.ok("pull", "-q", ref)
	assert.Equal(t, ref+"\n", again, "-q prints the name alone")
	again = b.ok("pull", ref)
	assert.Contains(t, again, "Status: Image is up to date for "+ref)
	assert.Contains(t, again, remote.Layers[0][7:19]+": Already exists")

	hist := b.ok("history", ref)
	_, id12 := b.imageID(ref)
	assert.Regexp(t, `^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT\n`+
		id12+`\s+N/A\s+berth testkit: layer 2 of 2, 2 entries\s+\d+B\s*\n`+
		`<missing>\s+N/A\s+berth testkit: layer 1 of 2, \d+ entries\s+[\d.]+MB\s*\n$`, hist)

	// run and create pull what is missing, saying so on stderr, as docker.
	for i, args := range [][]string{
		{"run", "--rm", reg.Ref("course/busybox:2"), "cat", "/etc/motd"},
		{"create", "--name", "made", reg.Ref("course/busybox:3"), "cat", "/etc/motd"},
	} {
		stdout, stderr, code := b.run(args...)
		require.Equal(t, 0, code, "%v\nstdout: %s\nstderr: %s", args, stdout, stderr)
		name := reg.Ref("course/busybox:" + []string{"2", "3"}[i])
		assert.True(t, strings.HasPrefix(stderr, "Unable to find image '"+name+"' locally\n"), stderr)
		assert.Contains(t, stderr, "Status: Downloaded newer image for "+name+"\n")
		if args[0] == "run" {
			assert.Equal(t, "pulled from a registry\n", stdout, "the pull's progress is not on stdout")
		} else {
			assert.Regexp(t, `^[0-9a-f]{64}\n$`, stdout)
		}
	}
	assert.Equal(t, "pulled from a registry\n", b.ok("start", "-a", "made"))
	b.ok("rm", "made")

	// A tag the registry does not have: 125, and why.
	_, stderr, code := b.run("run", "--rm", reg.Ref("course/busybox:nope"), "true")
	assert.Equal(t, 125, code)
	assert.Contains(t, stderr, "Unable to find image '"+reg.Ref("course/busybox:nope")+"' locally")
	assert.Contains(t, stderr, "Manifest for "+reg.Ref("course/busybox:nope")+" not found")
	_, stderr, code = b.run("pull", reg.Ref("course/nothing"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "not found", stderr)

	images := b.ok("images", reg.Ref("course/*"))
	for _, tag := range []string{"1", "2", "3"} {
		assert.Regexp(t, regexp.QuoteMeta(reg.Ref("course/busybox"))+`\s+`+tag+`\s+`+id12, images)
	}
}

func TestPushedImagesAreReadBackBySkopeo(t *testing.T) {
	b := newBerth(t)
	reg := testkit.NewRegistry(t, testkit.RegistryOptions{})
	forwardInto(t, b.netns, reg.Addr)
	ref := reg.Ref("course/pushed:1")
	b.ok("tag", "busybox", ref)

	out := b.ok("push", ref)
	t.Logf("berth push:\n%s", out)
	ls := lines(out)
	assert.Equal(t, "The push refers to repository ["+reg.Ref("course/pushed")+"]", ls[0])
	assert.Contains(t, out, ": Pushed\n")
	m := regexp.MustCompile(`^1: digest: (sha256:[0-9a-f]{64}) size: (\d+)$`).FindStringSubmatch(ls[len(ls)-1])
	require.NotNil(t, m, "the last line: %q", ls[len(ls)-1])
	pushed := m[1]

	// skopeo, reading the registry, sees what berth has.
	var remote struct {
		Digest string
		Layers []string
	}
	require.NoError(t, json.Unmarshal([]byte(reg.Skopeo(t, "inspect", "docker://"+ref)), &remote))
	assert.Equal(t, pushed, remote.Digest)
	assert.Equal(t, pushed, strings.TrimSpace(b.ok("image", "inspect", "-f", "{{.Descriptor.Digest}}", ref)))
	var rootfs []string
	require.NoError(t, json.Unmarshal([]byte(b.ok("image", "inspect", "-f", "{{json .RootFS.Layers}}", ref)), &rootfs))
	assert.Equal(t, rootfs, remote.Layers, "an imported layer is pushed as stored, uncompressed: its digest is its diff ID")

	// The registry holds berth's manifest byte for byte, and skopeo copies
	// the image back out unchanged (told to keep the plain layer plain,
	// which the oci: transport would otherwise compress).
	raw := reg.Skopeo(t, "inspect", "--raw", "docker://"+ref)
	stored, err := os.ReadFile(filepath.Join(b.root, "image", "oci", "blobs", "sha256", strings.TrimPrefix(pushed, "sha256:")))
	require.NoError(t, err)
	assert.Equal(t, string(stored), strings.TrimSuffix(raw, "\n"))
	dir := t.TempDir()
	reg.Skopeo(t, "copy", "--preserve-digests", "--dest-oci-accept-uncompressed-layers", "docker://"+ref, "oci:"+dir+":copied")
	var idx struct{ Manifests []struct{ Digest string } }
	b2, err := os.ReadFile(filepath.Join(dir, "index.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b2, &idx))
	require.Len(t, idx.Manifests, 1)
	assert.Equal(t, pushed, idx.Manifests[0].Digest)

	// A second name on the same registry sends no layer: mounted.
	second := reg.Ref("course/other:2")
	b.ok("tag", "busybox", second)
	out = b.ok("push", second)
	assert.Contains(t, out, "Mounted from course/pushed")
	assert.Equal(t, second+"\n", b.ok("push", "-q", second))

	_, stderr, code := b.run("push", reg.Ref("course/never:1"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "An image does not exist locally with the tag: "+reg.Ref("course/never:1"))
}

func TestSaveThenLoadElsewhereRuns(t *testing.T) {
	b := newBerth(t)
	b.ok("tag", "busybox", "course/box:1")
	file := filepath.Join(t.TempDir(), "images.tar")
	assert.Empty(t, b.ok("save", "-o", file, "busybox", "course/box:1"))
	saved, err := os.ReadFile(file)
	require.NoError(t, err)
	fi, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "as docker's save -o")
	stdout := b.ok("save", "busybox", "course/box:1")
	assert.Equal(t, saved, []byte(stdout), "stdout (not a terminal) gets the same tarball")

	var names []string
	tr := tar.NewReader(bytes.NewReader(saved))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if !strings.HasPrefix(h.Name, "blobs/sha256/") || h.Name == "blobs/sha256/" {
			names = append(names, h.Name)
		}
	}
	assert.Equal(t, []string{"blobs/", "blobs/sha256/", "index.json", "manifest.json", "oci-layout", "repositories"}, names)
	// skopeo, another reader of docker's format, reads it.
	var info struct{ Os string }
	require.NoError(t, json.Unmarshal([]byte(testkit.Skopeo(t, "inspect", "docker-archive:"+file+":course/box:1")), &info))
	assert.Equal(t, "linux", info.Os)

	id, _ := b.imageID("busybox")
	other := b.sibling(t)
	assert.Equal(t, "Loaded image: busybox:latest\nLoaded image: course/box:1\n", other.ok("load", "-i", file))
	gotID, _ := other.imageID("course/box:1")
	assert.Equal(t, id, gotID, "the same config, so the same image ID")
	assert.Contains(t, other.ok("run", "--rm", "course/box:1", "cat", "/etc/os-release"), "berth busybox rootfs")

	third := b.sibling(t)
	out, errs, code := third.withStdin(bytes.NewReader(saved), "load")
	require.Equal(t, 0, code, errs)
	assert.Equal(t, "Loaded image: busybox:latest\nLoaded image: course/box:1\n", out)
	assert.Equal(t, "hi\n", third.ok("run", "--rm", "busybox", "echo", "hi"))

	_, errs, code = b.run("save", "-o", filepath.Join(t.TempDir(), "x.tar"), "busybox", "nope")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "No such image: nope")
}

// dockerSave assembles the tarball `docker save` writes, in one of its two
// layouts, of an image made of layers (uncompressed tars, lowest first)
// named name. How it was checked: the "docker25" layout follows moby's
// image/tarexport/save.go as of Docker 25.0 (read at commit 032797ea):
// the tar of a directory holding blobs/sha256/ (for each layer, its tar
// under its diff ID and a legacy v1 JSON nothing points at; the config
// under the image ID; an OCI manifest whose "layers" lists only foreign
// layers, so [] here), index.json (an entry per tag, with containerd's
// io.containerd.image.name and the bare tag as ref.name, and the
// platform), manifest.json and repositories as json.Encoder writes them
// (ending in a newline; the top layer's diff ID in repositories), and
// oci-layout with docker's spacing; entries in name order, as docker's tar
// of a directory walks it. The "legacy" layout is what every docker from
// 1.10 to 24 wrote (moby's save.go before 25, and docs/06-images.md):
// <layer ID>/{VERSION,json,layer.tar}, <image ID>.json. The v1 layer IDs
// are made up: docker derives them from its V1Image JSON, and no loader
// reads them.
func dockerSave(t *testing.T, layout, name string, layers ...[]byte) (tarball []byte, id digest.Digest) {
	t.Helper()
	var diffIDs []digest.Digest
	for _, l := range layers {
		diffIDs = append(diffIDs, digest.FromBytes(l))
	}
	ids, _ := json.Marshal(diffIDs)
	arch := runtime.GOARCH
	config := []byte(`{"architecture":"` + arch + `","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],` +
		`"Cmd":["sh"],"WorkingDir":"/","OnBuild":null},"created":"2024-05-01T12:00:00.123456789Z",` +
		`"history":[{"created":"2024-05-01T11:59:00Z","created_by":"/bin/sh -c #(nop) ADD file:4b1f2b2d3e in / "},` +
		`{"created":"2024-05-01T11:59:01Z","created_by":"/bin/sh -c #(nop)  CMD [\"sh\"]","empty_layer":true},` +
		`{"created":"2024-05-01T12:00:00Z","created_by":"COPY motd /etc/motd # buildkit","comment":"buildkit.dockerfile.v0"}],` +
		`"os":"linux","rootfs":{"type":"layers","diff_ids":` + string(ids) + `}}`)
	id = digest.FromBytes(config)
	repo, tag, _ := strings.Cut(name, ":")

	files := map[string][]byte{}
	var dirs []string
	v1IDs := make([]string, len(layers))
	for i, d := range diffIDs {
		v1IDs[i] = digest.FromString(fmt.Sprintf("v1 %d %s", i, d)).Encoded()
	}
	legacyJSON := func(i int) []byte {
		parent := ""
		if i > 0 {
			parent = `"parent":"` + v1IDs[i-1] + `",`
		}
		return []byte(`{"id":"` + v1IDs[i] + `",` + parent + `"created":"1970-01-01T00:00:00Z","container_config":{"Hostname":"","Domainname":"","User":"",` +
			`"AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,` +
			`"Cmd":null,"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null},"os":"linux"}`)
	}
	switch layout {
	case "docker25":
		dirs = []string{"blobs/", "blobs/sha256/"}
		blob := func(b []byte) digest.Digest {
			d := digest.FromBytes(b)
			files["blobs/sha256/"+d.Encoded()] = b
			return d
		}
		for i, l := range layers {
			blob(l)
			blob(legacyJSON(i))
		}
		blob(config)
		platform := `{"architecture":"` + arch + `","os":"linux"}`
		manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json",` +
			`"digest":"` + id.String() + `","size":` + fmt.Sprint(len(config)) + `,"platform":` + platform + `},"layers":[]}`)
		md := blob(manifest)
		files["index.json"] = []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
			`"digest":"` + md.String() + `","size":` + fmt.Sprint(len(manifest)) + `,"annotations":{"io.containerd.image.name":"docker.io/` + name +
			`","org.opencontainers.image.ref.name":"` + tag + `"},"platform":` + platform + `}]}`)
		var paths []string
		for _, d := range diffIDs {
			paths = append(paths, `"blobs/sha256/`+d.Encoded()+`"`)
		}
		files["manifest.json"] = []byte(`[{"Config":"blobs/sha256/` + id.Encoded() + `","RepoTags":["` + name + `"],"Layers":[` + strings.Join(paths, ",") + `]}]` + "\n")
		files["oci-layout"] = []byte(`{"imageLayoutVersion": "1.0.0"}`)
		files["repositories"] = []byte(`{"` + repo + `":{"` + tag + `":"` + diffIDs[len(diffIDs)-1].Encoded() + `"}}` + "\n")
	case "legacy":
		var paths []string
		for i, l := range layers {
			dirs = append(dirs, v1IDs[i]+"/")
			files[v1IDs[i]+"/VERSION"] = []byte("1.0")
			files[v1IDs[i]+"/json"] = legacyJSON(i)
			files[v1IDs[i]+"/layer.tar"] = l
			paths = append(paths, `"`+v1IDs[i]+`/layer.tar"`)
		}
		files[id.Encoded()+".json"] = config
		files["manifest.json"] = []byte(`[{"Config":"` + id.Encoded() + `.json","RepoTags":["` + name + `"],"Layers":[` + strings.Join(paths, ",") + `]}]` + "\n")
		files["repositories"] = []byte(`{"` + repo + `":{"` + tag + `":"` + v1IDs[len(v1IDs)-1] + `"}}` + "\n")
	default:
		t.Fatalf("no layout %q", layout)
	}
	var all []string
	all = append(all, dirs...)
	for n := range files {
		all = append(all, n)
	}
	sort.Strings(all)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range all {
		h := &tar.Header{Name: n, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(files[n]))}
		if strings.HasSuffix(n, "/") {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		require.NoError(t, tw.WriteHeader(h))
		_, err := tw.Write(files[n])
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	return buf.Bytes(), id
}

// layerOf is a layer tar of a few files.
func layerOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		h := &tar.Header{Name: n, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(files[n]))}
		if strings.HasSuffix(n, "/") {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		require.NoError(t, tw.WriteHeader(h))
		_, err := tw.Write([]byte(files[n]))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

func TestLoadTarballsAsDockerWritesThem(t *testing.T) {
	b := newBerth(t)
	base := rootfsTar(t)
	top := layerOf(t, map[string]string{"etc/": "", "etc/motd": "written by docker save\n"})
	for _, layout := range []string{"docker25", "legacy"} {
		t.Run(layout, func(t *testing.T) {
			name := "docker/made:" + layout
			tarball, id := dockerSave(t, layout, name, base, top)
			out, errs, code := b.withStdin(bytes.NewReader(tarball), "load")
			require.Equal(t, 0, code, errs)
			assert.Equal(t, "Loaded image: "+name+"\n", out)
			gotID, id12 := b.imageID(name)
			assert.Equal(t, id.String(), gotID, "the config as docker wrote it")
			assert.Equal(t, "written by docker save\n", b.ok("run", "--rm", name, "cat", "/etc/motd"))
			assert.Equal(t, "/\n", b.ok("run", "--rm", name, "pwd"), "the config's WorkingDir")
			assert.Regexp(t, `^`+id12+`\s+\S.*ago\s+COPY motd /etc/motd # buildkit\s+[\d.]+k?B\s+buildkit.dockerfile.v0\n`+
				`<missing>\s+\S.*ago\s+/bin/sh -c #\(nop\)  CMD \["sh"\]\s+0B\s*\n`+
				`<missing>\s+\S.*ago\s+/bin/sh -c #\(nop\) ADD file:4b1f2b2d3e in /\s+[\d.]+MB\s*\n$`,
				strings.SplitN(b.ok("history", name), "\n", 2)[1])
			b.ok("rmi", name)
		})
	}

	// And one written by skopeo's docker-archive: writer, another
	// implementation of the legacy layout, from berth's own save.
	saved := filepath.Join(t.TempDir(), "saved.tar")
	b.ok("save", "-o", saved, "busybox")
	legacy := filepath.Join(t.TempDir(), "skopeo.tar")
	testkit.Skopeo(t, "copy", "docker-archive:"+saved+":busybox:latest", "docker-archive:"+legacy+":skopeo/made:1")
	assert.Equal(t, "Loaded image: skopeo/made:1\n", b.ok("load", "-i", legacy))
	assert.Equal(t, "ok\n", b.ok("run", "--rm", "skopeo/made:1", "echo", "ok"))
}

func TestImageCommandsAndRmiOfAnImageInUse(t *testing.T) {
	b := newBerth(t)
	id, id12 := b.imageID("busybox")
	assert.Regexp(t, `^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\n`+
		`busybox\s+latest\s+`+id12+`\s+(Less than a second|\d+ seconds?) ago\s+[\d.]+MB\n$`, b.ok("images"))

	b.ok("tag", "busybox", "course/box:2")
	assert.Equal(t, id12+"\n"+id12+"\n", b.ok("images", "-q"), "a line per name, as docker")
	assert.Equal(t, "busybox:latest "+id+"\ncourse/box:2 "+id+"\n", b.ok("image", "ls", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"))
	assert.Regexp(t, `^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\ncourse/box\s+2\s+`+id12+`\s`, b.ok("images", "course/*"))

	assert.Regexp(t, `^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT\n`+id12+`\s+(Less than a second|\d+ seconds?) ago\s+[\d.]+MB\s+Imported from -\n$`, b.ok("history", "busybox"))
	assert.Equal(t, id+"\n", b.ok("history", "-q", "--no-trunc", "busybox"))
	assert.Equal(t, "linux/"+runtime.GOARCH+" busybox:latest,course/box:2 1\n",
		b.ok("image", "inspect", "-f", `{{.Os}}/{{.Architecture}} {{join .RepoTags ","}} {{len .RootFS.Layers}}`, "busybox"))
	var docs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(b.ok("image", "inspect", id12)), &docs))
	require.Len(t, docs, 1)
	for _, k := range []string{"Id", "RepoTags", "RepoDigests", "Created", "Size", "Config", "RootFS", "Architecture", "Os", "GraphDriver"} {
		assert.Contains(t, docs[0], k, "docker's ImageInspect has %s", k)
	}
	_, errs, code := b.run("image", "inspect", "nope")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "No such image: nope")

	// rmi of an image a container uses: refused, naming the container.
	cid := strings.TrimSpace(b.ok("run", "-d", "--name", "user", "busybox", "sh", "-c", "echo kept"))
	b.ok("wait", "user")
	assert.Equal(t, "Untagged: course/box:2\n", b.ok("rmi", "course/box:2"))
	_, errs, code = b.run("rmi", "busybox")
	assert.Equal(t, 1, code)
	assert.Equal(t, `berth: conflict: unable to remove repository reference "busybox" (must force) - container `+cid[:12]+` is using its referenced image `+id12+"\n", errs)
	_, errs, code = b.run("rmi", id12)
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "conflict: unable to delete "+id12+" (must be forced) - image is being used by stopped container "+cid[:12])
	_, errs, code = b.run("rmi", "nope")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "No such image: nope")

	// Forced, the name goes, the image stays (<none>) for its container.
	assert.Equal(t, "Untagged: busybox:latest\n", b.ok("rmi", "-f", "busybox"))
	assert.Regexp(t, `\n<none>\s+<none>\s+`+id12+`\s`, b.ok("images"))
	assert.Equal(t, "Total reclaimed space: 0B\n", b.ok("image", "prune", "-f", "-a"), "a container stands on it")
	assert.Equal(t, "kept\n", b.ok("start", "-a", "user"), "its layers are all there")

	b.ok("rm", "user")
	out := b.ok("image", "prune", "-f")
	assert.Regexp(t, `^Deleted Images:\ndeleted: `+id+`\ndeleted: sha256:[0-9a-f]{64}\n\nTotal reclaimed space: [\d.]+MB\n$`, out)
	assert.Equal(t, "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n", b.ok("images"))
	layers, err := os.ReadDir(filepath.Join(b.root, "image", "layers"))
	require.NoError(t, err)
	assert.Empty(t, layers, "no unpacked layer is left")

	// And by name, the last name of an unused image deletes it.
	tarball := rootfsTar(t)
	_, errs, code = b.withStdin(bytes.NewReader(tarball), "import", "-", "again")
	require.Equal(t, 0, code, errs)
	againID, _ := b.imageID("again")
	assert.Regexp(t, `^Untagged: again:latest\nDeleted: `+againID+`\n$`, b.ok("image", "rm", "again"), "never unpacked: no layer to delete")
}

func TestSystemDfAndPrune(t *testing.T) {
	b := newBerth(t)
	_, id12 := b.imageID("busybox")
	running := strings.TrimSpace(b.ok("run", "-d", "--name", "running", "busybox", "sleep", "1000"))
	stopped := strings.TrimSpace(b.ok("run", "-d", "--name", "stopped", "-v", "/data", "busybox", "sh", "-c", "echo 12345 > /data/x; echo hello > /file"))
	b.ok("wait", "stopped")
	b.ok("network", "create", "unused")
	out, errs, code := b.withStdin(bytes.NewReader(rootfsTar(t)), "import", "-")
	require.Equal(t, 0, code, errs)
	dangling := strings.TrimSpace(out)

	df := b.ok("system", "df")
	t.Logf("system df:\n%s", df)
	assert.Regexp(t, `^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\n`+
		`Images\s+2\s+1\s+[\d.]+MB\s+[\d.]+[kM]?B \(\d+%\)\n`+ // the dangling image's blobs
		`Containers\s+2\s+1\s+[\d.]+k?B\s+[\d.]+k?B \(\d+%\)\n`+
		`Local Volumes\s+1\s+1\s+6B\s+0B \(0%\)\n$`, df)
	assert.Regexp(t, `busybox\s+latest\s+`+id12+`\s+.*\s+2\n`, b.ok("system", "df", "-v"), "two containers use it")

	// Asked, and told no: nothing happens.
	out, _, code = b.withStdin(strings.NewReader("n\n"), "system", "prune")
	assert.Equal(t, 0, code)
	assert.Equal(t, "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n"+
		"  - all dangling images\n  - unpacked layers no container stands on\n\nAre you sure you want to continue? [y/N] ", out)
	assert.Contains(t, b.ok("ps", "-a"), "stopped")

	out = b.ok("system", "prune", "-f", "--volumes")
	t.Logf("system prune:\n%s", out)
	assert.Contains(t, out, "Deleted Containers:\n"+stopped+"\n\n")
	assert.Contains(t, out, "Deleted Networks:\nunused\n\n")
	assert.Regexp(t, `Deleted Volumes:\n[0-9a-f]{64}\n\n`, out)
	assert.Contains(t, out, "Deleted Images:\ndeleted: "+dangling+"\n")
	assert.NotContains(t, out, "Deleted unpacked layers", "the running container stands on busybox's")
	assert.Regexp(t, `Total reclaimed space: [\d.]+[kM]?B\n$`, out)
	assert.Equal(t, running+"\n", b.ok("ps", "-aq", "--no-trunc"))
	assert.Equal(t, "alive\n", b.ok("exec", "running", "echo", "alive"))
	assert.NotContains(t, b.ok("network", "ls"), "unused")
	assert.Regexp(t, `^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\nbusybox\s+latest\s+`+id12, b.ok("images"))

	// With nothing running, the unpacked layers go; the image stays and
	// unpacks again when run.
	b.ok("rm", "-f", "running")
	out = b.ok("system", "prune", "-f")
	assert.Regexp(t, `Deleted unpacked layers:\nsha256:[0-9a-f]{64}\n\nTotal reclaimed space: [\d.]+MB\n$`, out)
	assert.Equal(t, "back\n", b.ok("run", "--rm", "busybox", "echo", "back"))

	// -a: every image no container uses.
	out = b.ok("system", "prune", "-a", "-f")
	assert.Contains(t, out, "Deleted Images:\nuntagged: busybox:latest\ndeleted: sha256:")
	assert.Equal(t, "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n", b.ok("images"))
	assert.Regexp(t, `Images\s+0\s+0\s+0B\s+0B\n`, b.ok("system", "df"))
}

func TestBusyboxOneLinerMakesTheCourseImage(t *testing.T) {
	b := newBerth(t)
	fresh := b.sibling(t)
	gotool, err := testkit.GoTool()
	require.NoError(t, err)
	mod, err := testkit.ModuleRoot()
	require.NoError(t, err)
	// The documented line, with this test's binary, root and namespace.
	line := fmt.Sprintf(`%s run ./steps rootfs | nsenter --net=%s %s --root %s import -c 'CMD ["sh"]' - busybox`,
		gotool, fresh.netns, fresh.bin, fresh.root)
	cmd := exec.Command("bash", "-o", "pipefail", "-c", line)
	cmd.Dir = mod
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s\n%s", line, out)
	assert.Regexp(t, `^sha256:[0-9a-f]{64}\n$`, string(out))
	assert.Equal(t, "[sh]\n", fresh.ok("image", "inspect", "-f", "{{.Config.Cmd}}", "busybox"))
	assert.Equal(t, "offline\n", fresh.ok("run", "--rm", "busybox", "echo", "offline"))
	out2, errs, code := fresh.withStdin(strings.NewReader("echo from the default command\n"), "run", "--rm", "-i", "busybox")
	require.Equal(t, 0, code, errs)
	assert.Equal(t, "from the default command\n", out2, "CMD [\"sh\"] reads stdin")
}

func TestLoadRefusesHostileTarballs(t *testing.T) {
	b := newBerth(t)
	escape := filepath.Join(os.TempDir(), fmt.Sprintf("berth-escape-%d", os.Getpid()))
	require.NoError(t, os.RemoveAll(escape))
	t.Cleanup(func() { os.RemoveAll(escape) })
	good, _ := dockerSave(t, "docker25", "good/one:1", rootfsTar(t))

	// A docker25 tarball of the good one, with one entry added in front.
	withEntry := func(h *tar.Header, body string) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		h.Size = int64(len(body))
		require.NoError(t, tw.WriteHeader(h))
		_, err := tw.Write([]byte(body))
		require.NoError(t, err)
		tr := tar.NewReader(bytes.NewReader(good))
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			require.NoError(t, tw.WriteHeader(hdr))
			_, err = io.Copy(tw, tr)
			require.NoError(t, err)
		}
		require.NoError(t, tw.Close())
		return buf.Bytes()
	}
	climb := strings.Repeat("../", 12) + strings.TrimPrefix(escape, "/")
	hostileLayer := func(entries ...*tar.Header) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, h := range entries {
			require.NoError(t, tw.WriteHeader(h))
		}
		require.NoError(t, tw.Close())
		tb, _ := dockerSave(t, "docker25", "good/one:1", buf.Bytes())
		return tb
	}
	tests := []struct {
		name, want string
		tarball    []byte
	}{
		{"path traversal", "climbs out of the tarball", withEntry(&tar.Header{Name: climb + "/x", Mode: 0o644, Typeflag: tar.TypeReg}, "pwned")},
		{"absolute path", "has an absolute name", withEntry(&tar.Header{Name: escape + "/abs", Mode: 0o644, Typeflag: tar.TypeReg}, "pwned")},
		{"symlink escape", "points outside the tarball", withEntry(&tar.Header{Name: "x/layer.tar", Typeflag: tar.TypeSymlink, Linkname: climb}, "")},
		{"truncated", "truncated", good[:len(good)/2]},
		{"a layer that climbs out", "climbs out of the layer", hostileLayer(&tar.Header{Name: climb + "/pwned", Mode: 0o644, Typeflag: tar.TypeReg})},
		{"a layer that escapes through a symlink", "path escapes from parent", hostileLayer(
			&tar.Header{Name: "evil", Typeflag: tar.TypeSymlink, Linkname: escape},
			&tar.Header{Name: "evil/pwned", Mode: 0o644, Typeflag: tar.TypeReg})},
	}
	state := func() string {
		var sb strings.Builder
		sb.WriteString(b.ok("images", "-a", "-q", "--no-trunc"))
		for _, d := range []string{"oci/blobs/sha256", "layers", "ingest"} {
			ents, err := os.ReadDir(filepath.Join(b.root, "image", d))
			require.NoError(t, err)
			for _, e := range ents {
				fmt.Fprintf(&sb, "%s/%s\n", d, e.Name())
			}
		}
		return sb.String()
	}
	before := state()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errs, code := b.withStdin(bytes.NewReader(tt.tarball), "load")
			t.Logf("berth load: %s", strings.TrimSpace(errs))
			assert.Equal(t, 1, code)
			assert.Empty(t, out)
			assert.True(t, strings.HasPrefix(errs, "berth: loading the tarball: "), errs)
			assert.Contains(t, errs, tt.want)
			assert.Equal(t, before, state(), "no name, no blob, no layer left behind")
			_, err := os.Lstat(escape)
			assert.ErrorIs(t, err, fs.ErrNotExist, "nothing was written outside berth's root")
		})
	}
	// The good one loads: the refusals were about what was added.
	assert.Equal(t, "Loaded image: good/one:1\n", b.ok("load", "-i", writeTemp(t, good)))
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.tar")
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}
