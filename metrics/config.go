package metrics

import "github.com/osms/sports-service/config"

// Environment variables read by LoadConfig.
const (
	EnvAppName     = "METRICS_APP_NAME"     // value of the app_name label on every series
	EnvSlowSeconds = "METRICS_SLOW_SECONDS" // slow-request threshold, whole seconds
	EnvPath        = "METRICS_PATH"         // where the exposition is served
)

// Defaults, for a Config built in code; they equal the envDefault tags
// (TestLoadConfig's "defaults" case).
const (
	DefaultAppName     = "osms"
	DefaultSlowSeconds = 5
	DefaultPath        = "/metrics"
)

// Config configures the Prometheus metrics.
type Config struct {
	// AppName is the value of the app_name label carried by every series
	// (the seed's PrometheusMiddleware(app_name="osms")).
	AppName string `env:"METRICS_APP_NAME" envDefault:"osms" validate:"labelvalue" help:"app_name label on every series"`
	// SlowSeconds is the slow-request threshold (gin-metrics' default). gin-metrics counts a
	// request as slow when its latency truncated to whole seconds exceeds
	// it, i.e. from SlowSeconds+1 seconds on.
	SlowSeconds int `env:"METRICS_SLOW_SECONDS" envDefault:"5" validate:"min=0,max=3600" help:"a request slower than this many whole seconds counts as slow"`
	// Path serves the exposition; requests to it are not counted.
	Path string `env:"METRICS_PATH" envDefault:"/metrics" validate:"urlpath" help:"path of the Prometheus exposition"`
}

// LoadConfig reads the metrics configuration through getenv. An invalid
// value yields a one-line error naming the variable and the rule.
func LoadConfig(getenv func(string) string) (Config, error) { return config.Parse[Config](getenv) }

// Variables lists every variable LoadConfig reads, with its default.
func Variables() []config.Variable { return config.VariablesOf[Config]() }
