package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"berth/steps/testkit"
)

var chapterDir = regexp.MustCompile(`^(\d\d)-[a-z]+$`)

// importRule says why importer may not import imported, or "" if it may.
// Chapter N may import chapters below N (and its own subpackages) and the
// test kit; no chapter imports final; the test kit imports no chapter.
func importRule(importer, imported string) string {
	if !strings.HasPrefix(imported, "berth/") {
		return ""
	}
	top := func(p string) string { return strings.SplitN(strings.TrimPrefix(p, "berth/"), "/", 2)[0] }
	from, to := top(importer), top(imported)
	isKit := func(p string) bool { return p == "berth/steps/testkit" || strings.HasPrefix(p, "berth/steps/testkit/") }
	switch {
	case isKit(importer):
		if !isKit(imported) {
			return "the test kit sits below every chapter and may import only itself"
		}
	case chapterDir.MatchString(from):
		if to == "final" {
			return "no chapter imports final: final is built from the chapters, not the other way round"
		}
		if isKit(imported) {
			return ""
		}
		m := chapterDir.FindStringSubmatch(to)
		if m == nil {
			return "a chapter may import only earlier chapters and steps/testkit"
		}
		n, _ := strconv.Atoi(chapterDir.FindStringSubmatch(from)[1])
		k, _ := strconv.Atoi(m[1])
		if k > n {
			return "a chapter may not import a later chapter"
		}
	}
	return ""
}

func TestImportRule(t *testing.T) {
	tests := []struct {
		importer, imported string
		allowed            bool
	}{
		{"berth/02-namespaces", "berth/01-chroot", true},
		{"berth/02-namespaces/demo", "berth/02-namespaces", true},
		{"berth/03-cgroups", "berth/steps/testkit", true},
		{"berth/03-cgroups/demo", "berth/steps/testkit/narrate", true},
		{"berth/01-chroot", "golang.org/x/sys/unix", true},
		{"berth/01-chroot", "berth/02-namespaces", false},
		{"berth/01-chroot/demo", "berth/04-unionfs", false},
		{"berth/04-unionfs", "berth/final", false},
		{"berth/04-unionfs", "berth/final/engine", false},
		{"berth/04-unionfs", "berth/steps/host", false},
		{"berth/steps/testkit", "berth/01-chroot", false},
		{"berth/final/engine", "berth/06-images", true},
		{"berth/steps", "berth/01-chroot/demo", true},
	}
	for _, tt := range tests {
		why := importRule(tt.importer, tt.imported)
		assert.Equal(t, tt.allowed, why == "", "%s importing %s: %q", tt.importer, tt.imported, why)
	}
}

// TestChaptersImportOnlyWhatCameBefore reads every Go file of the module,
// tests included, and applies the layering rule to its imports.
func TestChaptersImportOnlyWhatCameBefore(t *testing.T) {
	root, err := testkit.ModuleRoot()
	require.NoError(t, err)
	fset := token.NewFileSet()
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "bin") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		importer := "berth/" + filepath.ToSlash(rel)
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if why := importRule(importer, p); why != "" {
				t.Errorf("%s imports %s: %s", path, p, why)
			}
			checked++
		}
		return nil
	})
	require.NoError(t, err)
	assert.Greater(t, checked, 20, "the walk must have found the module's imports")
	_, err = os.Stat(filepath.Join(root, "01-chroot"))
	assert.NoError(t, err)
}
