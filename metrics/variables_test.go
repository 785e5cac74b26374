package metrics

import (
	"testing"

	"github.com/osms/sports-service/internal/testenv"
)

func TestVariables(t *testing.T) { testenv.CheckVariables(t, Variables(), LoadConfig) }
