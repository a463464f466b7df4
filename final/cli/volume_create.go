//go:build linux

package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

func newVolumeCreateCommand(b *berthCLI) *cobra.Command {
	var (
		driver string
		labels []string
	)
	cmd := &cobra.Command{
		Use:                   "create [OPTIONS] [VOLUME]",
		Short:                 "Create a volume",
		Long:                  `volume create makes a named volume (without a name, the engine picks one) and prints its name.`,
		Args:                  rangeArgs(0, 1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			req := engine.VolumeCreateRequest{Driver: driver, Labels: parseLabels(labels)}
			if len(args) == 1 {
				req.Name = args[0]
			}
			e, err := b.engine()
			if err != nil {
				return err
			}
			v, err := e.VolumeCreate(cmd.Context(), req)
			if err != nil {
				return err
			}
			fmt.Fprintln(b.out, v.Name)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&driver, "driver", "d", "local", "Specify volume driver name")
	fs.StringArrayVar(&labels, "label", nil, "Set metadata for a volume")
	return cmd
}
