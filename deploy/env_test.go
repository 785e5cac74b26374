package deploy

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/osms/sports-service/config"
)

// extraVariables are read by the telemetry, metrics and discovery packages,
// which export no list of their own: name -> the value .env.example gives
// (empty where an explicit value would differ from leaving it unset, e.g.
// JAEGER_COLLECTOR_ENDPOINT selects collector mode, or where compose supplies
// its own default). Taken from telemetry/config.go, metrics/config.go
// (branch obs) and discovery/config.go.
//
// TODO(deploy): use those packages' exported lists once they have them.
var extraVariables = map[string]string{
	"TRACING_EXPORTER":                   "",
	"OTEL_TRACES_EXPORTER":               "",
	"OTEL_SERVICE_NAME":                  "online-sports-tracer",
	"OTEL_RESOURCE_ATTRIBUTES":           "",
	"OTEL_TRACES_SAMPLER":                "parentbased_always_on",
	"OTEL_TRACES_SAMPLER_ARG":            "1",
	"JAEGER_MODE":                        "",
	"JAEGER_AGENT_ENDPOINT":              "",
	"JAEGER_COLLECTOR_ENDPOINT":          "",
	"OTEL_EXPORTER_OTLP_PROTOCOL":        "http/protobuf",
	"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "",
	"OTEL_EXPORTER_OTLP_ENDPOINT":        "",
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "",
	"OTEL_BSP_MAX_QUEUE_SIZE":            "2048",
	"OTEL_BSP_MAX_EXPORT_BATCH_SIZE":     "512",
	"OTEL_BSP_SCHEDULE_DELAY":            "5000",
	"OTEL_BSP_EXPORT_TIMEOUT":            "10000",

	"METRICS_APP_NAME":     "osms",
	"METRICS_SLOW_SECONDS": "5",
	"METRICS_PATH":         "/metrics",

	"EUREKA_URL":                             "",
	"EUREKA_APP_NAME":                        "SPORTS_SERVICE",
	"EUREKA_INSTANCE_HOSTNAME":               "",
	"EUREKA_INSTANCE_IP":                     "",
	"EUREKA_PREFER_IP_ADDRESS":               "",
	"EUREKA_LEASE_RENEWAL_INTERVAL_SECONDS":  "30",
	"EUREKA_LEASE_DURATION_SECONDS":          "90",
	"EUREKA_REGISTRY_FETCH_INTERVAL_SECONDS": "30",
	"EUREKA_STATUS_CHECK_INTERVAL_SECONDS":   "10",
	"EUREKA_RETRY_MAX_BACKOFF_SECONDS":       "30",
	"EUREKA_REQUEST_TIMEOUT_SECONDS":         "5",
	"EUREKA_LOAD_BALANCER":                   "round-robin",
}

// appVariables is every variable the service reads, with its default.
func appVariables() map[string]string {
	vars := map[string]string{}
	for _, v := range config.Variables() {
		vars[v.Name] = v.Default
	}
	for name, def := range extraVariables {
		vars[name] = def
	}
	return vars
}

// TestEnvExampleListsEveryVariable keeps .env.example equal to what the
// service reads: every variable once, with its default, and a comment.
func TestEnvExampleListsEveryVariable(t *testing.T) {
	raw := readRoot(t, ".env.example")
	values, err := config.ParseDotEnv(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf(".env.example does not parse: %v", err)
	}
	want := appVariables()
	for name, def := range want {
		got, ok := values[name]
		switch {
		case !ok:
			t.Errorf(".env.example lacks %s (default %q)", name, def)
		case got != def:
			t.Errorf(".env.example: %s=%q, want %q", name, got, def)
		}
	}
	for name := range values {
		if _, ok := want[name]; !ok {
			t.Errorf(".env.example sets %s, which the service does not read", name)
		}
	}

	// Each assignment is preceded by a comment line, and none is repeated.
	seen := map[string]bool{}
	lines := strings.Split(string(raw), "\n")
	for i, line := range lines {
		name, _, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if seen[name] {
			t.Errorf(".env.example sets %s twice", name)
		}
		seen[name] = true
		if i == 0 || !strings.HasPrefix(lines[i-1], "#") {
			t.Errorf(".env.example: %s has no comment line above it", name)
		}
	}
	if t.Failed() {
		names := make([]string, 0, len(want))
		for n := range want {
			names = append(names, n)
		}
		slices.Sort(names)
		t.Logf("the service reads: %s", strings.Join(names, " "))
	}
}
