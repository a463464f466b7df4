//go:build linux

package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"berth/final/engine"
)

// The image commands' output, without an engine: docker's columns, its
// <none> lines, its sizes and its prompts.

var imagesNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func sampleImages() []engine.ImageSummary {
	id := "sha256:" + strings.Repeat("ab", 32)
	return []engine.ImageSummary{
		{ID: id, RepoTags: []string{"busybox:latest", "localhost:5000/team/busybox:1"},
			RepoDigests: []string{"localhost:5000/team/busybox@sha256:" + strings.Repeat("cd", 32)},
			Created:     imagesNow.Add(-3 * time.Hour).Unix(), Size: 2135341, SharedSize: -1},
		{ID: "sha256:" + strings.Repeat("12", 32), RepoTags: []string{}, Size: 512, SharedSize: -1},
	}
}

func TestImagesTable(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, writeImages(&out, sampleImages(), imagesOptions{}, imagesNow))
	assert.Equal(t, ""+
		"REPOSITORY                    TAG       IMAGE ID       CREATED       SIZE\n"+
		"busybox                       latest    abababababab   3 hours ago   2.14MB\n"+
		"localhost:5000/team/busybox   1         abababababab   3 hours ago   2.14MB\n"+
		"<none>                        <none>    121212121212   N/A           512B\n",
		out.String())
}

func TestImagesQuietDigestsAndFormat(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, writeImages(&out, sampleImages(), imagesOptions{quiet: true}, imagesNow))
	assert.Equal(t, "abababababab\nabababababab\n121212121212\n", out.String(), "a line per name, as docker")

	out.Reset()
	require.NoError(t, writeImages(&out, sampleImages(), imagesOptions{format: "{{.Repository}}:{{.Tag}} {{.Digest}}"}, imagesNow))
	assert.Equal(t, "busybox:latest <none>\nlocalhost:5000/team/busybox:1 sha256:"+strings.Repeat("cd", 32)+"\n<none>:<none> <none>\n", out.String())

	out.Reset()
	require.NoError(t, writeImages(&out, sampleImages()[1:], imagesOptions{format: "table {{.ID}}\t{{.Size}}", noTrunc: true}, imagesNow))
	assert.Equal(t, "IMAGE ID                                                                  SIZE\nsha256:"+strings.Repeat("12", 32)+"   512B\n", out.String())
}

func TestParseImageFilters(t *testing.T) {
	o, err := parseImageFilters([]string{"dangling=true", "reference=busy*"})
	require.NoError(t, err)
	require.NotNil(t, o.Dangling)
	assert.True(t, *o.Dangling)
	assert.Equal(t, "busy*", o.Reference)
	for _, bad := range []string{"dangling", "dangling=maybe", "label=x=y"} {
		_, err := parseImageFilters([]string{bad})
		assert.Error(t, err, bad)
	}
}

func TestHistoryRows(t *testing.T) {
	h := engine.HistoryResponseItem{ID: "sha256:" + strings.Repeat("ef", 32), Created: imagesNow.Add(-49 * time.Hour).Unix(),
		CreatedBy: "/bin/sh -c #(nop) ADD file:0123456789abcdef0123456789 in /\t", Size: 4_260_000, Comment: "c"}
	r := historyRowOf(h, historyOptions{human: true}, imagesNow)
	assert.Equal(t, historyRow{ID: "efefefefefef", CreatedSince: "2 days ago", CreatedAt: time.Unix(h.Created, 0).Format(time.RFC3339),
		CreatedBy: "/bin/sh -c #(nop) ADD file:0123456789abcdef0…", Size: "4.26MB", Comment: "c"}, r)
	r = historyRowOf(h, historyOptions{noTrunc: true}, imagesNow)
	assert.Equal(t, h.ID, r.ID)
	assert.Equal(t, "4260000", r.Size)
	assert.Equal(t, r.CreatedAt, r.CreatedSince, "-H=false: dates as RFC 3339")
	old := historyRowOf(engine.HistoryResponseItem{ID: "<missing>", Created: 946684800}, historyOptions{human: true}, imagesNow)
	assert.Equal(t, "N/A", old.CreatedSince, "docker shows no age before 2000")
	assert.Equal(t, "<missing>", old.ID)
}

func TestSizesAndReclaimable(t *testing.T) {
	assert.Equal(t, "2.174MB", humanSize4(2174000))
	assert.Equal(t, "0B", humanSize4(0))
	assert.Equal(t, "691B (0%)", reclaimable(691, 4122000))
	assert.Equal(t, "1.5kB (50%)", reclaimable(1500, 3000))
	assert.Equal(t, "0B", reclaimable(0, 0), "no share of nothing")
}

func TestConfirm(t *testing.T) {
	var out bytes.Buffer
	assert.True(t, confirm(strings.NewReader("y\n"), &out, "Sure?"))
	assert.Equal(t, "Sure? [y/N] ", out.String())
	assert.True(t, confirm(strings.NewReader(" Y \n"), &out, "Sure?"))
	assert.False(t, confirm(strings.NewReader("yes\n"), &out, "Sure?"), "docker takes y alone")
	assert.False(t, confirm(strings.NewReader(""), &out, "Sure?"))
	assert.Contains(t, pruneWarning(engine.SystemPruneOptions{All: true, Volumes: true}),
		"  - all anonymous volumes not used by at least one container\n  - all images without at least one container associated to them\n")
}
