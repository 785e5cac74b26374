package telemetry

import (
	"fmt"
	"os"
	"testing"

	"github.com/compose-spec/compose-go/v2/dotenv"
)

// TestEnvExampleLoadsAsBefore: the .env.example of the commit before the move
// to declarative configuration loads to the configuration the hand-written
// loader made of it (testdata/env.example.golden; UPDATE_GOLDEN=1 rewrites).
// Since the OpenTelemetry SDK reads the OTEL_* variables itself, Config
// holds only this service's decisions; TestSDKReadsTheEnvironment checks the
// SDK's side on the spans.
func TestEnvExampleLoadsAsBefore(t *testing.T) {
	values, err := dotenv.Read("../config/testdata/env.example")
	if err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(func(k string) string { return values[k] }, func(k string) string { return values[k] })
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%#v\n", c)
	if os.Getenv("UPDATE_GOLDEN") != "" {
		_ = os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile("testdata/env.example.golden", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/env.example.golden")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("loaded\n%s\nwant\n%s", got, want)
	}
}
