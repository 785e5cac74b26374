package telemetry

import (
	"testing"

	"github.com/osms/sports-service/internal/testenv"
)

// TestVariables: Variables lists every variable the loader reads, through
// either lookup.
func TestVariables(t *testing.T) {
	testenv.CheckVariables(t, Variables(), func(getenv func(string) string) (Config, error) { return loadConfig(getenv, getenv) })
}
