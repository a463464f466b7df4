//go:build linux

package cli

import "github.com/spf13/cobra"

// containerFSCommands are the commands on a container's filesystem
// (issue 9): commit, export, cp.
func containerFSCommands(b *berthCLI) []*cobra.Command {
	cmds := []*cobra.Command{newCommitCommand(b), newExportCommand(b), newCpCommand(b)}
	for _, c := range cmds {
		c.GroupID = "containers"
	}
	return cmds
}
