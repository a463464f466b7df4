//go:build linux

package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

func newInfoCommand(b *berthCLI) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:                   "info [OPTIONS]",
		Short:                 "Display system-wide information",
		Long:                  `info prints what the engine has (containers, images) and what it runs on (kernel, cgroups, CPUs, memory).`,
		Args:                  noArgs,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "" {
				if _, err := parseTemplate(format); err != nil {
					return flagError(cmd, err)
				}
			}
			e, err := b.engine()
			if err != nil {
				return err
			}
			info, err := e.Info(cmd.Context())
			if err != nil {
				return err
			}
			if format != "" {
				return formatWith(b.out, format, info)
			}
			writeInfo(b.out, info)
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template")
	return cmd
}

// writeInfo writes info as docker's "key: value" list.
func writeInfo(w io.Writer, i engine.Info) {
	p := func(indent int, key string, v any) {
		fmt.Fprintf(w, "%s%s: %v\n", strings.Repeat(" ", indent), key, v)
	}
	fmt.Fprintln(w, "Server:")
	p(1, "Containers", i.Containers)
	p(2, "Running", i.ContainersRunning)
	p(2, "Paused", i.ContainersPaused)
	p(2, "Stopped", i.ContainersStopped)
	p(1, "Images", i.Images)
	p(1, "Server Version", i.ServerVersion)
	p(1, "Storage Driver", i.Driver)
	p(1, "Cgroup Driver", i.CgroupDriver)
	p(1, "Cgroup Version", i.CgroupVersion)
	runtimes := make([]string, 0, len(i.Runtimes))
	for name := range i.Runtimes {
		runtimes = append(runtimes, name)
	}
	sort.Strings(runtimes)
	p(1, "Runtimes", strings.Join(runtimes, " "))
	p(1, "Default Runtime", i.DefaultRuntime)
	if i.ContainerStart != "" {
		p(1, "Container Start", i.ContainerStart)
	}
	if len(i.SecurityOptions) > 0 {
		fmt.Fprintln(w, " Security Options:")
		for _, o := range i.SecurityOptions {
			fmt.Fprintf(w, "  %s\n", o)
		}
	}
	p(1, "Kernel Version", i.KernelVersion)
	p(1, "Operating System", i.OperatingSystem)
	p(1, "OSType", i.OSType)
	p(1, "Architecture", i.Architecture)
	p(1, "CPUs", i.NCPU)
	p(1, "Total Memory", bytesSize(float64(i.MemTotal)))
	p(1, "Name", i.Name)
	p(1, "ID", i.ID)
	p(1, "Berth Root Dir", i.DockerRootDir)
}
