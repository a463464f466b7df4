package runtime

import (
	"encoding/json"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The plan reaches the init as JSON, its unset fields and its reasons left
// out: every step must arrive as it was planned, reason aside.
func TestPlanTravelsWhole(t *testing.T) {
	s := defaultSpec("/r", []string{"sh", "-c", "echo hi"}, false)
	s.Process.Terminal = true
	s.Process.ConsoleSize = &specs.Box{Height: 40, Width: 120}
	s.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 20}}
	s.Process.Capabilities.Ambient = []string{"CAP_NET_BIND_SERVICE"}
	s.Process.Capabilities.Inheritable = []string{"CAP_NET_BIND_SERVICE"}
	s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 4096}}
	s.Process.NoNewPrivileges = true
	s.Linux.Sysctl = map[string]string{"kernel.msgmax": "65536"}
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: "/v", Options: []string{"rbind", "ro"}})
	plan, err := Plan(s)
	require.NoError(t, err)

	b, err := json.Marshal(initConfig{Plan: plan, Terminal: true})
	require.NoError(t, err)
	var got initConfig
	require.NoError(t, json.Unmarshal(b, &got))
	assert.NotContains(t, string(b), `"Why"`)
	assert.NotContains(t, string(b), `:""`, "no empty field is sent")
	want := plan
	want.Steps = slices.Clone(plan.Steps)
	for i := range want.Steps {
		want.Steps[i].Why = ""
	}
	assert.Equal(t, want, got.Plan)
	assert.True(t, got.Terminal)
}
