package telemetry

import (
	"strings"
	"testing"
	"time"
)

// env returns a getenv answering vars, after putting vars' OTEL_* entries in
// the process environment, where the SDK reads them, and blanking the other
// OTEL_* variables this package declares so that the developer's shell
// cannot change the result. Tests using it cannot be parallel.
func env(t testing.TB, vars map[string]string) func(string) string {
	t.Helper()
	for _, v := range Variables() {
		if IsSDKVariable(v.Name) {
			t.Setenv(v.Name, "")
		}
	}
	ours := map[string]string{}
	for k, v := range vars {
		if IsSDKVariable(k) {
			t.Setenv(k, v)
		} else {
			ours[k] = v
		}
	}
	return func(name string) string { return ours[name] }
}

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := LoadConfig(env(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Exporter:            ExporterNone,
		Jaeger:              JaegerConfig{Mode: JaegerModeAgent, AgentEndpoint: "localhost:6831", CollectorEndpoint: "http://localhost:14268/api/traces"},
		OTLPProtocol:        OTLPProtocolHTTP,
		OTLPDefaultEndpoint: "http://localhost:4318/v1/traces",
		ExportTimeout:       DefaultExportTimeout,
	}
	if cfg != want {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
}

// TestLoadConfig covers what this service decides; what the SDK reads
// itself is checked on the spans it makes, in TestSDKReadsTheEnvironment.
func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name  string
		vars  map[string]string
		check func(t *testing.T, cfg Config)
	}{
		{
			name: "jaeger agent",
			vars: map[string]string{"TRACING_EXPORTER": "jaeger", "JAEGER_AGENT_ENDPOINT": "jaeger:6831"},
			check: func(t *testing.T, cfg Config) {
				if cfg.Exporter != ExporterJaeger || cfg.Jaeger.Mode != JaegerModeAgent || cfg.Jaeger.AgentEndpoint != "jaeger:6831" {
					t.Errorf("got %+v", cfg)
				}
			},
		},
		{
			name: "jaeger collector chosen by its endpoint",
			vars: map[string]string{"OTEL_TRACES_EXPORTER": "jaeger", "JAEGER_COLLECTOR_ENDPOINT": "http://jaeger:14268/api/traces"},
			check: func(t *testing.T, cfg Config) {
				if cfg.Exporter != ExporterJaeger || cfg.Jaeger.Mode != JaegerModeCollector || cfg.Jaeger.CollectorEndpoint != "http://jaeger:14268/api/traces" {
					t.Errorf("got %+v", cfg)
				}
			},
		},
		{
			name: "jaeger collector by mode uses the default endpoint",
			vars: map[string]string{"TRACING_EXPORTER": "jaeger", "JAEGER_MODE": "collector"},
			check: func(t *testing.T, cfg Config) {
				if cfg.Jaeger.Mode != JaegerModeCollector || cfg.Jaeger.CollectorEndpoint != DefaultJaegerCollectorEndpoint {
					t.Errorf("got %+v", cfg.Jaeger)
				}
			},
		},
		{
			name: "TRACING_EXPORTER wins over OTEL_TRACES_EXPORTER",
			vars: map[string]string{"TRACING_EXPORTER": "stdout", "OTEL_TRACES_EXPORTER": "otlp"},
			check: func(t *testing.T, cfg Config) {
				if cfg.Exporter != ExporterStdout {
					t.Errorf("exporter = %q", cfg.Exporter)
				}
			},
		},
		{
			name: "console is stdout",
			vars: map[string]string{"OTEL_TRACES_EXPORTER": "console"},
			check: func(t *testing.T, cfg Config) {
				if cfg.Exporter != ExporterStdout {
					t.Errorf("exporter = %q", cfg.Exporter)
				}
			},
		},
		{
			name: "otlp grpc without an endpoint gets the plaintext default",
			vars: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			check: func(t *testing.T, cfg Config) {
				if cfg.Exporter != ExporterOTLP || cfg.OTLPProtocol != OTLPProtocolGRPC || cfg.OTLPDefaultEndpoint != "http://localhost:4317" {
					t.Errorf("got %+v", cfg)
				}
			},
		},
		{
			name: "an endpoint given leaves it to the exporter",
			vars: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
			check: func(t *testing.T, cfg Config) {
				if cfg.OTLPDefaultEndpoint != "" {
					t.Errorf("default endpoint = %q, want none", cfg.OTLPDefaultEndpoint)
				}
			},
		},
		{
			name: "a traces endpoint given leaves it to the exporter",
			vars: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://b/custom"},
			check: func(t *testing.T, cfg Config) {
				if cfg.OTLPDefaultEndpoint != "" {
					t.Errorf("default endpoint = %q, want none", cfg.OTLPDefaultEndpoint)
				}
			},
		},
		{
			name: "the traces protocol wins",
			vars: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			check: func(t *testing.T, cfg Config) {
				if cfg.OTLPProtocol != OTLPProtocolHTTP || cfg.OTLPDefaultEndpoint != "http://localhost:4318/v1/traces" {
					t.Errorf("got %+v", cfg)
				}
			},
		},
		{
			name: "export timeout bounds the Jaeger collector's requests",
			vars: map[string]string{"OTEL_BSP_EXPORT_TIMEOUT": "700"},
			check: func(t *testing.T, cfg Config) {
				if cfg.ExportTimeout != 700*time.Millisecond {
					t.Errorf("export timeout = %v", cfg.ExportTimeout)
				}
			},
		},
		{
			name: "OTEL_* in getenv alone is not read: the SDK would not see it",
			vars: nil,
			check: func(t *testing.T, _ Config) {
				_, err := LoadConfig(func(name string) string {
					return map[string]string{"OTEL_TRACES_SAMPLER": "sometimes"}[name]
				})
				if err != nil {
					t.Errorf("LoadConfig judged a value the SDK will never read: %v", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := LoadConfig(env(t, tt.vars))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, cfg)
		})
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		vars    map[string]string
		mention []string // the variable and the rule
	}{
		{"unknown exporter", map[string]string{"TRACING_EXPORTER": "zipkin"}, []string{"TRACING_EXPORTER", "none, stdout, console, jaeger, otlp"}},
		{"unknown OTEL exporter", map[string]string{"OTEL_TRACES_EXPORTER": "x"}, []string{"OTEL_TRACES_EXPORTER"}},
		{"agent without port", map[string]string{"JAEGER_AGENT_ENDPOINT": "localhost"}, []string{"JAEGER_AGENT_ENDPOINT", "host:port"}},
		{"agent bad port", map[string]string{"JAEGER_AGENT_ENDPOINT": "localhost:99999"}, []string{"JAEGER_AGENT_ENDPOINT"}},
		{"collector not a URL", map[string]string{"JAEGER_COLLECTOR_ENDPOINT": "jaeger:14268"}, []string{"JAEGER_COLLECTOR_ENDPOINT", "http or https URL"}},
		{"bad jaeger mode", map[string]string{"JAEGER_MODE": "grpc"}, []string{"JAEGER_MODE", "agent, collector"}},
		{"bad protocol", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc, http/protobuf"}},
		{"bad otlp endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317"}, []string{"OTEL_EXPORTER_OTLP_ENDPOINT"}},
		{"bad sampler", map[string]string{"OTEL_TRACES_SAMPLER": "sometimes"}, []string{"OTEL_TRACES_SAMPLER"}},
		{"ratio out of range", map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"}, []string{"OTEL_TRACES_SAMPLER_ARG", "from 0 to 1"}},
		{"ratio not a number", map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"}, []string{"OTEL_TRACES_SAMPLER_ARG"}},
		{"resource attribute without =", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "a=1,b"}, []string{"OTEL_RESOURCE_ATTRIBUTES", "key=value"}},
		{"queue size", map[string]string{"OTEL_BSP_MAX_QUEUE_SIZE": "-1"}, []string{"OTEL_BSP_MAX_QUEUE_SIZE", "whole number, at least 1"}},
		{"batch larger than queue", map[string]string{"OTEL_BSP_MAX_QUEUE_SIZE": "10", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "20"}, []string{"OTEL_BSP_MAX_EXPORT_BATCH_SIZE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(env(t, tt.vars))
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans several lines: %q", msg)
			}
			for _, m := range tt.mention {
				if !strings.Contains(msg, m) {
					t.Errorf("error %q does not mention %q", msg, m)
				}
			}
		})
	}
}

func TestLoadConfigReportsEveryProblemOnOneLine(t *testing.T) {
	_, err := LoadConfig(env(t, map[string]string{"TRACING_EXPORTER": "x", "JAEGER_MODE": "y"}))
	if err == nil || !strings.Contains(err.Error(), "TRACING_EXPORTER") || !strings.Contains(err.Error(), "JAEGER_MODE") || strings.Contains(err.Error(), "\n") {
		t.Errorf("err = %v", err)
	}
}
