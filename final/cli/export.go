//go:build linux

package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

func newExportCommand(b *berthCLI) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export [OPTIONS] CONTAINER",
		Short: "Export a container's filesystem as a tar archive",
		Long: `export writes a container's whole filesystem (its image and its changes, merged;
not its volumes) as one tar archive, to -o FILE or to stdout. berth import
makes an image of it again; berth save keeps an image's layers and history.

  berth export web > web.tar
  berth export -o web.tar web`,
		Args:                  exactArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" {
				// A tarball on a terminal is garbage on the screen, as
				// docker refuses it too.
				if _, ok := terminalFd(b.out); ok {
					return failure(1, errors.New("refusing to write a tar archive to a terminal: use -o FILE, or redirect the output"))
				}
			}
			e, err := b.engine()
			if err != nil {
				return err
			}
			if output == "" {
				if err := e.ContainerExport(cmd.Context(), args[0], b.out); err != nil {
					return failure(1, err)
				}
				return nil
			}
			// Into a temporary file beside the target, renamed once
			// whole: a failed export leaves no half archive behind.
			f, err := os.CreateTemp(filepath.Dir(output), "."+filepath.Base(output)+".tmp-")
			if err != nil {
				return failure(1, fmt.Errorf("creating %s: %w", output, err))
			}
			err = e.ContainerExport(cmd.Context(), args[0], f)
			if err == nil {
				err = f.Chmod(0o644) // CreateTemp's 0600 is for the temporary name only
			}
			if cerr := f.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("writing %s: %w", output, cerr)
			}
			if err == nil {
				err = os.Rename(f.Name(), output)
			}
			if err != nil {
				os.Remove(f.Name())
				return failure(1, err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}
