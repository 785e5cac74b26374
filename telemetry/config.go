package telemetry

import (
	"cmp"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/osms/sports-service/config"
)

// Variables LoadConfig refers to by name in its own rules.
const (
	EnvResourceAttributes    = "OTEL_RESOURCE_ATTRIBUTES"
	EnvBSPMaxQueueSize       = "OTEL_BSP_MAX_QUEUE_SIZE"
	EnvBSPMaxExportBatchSize = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"
)

// Exporter names accepted in TRACING_EXPORTER / OTEL_TRACES_EXPORTER.
const (
	ExporterNone   = "none"
	ExporterStdout = "stdout" // "console" is accepted as an alias
	ExporterJaeger = "jaeger"
	ExporterOTLP   = "otlp"
)

// Jaeger transport modes.
const (
	JaegerModeAgent     = "agent"     // Thrift compact over UDP
	JaegerModeCollector = "collector" // Thrift over HTTP
)

// OTLP protocols.
const (
	OTLPProtocolGRPC = "grpc"
	OTLPProtocolHTTP = "http/protobuf"
)

// Defaults.
const (
	DefaultServiceName             = "online-sports-tracer" // the seed's tracer name
	DefaultJaegerAgentEndpoint     = "localhost:6831"
	DefaultJaegerCollectorEndpoint = "http://localhost:14268/api/traces"
	DefaultOTLPGRPCEndpoint        = "http://localhost:4317"
	DefaultOTLPHTTPEndpoint        = "http://localhost:4318"
	DefaultExportTimeout           = 10 * time.Second
)

// Config is what this service decides about tracing. Everything else the
// OpenTelemetry SDK reads itself from the process environment, as every
// OpenTelemetry SDK does: the OTLP endpoint, protocol, headers, TLS and
// compression (otlptracehttp or otlptracegrpc, by the protocol), the batch
// settings (the batch span processor) and the resource
// (resource.WithFromEnv). The sampler is read by both: the middleware asks
// it before otelgin builds a span (sampledFirst), so New builds it from the
// same variables with the SDK's meaning (samplerFromEnv).
type Config struct {
	// Exporter is one of ExporterNone, ExporterStdout, ExporterJaeger,
	// ExporterOTLP.
	Exporter string

	Jaeger JaegerConfig

	// OTLPProtocol is OTLPProtocolHTTP or OTLPProtocolGRPC, from
	// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or else OTEL_EXPORTER_OTLP_PROTOCOL.
	OTLPProtocol string
	// OTLPDefaultEndpoint is set when no OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT
	// is: the specification's plaintext default for the protocol,
	// http://localhost:4318/v1/traces or http://localhost:4317. The Go
	// exporters would otherwise dial localhost with TLS, which no local
	// Jaeger or collector speaks.
	OTLPDefaultEndpoint string

	// ExportTimeout bounds the Jaeger collector's HTTP requests, which the
	// deprecated Jaeger exporter leaves unbounded (OTEL_BSP_EXPORT_TIMEOUT).
	ExportTimeout time.Duration
}

// JaegerConfig is used when Exporter is ExporterJaeger.
type JaegerConfig struct {
	Mode              string // JaegerModeAgent or JaegerModeCollector
	AgentEndpoint     string // host:port
	CollectorEndpoint string // absolute http(s) URL
}

// settings are the variables, declared for config.Parse, which validates
// them all at start-up and lists them for .env.example and
// docs/configuration.md. Only TRACING_EXPORTER and JAEGER_* are this
// service's own; the OTEL_* ones are declared so that a wrong value stops
// the start-up with the usual message (the SDK would log it and fall back
// to its default) and are read from the process environment, where the SDK
// reads them (see LoadConfig). docDefault is the value .env.example shows
// for a variable whose default is computed.
type settings struct {
	TracingExporter config.Lower `env:"TRACING_EXPORTER" validate:"omitempty,oneof=none stdout console jaeger otlp" help:"span exporter: none, stdout, jaeger or otlp (wins over OTEL_TRACES_EXPORTER); empty: none"`
	TracesExporter  config.Lower `env:"OTEL_TRACES_EXPORTER" validate:"omitempty,oneof=none stdout console jaeger otlp" help:"the OpenTelemetry name for the same choice"`
	ServiceName     string       `env:"OTEL_SERVICE_NAME" docDefault:"online-sports-tracer" help:"service.name of the spans"`
	Resource        string       `env:"OTEL_RESOURCE_ATTRIBUTES" help:"extra resource attributes, key=value,..."`
	Sampler         config.Lower `env:"OTEL_TRACES_SAMPLER" envDefault:"parentbased_always_on" validate:"oneof=always_on always_off traceidratio parentbased_always_on parentbased_always_off parentbased_traceidratio" help:"always_on, always_off, traceidratio or their parentbased_ forms"`
	SamplerArg      float64      `env:"OTEL_TRACES_SAMPLER_ARG" envDefault:"1" validate:"min=0,max=1" help:"sampling ratio 0..1 for the traceidratio samplers"`

	JaegerMode      config.Lower `env:"JAEGER_MODE" validate:"omitempty,oneof=agent collector" help:"agent (UDP 6831) or collector (HTTP 14268); empty: agent unless a collector endpoint is set"`
	JaegerAgent     string       `env:"JAEGER_AGENT_ENDPOINT" validate:"omitempty,hostport" help:"host:port of the Jaeger agent; empty: localhost:6831"`
	JaegerCollector string       `env:"JAEGER_COLLECTOR_ENDPOINT" validate:"omitempty,httpurl" help:"URL of the Jaeger collector; empty: http://localhost:14268/api/traces"`

	OTLPProtocol       config.Lower `env:"OTEL_EXPORTER_OTLP_PROTOCOL" envDefault:"http/protobuf" validate:"oneof=grpc http/protobuf" help:"grpc or http/protobuf"`
	OTLPTracesProtocol config.Lower `env:"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" validate:"omitempty,oneof=grpc http/protobuf" help:"the same for traces only (wins)"`
	OTLPEndpoint       string       `env:"OTEL_EXPORTER_OTLP_ENDPOINT" validate:"omitempty,httpurl" help:"OTLP endpoint URL; empty: http://localhost:4318 (http) or http://localhost:4317 (grpc)"`
	OTLPTracesEndpoint string       `env:"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" validate:"omitempty,httpurl" help:"full OTLP traces URL (wins)"`

	MaxQueueSize       int `env:"OTEL_BSP_MAX_QUEUE_SIZE" envDefault:"2048" validate:"min=1" help:"spans held for export; more are dropped"`
	MaxExportBatchSize int `env:"OTEL_BSP_MAX_EXPORT_BATCH_SIZE" envDefault:"512" validate:"min=1" help:"spans per export"`
	ScheduleDelayMS    int `env:"OTEL_BSP_SCHEDULE_DELAY" envDefault:"5000" validate:"min=1" help:"milliseconds between exports"`
	ExportTimeoutMS    int `env:"OTEL_BSP_EXPORT_TIMEOUT" envDefault:"10000" validate:"min=1" help:"milliseconds allowed for one export"`
}

// Variables lists every variable LoadConfig reads, with the value that
// .env.example gives it.
func Variables() []config.Variable { return config.VariablesOf[settings]() }

// IsSDKVariable says whether the OpenTelemetry SDK reads the variable itself
// from the process environment. run exports a .env file's values of these
// into the process environment (unless already set there), since the SDK
// has no other way in.
func IsSDKVariable(name string) bool { return strings.HasPrefix(name, "OTEL_") }

// LoadConfig reads TRACING_EXPORTER and JAEGER_* through getenv (os.Getenv
// in production, a map in tests) and checks the OTEL_* variables in the
// process environment, which is where the SDK will read them: a test sets
// those with t.Setenv. Invalid values yield one error, on one line, naming
// each variable and the rule it breaks.
func LoadConfig(getenv func(string) string) (Config, error) { return loadConfig(getenv, os.Getenv) }

// loadConfig reads the SDK's variables through sdkenv and the others
// through getenv.
func loadConfig(getenv, sdkenv func(string) string) (Config, error) {
	in, err := config.Parse[settings](func(name string) string {
		if IsSDKVariable(name) {
			return sdkenv(name)
		}
		return getenv(name)
	})
	var problems config.Problems
	if err != nil && !errors.As(err, &problems) {
		return Config{}, err
	}
	fail := func(name, value, rule string) {
		problems = append(problems, &config.Problem{Variable: name, Value: value, Rule: rule})
	}
	cfg := Config{
		Exporter: ExporterNone,
		Jaeger: JaegerConfig{
			Mode:              cmp.Or(string(in.JaegerMode), JaegerModeAgent),
			AgentEndpoint:     cmp.Or(in.JaegerAgent, DefaultJaegerAgentEndpoint),
			CollectorEndpoint: cmp.Or(in.JaegerCollector, DefaultJaegerCollectorEndpoint),
		},
		ExportTimeout: time.Duration(in.ExportTimeoutMS) * time.Millisecond,
	}
	switch cmp.Or(in.TracingExporter, in.TracesExporter) {
	case ExporterStdout, "console":
		cfg.Exporter = ExporterStdout
	case ExporterJaeger:
		cfg.Exporter = ExporterJaeger
	case ExporterOTLP:
		cfg.Exporter = ExporterOTLP
	}
	if in.JaegerMode == "" && in.JaegerCollector != "" {
		// Naming a collector is enough to choose it.
		cfg.Jaeger.Mode = JaegerModeCollector
	}
	cfg.OTLPProtocol = string(cmp.Or(in.OTLPTracesProtocol, in.OTLPProtocol))
	if in.OTLPEndpoint == "" && in.OTLPTracesEndpoint == "" {
		cfg.OTLPDefaultEndpoint = DefaultOTLPHTTPEndpoint + "/v1/traces"
		if cfg.OTLPProtocol == OTLPProtocolGRPC {
			cfg.OTLPDefaultEndpoint = DefaultOTLPGRPCEndpoint
		}
	}
	if in.Resource != "" {
		// The SDK's own parser, so that what passes here is what it reads.
		if _, err := resource.New(context.Background(), resource.WithFromEnv()); err != nil {
			fail(EnvResourceAttributes, in.Resource, "must be a comma-separated list of key=value with percent-encoded values: "+err.Error())
		}
	}
	if in.MaxExportBatchSize > in.MaxQueueSize && in.MaxQueueSize > 0 {
		fail(EnvBSPMaxExportBatchSize, strconv.Itoa(in.MaxExportBatchSize), "must not exceed "+EnvBSPMaxQueueSize)
	}
	if len(problems) > 0 {
		return Config{}, problems
	}
	return cfg, nil
}
