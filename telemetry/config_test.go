package telemetry

import (
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := LoadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Exporter != ExporterNone || cfg.ServiceName != "online-sports-tracer" {
		t.Errorf("exporter, service = %q, %q; want none, online-sports-tracer", cfg.Exporter, cfg.ServiceName)
	}
	if cfg.Jaeger.Mode != JaegerModeAgent || cfg.Jaeger.AgentEndpoint != "localhost:6831" {
		t.Errorf("jaeger = %+v; want agent on localhost:6831", cfg.Jaeger)
	}
	if cfg.Sampler != SamplerParentBasedAlwaysOn || cfg.SamplerArg != 1 {
		t.Errorf("sampler = %q %v", cfg.Sampler, cfg.SamplerArg)
	}
	if cfg.Batch.MaxQueueSize != DefaultMaxQueueSize || cfg.Batch.ExportTimeout != DefaultExportTimeout {
		t.Errorf("batch = %+v", cfg.Batch)
	}
}

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
				if cfg.Jaeger.Mode != JaegerModeCollector || cfg.Jaeger.CollectorEndpoint != "http://jaeger:14268/api/traces" {
					t.Errorf("got %+v", cfg.Jaeger)
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
			name: "otlp defaults to http/protobuf on 4318 with the signal path",
			vars: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"},
			check: func(t *testing.T, cfg Config) {
				if cfg.OTLP.Protocol != OTLPProtocolHTTP || cfg.OTLP.Endpoint != "http://localhost:4318/v1/traces" {
					t.Errorf("got %+v", cfg.OTLP)
				}
			},
		},
		{
			name: "otlp grpc with base endpoint",
			vars: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"},
			check: func(t *testing.T, cfg Config) {
				if cfg.OTLP.Protocol != OTLPProtocolGRPC || cfg.OTLP.Endpoint != "http://collector:4317" {
					t.Errorf("got %+v", cfg.OTLP)
				}
			},
		},
		{
			name: "otlp traces endpoint is used as is and wins",
			vars: map[string]string{
				"OTEL_TRACES_EXPORTER":               "otlp",
				"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://a:4318",
				"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://b/custom",
				"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
				"OTEL_EXPORTER_OTLP_PROTOCOL":        "grpc",
			},
			check: func(t *testing.T, cfg Config) {
				if cfg.OTLP.Protocol != OTLPProtocolHTTP || cfg.OTLP.Endpoint != "https://b/custom" {
					t.Errorf("got %+v", cfg.OTLP)
				}
			},
		},
		{
			name: "sampler and ratio",
			vars: map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"},
			check: func(t *testing.T, cfg Config) {
				if cfg.Sampler != SamplerParentBasedTraceIDRatio || cfg.SamplerArg != 0.25 {
					t.Errorf("got %q %v", cfg.Sampler, cfg.SamplerArg)
				}
			},
		},
		{
			name: "resource attributes, service.name among them, OTEL_SERVICE_NAME wins",
			vars: map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod, team=sports%20ops,service.name=x", "OTEL_SERVICE_NAME": "osms"},
			check: func(t *testing.T, cfg Config) {
				want := []attribute.KeyValue{
					attribute.String("deployment.environment", "prod"),
					attribute.String("team", "sports ops"),
					attribute.String("service.name", "x"),
				}
				if len(cfg.ResourceAttributes) != len(want) {
					t.Fatalf("attributes = %v", cfg.ResourceAttributes)
				}
				for i := range want {
					if cfg.ResourceAttributes[i] != want[i] {
						t.Errorf("attribute %d = %v, want %v", i, cfg.ResourceAttributes[i], want[i])
					}
				}
				if cfg.ServiceName != "osms" {
					t.Errorf("service = %q", cfg.ServiceName)
				}
			},
		},
		{
			name: "service.name from resource attributes",
			vars: map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs"},
			check: func(t *testing.T, cfg Config) {
				if cfg.ServiceName != "from-attrs" {
					t.Errorf("service = %q", cfg.ServiceName)
				}
			},
		},
		{
			name: "batch settings",
			vars: map[string]string{"OTEL_BSP_MAX_QUEUE_SIZE": "100", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "10", "OTEL_BSP_SCHEDULE_DELAY": "50", "OTEL_BSP_EXPORT_TIMEOUT": "700"},
			check: func(t *testing.T, cfg Config) {
				want := BatchConfig{MaxQueueSize: 100, MaxExportBatchSize: 10, ScheduleDelay: 50 * time.Millisecond, ExportTimeout: 700 * time.Millisecond}
				if cfg.Batch != want {
					t.Errorf("batch = %+v, want %+v", cfg.Batch, want)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := LoadConfig(env(tt.vars))
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
			_, err := LoadConfig(env(tt.vars))
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
	_, err := LoadConfig(env(map[string]string{"TRACING_EXPORTER": "x", "JAEGER_MODE": "y"}))
	if err == nil || !strings.Contains(err.Error(), "TRACING_EXPORTER") || !strings.Contains(err.Error(), "JAEGER_MODE") || strings.Contains(err.Error(), "\n") {
		t.Errorf("err = %v", err)
	}
}
