package config

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/compose-spec/compose-go/v2/dotenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestEnvExampleLoadsAsBefore loads the .env.example of the commit before
// the move to declarative configuration (testdata/env.example) and compares
// the result with what the hand-written loader produced from it
// (testdata/env.example.golden): the move changed no setting.
func TestEnvExampleLoadsAsBefore(t *testing.T) {
	values, err := dotenv.Read("testdata/env.example")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(func(k string) string { return values[k] })
	if err != nil {
		t.Fatal(err)
	}
	compareGolden(t, "testdata/env.example.golden", fmt.Sprintf("%#v\n", c))
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("loaded\n%s\nwant (%s)\n%s", got, path, want)
	}
}
