//go:build linux

package cli

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

func newNetworkCreateCommand(b *berthCLI) *cobra.Command {
	var (
		driver  string
		subnets []string
		labels  []string
	)
	cmd := &cobra.Command{
		Use:                   "create [OPTIONS] NETWORK",
		Short:                 "Create a network",
		Long:                  `network create makes a bridge network and prints its ID; --subnet picks its addresses, else the engine does.`,
		Args:                  exactArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			req := engine.NetworkCreateRequest{Name: args[0], Driver: driver}
			for _, s := range subnets {
				if _, err := netip.ParsePrefix(s); err != nil {
					return flagError(cmd, fmt.Errorf("invalid --subnet %q: want a CIDR such as 172.30.0.0/16", s))
				}
				req.IPAM.Config = append(req.IPAM.Config, struct{ Subnet string }{s})
			}
			req.Labels = parseLabels(labels)
			e, err := b.engine()
			if err != nil {
				return err
			}
			n, err := e.NetworkCreate(cmd.Context(), req)
			if err != nil {
				return err
			}
			fmt.Fprintln(b.out, n.ID)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&driver, "driver", "d", "bridge", "Driver to manage the Network")
	fs.StringArrayVar(&subnets, "subnet", nil, "Subnet in CIDR format that represents a network segment")
	fs.StringArrayVar(&labels, "label", nil, "Set metadata on a network")
	return cmd
}

// parseLabels reads --label KEY=VALUE flags (KEY alone: an empty value).
func parseLabels(labels []string) map[string]string {
	if len(labels) == 0 {
		return nil
	}
	m := make(map[string]string, len(labels))
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m
}
