//go:build linux

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	image "berth/06-images"
	"berth/final/engine"
)

// insecureRegistriesEnv lists, comma-separated, the registries berth speaks
// plain HTTP to, like dockerd's --insecure-registry. Loopback registries
// (localhost, 127.0.0.0/8, ::1) always are.
const insecureRegistriesEnv = "BERTH_INSECURE_REGISTRIES"

func newPullCommand(b *berthCLI) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry",
		Long: `pull fetches an image from its registry (Docker Hub unless the name starts
with a host), verifies every byte against its digest and unpacks its layers.
Credentials come from docker login's ~/.docker/config.json; registries in
BERTH_INSECURE_REGISTRIES (and loopback ones) are spoken to in plain HTTP.`,
		Args:                  exactArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := b.engine()
			if err != nil {
				return err
			}
			if !quiet && !strings.Contains(args[0], "@") && strings.LastIndex(args[0], ":") <= strings.LastIndex(args[0], "/") {
				fmt.Fprintln(b.out, "Using default tag: latest")
			}
			resp, err := b.pull(cmd.Context(), e, args[0], b.out, quiet)
			if err != nil {
				return failure(1, err)
			}
			fmt.Fprintln(b.out, resp.Ref)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress verbose output")
	return cmd
}

// pull pulls name, showing its progress on w (bars on a terminal, lines
// otherwise) and docker's Status line at the end, unless quiet.
func (b *berthCLI) pull(ctx context.Context, e *engine.Engine, name string, w io.Writer, quiet bool) (engine.ImagePullResponse, error) {
	reg, err := b.registryOptions()
	if err != nil {
		return engine.ImagePullResponse{}, err
	}
	opts := engine.ImagePullOptions{Registry: reg}
	var sl *statusLines
	if !quiet {
		sl = newStatusLines(w)
		opts.Progress = sl
	}
	resp, err := e.ImagePull(ctx, name, opts)
	if sl != nil {
		sl.flush()
	}
	if err != nil {
		return resp, err
	}
	if !quiet {
		fmt.Fprintln(w, "Status: "+resp.Status)
	}
	return resp, nil
}

// createPulling is run's and create's Create: when the image is missing it
// pulls it, as the docker CLI does (client side: the engine's Create never
// reaches a registry), with docker's words and the pull's progress on
// stderr, then creates again.
func (b *berthCLI) createPulling(ctx context.Context, e *engine.Engine, req engine.CreateRequest) (engine.CreateResponse, error) {
	resp, err := e.Create(ctx, req)
	if !errors.Is(err, engine.ErrImageNotFound) {
		return resp, err
	}
	ref, perr := image.ParseReference(req.Config.Image)
	if perr != nil || image.IsIDReference(ref) {
		return resp, err // not a name a registry could have: the engine said why
	}
	fmt.Fprintf(b.err, "Unable to find image '%s' locally\n", ref.Familiar())
	if _, err := b.pull(ctx, e, req.Config.Image, b.err, false); err != nil {
		return resp, err
	}
	return e.Create(ctx, req)
}

// registryOptions configure the registry client as docker's would be:
// docker login's credentials, and the insecure registries.
func (b *berthCLI) registryOptions() ([]image.ClientOption, error) {
	opts, err := image.DockerConfigCredentials("")
	if err != nil {
		return nil, fmt.Errorf("%w (fix or move the file; berth reads it for registry logins)", err)
	}
	if v, ok := b.lookupEnv(insecureRegistriesEnv); ok {
		var hosts []string
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hosts = append(hosts, h)
			}
		}
		opts = append(opts, image.WithInsecure(hosts...))
	}
	return opts, nil
}

// statusLines shows a transfer's progress: per-blob events through
// chapter 06's Progress (bars on a terminal, lines otherwise), and the
// events that belong to no blob ("The push refers to...", "Digest: ...")
// as plain lines. Bars keep one line per ID and would draw those over one
// another, so a plain line that comes once the bars have started waits
// for flush, after them, where docker prints it.
type statusLines struct {
	mu      sync.Mutex
	w       io.Writer
	blobs   image.Progress
	started bool
	held    []string
}

func newStatusLines(w io.Writer) *statusLines {
	return &statusLines{w: w, blobs: image.NewProgress(w)}
}

func (s *statusLines) Update(ev image.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ev.ID != "" {
		s.started = true
		s.blobs.Update(ev)
		return
	}
	if !s.started {
		fmt.Fprintln(s.w, ev.Action)
		return
	}
	s.held = append(s.held, ev.Action)
}

func (s *statusLines) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.held {
		fmt.Fprintln(s.w, l)
	}
	s.held = nil
}
