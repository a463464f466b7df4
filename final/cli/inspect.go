//go:build linux

package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

func newInspectCommand(b *berthCLI) *cobra.Command {
	var format, kind string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NAME|ID [NAME|ID...]",
		Short: "Return low-level information on berth objects",
		Long: `inspect prints containers, networks or volumes as a JSON array, or each
through a Go template with -f, e.g. berth inspect -f '{{.State.ExitCode}}' c.`,
		Args:                  requiresMinArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch kind {
			case "", "container", "network", "volume":
			default:
				return flagError(cmd, fmt.Errorf("%q is not a valid value for --type: want container, network or volume", kind))
			}
			e, err := b.engine()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			lookups := []struct {
				kind string
				get  func(string) (any, error)
			}{
				{"container", func(n string) (any, error) { return e.Inspect(ctx, n) }},
				{"network", func(n string) (any, error) { return e.NetworkInspect(ctx, n) }},
				{"volume", func(n string) (any, error) { return e.VolumeInspect(ctx, n) }},
			}
			return b.inspectAll(args, format, func(name string) (any, error) {
				for _, l := range lookups {
					if kind != "" && kind != l.kind {
						continue
					}
					v, err := l.get(name)
					if !errors.Is(err, engine.ErrNotFound) {
						return v, err
					}
				}
				if kind != "" {
					return nil, fmt.Errorf("no such %s: %s", kind, name)
				}
				return nil, fmt.Errorf("no such object: %s", name)
			})
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&format, "format", "f", "", "Format output using a custom template")
	fs.StringVar(&kind, "type", "", "Only inspect objects of the given type (container, network or volume)")
	return cmd
}
