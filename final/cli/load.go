//go:build linux

package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	image "berth/06-images"
	"berth/final/engine"
)

func newLoadCommand(b *berthCLI) *cobra.Command {
	var (
		input string
		quiet bool
	)
	cmd := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load an image from a tar archive or STDIN",
		Long: `load reads a docker save tarball (from docker, skopeo's docker-archive: or
berth save; plain, gzip'd or zstd'd) and names its images as the tarball
does. Every file is checked against its digest; a damaged or hostile
tarball (names that climb out, links that point out, a cut file) is refused
and leaves nothing behind.`,
		Args:                  noArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var r io.Reader = b.in
			if input == "" {
				if _, tty := terminalFd(b.in); tty {
					return failure(1, errors.New("requested load from stdin, but stdin is empty"))
				}
			} else {
				f, err := os.Open(input)
				if err != nil {
					return failure(1, err)
				}
				defer f.Close()
				r = f
			}
			e, err := b.engine()
			if err != nil {
				return err
			}
			// Progress only on a terminal, as docker: in a log, the names
			// loaded are what matters.
			var opts engine.ImageLoadOptions
			if _, tty := terminalFd(b.out); tty && !quiet {
				opts.Progress = blobsOnly{image.NewProgress(b.out)}
			}
			loaded, err := e.ImageLoad(cmd.Context(), r, opts)
			if err != nil {
				return failure(1, err)
			}
			for _, l := range loaded {
				if l.Name != "" {
					fmt.Fprintln(b.out, "Loaded image:", l.Name)
				} else {
					fmt.Fprintln(b.out, "Loaded image ID:", l.ID)
				}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&input, "input", "i", "", "Read from tar archive file, instead of STDIN")
	fs.BoolVarP(&quiet, "quiet", "q", false, "Suppress the load output")
	return cmd
}

// blobsOnly passes on the events of blobs; the lines of no blob ("Loaded
// image: ...") are load's own to print, once the bars are done.
type blobsOnly struct{ p image.Progress }

func (b blobsOnly) Update(ev image.Event) {
	if ev.ID != "" {
		b.p.Update(ev)
	}
}
