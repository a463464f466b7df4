//go:build linux

package cli

import (
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

type historyOptions struct {
	human   bool
	noTrunc bool
	quiet   bool
	format  string
}

func newHistoryCommand(b *berthCLI) *cobra.Command {
	o := historyOptions{human: true}
	cmd := &cobra.Command{
		Use:   "history [OPTIONS] IMAGE",
		Short: "Show the history of an image",
		Long: `history lists the steps that made an image, newest first, from its config:
what made each layer (CREATED BY) and the layer's size as stored. Steps that
made no layer (a CMD, an ENV) show 0B; layers below the top have no image ID
of their own (<missing>), as in docker.`,
		Args:                  exactArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := b.engine()
			if err != nil {
				return err
			}
			items, err := e.ImageHistory(cmd.Context(), args[0])
			if err != nil {
				return failure(1, err)
			}
			format := o.format
			switch {
			case o.quiet:
				format = "{{.ID}}"
			case format == "" || format == "table":
				format = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
			}
			rows := make([]any, len(items))
			for i, h := range items {
				rows[i] = historyRowOf(h, o, time.Now())
			}
			return writeRows(b.out, format, historyRow{ID: "IMAGE", CreatedSince: "CREATED", CreatedAt: "CREATED AT",
				CreatedBy: "CREATED BY", Size: "SIZE", Comment: "COMMENT"}, rows)
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.human, "human", "H", true, "Print sizes and dates in human readable format")
	fs.BoolVar(&o.noTrunc, "no-trunc", false, "Don't truncate output")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "Only show image IDs")
	fs.StringVar(&o.format, "format", "", "Format output using a custom template ('table', 'table TEMPLATE' or a Go template)")
	return cmd
}

// historyRow is one line of history, as --format templates see it.
type historyRow struct {
	ID, CreatedSince, CreatedAt, CreatedBy, Size, Comment string
}

// historyEpoch: docker shows no age for a step dated before 2000 (images
// built for reproducibility are often dated 1970 or 2000-01-01).
var historyEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

func historyRowOf(h engine.HistoryResponseItem, o historyOptions, now time.Time) historyRow {
	r := historyRow{ID: h.ID, Comment: h.Comment, CreatedBy: strings.ReplaceAll(h.CreatedBy, "\t", " ")}
	r.CreatedAt = time.Unix(h.Created, 0).Format(time.RFC3339)
	switch {
	case !o.human:
		r.CreatedSince = r.CreatedAt
	case h.Created <= historyEpoch:
		r.CreatedSince = "N/A"
	default:
		r.CreatedSince = ago(time.Unix(h.Created, 0), now)
	}
	if !o.noTrunc {
		r.ID = truncateID(r.ID)
		r.CreatedBy = ellipsis(r.CreatedBy, 45)
	}
	r.Size = strconv.FormatInt(h.Size, 10)
	if o.human {
		r.Size = humanSize(float64(h.Size))
	}
	return r
}
