package testkit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// RegistryFix, SkopeoFix and UmociFix are what a student types to get the
// programs chapter 06 is tested against on Debian or Ubuntu.
const (
	RegistryFix = "sudo apt-get install docker-registry (or sudo make deps)"
	SkopeoFix   = "sudo apt-get install skopeo (or sudo make deps)"
	UmociFix    = "sudo apt-get install umoci (or sudo make deps)"
)

// errNoTool means a program a fixture needs is not installed: the tests
// that need it skip, unless FixturesEnv says a missing fixture fails.
var errNoTool = errors.New("testkit: program not found")

// RegistryOptions configure StartRegistry.
type RegistryOptions struct {
	// Auth turns on HTTP basic authentication (htpasswd) with a generated
	// user and a random password.
	Auth bool
}

// Registry is a real registry (Debian's docker-registry, the CNCF
// distribution server) serving the distribution API over plain HTTP on the
// loopback, for one test or one demo.
type Registry struct {
	Addr           string // "127.0.0.1:PORT"
	User, Password string // empty without RegistryOptions.Auth
	Dir            string // its storage, config.yml, log and skopeo's files; removed by stop

	id   string // sent back in every answer, so we know the server is ours
	cmd  *exec.Cmd
	done <-chan error // receives cmd.Wait's result
}

// URL is the registry's base URL: "http://127.0.0.1:PORT".
func (r *Registry) URL() string { return "http://" + r.Addr }

// Ref names repo (with its tag or digest) in this registry, as image
// references do: Ref("x/y:1") is "127.0.0.1:PORT/x/y:1".
func (r *Registry) Ref(repo string) string { return r.Addr + "/" + repo }

// registryLog is the registry's log file inside Dir: errors show its tail.
const registryLog = "registry.log"

// StartRegistry starts a registry in a new temporary directory and waits
// until it answers GET /v2/. stop kills it and removes the directory; it
// may be called more than once. On error nothing is left behind, and the
// error holds the end of the registry's log.
func StartRegistry(opts RegistryOptions) (r *Registry, stop func() error, err error) {
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		return nil, nil, fmt.Errorf("%w: docker-registry is not on PATH; install: %s", errNoTool, RegistryFix)
	}
	dir, err := os.MkdirTemp("", "berth-registry-")
	if err != nil {
		return nil, nil, fmt.Errorf("testkit: registry directory: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	r = &Registry{Dir: dir, id: randomHex(8)}
	if err := r.writeFiles(opts); err != nil {
		return nil, nil, fmt.Errorf("testkit: registry files: %w", err)
	}
	// A free port is found by binding to port 0 and closing; another
	// process may take it before the registry binds it. Then the
	// registry exits with "address already in use" and we try another.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, nil, fmt.Errorf("testkit: finding a free port: %w", err)
		}
		r.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		err = r.start(bin)
		if err == nil {
			break
		}
		if !errors.Is(err, errPortTaken) || attempt == 5 {
			return nil, nil, fmt.Errorf("testkit: starting docker-registry on %s: %w\n%s:\n%s", r.Addr, err, registryLog, r.logTail())
		}
	}
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() { stopErr = r.stop() })
		return stopErr
	}
	return r, stop, nil
}

// freePort returns a TCP port nothing listens on at the moment. Tests
// replace it to provoke a port clash.
var freePort = func() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var errPortTaken = errors.New("port taken")

// writeFiles writes the htpasswd file (with Auth) and skopeo's trust
// policy; config.yml is written by start, since it holds the port.
func (r *Registry) writeFiles(opts RegistryOptions) error {
	if err := os.Mkdir(filepath.Join(r.Dir, "storage"), 0o700); err != nil {
		return err
	}
	if opts.Auth {
		r.User, r.Password = "berth-"+randomHex(4), randomHex(16)
		// The lowest cost: the registry checks the password on every
		// request, and a test's password guards nothing.
		hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.MinCost)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(r.Dir, "htpasswd"), []byte(r.User+":"+string(hash)+"\n"), 0o600); err != nil {
			return err
		}
	}
	return writePolicy(r.Dir)
}

// writePolicy writes skopeo's trust policy into dir: skopeo refuses to run
// without one, and the host's /etc/containers/policy.json may be missing
// or reject everything.
func writePolicy(dir string) error {
	return os.WriteFile(filepath.Join(dir, "policy.json"), []byte(`{"default":[{"type":"insecureAcceptAnything"}]}`+"\n"), 0o644)
}

// Skopeo runs skopeo on local references (oci:DIR:REF, docker-archive:FILE,
// oci-archive:FILE) as Registry.Skopeo does, with the same isolation:
// skopeo reads no one's configuration and writes its files, its blob-info
// cache included, only into a temporary directory of the test's.
func Skopeo(t testing.TB, args ...string) string {
	t.Helper()
	r := &Registry{Dir: t.TempDir()}
	if err := writePolicy(r.Dir); err != nil {
		t.Fatal(err)
	}
	return r.Skopeo(t, args...)
}

// config is distribution's configuration: see
// https://distribution.github.io/distribution/about/configuration/. The
// log stays at info because the readiness check and error messages read
// it; the access log and the upload purger, which only make noise, are off.
// The header tells this registry's answers from another server's that
// took the port.
func (r *Registry) config() string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 0.1\n")
	fmt.Fprintf(&b, "log:\n  level: info\n  formatter: text\n  accesslog:\n    disabled: true\n")
	fmt.Fprintf(&b, "storage:\n  filesystem:\n    rootdirectory: %q\n", filepath.Join(r.Dir, "storage"))
	fmt.Fprintf(&b, "  delete:\n    enabled: true\n")
	fmt.Fprintf(&b, "  maintenance:\n    uploadpurging:\n      enabled: false\n")
	fmt.Fprintf(&b, "http:\n  addr: %q\n  secret: %q\n", r.Addr, randomHex(16))
	fmt.Fprintf(&b, "  headers:\n    X-Berth-Registry: [%q]\n", r.id)
	if r.User != "" {
		fmt.Fprintf(&b, "auth:\n  htpasswd:\n    realm: berth\n    path: %q\n", filepath.Join(r.Dir, "htpasswd"))
	}
	return b.String()
}

// start runs `docker-registry serve config.yml` in its own process group
// and waits until it answers; on failure it leaves no process behind.
func (r *Registry) start(bin string) error {
	config := filepath.Join(r.Dir, "config.yml")
	if err := os.WriteFile(config, []byte(r.config()), 0o600); err != nil {
		return err
	}
	log, err := os.Create(filepath.Join(r.Dir, registryLog))
	if err != nil {
		return err
	}
	defer log.Close() // the child has its own descriptor
	cmd := exec.Command(bin, "serve", config)
	cmd.Dir = r.Dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = registryEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	done, err := startProcess(cmd)
	if err != nil {
		return err
	}
	r.cmd, r.done = cmd, done
	if err := r.waitReady(10 * time.Second); err != nil {
		r.kill()
		return err
	}
	return nil
}

// registryEnv is this process's environment without REGISTRY_*: the
// registry reads REGISTRY_SECTION_KEY variables as configuration, and
// REGISTRY_AUTH_FILE, which means something else to skopeo and podman,
// would turn on an auth provider that does not exist.
func registryEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REGISTRY_") {
			env = append(env, kv)
		}
	}
	return env
}

// startProcess starts cmd and returns a channel that receives cmd.Wait's
// result. registry_linux.go replaces it with one that also has the kernel
// kill the registry when the test binary dies.
var startProcess = func(cmd *exec.Cmd) (<-chan error, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return done, nil
}

// waitReady polls GET /v2/ until the registry answers 200 (401 with
// auth), the process exits, or the timeout passes.
func (r *Registry) waitReady(timeout time.Duration) error {
	// A short timeout: a server that took the port may accept and never
	// answer, and the registry's exit is only noticed between requests.
	client := &http.Client{Timeout: 300 * time.Millisecond}
	deadline := time.Now().Add(timeout)
	for {
		select {
		case err := <-r.done:
			r.done = nil
			if strings.Contains(r.logTail(), "address already in use") {
				return errPortTaken
			}
			return fmt.Errorf("docker-registry exited: %v", err)
		default:
		}
		resp, err := client.Get(r.URL() + "/v2/")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			want := http.StatusOK
			if r.User != "" {
				want = http.StatusUnauthorized
			}
			if resp.Header.Get("X-Berth-Registry") == r.id {
				if resp.StatusCode == want {
					return nil
				}
				return fmt.Errorf("GET /v2/ answered %s, want %d", resp.Status, want)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer to GET %s/v2/ within %v", r.URL(), timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the registry's process group and waits for the registry.
func (r *Registry) kill() {
	if r.cmd == nil || r.done == nil {
		return
	}
	syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	<-r.done
	r.done = nil
}

func (r *Registry) stop() error {
	r.kill()
	if err := os.RemoveAll(r.Dir); err != nil {
		return fmt.Errorf("testkit: removing the registry's directory: %w", err)
	}
	return nil
}

// logTail returns the last lines of the registry's log.
func (r *Registry) logTail() string {
	b, err := os.ReadFile(filepath.Join(r.Dir, registryLog))
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b)
}

// NewRegistry is StartRegistry for a test: the registry stops when the
// test ends. Without docker-registry the test is skipped with the package
// to install (failed instead under BERTH_REQUIRE_FIXTURES=1).
func NewRegistry(t testing.TB, opts RegistryOptions) *Registry {
	t.Helper()
	r, stop, err := StartRegistry(opts)
	if err != nil {
		missingTool(t, err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("stopping the registry: %v", err)
		}
	})
	return r
}

// RequireTool returns the path of the program name, or skips the test
// saying how to install it (fix), or fails it under
// BERTH_REQUIRE_FIXTURES=1.
func RequireTool(t testing.TB, name, fix string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missingTool(t, fmt.Errorf("%w: %s is not on PATH; install: %s", errNoTool, name, fix))
	}
	return p
}

func missingTool(t testing.TB, err error) {
	t.Helper()
	if os.Getenv(FixturesEnv) == "1" || !errors.Is(err, errNoTool) {
		t.Fatal(err)
	}
	t.Skip(err)
}

// skopeoTimeout bounds one skopeo command: a registry that stopped
// answering must fail the test, not hang it.
const skopeoTimeout = 5 * time.Minute

// Skopeo runs skopeo with args (as they would follow `skopeo`, the
// subcommand first) and returns its combined output; it fails the test,
// showing the output, when skopeo fails. References to this registry,
// docker://127.0.0.1:PORT/..., get the flags for plain HTTP and, with
// auth, the credentials. skopeo runs with a trust policy that accepts
// anything, and with HOME, the XDG directories and its auth file inside
// Dir, so it neither reads the user's configuration nor writes anywhere
// else.
func (r *Registry) Skopeo(t testing.TB, args ...string) string {
	t.Helper()
	bin := RequireTool(t, "skopeo", SkopeoFix)
	full := r.skopeoArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), skopeoTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Env = r.skopeoEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("skopeo %s: %v\n%s", r.redact(full), err, out.String())
	}
	return out.String()
}

// skopeoArgs adds to args the global flags (the policy, a temporary
// directory) and, after the subcommand, the flags for each reference to
// this registry. A flag the caller gave already is not added, so a test
// may pass --no-creds or --creds of its own; flags come before the
// caller's, and for those skopeo keeps the last.
func (r *Registry) skopeoArgs(args []string) []string {
	out := []string{"--policy", filepath.Join(r.Dir, "policy.json"), "--tmpdir", filepath.Join(r.Dir, "skopeo", "tmp")}
	sub := -1
	for i, a := range args {
		if !strings.HasPrefix(a, "-") {
			sub = i
			break
		}
	}
	if sub < 0 {
		return append(out, args...)
	}
	given := map[string]bool{}
	var refs []string
	for _, a := range args[sub+1:] {
		if strings.HasPrefix(a, "-") {
			name, _, _ := strings.Cut(a, "=")
			given[name] = true
			continue
		}
		if transport, _, ok := strings.Cut(a, ":"); ok && skopeoTransports[transport] {
			refs = append(refs, a)
		}
	}
	ours := func(ref string) bool { return strings.HasPrefix(ref, "docker://"+r.Addr+"/") }
	var flags []string
	add := func(prefix string) {
		if !given["--"+prefix+"tls-verify"] {
			flags = append(flags, "--"+prefix+"tls-verify=false")
		}
		if r.User != "" && !given["--"+prefix+"creds"] && !given["--"+prefix+"no-creds"] {
			flags = append(flags, "--"+prefix+"creds", r.User+":"+r.Password)
		}
	}
	switch args[sub] {
	case "copy":
		// skopeo copy SOURCE DESTINATION
		if len(refs) > 0 && ours(refs[0]) {
			add("src-")
		}
		if len(refs) > 1 && ours(refs[1]) {
			add("dest-")
		}
	default: // inspect, delete, list-tags: one image
		if len(refs) > 0 && ours(refs[0]) {
			add("")
		}
	}
	out = append(out, args[:sub+1]...)
	out = append(out, flags...)
	return append(out, args[sub+1:]...)
}

// skopeoTransports are the transports skopeo 1.9 knows ("skopeo copy
// --help"), to tell image references from flag values.
var skopeoTransports = map[string]bool{
	"containers-storage": true, "dir": true, "docker": true, "docker-archive": true,
	"docker-daemon": true, "oci": true, "oci-archive": true, "ostree": true, "sif": true, "tarball": true,
}

// skopeoEnv keeps skopeo's files inside Dir. Besides auth.json and the
// user's configuration, skopeo keeps a blob-info cache: root's goes to
// /var/lib/containers/cache whatever the environment says, a normal
// user's to $XDG_DATA_HOME/containers/cache. _CONTAINERS_ROOTLESS_UID,
// which podman sets for its re-exec'd children, makes containers/image
// treat even root as a user, so the cache follows XDG_DATA_HOME into Dir.
func (r *Registry) skopeoEnv() []string {
	home := filepath.Join(r.Dir, "skopeo")
	os.MkdirAll(filepath.Join(home, "tmp"), 0o700)
	set := map[string]string{
		"HOME":                     home,
		"XDG_CONFIG_HOME":          filepath.Join(home, "config"),
		"XDG_DATA_HOME":            filepath.Join(home, "data"),
		"XDG_CACHE_HOME":           filepath.Join(home, "cache"),
		"XDG_RUNTIME_DIR":          filepath.Join(home, "run"),
		"REGISTRY_AUTH_FILE":       filepath.Join(home, "auth.json"),
		"DOCKER_CONFIG":            filepath.Join(home, "docker"),
		"TMPDIR":                   filepath.Join(home, "tmp"),
		"_CONTAINERS_ROOTLESS_UID": strconv.Itoa(rootlessUID()),
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			env = append(env, kv)
		}
	}
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	return env
}

// rootlessUID is the uid skopeo is told it runs as: ours, or nobody's for
// root (any uid but 0 moves the blob-info cache).
func rootlessUID() int {
	if uid := os.Geteuid(); uid != 0 {
		return uid
	}
	return NobodyUID
}

// redact hides the password in a command line shown in a failure.
func (r *Registry) redact(args []string) string {
	s := strings.Join(args, " ")
	if r.User != "" {
		s = strings.ReplaceAll(s, r.User+":"+r.Password, r.User+":***")
	}
	return s
}
