package metrics

import (
	"strconv"

	"github.com/osms/sports-service/config"
)

// Variables lists every variable LoadConfig reads, with its default.
func Variables() []config.Variable {
	return []config.Variable{
		{Name: EnvAppName, Default: DefaultAppName, Help: "app_name label on every series"},
		{Name: EnvSlowSeconds, Default: strconv.Itoa(DefaultSlowSeconds), Help: "a request slower than this many whole seconds counts as slow"},
		{Name: EnvPath, Default: DefaultPath, Help: "path of the Prometheus exposition"},
	}
}
