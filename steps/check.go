package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"berth/steps/testkit"
)

func newCheckCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "check [N]",
		Short: "Run chapter N's tests (all chapters without N) and print a progress table",
		Long: `check runs the tests of chapter N, or of the course kit and every written
chapter, and prints a table: passed, failed and skipped tests per chapter,
and for a failure the first failing test, what it said, and the command to
run it alone. Run it as root: as a normal user the privileged tests skip.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rows := []row{{Name: "00 course kit", Pattern: "./steps/...", Doc: "README.md"}}
			for _, c := range chapters {
				if c.ready() {
					rows = append(rows, chapterRow(c))
				}
			}
			if len(args) == 1 {
				c, err := chapterArg(args[0])
				if err != nil {
					return fmt.Errorf("check: %w", err)
				}
				rows = []row{chapterRow(c)}
			}
			goTool, err := testkit.GoTool()
			if err != nil {
				return err
			}
			root, err := testkit.ModuleRoot()
			if err != nil {
				return err
			}
			failed := false
			out := cmd.OutOrStdout()
			for i := range rows {
				fmt.Fprintf(out, "testing %s (%s)...\n", rows[i].Name, rows[i].Pattern)
				c := exec.CommandContext(cmd.Context(), goTool, "test", "-json", "-count=1", rows[i].Pattern)
				c.Dir = root
				c.Stderr = os.Stderr
				stdout, err := c.StdoutPipe()
				if err != nil {
					return err
				}
				if err := c.Start(); err != nil {
					return fmt.Errorf("check: running go test: %w", err)
				}
				rows[i].tally(stdout)
				if err := c.Wait(); err != nil && rows[i].Failed == 0 && rows[i].Broken == "" {
					rows[i].Broken = err.Error()
				}
				if rows[i].Failed > 0 || rows[i].Broken != "" {
					failed = true
				}
			}
			printTable(out, rows)
			if failed {
				return exitError{1}
			}
			return nil
		},
	}
}

func chapterRow(c chapter) row {
	// "04-unionfs" shows as "04 unionfs"; "final" has no number in its
	// folder's name.
	_, name, ok := strings.Cut(c.Slug, "-")
	if !ok {
		name = c.Slug
	}
	return row{Name: fmt.Sprintf("%02d %s", c.N, name), Pattern: "./" + c.Slug + "/...", Doc: c.Doc}
}

// row is one line of the progress table: the tests of one chapter.
type row struct {
	Name, Pattern, Doc      string
	Passed, Failed, Skipped int
	FirstFail               string   // the first failing test
	FirstFailPkg            string   // its package directory
	FailOutput              []string // what it printed
	RootSkips               int      // skips for want of root
	Broken                  string   // a package that did not build or run
}

// event is a line of `go test -json` (see `go doc test2json`).
type event struct {
	Action     string
	Package    string
	ImportPath string // on build-output: "berth/x" or "berth/x [berth/x.test]"
	Test       string
	Output     string
}

// tally reads go test's JSON events and counts the top-level tests.
func (r *row) tally(in io.Reader) {
	output := map[string][]string{} // package/test -> lines printed
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			continue
		}
		key := e.Package + "/" + e.Test
		if e.Action == "build-output" {
			key = strings.SplitN(e.ImportPath, " ", 2)[0] + "/"
		}
		switch e.Action {
		case "output", "build-output":
			output[key] = append(output[key], strings.TrimRight(e.Output, "\n"))
		case "pass", "fail", "skip":
			if e.Test == "" {
				if e.Action == "fail" && r.Broken == "" && !hasFailedTest(output, e.Package) {
					r.Broken = e.Package + ": " + firstMeaningful(output[e.Package+"/"])
				}
				continue
			}
			if strings.Contains(e.Test, "/") {
				continue // subtests are counted by their parent
			}
			switch e.Action {
			case "pass":
				r.Passed++
			case "skip":
				r.Skipped++
				if strings.Contains(strings.Join(output[key], "\n"), "needs root") {
					r.RootSkips++
				}
			case "fail":
				r.Failed++
				if r.FirstFail == "" {
					r.FirstFail, r.FirstFailPkg, r.FailOutput = e.Test, e.Package, output[key]
				}
			}
		}
	}
}

func hasFailedTest(output map[string][]string, pkg string) bool {
	for k, lines := range output {
		if strings.HasPrefix(k, pkg+"/Test") {
			for _, l := range lines {
				if strings.HasPrefix(strings.TrimSpace(l), "--- FAIL") {
					return true
				}
			}
		}
	}
	return false
}

// firstMeaningful picks the line of a failure's output that says the most:
// testify's "Error:" (with its "Messages:", the test's own words), or else
// the first line that is not go test's own bookkeeping.
func firstMeaningful(lines []string) string {
	var errText, msgText string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case errText == "" && strings.HasPrefix(t, "Error:"):
			errText = strings.TrimSpace(strings.TrimPrefix(t, "Error:"))
		case msgText == "" && strings.HasPrefix(t, "Messages:"):
			msgText = strings.TrimSpace(strings.TrimPrefix(t, "Messages:"))
		}
	}
	if errText != "" {
		if msgText != "" {
			return errText + " (" + msgText + ")"
		}
		return errText
	}
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") || strings.HasPrefix(t, "FAIL") || strings.HasPrefix(t, "Error Trace:") {
			continue
		}
		// A line that ends with a colon introduces what follows: keep a few
		// of those lines too.
		for j := i + 1; strings.HasSuffix(t, ":") && j < len(lines) && j <= i+3; j++ {
			next := strings.TrimSpace(lines[j])
			if next == "" || strings.HasPrefix(next, "--- ") {
				break
			}
			t += " " + next
		}
		return t
	}
	return "(no output)"
}

func printTable(out io.Writer, rows []row) {
	fmt.Fprintf(out, "\n%-18s %7s %7s %8s\n", "chapter", "passed", "failed", "skipped")
	for _, r := range rows {
		fmt.Fprintf(out, "%-18s %7d %7d %8d\n", r.Name, r.Passed, r.Failed, r.Skipped)
	}
	var notes []string
	for _, r := range rows {
		if r.Broken != "" {
			notes = append(notes, fmt.Sprintf("%s did not build or run: %s", r.Name, r.Broken))
		}
		if r.FirstFail != "" {
			dir := "./" + strings.TrimPrefix(r.FirstFailPkg, "berth/") + "/"
			notes = append(notes, fmt.Sprintf("%s: first failure %s: %s\n    run it alone: go test -exec sudo -run '^%s$' -v %s\n    read: %s",
				r.Name, r.FirstFail, firstMeaningful(r.FailOutput), r.FirstFail, dir, r.Doc))
		}
		if r.RootSkips > 0 {
			notes = append(notes, fmt.Sprintf("%s: %d test(s) skipped because they need root: sudo make test, or go test -exec sudo %s", r.Name, r.RootSkips, r.Pattern))
		}
	}
	sort.Strings(notes)
	for _, n := range notes {
		fmt.Fprintln(out, "\n"+n)
	}
}
