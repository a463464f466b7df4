//go:build linux

package cli

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

func newImportCommand(b *berthCLI) *cobra.Command {
	var (
		changes []string
		message string
	)
	cmd := &cobra.Command{
		Use:   "import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
		Short: "Import the contents from a tarball to create a filesystem image",
		Long: `import makes a one-layer image of a root filesystem tarball (a file, a URL,
or - for stdin) and prints its ID; -c sets the image's config with Dockerfile
instructions (CMD, ENTRYPOINT, ENV, EXPOSE, USER, WORKDIR...).

  berth import rootfs.tar busybox
  tar -C rootfs -c . | berth import -c 'CMD ["/bin/sh"]' - busybox`,
		Args:                  rangeArgs(1, 2),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			var ref string
			if len(args) == 2 {
				ref = args[1]
			}
			r, err := b.openSource(args[0])
			if err != nil {
				return err
			}
			defer r.Close()
			e, err := b.engine()
			if err != nil {
				return err
			}
			id, err := e.ImageImport(cmd.Context(), r, ref, changes, message)
			if err != nil {
				return err
			}
			fmt.Fprintln(b.out, id)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVarP(&changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	fs.StringVarP(&message, "message", "m", "", "Set commit message for imported image")
	return cmd
}

// openSource opens what import reads: stdin for "-", a URL, or a file.
func (b *berthCLI) openSource(src string) (io.ReadCloser, error) {
	switch {
	case src == "-":
		return io.NopCloser(b.in), nil
	case strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://"):
		resp, err := http.Get(src)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("downloading %s: %s", src, resp.Status)
		}
		return resp.Body, nil
	}
	return os.Open(src)
}
