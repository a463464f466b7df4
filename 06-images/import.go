package image

import (
	"archive/tar"
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"

	unionfs "berth/04-unionfs"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// ImportOptions says how Import makes an image of a root filesystem.
type ImportOptions struct {
	// Ref names the image. Empty, the image is named by its ID (see
	// IDReference), as docker keeps an unnamed import as a dangling image.
	Ref string
	// Changes are Dockerfile instructions applied to the config: those
	// the Docker engine accepts for `docker import --change`, less ONBUILD
	// and HEALTHCHECK (see changeInstructions).
	Changes []string
	// Message is the history entry's comment; "Imported from -" if empty.
	Message string
	// Platform is the image's; the zero value means the host's, Platform().
	Platform v1.Platform
	// Created dates the image; the zero value means now. A fixed date (a
	// build's SOURCE_DATE_EPOCH) makes the same rootfs the same image ID.
	Created time.Time
}

// Import makes a one-layer image of a root filesystem tarball (plain,
// gzip'd or zstd'd: told by its first bytes), as `docker import` does,
// stores it, names it, and returns it.
//
// The layer is stored uncompressed, so its digest is its diff ID: the
// bytes need no second reading to be checked or unpacked, the same
// rootfs always gives the same layer (a gzip stream depends on the
// compressor and its level), and Save writes it as it is. Compressing is
// the business of whoever sends it over a network.
//
// The tarball is read once: its bytes are hashed and spooled into the
// store's ingest/ while a tar reader walks its entries, refusing names that
// climb out with "..", so a damaged or hostile tarball is refused here
// rather than at the first `run`. Then WriteBlob copies the spool into
// blobs/, checking it once more: the one way in for every blob.
func Import(r io.Reader, s *Store, opts ImportOptions) (*Image, error) {
	var ref Reference
	if opts.Ref != "" {
		var err error
		if ref, err = ParseReference(opts.Ref); err != nil {
			return nil, fmt.Errorf("image: importing: %w", err)
		}
		if ref.Digest != "" {
			return nil, fmt.Errorf("image: importing as %s: a new image is named by a tag, not a digest", opts.Ref)
		}
	}
	cfg := v1.ImageConfig{}
	if err := ApplyChanges(&cfg, opts.Changes); err != nil {
		return nil, err
	}
	platform := opts.Platform
	if platform.Architecture == "" {
		platform = Platform()
	}
	if platform.OS == "" {
		platform.OS = "linux"
	}
	created := opts.Created.UTC()
	if opts.Created.IsZero() {
		created = time.Now().UTC()
	}
	comment := opts.Message
	if comment == "" {
		comment = "Imported from -"
	}

	release, err := s.hold()
	if err != nil {
		return nil, err
	}
	defer release()
	layer, err := s.importLayer(r)
	if err != nil {
		return nil, err
	}
	config, err := json.Marshal(v1.Image{
		Created:  &created,
		Platform: platform,
		Config:   cfg,
		RootFS:   v1.RootFS{Type: "layers", DiffIDs: []digest.Digest{layer.Digest}},
		History:  []v1.History{{Created: &created, Comment: comment}},
	})
	if err != nil {
		return nil, fmt.Errorf("image: importing: %w", err)
	}
	cdesc, err := s.PutBlob(v1.MediaTypeImageConfig, config)
	if err != nil {
		return nil, fmt.Errorf("image: importing: %w", err)
	}
	m, err := tarballManifest(cdesc, []v1.Descriptor{layer})
	if err != nil {
		return nil, fmt.Errorf("image: importing: %w", err)
	}
	mdesc, err := s.PutBlob(v1.MediaTypeImageManifest, m)
	if err != nil {
		return nil, fmt.Errorf("image: importing: %w", err)
	}
	if opts.Ref == "" {
		ref = IDReference(cdesc.Digest)
	}
	if err := s.Tag(ref, mdesc); err != nil {
		return nil, fmt.Errorf("image: importing: %w", err)
	}
	return s.Image(ref.String())
}

// importLayer stores the tarball r, uncompressed, as a layer blob.
func (s *Store) importLayer(r io.Reader) (v1.Descriptor, error) {
	br := bufio.NewReader(r)
	comp, err := sniffCompression(br)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("image: importing: %w", err)
	}
	raw, err := decompress(br, comp)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("%w: %w", ErrBadTarball, err)
	}
	defer raw.Close()
	spool, err := os.CreateTemp(s.ingestDir(), "import-")
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("image: importing: %w", err)
	}
	defer os.Remove(spool.Name())
	defer spool.Close()

	d := digest.Canonical.Digester()
	cw := &countingWriter{w: io.MultiWriter(spool, d.Hash())}
	if err := checkRootfsTar(io.TeeReader(raw, cw)); err != nil {
		return v1.Descriptor{}, err
	}
	// The tar reader stops at the end-of-archive marker; the rest (the
	// padding to a record) is part of the layer, and of its diff ID.
	if _, err := io.Copy(cw, raw); err != nil {
		return v1.Descriptor{}, truncated(err, "after its last entry")
	}
	if cw.n == 0 {
		// An empty tar (its end marker alone) is an empty root
		// filesystem; no bytes at all is a mistake.
		return v1.Descriptor{}, fmt.Errorf("%w: the input is empty", ErrBadTarball)
	}
	desc := v1.Descriptor{MediaType: v1.MediaTypeImageLayer, Digest: d.Digest(), Size: cw.n}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return desc, fmt.Errorf("image: importing: %w", err)
	}
	// A copy, not a rename: one more write of the layer, but WriteBlob
	// stays the one door into blobs/.
	if err := s.WriteBlob(desc, spool); err != nil {
		return desc, fmt.Errorf("image: importing: %w", err)
	}
	return desc, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// checkRootfsTar walks a root filesystem tarball's entries: it must be a
// tar, it must not climb out of the layer, and it should not be a `docker
// save` tarball, which is loaded, not imported.
func checkRootfsTar(r io.Reader) error {
	tr := tar.NewReader(r)
	top := map[string]bool{}
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, tar.ErrInsecurePath) && hdr != nil {
			err = nil
		}
		if err != nil {
			if n == 0 && !errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("%w: the input is not a tar archive (plain, gzip or zstd): %v", ErrBadTarball, err)
			}
			return truncated(err, afterEntries(n))
		}
		for _, part := range strings.Split(hdr.Name, "/") {
			if part == ".." {
				return fmt.Errorf("%w: entry %q climbs out of the root filesystem with ..", ErrBadTarball, hdr.Name)
			}
		}
		if hdr.Typeflag == tar.TypeLink && strings.Contains("/"+hdr.Linkname+"/", "/../") {
			return fmt.Errorf("%w: hard link %q points out of the root filesystem, at %q", ErrBadTarball, hdr.Name, hdr.Linkname)
		}
		if name := path.Clean(strings.TrimPrefix(hdr.Name, "/")); !strings.Contains(name, "/") {
			top[name] = true
		}
	}
	if top[dockerManifestFile] && (top[v1.ImageLayoutFile] || top[dockerReposFile] || top[v1.ImageBlobsDir]) {
		return fmt.Errorf("image: importing: this is a `docker save` tarball (it holds %s), not a root filesystem: load it with `berth load`", dockerManifestFile)
	}
	return nil
}

// IDReference is the name an image gets when it is given none (an untagged
// import, a load of an untagged save): sha256:<its ID>, which Docker's
// grammar reads as repository "sha256", tag <ID>, and which reads to a
// user as the image ID it is. Garbage collection keeps only what a name
// reaches, so an image without one would go at the next GC, where Docker
// would keep it as a dangling <none>:<none>. Resolve finds it by the whole
// ID or any prefix; `rmi sha256:<ID>` removes it; Save writes it unnamed.
func IDReference(id digest.Digest) Reference {
	return Reference{Domain: DefaultDomain, Path: officialRepos + "/" + string(digest.SHA256), Tag: id.Encoded()}
}

// IsIDReference says whether r is an IDReference: a name that stands for
// no name.
func IsIDReference(r Reference) bool {
	return r.Domain == DefaultDomain && r.Path == officialRepos+"/"+string(digest.SHA256) && r.Digest == "" &&
		digest.NewDigestFromEncoded(digest.SHA256, r.Tag).Validate() == nil
}

// Change is one parsed `--change` instruction: it edits an image config.
type Change func(*v1.ImageConfig)

// ApplyChanges parses every change, then applies them in order: a typo in
// the last one leaves cfg untouched.
func ApplyChanges(cfg *v1.ImageConfig, changes []string) error {
	var fns []Change
	for _, c := range changes {
		fn, err := ParseChange(c)
		if err != nil {
			return err
		}
		fns = append(fns, fn)
	}
	for _, fn := range fns {
		fn(cfg)
	}
	return nil
}

// changeInstructions are what `docker import --change` and `docker commit
// --change` accept, less ONBUILD and HEALTHCHECK, which an OCI config has
// no field for.
const changeInstructions = "CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR"

// ParseChange reads one Dockerfile instruction, as `docker import -c`
// takes it: "CMD [\"sh\"]" (exec form) or "CMD sh -c x" (shell form, run
// by /bin/sh -c), "ENV K=V K2=\"v 2\"", "WORKDIR /x", "USER u:g",
// "EXPOSE 80 53/udp 8000-8002", "LABEL k=v", "VOLUME /data",
// "STOPSIGNAL SIGTERM". Values are taken literally: unlike a Dockerfile,
// $VARIABLES are not expanded. A JSON array that does not parse is refused
// (a Dockerfile silently runs it through a shell instead).
func ParseChange(s string) (Change, error) {
	line := strings.TrimSpace(s)
	kw, rest := line, ""
	if i := strings.IndexFunc(line, unicode.IsSpace); i >= 0 {
		kw, rest = line[:i], strings.TrimSpace(line[i:])
	}
	bad := func(format string, a ...any) (Change, error) {
		return nil, fmt.Errorf("image: change %q: %s", s, fmt.Sprintf(format, a...))
	}
	if kw == "" {
		return bad("empty; give an instruction: %s", changeInstructions)
	}
	instr := strings.ToUpper(kw)
	if rest == "" {
		return bad("%s needs an argument", instr)
	}
	switch instr {
	case "CMD", "ENTRYPOINT":
		args, err := commandArgs(rest)
		if err != nil {
			return bad("%v", err)
		}
		if instr == "CMD" {
			return func(c *v1.ImageConfig) { c.Cmd = args }, nil
		}
		return func(c *v1.ImageConfig) { c.Entrypoint = args }, nil
	case "ENV":
		pairs, err := nameValues(rest, instr)
		if err != nil {
			return bad("%v", err)
		}
		return func(c *v1.ImageConfig) {
			for _, p := range pairs {
				c.Env = setEnv(c.Env, p[0], p[1])
			}
		}, nil
	case "LABEL":
		pairs, err := nameValues(rest, instr)
		if err != nil {
			return bad("%v", err)
		}
		return func(c *v1.ImageConfig) {
			if c.Labels == nil {
				c.Labels = map[string]string{}
			}
			for _, p := range pairs {
				c.Labels[p[0]] = p[1]
			}
		}, nil
	case "WORKDIR":
		dir, err := oneWord(rest)
		if err != nil {
			return bad("%v", err)
		}
		return func(c *v1.ImageConfig) {
			if path.IsAbs(dir) {
				c.WorkingDir = path.Clean(dir)
				return
			}
			base := c.WorkingDir // relative to the previous one, as in a Dockerfile
			if base == "" {
				base = "/"
			}
			c.WorkingDir = path.Join(base, dir)
		}, nil
	case "USER", "STOPSIGNAL":
		v, err := oneWord(rest)
		if err != nil {
			return bad("%v", err)
		}
		if instr == "USER" {
			return func(c *v1.ImageConfig) { c.User = v }, nil
		}
		if !validSignal(v) {
			return bad("%q is not a signal: give a name (SIGTERM, TERM) or a number (15)", v)
		}
		return func(c *v1.ImageConfig) { c.StopSignal = v }, nil
	case "EXPOSE":
		words, err := splitWords(rest)
		if err != nil {
			return bad("%v", err)
		}
		var ports []string
		for _, w := range words {
			p, err := exposedPorts(w)
			if err != nil {
				return bad("%v", err)
			}
			ports = append(ports, p...)
		}
		return func(c *v1.ImageConfig) {
			if c.ExposedPorts == nil {
				c.ExposedPorts = map[string]struct{}{}
			}
			for _, p := range ports {
				c.ExposedPorts[p] = struct{}{}
			}
		}, nil
	case "VOLUME":
		var vols []string
		var err error
		if strings.HasPrefix(rest, "[") {
			err = json.Unmarshal([]byte(rest), &vols)
			if err != nil {
				err = fmt.Errorf("%s is not a JSON array of strings (%v): write [\"/a\", \"/b\"]", rest, err)
			}
		} else {
			vols, err = splitWords(rest)
		}
		if err != nil {
			return bad("%v", err)
		}
		for _, v := range vols {
			if v == "" {
				return bad("a volume cannot be an empty path")
			}
		}
		return func(c *v1.ImageConfig) {
			if c.Volumes == nil {
				c.Volumes = map[string]struct{}{}
			}
			for _, v := range vols {
				c.Volumes[v] = struct{}{}
			}
		}, nil
	case "ONBUILD", "HEALTHCHECK":
		return bad("%s has no field in an OCI image config, which is what berth stores", instr)
	case "FROM", "RUN", "COPY", "ADD", "ARG", "SHELL", "MAINTAINER":
		return bad("%s is a build instruction; --change takes only %s", instr, changeInstructions)
	}
	return bad("unknown instruction %q; --change takes %s", kw, changeInstructions)
}

// commandArgs reads CMD's and ENTRYPOINT's argument: a JSON array is the
// command itself (exec form); anything else is a shell command line.
func commandArgs(rest string) ([]string, error) {
	if strings.HasPrefix(rest, "[") {
		var args []string
		if err := json.Unmarshal([]byte(rest), &args); err != nil {
			return nil, fmt.Errorf("%s looks like the exec form but is not a JSON array of strings (%v): write [\"sh\", \"-c\", \"...\"], with double quotes", rest, err)
		}
		return args, nil
	}
	return []string{"/bin/sh", "-c", rest}, nil
}

// nameValues reads ENV's and LABEL's arguments: NAME=VALUE pairs, values
// quoted as a shell would, or the old form "NAME VALUE WITH SPACES".
func nameValues(rest, instr string) ([][2]string, error) {
	words, err := splitWords(rest)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(words[0], "=") {
		if len(words) < 2 {
			return nil, fmt.Errorf("%s needs NAME=VALUE", instr)
		}
		i := strings.IndexFunc(rest, unicode.IsSpace)
		return [][2]string{{words[0], strings.TrimSpace(rest[i:])}}, nil
	}
	var out [][2]string
	for _, w := range words {
		name, value, ok := strings.Cut(w, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("%q is not NAME=VALUE", w)
		}
		out = append(out, [2]string{name, value})
	}
	return out, nil
}

// setEnv sets name in env, in place if it is there already.
func setEnv(env []string, name, value string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == name {
			env[i] = name + "=" + value
			return env
		}
	}
	return append(env, name+"="+value)
}

func oneWord(rest string) (string, error) {
	words, err := splitWords(rest)
	if err != nil {
		return "", err
	}
	if len(words) != 1 {
		return "", fmt.Errorf("takes one argument, got %d", len(words))
	}
	return words[0], nil
}

// splitWords splits at blanks outside quotes, as a shell would: "..."
// and '...' group, a backslash escapes the next character (inside double
// quotes only \" and \\).
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteRune(c)
			}
		case quote == '"':
			switch {
			case c == '"':
				quote = 0
			case c == '\\' && i+1 < len(rs) && (rs[i+1] == '"' || rs[i+1] == '\\'):
				i++
				cur.WriteRune(rs[i])
			default:
				cur.WriteRune(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == '\\':
			if i+1 < len(rs) {
				i++
				cur.WriteRune(rs[i])
			}
			inWord = true
		case unicode.IsSpace(c):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// exposedPorts reads one EXPOSE word: PORT[/PROTO] or a range
// FIRST-LAST[/PROTO]; the protocol is tcp unless said.
func exposedPorts(w string) ([]string, error) {
	ports, proto, ok := strings.Cut(w, "/")
	if !ok {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return nil, fmt.Errorf("%q: the protocol must be tcp, udp or sctp", w)
	}
	first, last, isRange := strings.Cut(ports, "-")
	if !isRange {
		last = first
	}
	lo, err1 := strconv.ParseUint(first, 10, 16)
	hi, err2 := strconv.ParseUint(last, 10, 16)
	if err1 != nil || err2 != nil || lo == 0 || hi < lo {
		return nil, fmt.Errorf("%q is not a port or a range of ports (1-65535)", w)
	}
	var out []string
	for p := lo; p <= hi; p++ {
		out = append(out, fmt.Sprintf("%d/%s", p, proto))
	}
	return out, nil
}

// validSignal accepts what docker does for STOPSIGNAL: a number, or a
// name with or without SIG (SIGRTMIN+3 included).
func validSignal(v string) bool {
	if n, err := strconv.Atoi(v); err == nil {
		return n > 0 && n < 65
	}
	name := strings.TrimPrefix(strings.ToUpper(v), "SIG")
	if name == "" {
		return false
	}
	for _, c := range name {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-') {
			return false
		}
	}
	return true
}

// ExportDir writes the tree at root as one tarball, as `docker export`
// writes a container's filesystem: for a root filesystem already mounted
// or a plain directory. root must hold no other mounts (a container's
// /proc, say): the walk would go into them. Export makes such a view.
func ExportDir(w io.Writer, root string) error {
	if err := unionfs.Tar(w, root); err != nil {
		return fmt.Errorf("image: exporting %s: %w", root, err)
	}
	return nil
}

// exportView turns the mounts that assemble a container's root into a
// read-only view of the same files that can sit beside the container's
// own mount: an overlay's upper directory becomes its top lower layer, and
// upperdir and workdir go. Overlayfs refuses nothing when two mounts share
// an upper and work directory (without index=on it only warns), but two
// writers on one workdir corrupt each other; a mount with lower layers
// only needs no workdir, writes nothing, and sees whiteouts and opaque
// directories in the upper layer as it sees them in any lower one.
// containerd's overlay snapshotter makes its read-only views the same way.
func exportView(mounts []unionfs.Mount) ([]unionfs.Mount, error) {
	var out []unionfs.Mount
	for _, m := range mounts {
		switch m.Type {
		case "bind":
			out = append(out, m)
		case "overlay":
			var lower, upper string
			var opts []string
			for _, o := range m.Options {
				k, v, _ := strings.Cut(o, "=")
				switch k {
				case "lowerdir":
					lower = v
				case "upperdir":
					upper = v
				case "workdir":
				default:
					opts = append(opts, o)
				}
			}
			if lower == "" {
				return nil, fmt.Errorf("image: exporting: overlay mount %s has no lowerdir", m)
			}
			if upper != "" {
				lower = upper + ":" + lower
			}
			ro := unionfs.Mount{Type: m.Type, Source: m.Source, Target: m.Target, Options: append([]string{"lowerdir=" + lower}, opts...)}
			out = append(out, ro)
		default:
			return nil, fmt.Errorf("image: exporting: cannot make a read-only view of a %s mount", m.Type)
		}
	}
	return out, nil
}
