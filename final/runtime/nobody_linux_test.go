package runtime_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"berth/steps/testkit"
)

// TestAsNobody runs this package's tests again as an unprivileged user:
// the pure ones must pass, the privileged ones skip with the reason.
func TestAsNobody(t *testing.T) {
	testkit.RequireRoot(t)
	// A temporary directory nobody can write in, for the pure tests'
	// fake rootfs.
	tmp := filepath.Join(t.TempDir(), "tmp")
	require.NoError(t, os.Mkdir(tmp, 0o777))
	require.NoError(t, os.Chmod(tmp, 0o1777))
	testkit.OpenToAll(t, tmp)
	out := testkit.RunTestsAsNobody(t, "^Test[^A]", "TMPDIR="+tmp)
	assert.NotContains(t, out, "--- FAIL")
	assert.Contains(t, out, "--- PASS: TestDefaultPlan")
	assert.Contains(t, out, "--- PASS: TestResolveUserStaysInside")
	for _, name := range []string{"TestDefaultContainer", "TestExec", "TestTerminal", "TestTinyInit"} {
		assert.Contains(t, out, "--- SKIP: "+name+" ")
	}
	assert.Contains(t, out, "needs root")
	if t.Failed() {
		t.Log(strings.TrimSpace(out))
	}
}
