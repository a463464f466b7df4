//go:build linux

package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"berth/final/engine"
)

func sampleContainer() engine.ContainerJSON {
	return engine.ContainerJSON{
		ID:      "4c01db0b339cb31a7a3b7a58b1e0c0d5e1d2b1c2a3b4c5d6e7f8091a2b3c4d5e",
		Created: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		Path:    "sh",
		Args:    []string{"-c", "exit 3"},
		Name:    "/web",
		State:   &engine.State{Status: "exited", ExitCode: 3},
		Config: &engine.Config{
			Image:  "busybox",
			Env:    []string{"PATH=/bin", "A=<&>"},
			Labels: map[string]string{"b": "2", "a": "1"},
		},
		NetworkSettings: &engine.NetworkSettings{IPAddress: "172.17.0.2"},
	}
}

func TestInspectFormat(t *testing.T) {
	tests := []struct {
		format string
		want   string
	}{
		{"{{.State.ExitCode}}", "3\n"},
		{"{{.State.Status}} {{.Name}}", "exited /web\n"},
		{"{{.Id}}", "4c01db0b339cb31a7a3b7a58b1e0c0d5e1d2b1c2a3b4c5d6e7f8091a2b3c4d5e\n"}, // docker's spelling, through the JSON
		{"{{.NetworkSettings.IPAddress}}", "172.17.0.2\n"},
		{"{{json .Config.Env}}", `["PATH=/bin","A=<&>"]` + "\n"},
		{"{{json .State.ExitCode}}", "3\n"},
		{`{{join .Args " "}}`, "-c exit 3\n"},
		{`{{join .Config.Labels ","}}`, "1,2\n"},
		{`{{index .Config.Labels "a"}}`, "1\n"},
		{`{{upper .State.Status}} {{lower "ABC"}} {{title "hello world"}}`, "EXITED abc Hello World\n"},
		{`{{range $i, $e := split "a:b" ":"}}{{$i}}={{$e}} {{end}}`, "0=a 1=b \n"},
		{`[{{pad "x" 1 2}}] [{{pad "" 1 2}}] {{truncate "abcdef" 3}}`, "[ x  ] [] abc\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		ins, err := newInspector(&out, tt.format)
		require.NoError(t, err, tt.format)
		require.NoError(t, ins.add(sampleContainer()), tt.format)
		require.NoError(t, ins.flush())
		assert.Equal(t, tt.want, out.String(), tt.format)
	}

	// One line per object.
	var out bytes.Buffer
	ins, err := newInspector(&out, "{{.Name}}")
	require.NoError(t, err)
	require.NoError(t, ins.add(sampleContainer()))
	require.NoError(t, ins.add(sampleContainer()))
	require.NoError(t, ins.flush())
	assert.Equal(t, "/web\n/web\n", out.String())

	_, err = newInspector(&out, "{{.State")
	assert.ErrorContains(t, err, "template parsing error")
	ins, err = newInspector(&out, "{{.NoSuchField}}")
	require.NoError(t, err)
	assert.ErrorContains(t, ins.add(sampleContainer()), "template parsing error")
}

func TestInspectJSON(t *testing.T) {
	var out bytes.Buffer
	ins, err := newInspector(&out, "")
	require.NoError(t, err)
	require.NoError(t, ins.flush())
	assert.Equal(t, "[]\n", out.String(), "nothing found: an empty array, as docker")

	out.Reset()
	ins, err = newInspector(&out, "")
	require.NoError(t, err)
	v := engine.Volume{Name: "data", Driver: "local", Mountpoint: "/var/lib/berth/volumes/data/_data", Scope: "local",
		CreatedAt: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC), Labels: map[string]string{"x": "a<b"}}
	require.NoError(t, ins.add(v))
	require.NoError(t, ins.flush())
	assert.Equal(t, `[
    {
        "Name": "data",
        "Driver": "local",
        "Mountpoint": "/var/lib/berth/volumes/data/_data",
        "CreatedAt": "2024-05-06T07:08:09Z",
        "Labels": {
            "x": "a<b"
        },
        "Scope": "local",
        "Options": null
    }
]
`, out.String(), "4 spaces, '<' left as it is")
}

func TestInspectAllReportsMissing(t *testing.T) {
	var out, errb bytes.Buffer
	b := &berthCLI{out: &out, err: &errb}
	err := b.inspectAll([]string{"web", "nope"}, "{{.State.ExitCode}}", func(name string) (any, error) {
		if name == "web" {
			return sampleContainer(), nil
		}
		return nil, engine.ErrNotFound
	})
	var se statusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 1, se.code)
	assert.Equal(t, "3\n", out.String(), "what was found is printed")
	assert.Contains(t, se.status, "not found")

	err = b.inspectAll([]string{"web"}, "{{", nil)
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 64, se.code, "a bad template: docker's 64")
}
