package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A trimmed `go test -json` stream: a pass, a root skip, a failing test with
// a subtest, and a package that does not build.
const goTestJSON = `{"Action":"run","Package":"berth/01-chroot","Test":"TestA"}
{"Action":"pass","Package":"berth/01-chroot","Test":"TestA"}
{"Action":"run","Package":"berth/01-chroot","Test":"TestB"}
{"Action":"output","Package":"berth/01-chroot","Test":"TestB","Output":"    root.go:20: needs root (it changes mounts, namespaces or cgroups); run: go test -exec sudo ./01-chroot/\n"}
{"Action":"skip","Package":"berth/01-chroot","Test":"TestB"}
{"Action":"run","Package":"berth/01-chroot","Test":"TestC"}
{"Action":"output","Package":"berth/01-chroot","Test":"TestC","Output":"=== RUN   TestC\n"}
{"Action":"output","Package":"berth/01-chroot","Test":"TestC","Output":"        \tError Trace:\tjail_test.go:42\n"}
{"Action":"output","Package":"berth/01-chroot","Test":"TestC","Output":"        \tError:      \tShould be true\n"}
{"Action":"output","Package":"berth/01-chroot","Test":"TestC","Output":"        \tMessages:   \tthe escape must fail\n"}
{"Action":"output","Package":"berth/01-chroot","Test":"TestC","Output":"--- FAIL: TestC (0.00s)\n"}
{"Action":"fail","Package":"berth/01-chroot","Test":"TestC/sub"}
{"Action":"fail","Package":"berth/01-chroot","Test":"TestC"}
{"Action":"fail","Package":"berth/01-chroot"}
{"Action":"build-output","ImportPath":"berth/01-chroot/demo","Output":"demo.go:3:1: syntax error\n"}
{"Action":"output","Package":"berth/01-chroot/demo","Output":"FAIL\tberth/01-chroot/demo [build failed]\n"}
{"Action":"fail","Package":"berth/01-chroot/demo"}
`

func TestTally(t *testing.T) {
	r := row{Name: "01 chroot", Pattern: "./01-chroot/...", Doc: "docs/01-chroot.md"}
	r.tally(strings.NewReader(goTestJSON))
	assert.Equal(t, 1, r.Passed)
	assert.Equal(t, 1, r.Failed, "a failing subtest is counted once, with its parent")
	assert.Equal(t, 1, r.Skipped)
	assert.Equal(t, 1, r.RootSkips)
	assert.Equal(t, "TestC", r.FirstFail)
	assert.Equal(t, "berth/01-chroot/demo: demo.go:3:1: syntax error", r.Broken, "the compiler's own words")

	var out bytes.Buffer
	printTable(&out, []row{r})
	s := out.String()
	assert.Contains(t, s, "01 chroot                1       1        1\n")
	assert.Contains(t, s, "first failure TestC: Should be true (the escape must fail)")
	assert.Contains(t, s, "go test -exec sudo -run '^TestC$' -v ./01-chroot/")
	assert.Contains(t, s, "read: docs/01-chroot.md")
	assert.Contains(t, s, "1 test(s) skipped because they need root")
}

func TestFirstMeaningful(t *testing.T) {
	assert.Equal(t, "Should be true", firstMeaningful([]string{"=== RUN   TestX", "\tError Trace:\tx.go:1", "\tError:      \tShould be true", "\tTest:       \tTestX"}))
	assert.Equal(t, "x_test.go:9: boom", firstMeaningful([]string{"=== RUN   TestX", "    x_test.go:9: boom", "--- FAIL: TestX"}))
	assert.Equal(t, "(no output)", firstMeaningful(nil))
	assert.Equal(t, "residue.go:108: the test left the host changed: left mount: /x tmpfs tmpfs",
		firstMeaningful([]string{"    residue.go:108: the test left the host changed:", "          left mount: /x tmpfs tmpfs", "--- FAIL: TestX (0.1s)"}))
}

func TestChapterRowNames(t *testing.T) {
	assert.Equal(t, "04 unionfs", chapterRow(chapter{N: 4, Slug: "04-unionfs"}).Name)
	assert.Equal(t, "07 final", chapterRow(chapter{N: 7, Slug: "final"}).Name, "a folder without a number")
	assert.Equal(t, "./final/...", chapterRow(chapter{N: 7, Slug: "final"}).Pattern)
}
