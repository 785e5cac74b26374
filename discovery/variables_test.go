package discovery

import (
	"testing"

	"github.com/osms/sports-service/internal/testenv"
)

func TestVariables(t *testing.T) {
	testenv.CheckVariables(t, Variables(), func(getenv func(string) string) (Config, error) { return LoadConfig(getenv, 8000) })
}
