//go:build linux

package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

func newSaveCommand(b *berthCLI) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Long: `save writes images, with their names, as one tarball in docker save's format
(docker 25's: an OCI image layout with docker's manifest.json), which docker
load, skopeo (docker-archive: and oci-archive:) and berth load read.

  berth save -o busybox.tar busybox
  berth save busybox | ssh elsewhere docker load`,
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" {
				if _, tty := terminalFd(b.out); tty {
					return failure(1, errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect"))
				}
			}
			e, err := b.engine()
			if err != nil {
				return err
			}
			if output == "" {
				if err := e.ImageSave(cmd.Context(), args, b.out); err != nil {
					return failure(1, err)
				}
				return nil
			}
			if err := saveToFile(output, func(f *os.File) error { return e.ImageSave(cmd.Context(), args, f) }); err != nil {
				return failure(1, err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}

// saveToFile writes path all at once, as docker does: into a temporary
// file beside it, renamed over it only when write succeeded. A failed save
// leaves no half tarball, and an existing file as it was.
func saveToFile(path string, write func(*os.File) error) (retErr error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("failed to save image: %w", err)
	}
	defer func() {
		if retErr != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("failed to save image: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("failed to save image: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("failed to save image: %w", err)
	}
	return nil
}
