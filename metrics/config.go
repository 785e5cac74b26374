package metrics

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Environment variables read by LoadConfig.
const (
	EnvAppName     = "METRICS_APP_NAME"     // value of the app_name label on every series
	EnvSlowSeconds = "METRICS_SLOW_SECONDS" // slow-request threshold, whole seconds
	EnvPath        = "METRICS_PATH"         // where the exposition is served
)

// Defaults.
const (
	DefaultAppName     = "osms" // the seed's PrometheusMiddleware(app_name="osms")
	DefaultSlowSeconds = 5      // gin-metrics' own default
	DefaultPath        = "/metrics"
)

// Config configures the Prometheus metrics.
type Config struct {
	// AppName is the value of the app_name label carried by every series.
	AppName string
	// SlowSeconds is the slow-request threshold. gin-metrics counts a
	// request as slow when its latency truncated to whole seconds exceeds
	// it, i.e. from SlowSeconds+1 seconds on.
	SlowSeconds int
	// Path serves the exposition; requests to it are not counted.
	Path string
}

var labelValueRe = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,64}$`)

// LoadConfig reads the metrics configuration through getenv. An invalid
// value yields a one-line error naming the variable and the rule.
func LoadConfig(getenv func(string) string) (Config, error) {
	cfg := Config{AppName: DefaultAppName, SlowSeconds: DefaultSlowSeconds, Path: DefaultPath}
	var problems []string
	if v := strings.TrimSpace(getenv(EnvAppName)); v != "" {
		if !labelValueRe.MatchString(v) {
			problems = append(problems, fmt.Sprintf("%s=%q must be 1 to 64 letters, digits, '_', '.' or '-'", EnvAppName, v))
		}
		cfg.AppName = v
	}
	if v := strings.TrimSpace(getenv(EnvSlowSeconds)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 3600 {
			problems = append(problems, fmt.Sprintf("%s=%q must be a whole number of seconds from 0 to 3600", EnvSlowSeconds, v))
		}
		cfg.SlowSeconds = n
	}
	if v := strings.TrimSpace(getenv(EnvPath)); v != "" {
		if !strings.HasPrefix(v, "/") || strings.ContainsAny(v, ":*? ") {
			problems = append(problems, fmt.Sprintf("%s=%q must be a plain absolute path like /metrics", EnvPath, v))
		}
		cfg.Path = v
	}
	if len(problems) > 0 {
		return Config{}, errors.New("metrics configuration: " + strings.Join(problems, "; "))
	}
	return cfg, nil
}
