//go:build linux

package cli

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

type imagesOptions struct {
	all     bool
	quiet   bool
	noTrunc bool
	digests bool
	format  string
	filters []string
}

// newImagesCommand is `berth images` and, named "ls", `berth image ls`.
func newImagesCommand(b *berthCLI, use string) *cobra.Command {
	var o imagesOptions
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] [REPOSITORY[:TAG]]",
		Short: "List images",
		Long: `images lists the images, newest first: one line per name, and one
<none> line for an image without a name (dangling). REPOSITORY[:TAG] keeps
the names that match (wildcards as in busybox*, localhost:5000/*).`,
		Args:                  rangeArgs(0, 1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := parseImageFilters(o.filters)
			if err != nil {
				return flagError(cmd, err)
			}
			opts.All = o.all
			if len(args) == 1 {
				opts.Reference = args[0]
			}
			if o.format != "" {
				if _, err := parseTemplate(strings.TrimPrefix(o.format, "table")); err != nil {
					return flagError(cmd, err)
				}
			}
			e, err := b.engine()
			if err != nil {
				return err
			}
			list, err := e.ImageList(cmd.Context(), opts)
			if err != nil {
				return err
			}
			return writeImages(b.out, list, o, time.Now())
		},
	}
	if use == "ls" {
		cmd.Aliases = []string{"list"}
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.all, "all", "a", false, "Show all images (berth keeps no intermediate images: the same as without)")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "Only show image IDs")
	fs.BoolVar(&o.noTrunc, "no-trunc", false, "Don't truncate output")
	fs.BoolVar(&o.digests, "digests", false, "Show digests")
	fs.StringVar(&o.format, "format", "", "Format output using a custom template ('table', 'table TEMPLATE' or a Go template)")
	fs.StringArrayVarP(&o.filters, "filter", "f", nil, "Filter output based on conditions provided (dangling=true|false, reference=PATTERN)")
	return cmd
}

// parseImageFilters reads the --filter flags images understands.
func parseImageFilters(filters []string) (engine.ImageListOptions, error) {
	var o engine.ImageListOptions
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		switch {
		case !ok:
			return o, fmt.Errorf("bad format of filter (expected name=value): %s", f)
		case k == "dangling" && (v == "true" || v == "1"):
			t := true
			o.Dangling = &t
		case k == "dangling" && (v == "false" || v == "0"):
			f := false
			o.Dangling = &f
		case k == "dangling":
			return o, fmt.Errorf("invalid filter 'dangling=%s': want true or false", v)
		case k == "reference":
			o.Reference = v
		default:
			return o, fmt.Errorf("invalid filter '%s': berth knows dangling and reference", k)
		}
	}
	return o, nil
}

// imageRow is one line of images: what --format templates see, with the
// names docker gives them.
type imageRow struct {
	Repository, Tag, Digest, ID   string
	CreatedSince, CreatedAt, Size string
	Containers                    string
	SharedSize, UniqueSize        string
	hasDigest                     bool
}

// imageHeader is images' header row, the same fields holding their titles,
// so that a "table" template prints its own header.
var imageHeader = imageRow{Repository: "REPOSITORY", Tag: "TAG", Digest: "DIGEST", ID: "IMAGE ID",
	CreatedSince: "CREATED", CreatedAt: "CREATED AT", Size: "SIZE", Containers: "CONTAINERS",
	SharedSize: "SHARED SIZE", UniqueSize: "UNIQUE SIZE"}

// imageRows are the lines of images: one per name, or one <none> line.
func imageRows(list []engine.ImageSummary, trunc bool, now time.Time) []imageRow {
	var rows []imageRow
	for _, img := range list {
		base := imageRow{ID: img.ID, Size: humanSize(float64(img.Size)),
			Containers: fmt.Sprint(img.Containers), SharedSize: "N/A", UniqueSize: "N/A"}
		if trunc {
			base.ID = truncateID(img.ID)
		}
		if img.Created != 0 {
			base.CreatedSince = ago(time.Unix(img.Created, 0), now)
			base.CreatedAt = time.Unix(img.Created, 0).String()
		}
		if img.SharedSize >= 0 {
			base.SharedSize = humanSize4(float64(img.SharedSize))
			base.UniqueSize = humanSize4(float64(img.Size - img.SharedSize))
		}
		digests := map[string]string{} // repository → digest
		for _, d := range img.RepoDigests {
			if repo, dg, ok := strings.Cut(d, "@"); ok {
				digests[repo] = dg
			}
		}
		if len(img.RepoTags) == 0 {
			r := base
			r.Repository, r.Tag, r.Digest = "<none>", "<none>", "<none>"
			rows = append(rows, r)
			continue
		}
		for _, t := range img.RepoTags {
			i := strings.LastIndex(t, ":")
			r := base
			r.Repository, r.Tag = t[:i], t[i+1:]
			r.Digest, r.hasDigest = digests[r.Repository], digests[r.Repository] != ""
			if !r.hasDigest {
				r.Digest = "<none>"
			}
			rows = append(rows, r)
		}
	}
	return rows
}

// writeImages writes images' table, its IDs (-q), or its rows through a
// --format template.
func writeImages(w io.Writer, list []engine.ImageSummary, o imagesOptions, now time.Time) error {
	rows := imageRows(list, !o.noTrunc, now)
	format := o.format
	switch {
	case o.quiet:
		format = "{{.ID}}"
	case format == "" || format == "table":
		format = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince}}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}"
		if o.digests {
			format = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince}}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}"
		}
	}
	anyRows := make([]any, len(rows))
	for i := range rows {
		anyRows[i] = rows[i]
	}
	return writeRows(w, format, imageHeader, anyRows)
}

// writeRows runs a --format template on each row. A template that starts
// with "table" is a table: the header row first, the columns aligned as
// docker aligns them.
func writeRows(w io.Writer, format string, header any, rows []any) error {
	table := strings.HasPrefix(format, "table")
	if table {
		format = strings.TrimSpace(strings.TrimPrefix(format, "table"))
	}
	tmpl, err := parseTemplate(format)
	if err != nil {
		return err
	}
	out := w
	var tw *tabwriter.Writer
	if table {
		tw = newTable(w)
		out = tw
		if err := executeLine(out, tmpl, header); err != nil {
			return err
		}
	}
	for _, r := range rows {
		if err := executeLine(out, tmpl, r); err != nil {
			return err
		}
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

func executeLine(w io.Writer, tmpl *template.Template, v any) error {
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, v); err != nil {
		return fmt.Errorf("template: %w", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// humanSize4 is docker's units.HumanSize: powers of 1000, 4 significant
// digits ("2.174MB"), for totals (system df, reclaimed space).
func humanSize4(size float64) string {
	v, u := scaleSize(size, 1000, decimalUnits)
	return fmt.Sprintf("%.4g%s", v, u)
}
