//go:build linux

package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"berth/final/engine"
)

func newLogsCommand(b *berthCLI) *cobra.Command {
	var (
		opts         engine.LogsOptions
		since, until string
	)
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER",
		Short: "Fetch the logs of a container",
		Long: `logs prints what a container wrote, its stdout on stdout and its stderr on
stderr; -f keeps printing as it writes more.`,
		Args:                  exactArgs(1),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if n, err := strconv.Atoi(opts.Tail); opts.Tail != "all" && err != nil {
				return flagError(cmd, fmt.Errorf("invalid --tail %q: want a number of lines or \"all\"", opts.Tail))
			} else if err == nil && n < 0 {
				opts.Tail = "all"
			}
			now := time.Now()
			var err error
			if opts.Since, err = parseTimestamp(since, now); err != nil {
				return flagError(cmd, fmt.Errorf("invalid --since: %w", err))
			}
			if opts.Until, err = parseTimestamp(until, now); err != nil {
				return flagError(cmd, fmt.Errorf("invalid --until: %w", err))
			}
			opts.Stdout, opts.Stderr = true, true
			e, err := b.engine()
			if err != nil {
				return err
			}
			return e.Logs(cmd.Context(), args[0], opts, b.out, b.err)
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&opts.Follow, "follow", "f", false, "Follow log output")
	fs.BoolVarP(&opts.Timestamps, "timestamps", "t", false, "Show timestamps")
	fs.StringVarP(&opts.Tail, "tail", "n", "all", "Number of lines to show from the end of the logs")
	fs.StringVar(&since, "since", "", `Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)`)
	fs.StringVar(&until, "until", "", `Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)`)
	return cmd
}

// parseTimestamp reads --since and --until: a duration before now ("42m"),
// seconds since the epoch ("1700000000.5"), or a date and time, RFC 3339
// or without its zone (then local), down to a date alone.
func parseTimestamp(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if sec, frac, _ := strings.Cut(s, "."); sec != "" && strings.Trim(sec, "0123456789") == "" && strings.Trim(frac, "0123456789") == "" {
		n, err := strconv.ParseInt(sec, 10, 64)
		if err == nil {
			var ns int64
			if frac != "" {
				frac = (frac + "000000000")[:9]
				ns, _ = strconv.ParseInt(frac, 10, 64)
			}
			return time.Unix(n, ns), nil
		}
	}
	for _, layout := range []string{time.RFC3339Nano, time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (42m), a Unix time, nor a date and time (2013-01-02T13:23:37Z)", s)
}
