package observability

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/osms/sports-service/internal/testenv"
)

// promtool is Debian's prometheus package's (apt-get install prometheus).
func promtool(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		testenv.RequireOrSkip(t, "promtool (Debian: apt-get install prometheus)")
	}
	return bin
}

// TestPromtool: the configuration and the rule files are valid, and the
// rules' unit tests (every alert fires and resolves on synthetic series)
// pass. .ci/run runs the same commands.
func TestPromtool(t *testing.T) {
	t.Parallel()
	bin := promtool(t)
	rules, err := filepath.Glob("prometheus/rules/*.yml")
	if err != nil || len(rules) == 0 {
		t.Fatalf("no rule files: %v", err)
	}
	tests, err := filepath.Glob("prometheus/tests/*.yml")
	if err != nil || len(tests) == 0 {
		t.Fatalf("no rule tests: %v", err)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"check config", []string{"check", "config", "prometheus/prometheus.yml"}},
		{"check rules", append([]string{"check", "rules"}, rules...)},
		{"test rules", append([]string{"test", "rules"}, tests...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(bin, tc.args...).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "SUCCESS") {
				t.Errorf("promtool %s: %v\n%s", strings.Join(tc.args, " "), err, out)
			}
		})
	}
}
