package main_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	image "berth/06-images"
)

// These tests drive commit, export and cp through the built binary, as
// e2e_linux_test.go does the rest; newBerth gives each its own root and
// checks that nothing is left.

var imageID = regexp.MustCompile(`^sha256:[0-9a-f]{64}\n$`)

func (b *berth) storedImage(name string) (*image.Store, *image.Image) {
	b.t.Helper()
	s, err := image.Open(filepath.Join(b.root, "image"))
	require.NoError(b.t, err)
	img, err := s.Image(name)
	require.NoError(b.t, err)
	return s, img
}

// tarEntry is one entry of a tarball, read back.
type tarEntry struct {
	*tar.Header
	body string
}

// readTar reads a tarball into its entries, by name (without a leading
// "./" or a trailing "/").
func readTar(t *testing.T, r io.Reader) map[string]tarEntry {
	t.Helper()
	out := map[string]tarEntry{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		body, err := io.ReadAll(tr)
		require.NoError(t, err)
		name := strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
		out[name] = tarEntry{h, string(body)}
	}
}

// topLayer reads the last layer of an image from the store.
func topLayer(t *testing.T, s *image.Store, img *image.Image) map[string]tarEntry {
	t.Helper()
	rc, err := s.OpenBlob(img.Manifest.Layers[len(img.Manifest.Layers)-1])
	require.NoError(t, err)
	defer rc.Close()
	return readTar(t, rc)
}

func keys(m map[string]tarEntry) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestFSCommitWalkthrough(t *testing.T) {
	b := newBerth(t)
	b.ok("run", "--name", "c", "busybox", "sh", "-c",
		"echo changed > /etc/motd && rm /etc/os-release && mkdir /www && echo hello > /www/index.html")
	_, base := b.storedImage("busybox")

	out := b.ok("commit", "-m", "add the site", "-a", "Ada <ada@example.org>",
		"-c", `CMD ["cat", "/www/index.html"]`, "-c", "ENV GREETING=hi", "c", "site:1")
	require.Regexp(t, imageID, out)

	// The new image runs with the change, the deletion and the config.
	assert.Equal(t, "hello\n", b.ok("run", "--rm", "site:1"), "CMD from -c")
	assert.Equal(t, "changed\ndeleted\nhi\n", b.ok("run", "--rm", "site:1", "sh", "-c",
		`cat /etc/motd; test -e /etc/os-release && echo present || echo deleted; echo $GREETING`))
	assert.Contains(t, b.ok("run", "--rm", "busybox", "cat", "/etc/os-release"), "ID=berth", "the base image is untouched")

	// What the store holds: one more layer, the history entry, the config.
	s, img := b.storedImage("site:1")
	assert.Equal(t, strings.TrimSpace(out), img.ID().String(), "commit printed the image's ID")
	assert.Equal(t, len(base.DiffIDs())+1, len(img.DiffIDs()))
	assert.Equal(t, base.DiffIDs(), img.DiffIDs()[:len(base.DiffIDs())], "the base's layers, shared")
	h := img.Config.History[len(img.Config.History)-1]
	assert.Equal(t, "add the site", h.Comment)
	assert.Equal(t, "Ada <ada@example.org>", h.Author)
	assert.Equal(t, "sh -c echo changed > /etc/motd && rm /etc/os-release && mkdir /www && echo hello > /www/index.html", h.CreatedBy, "docker records the container's command")
	assert.False(t, h.EmptyLayer)
	assert.Equal(t, "Ada <ada@example.org>", img.Config.Author)
	assert.Equal(t, []string{"cat", "/www/index.html"}, img.Config.Config.Cmd)
	assert.Contains(t, img.Config.Config.Env, "GREETING=hi")

	// The layer is the upper directory: the whiteout of the deletion, the
	// new files, and not the empty resolv.conf berth made as a mount point.
	layer := topLayer(t, s, img)
	assert.Contains(t, layer, "etc/.wh.os-release", "the deletion is a whiteout")
	assert.Equal(t, "changed\n", layer["etc/motd"].body)
	assert.Equal(t, "hello\n", layer["www/index.html"].body)
	assert.NotContains(t, layer, "etc/resolv.conf", "berth's mount point is not the container's change")

	// Without a name: named by its ID. With nothing changed: no layer.
	b.ok("create", "--name", "idle", "busybox", "true")
	id := strings.TrimSpace(b.ok("commit", "idle"))
	_, same := b.storedImage(id)
	assert.Equal(t, base.DiffIDs(), same.DiffIDs(), "an unchanged container adds no layer")
	assert.True(t, same.Config.History[len(same.Config.History)-1].EmptyLayer)
	assert.Equal(t, "changed\n", b.ok("run", "--rm", "site:1", "cat", "/etc/motd"))
	// berth rm of a container never started fails in teardown (reported
	// to the engine's owner); started once, it goes.
	b.ok("start", "-a", "idle")

	// Errors: an unknown container, a bad change.
	_, errs, code := b.run("commit", "nothing-here")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "No such container")
	_, errs, code = b.run("commit", "-c", "RUN make", "c")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "build instruction")
}

func TestFSCommitRunningContainer(t *testing.T) {
	b := newBerth(t)
	// The counter is replaced by rename: `echo $i > /counter` alone
	// truncates before it writes, and a freeze between the two is a
	// whole (empty) file, not a half-written one.
	b.ok("run", "-d", "--name", "live", "busybox", "sh", "-c",
		"echo ready > /state; i=0; while true; do i=$((i+1)); echo $i > /counter.new; mv /counter.new /counter; sleep 0.01; done")
	waitFor(t, func() bool { _, _, code := b.run("exec", "live", "test", "-e", "/counter"); return code == 0 })
	id := b.inspect("live")["Id"].(string)

	require.Regexp(t, imageID, b.ok("commit", "live", "live:1"))
	assert.Equal(t, "ready\n", b.ok("run", "--rm", "live:1", "cat", "/state"))
	n := strings.TrimSpace(b.ok("run", "--rm", "live:1", "cat", "/counter"))
	assert.Regexp(t, `^[0-9]+$`, n, "the counter was committed whole, not half-written")

	// The container was thawed: it runs on, its counter moves.
	assert.Equal(t, "running", b.inspect("live")["State"].(map[string]any)["Status"])
	before := strings.TrimSpace(b.ok("exec", "live", "cat", "/counter"))
	waitFor(t, func() bool { return strings.TrimSpace(b.ok("exec", "live", "cat", "/counter")) != before })
	for _, f := range []string{"/sys/fs/cgroup/freezer/berth/" + id + "/freezer.state", "/sys/fs/cgroup/berth/" + id + "/cgroup.freeze"} {
		if s, err := os.ReadFile(f); err == nil {
			assert.Contains(t, []string{"THAWED", "0"}, strings.TrimSpace(string(s)), f)
		}
	}
	require.Regexp(t, imageID, b.ok("commit", "--pause=false", "live", "live:2"))
	b.ok("rm", "-f", "live")
}

func TestFSExportThenImport(t *testing.T) {
	b := newBerth(t)
	b.ok("run", "--name", "ex", "busybox", "sh", "-c", "echo exported > /root/proof && rm /etc/os-release && mkdir -p /a/b && ln -s /root/proof /a/b/link")

	// To a file, then back as an image.
	file := filepath.Join(t.TempDir(), "ex.tar")
	assert.Empty(t, b.ok("export", "-o", file, "ex"))
	f, err := os.Open(file)
	require.NoError(t, err)
	entries := readTar(t, f)
	f.Close()
	assert.Equal(t, "exported\n", entries["root/proof"].body)
	assert.Equal(t, "/root/proof", entries["a/b/link"].Linkname)
	assert.Contains(t, entries, "bin/busybox", "the image's files, merged")
	assert.NotContains(t, entries, "etc/os-release", "deleted: simply absent")
	for name := range entries {
		assert.NotContains(t, name, ".wh.", "an export has no whiteouts")
	}
	require.Regexp(t, imageID, b.ok("import", file, "reimported:1"))
	assert.Equal(t, "exported\n", b.ok("run", "--rm", "reimported:1", "cat", "/a/b/link"))

	// To stdout, from a running container too.
	b.ok("run", "-d", "--name", "up", "busybox", "sh", "-c", "echo live > /live; sleep 1000")
	waitFor(t, func() bool { _, _, code := b.run("exec", "up", "test", "-e", "/live"); return code == 0 })
	out, errs, code := b.run("export", "up")
	require.Equal(t, 0, code, errs)
	assert.Equal(t, "live\n", readTar(t, strings.NewReader(out))["live"].body)

	// Never to a terminal.
	ptmx, tty, err := pty.Open()
	require.NoError(t, err)
	defer ptmx.Close()
	defer tty.Close()
	var stderr bytes.Buffer
	cmd := b.cmd("export", "up")
	cmd.Stdout, cmd.Stderr = tty, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 1, ee.ExitCode())
	assert.Contains(t, stderr.String(), "terminal")
	b.ok("rm", "-f", "up")
}

// hostTree lays out what the cp tests copy from the host.
func hostTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for p, body := range map[string]string{
		"hello.txt":         "hello from the host\n",
		"site/index.html":   "<h1>hi</h1>\n",
		"site/sub/page.txt": "page\n",
	} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte(body), 0o644))
	}
	require.NoError(t, os.Symlink("hello.txt", filepath.Join(dir, "link")))
	require.NoError(t, os.Chown(filepath.Join(dir, "hello.txt"), 1234, 5678))
	return dir
}

func TestFSCpInAndOutOfARunningContainer(t *testing.T) {
	b := newBerth(t)
	host := hostTree(t)
	b.ok("run", "-d", "--name", "box", "busybox", "sleep", "1000")
	in := func(args ...string) { b.ok(append([]string{"cp"}, args...)...) }
	cat := func(p string) string { return b.ok("exec", "box", "cat", p) }

	// In: a file into a directory, to a new name; a directory to a new
	// name (its contents), into a directory, and its contents alone.
	in(host+"/hello.txt", "box:/tmp/")
	assert.Equal(t, "hello from the host\n", cat("/tmp/hello.txt"))
	in(host+"/hello.txt", "box:/tmp/renamed.txt")
	assert.Equal(t, "hello from the host\n", cat("/tmp/renamed.txt"))
	in(host+"/site", "box:/www")
	assert.Equal(t, "<h1>hi</h1>\n", cat("/www/index.html"))
	in(host+"/site", "box:/www")
	assert.Equal(t, "page\n", cat("/www/site/sub/page.txt"))
	b.ok("exec", "box", "mkdir", "/flat")
	in(host+"/site/.", "box:/flat")
	assert.Equal(t, "page\n", cat("/flat/sub/page.txt"))
	_, errs, code := b.run("cp", host+"/hello.txt", "box:/no/such/dir/")
	assert.Equal(t, 1, code)
	assert.NotEmpty(t, errs)
	_, errs, code = b.run("cp", host+"/site", "box:/tmp/hello.txt")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "cannot copy a directory to a file")

	// Owners: the container's root's, unless -a keeps the host's.
	assert.Equal(t, "0:0\n", b.ok("exec", "box", "stat", "-c", "%u:%g", "/tmp/hello.txt"))
	in("-a", host+"/hello.txt", "box:/tmp/kept.txt")
	assert.Equal(t, "1234:5678\n", b.ok("exec", "box", "stat", "-c", "%u:%g", "/tmp/kept.txt"))

	// Links: copied as links, or followed with -L (under the link's name).
	in(host+"/link", "box:/tmp/")
	assert.Equal(t, "hello.txt\n", b.ok("exec", "box", "readlink", "/tmp/link"))
	in("-L", host+"/link", "box:/tmp/followed")
	assert.Equal(t, "hello from the host\n", cat("/tmp/followed"))
	assert.Equal(t, "regular file\n", b.ok("exec", "box", "stat", "-c", "%F", "/tmp/followed"))

	// A tar stream on stdin.
	var stream bytes.Buffer
	tw := tar.NewWriter(&stream)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "streamed.txt", Mode: 0o644, Size: 9, Typeflag: tar.TypeReg}))
	tw.Write([]byte("streamed\n"))
	require.NoError(t, tw.Close())
	cmd := b.cmd("cp", "-", "box:/tmp")
	cmd.Stdin = &stream
	outb, err := cmd.CombinedOutput()
	require.NoError(t, err, string(outb))
	assert.Equal(t, "streamed\n", cat("/tmp/streamed.txt"))

	// Out: a file, a directory to a new name and into a directory, the
	// contents alone, a link as a link, and a tar stream on stdout.
	dst := t.TempDir()
	b.ok("cp", "box:/tmp/hello.txt", dst)
	assertFile(t, filepath.Join(dst, "hello.txt"), "hello from the host\n")
	b.ok("cp", "box:/www", dst+"/www-copy")
	assertFile(t, filepath.Join(dst, "www-copy/site/sub/page.txt"), "page\n")
	b.ok("cp", "box:/www", dst+"/www-copy")
	assertFile(t, filepath.Join(dst, "www-copy/www/index.html"), "<h1>hi</h1>\n")
	require.NoError(t, os.Mkdir(filepath.Join(dst, "flat"), 0o755))
	b.ok("cp", "box:/www/.", dst+"/flat")
	assertFile(t, filepath.Join(dst, "flat/index.html"), "<h1>hi</h1>\n")
	b.ok("cp", "box:/tmp/link", dst+"/link")
	target, err := os.Readlink(filepath.Join(dst, "link"))
	require.NoError(t, err)
	assert.Equal(t, "hello.txt", target)
	b.ok("cp", "-L", "box:/bin/sh", dst+"/sh")
	fi, err := os.Lstat(filepath.Join(dst, "sh"))
	require.NoError(t, err)
	assert.True(t, fi.Mode().IsRegular(), "-L copies /bin/sh's target, busybox, as sh")

	out := b.ok("cp", "box:/www", "-")
	entries := readTar(t, strings.NewReader(out))
	assert.Equal(t, []string{"www", "www/index.html", "www/site", "www/site/index.html", "www/site/sub", "www/site/sub/page.txt",
		"www/sub", "www/sub/page.txt"}, keys(entries))

	_, errs, code = b.run("cp", "box:/no/such/file", dst)
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "Could not find the file /no/such/file in container box")
	_, errs, code = b.run("cp", "box:/proc/1/status", dst)
	assert.Equal(t, 1, code, "the kernel's files are not copied")
	assert.Contains(t, errs, "the kernel's own filesystem")
	_, errs, code = b.run("cp", host+"/hello.txt", "box:/sys/kernel/")
	assert.Equal(t, 1, code, "nor written")
	assert.Contains(t, errs, "the kernel's own filesystem")
	b.ok("rm", "-f", "box")
}

func assertFile(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, want, string(b), path)
}

func TestFSCpStoppedContainerPersists(t *testing.T) {
	b := newBerth(t)
	host := hostTree(t)
	b.ok("volume", "create", "data")
	b.ok("create", "--name", "cold", "-v", "data:/data", "busybox", "sh", "-c",
		"cat /in.txt /www/sub/page.txt /data/vol.txt; test -e /etc/os-release || echo os-release gone")
	id := b.inspect("cold")["Id"].(string)

	// Into a created container: the writable layer, and its volume.
	b.ok("cp", host+"/hello.txt", "cold:/in.txt")
	b.ok("cp", host+"/site", "cold:/www")
	require.NoError(t, os.WriteFile(filepath.Join(host, "vol.txt"), []byte("in the volume\n"), 0o644))
	b.ok("cp", host+"/vol.txt", "cold:/data/")
	assertFile(t, filepath.Join(b.root, "containers", id, "layer/upper/in.txt"), "hello from the host\n")
	assert.NoFileExists(t, filepath.Join(b.root, "containers", id, "layer/upper/data/vol.txt"), "a volume's file is the volume's")
	var vol []map[string]any
	require.NoError(t, json.Unmarshal([]byte(b.ok("volume", "inspect", "data")), &vol))
	assertFile(t, filepath.Join(vol[0]["Mountpoint"].(string), "vol.txt"), "in the volume\n")

	// It starts with them.
	assert.Equal(t, "hello from the host\npage\nin the volume\n", b.ok("start", "-a", "cold"))

	// Out of a stopped container, and in again, over a deletion.
	dst := t.TempDir()
	b.ok("cp", "cold:/in.txt", dst)
	assertFile(t, filepath.Join(dst, "in.txt"), "hello from the host\n")
	b.ok("cp", "cold:/data/vol.txt", dst)
	assertFile(t, filepath.Join(dst, "vol.txt"), "in the volume\n")
	b.ok("run", "--name", "del", "busybox", "rm", "/etc/os-release")
	delID := b.inspect("del")["Id"].(string)
	_, errs, code := b.run("cp", "del:/etc/os-release", dst)
	assert.Equal(t, 1, code, "a deleted file is not there to copy: %s", errs)
	b.ok("cp", host+"/hello.txt", "del:/etc/os-release")
	assertFile(t, filepath.Join(b.root, "containers", delID, "layer/upper/etc/os-release"), "hello from the host\n")
	b.ok("commit", "del", "del:1")
	assert.Equal(t, "hello from the host\n", b.ok("run", "--rm", "del:1", "cat", "/etc/os-release"), "the copy took the whiteout's place")

	// Reading changed nothing, and no view is left mounted or on disk.
	assert.NoDirExists(t, filepath.Join(b.root, "containers", id, "cp-view"))
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	assert.NotContains(t, string(mounts), b.root)
}

func TestFSCpHostilePathsStayInside(t *testing.T) {
	b := newBerth(t)
	outside := t.TempDir() // the host's files the container must not reach
	require.NoError(t, os.WriteFile(filepath.Join(outside, "canary"), []byte("HOST SECRET\n"), 0o600))
	before := dirListing(t, outside)
	payload := filepath.Join(t.TempDir(), "payload")
	require.NoError(t, os.WriteFile(payload, []byte("payload\n"), 0o644))

	script := fmt.Sprintf(`echo inside > /canary && mkdir -p /deep/a /tmp/x &&
ln -s /etc/.. /escape-abs && ln -s ../../../../../../.. /escape-rel &&
ln -s %[1]s /hostdir && ln -s %[1]s/canary /canary-link && ln -s ../../../../../.. /deep/a/up &&
ln -s ../../%[1]s /deep/rel-host`, outside)
	b.ok("run", "-d", "--name", "evil", "busybox", "sh", "-c", script+" && touch /ready && sleep 1000")
	waitFor(t, func() bool { _, _, code := b.run("exec", "evil", "test", "-e", "/ready"); return code == 0 })

	check := func(state string) {
		dst := t.TempDir()
		// Reads through links and ".." land inside the container.
		for i, src := range []string{"/escape-abs/canary", "/escape-rel/canary", "/deep/a/up/canary",
			"../../../canary", "/deep/a/up/escape-rel/deep/a/up/canary"} {
			out := filepath.Join(dst, fmt.Sprint(i))
			b.ok("cp", "evil:"+src, out)
			assertFile(t, out, "inside\n")
		}
		for _, src := range []string{"/hostdir/canary", "/canary-link/", "/deep/rel-host/canary"} {
			_, errs, code := b.run("cp", "evil:"+src, dst)
			assert.Equal(t, 1, code, "%s (%s): the host's path is a path in the container, where nothing is", src, state)
			assert.Contains(t, errs, "Could not find", src)
		}
		_, errs, code := b.run("cp", "-L", "evil:/canary-link", dst+"/followed")
		assert.Equal(t, 1, code, "-L follows the link inside the container: %s", errs)
		b.ok("cp", "evil:/canary-link", dst+"/as-link")
		fi, err := os.Lstat(dst + "/as-link")
		require.NoError(t, err)
		assert.Equal(t, fs.ModeSymlink, fi.Mode().Type(), "a link comes out as a link, never as what it points to")
		out := b.ok("cp", "evil:/", "-")
		assert.NotContains(t, out, "HOST SECRET", "the container's whole tree holds nothing of the host's")

		// Writes through links land inside the container too.
		for _, dst := range []string{"/escape-abs/", "/escape-rel/tmp", "/deep/a/up/tmp/x", "/deep/a/up/escape-abs/deep"} {
			b.ok("cp", payload, "evil:"+dst)
		}
		for _, dst := range []string{"/hostdir/", "/deep/rel-host/"} {
			_, _, code := b.run("cp", payload, "evil:"+dst)
			assert.Equal(t, 1, code, "%s: nothing there in the container", dst)
		}
		assert.Equal(t, before, dirListing(t, outside), "nothing was written on the host (%s)", state)
		assertFile(t, filepath.Join(outside, "canary"), "HOST SECRET\n")

		// A tar stream that climbs out is refused.
		var stream bytes.Buffer
		tw := tar.NewWriter(&stream)
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: "../../../../../../.." + outside + "/pwned", Mode: 0o644, Typeflag: tar.TypeReg}))
		require.NoError(t, tw.Close())
		cmd := b.cmd("cp", "-", "evil:/tmp")
		cmd.Stdin = &stream
		outb, err := cmd.CombinedOutput()
		assert.Error(t, err, "%s", outb)
		assert.Contains(t, string(outb), "climbs out")
	}
	check("running")
	found := strings.Fields(b.ok("exec", "evil", "sh", "-c", "ls /payload /tmp/payload /tmp/x/payload /deep/payload"))
	assert.Len(t, found, 4, "each write landed in the container: %v", found)
	b.ok("stop", "-t", "0", "evil")
	check("stopped")
	assert.Equal(t, before, dirListing(t, outside))
}

// dirListing is every name under dir with its size, for "unchanged".
func dirListing(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, _ := d.Info()
		out = append(out, fmt.Sprintf("%s %d %s", p, info.Size(), info.ModTime().Format(time.RFC3339Nano)))
		return nil
	})
	return out
}

func TestFSOddEntriesCommitAndExport(t *testing.T) {
	b := newBerth(t)
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "canary"), []byte("HOST SECRET\n"), 0o600))
	b.ok("run", "--name", "odd", "busybox", "sh", "-c", fmt.Sprintf(`set -e
ln -s %[1]s/canary /hostlink; ln -s ../../../../../../etc/shadow /rel-hostlink
mknod /null-dev c 1 3; mknod /loop-dev b 7 0; mkfifo /fifo
echo one > /hl1; ln /hl1 /hl2
rm -rf /var && mkdir -p /var/new`, outside))

	require.Regexp(t, imageID, b.ok("commit", "odd", "odd:1"))
	s, img := b.storedImage("odd:1")
	layer := topLayer(t, s, img)
	check := func(what string, entries map[string]tarEntry) {
		assert.Equal(t, byte(tar.TypeSymlink), entries["hostlink"].Typeflag, what)
		assert.Equal(t, outside+"/canary", entries["hostlink"].Linkname, "%s: the link as written, never followed", what)
		assert.Equal(t, "../../../../../../etc/shadow", entries["rel-hostlink"].Linkname, what)
		assert.Equal(t, byte(tar.TypeChar), entries["null-dev"].Typeflag, what)
		assert.Equal(t, [2]int64{1, 3}, [2]int64{entries["null-dev"].Devmajor, entries["null-dev"].Devminor}, what)
		assert.Equal(t, byte(tar.TypeBlock), entries["loop-dev"].Typeflag, what)
		assert.Equal(t, byte(tar.TypeFifo), entries["fifo"].Typeflag, what)
		assert.Equal(t, "one\n", entries["hl1"].body, what)
		assert.Equal(t, byte(tar.TypeLink), entries["hl2"].Typeflag, what)
		assert.Equal(t, "hl1", entries["hl2"].Linkname, what)
		for name, e := range entries {
			assert.NotEqual(t, "HOST SECRET\n", e.body, "%s: %s carries the host's canary", what, name)
		}
	}
	check("commit", layer)
	assert.Contains(t, layer, "var/.wh..wh..opq", "a directory deleted and made again is opaque")

	// The image runs as the container left it.
	assert.Equal(t, "1 3\nfifo\nsame inode\nnew\n"+outside+"/canary\nno host canary\n", b.ok("run", "--rm", "odd:1", "sh", "-c",
		`stat -c '%t %T' /null-dev; test -p /fifo && echo fifo; [ $(stat -c %i /hl1) = $(stat -c %i /hl2) ] && echo same inode; ls /var; readlink /hostlink; cat /hostlink 2>/dev/null || echo no host canary`))

	// export: the same entries, merged with the image, no whiteouts.
	out := b.ok("export", "odd")
	entries := readTar(t, strings.NewReader(out))
	check("export", entries)
	assert.Contains(t, entries, "var/new")
	assert.NotContains(t, entries, "var/log", "hidden by the opaque directory")
	for name := range entries {
		assert.NotContains(t, name, ".wh.", "an export has no whiteouts")
	}
}
