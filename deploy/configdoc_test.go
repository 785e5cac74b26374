package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/osms/sports-service/config"
	"github.com/osms/sports-service/discovery"
	"github.com/osms/sports-service/internal/testenv"
	"github.com/osms/sports-service/metrics"
	"github.com/osms/sports-service/telemetry"
)

// TestConfigurationDoc keeps docs/configuration.md equal to the settings the
// packages declare (their tagged structs): UPDATE_GOLDEN=1 rewrites it.
func TestConfigurationDoc(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Configuration\n\n" +
		"Generated from the tagged settings structs by `UPDATE_GOLDEN=1 go test -run TestConfigurationDoc ./deploy`;\n" +
		"do not edit by hand. The service reads these environment variables, or a `.env` file in its working\n" +
		"directory (`ENV_FILE` names another; the process environment wins), parsed as `docker compose` parses it.\n" +
		"`.env.example` lists them all with comments. A blank value means the default. An invalid value stops\n" +
		"start-up with one line naming the variable and its rule.\n")
	sections := []struct {
		title, note string
		vars        []config.Variable
	}{
		{"Service (`config`)", "", config.Variables()},
		{"Tracing (`telemetry`)", "The `OTEL_*` variables are read by the OpenTelemetry SDK itself, from the process environment;\n" +
			"a `.env` file's `OTEL_*` values are exported there at start-up unless the process already sets them.\n" +
			"They are listed because the service checks them first (the SDK would log a bad value and use its\n" +
			"default). The SDK also reads the standard ones not listed, such as `OTEL_EXPORTER_OTLP_HEADERS`.\n", telemetry.Variables()},
		{"Metrics (`metrics`)", "", metrics.Variables()},
		{"Service registry (`discovery`)", "", discovery.Variables()},
	}
	for _, s := range sections {
		fmt.Fprintf(&b, "\n## %s\n\n", s.title)
		if s.note != "" {
			b.WriteString(s.note + "\n")
		}
		b.WriteString("| Variable | Default | Meaning |\n|---|---|---|\n")
		for _, v := range s.vars {
			def := "(empty)"
			if v.Default != "" {
				def = "`" + v.Default + "`"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.Name, def, strings.ReplaceAll(v.Help, "|", "\\|"))
		}
	}
	path := filepath.Join(testenv.RepoRoot(t), "docs", "configuration.md")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("docs/configuration.md is not what the settings structs say; run UPDATE_GOLDEN=1 go test -run TestConfigurationDoc ./deploy and review the diff")
	}
}
