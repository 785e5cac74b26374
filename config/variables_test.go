package config_test

import (
	"testing"

	"github.com/osms/sports-service/config"
	"github.com/osms/sports-service/internal/testenv"
)

func TestVariables(t *testing.T) { testenv.CheckVariables(t, config.Variables(), config.Load) }
