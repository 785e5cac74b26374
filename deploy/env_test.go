package deploy

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/dotenv"

	"github.com/osms/sports-service/config"
	"github.com/osms/sports-service/discovery"
	"github.com/osms/sports-service/metrics"
	"github.com/osms/sports-service/telemetry"
)

// appVariables is every variable the service reads, with the value
// .env.example gives it: each package that reads the environment lists its
// own.
func appVariables() map[string]string {
	vars := map[string]string{}
	for _, list := range [][]config.Variable{config.Variables(), telemetry.Variables(), metrics.Variables(), discovery.Variables()} {
		for _, v := range list {
			vars[v.Name] = v.Default
		}
	}
	return vars
}

// TestEnvExampleListsEveryVariable keeps .env.example equal to what the
// service reads: every variable once, with its default, and a comment.
func TestEnvExampleListsEveryVariable(t *testing.T) {
	raw := readRoot(t, ".env.example")
	values, err := dotenv.Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf(".env.example does not parse: %v", err)
	}
	want := appVariables()
	for name, def := range want {
		got, ok := values[name]
		switch {
		case !ok:
			t.Errorf(".env.example lacks %s (default %q)", name, def)
		case got != def:
			t.Errorf(".env.example: %s=%q, want %q", name, got, def)
		}
	}
	for name := range values {
		if _, ok := want[name]; !ok {
			t.Errorf(".env.example sets %s, which the service does not read", name)
		}
	}

	// Each assignment is preceded by a comment line, and none is repeated.
	seen := map[string]bool{}
	lines := strings.Split(string(raw), "\n")
	for i, line := range lines {
		name, _, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if seen[name] {
			t.Errorf(".env.example sets %s twice", name)
		}
		seen[name] = true
		if i == 0 || !strings.HasPrefix(lines[i-1], "#") {
			t.Errorf(".env.example: %s has no comment line above it", name)
		}
	}
	if t.Failed() {
		names := make([]string, 0, len(want))
		for n := range want {
			names = append(names, n)
		}
		slices.Sort(names)
		t.Logf("the service reads: %s", strings.Join(names, " "))
	}
}
