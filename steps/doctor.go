package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"berth/steps/host"
)

func newDoctorCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check that this host can run the course, and say what to do when it cannot",
		Long: `doctor checks the host: root, the kernel, cgroups (v1, hybrid or v2) and their
controllers, overlayfs, user namespaces, veth and bridge, iptables or nft,
docker-registry, skopeo and umoci, a static busybox, the propagation of /,
and WSL2. It prints ok or what to do for each, and exits 1 when a core
requirement fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			failed := 0
			for _, r := range hostChecks() {
				core := ""
				if r.Core {
					core = " (core)"
				}
				fmt.Fprintf(out, "%-4s  %-18s %s\n", r.Status, r.Name, r.Detail)
				if r.Status != host.OK && r.Fix != "" {
					fmt.Fprintf(out, "      %-18s fix%s: %s\n", "", core, r.Fix)
				}
				if r.Status != host.OK && r.Needed != "" {
					fmt.Fprintf(out, "      %-18s needed by %s\n", "", r.Needed)
				}
				if r.Core && r.Status == host.Fail {
					failed++
				}
			}
			if failed > 0 {
				fmt.Fprintf(out, "\n%d core requirement(s) failed: fix them before following the course.\n", failed)
				return exitError{1}
			}
			fmt.Fprintln(out, "\nThis host can run the course.")
			return nil
		},
	}
}
