package telemetry

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/osms/sports-service/config"
)

// Environment variables read by LoadConfig. The OTEL_* ones follow the
// OpenTelemetry SDK specification; the others are this service's.
const (
	EnvTracingExporter    = "TRACING_EXPORTER" // ours; wins over OTEL_TRACES_EXPORTER
	EnvTracesExporter     = "OTEL_TRACES_EXPORTER"
	EnvServiceName        = "OTEL_SERVICE_NAME"
	EnvResourceAttributes = "OTEL_RESOURCE_ATTRIBUTES"
	EnvSampler            = "OTEL_TRACES_SAMPLER"
	EnvSamplerArg         = "OTEL_TRACES_SAMPLER_ARG"

	EnvJaegerMode              = "JAEGER_MODE" // agent | collector
	EnvJaegerAgentEndpoint     = "JAEGER_AGENT_ENDPOINT"
	EnvJaegerCollectorEndpoint = "JAEGER_COLLECTOR_ENDPOINT"

	EnvOTLPProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	EnvOTLPTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	EnvOTLPEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvOTLPTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"

	EnvBSPMaxQueueSize       = "OTEL_BSP_MAX_QUEUE_SIZE"
	EnvBSPMaxExportBatchSize = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"
	EnvBSPScheduleDelay      = "OTEL_BSP_SCHEDULE_DELAY" // milliseconds
	EnvBSPExportTimeout      = "OTEL_BSP_EXPORT_TIMEOUT" // milliseconds
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

// Sampler names of OTEL_TRACES_SAMPLER.
const (
	SamplerAlwaysOn                = "always_on"
	SamplerAlwaysOff               = "always_off"
	SamplerTraceIDRatio            = "traceidratio"
	SamplerParentBasedAlwaysOn     = "parentbased_always_on"
	SamplerParentBasedAlwaysOff    = "parentbased_always_off"
	SamplerParentBasedTraceIDRatio = "parentbased_traceidratio"
)

// Defaults.
const (
	DefaultServiceName             = "online-sports-tracer" // the seed's tracer name
	DefaultJaegerAgentEndpoint     = "localhost:6831"
	DefaultJaegerCollectorEndpoint = "http://localhost:14268/api/traces"
	DefaultOTLPGRPCEndpoint        = "http://localhost:4317"
	DefaultOTLPHTTPEndpoint        = "http://localhost:4318"
	DefaultMaxQueueSize            = 2048
	DefaultMaxExportBatchSize      = 512
	DefaultScheduleDelay           = 5 * time.Second
	DefaultExportTimeout           = 10 * time.Second
)

// Config says where and how the service exports its spans.
type Config struct {
	// Exporter is one of ExporterNone, ExporterStdout, ExporterJaeger,
	// ExporterOTLP.
	Exporter    string
	ServiceName string
	// ResourceAttributes come from OTEL_RESOURCE_ATTRIBUTES.
	ResourceAttributes []attribute.KeyValue

	Sampler    string  // one of the Sampler* names
	SamplerArg float64 // ratio in [0, 1] for the *traceidratio samplers

	Jaeger JaegerConfig
	OTLP   OTLPConfig
	Batch  BatchConfig
}

// JaegerConfig is used when Exporter is ExporterJaeger.
type JaegerConfig struct {
	Mode              string // JaegerModeAgent or JaegerModeCollector
	AgentEndpoint     string // host:port
	CollectorEndpoint string // absolute http(s) URL
}

// OTLPConfig is used when Exporter is ExporterOTLP.
type OTLPConfig struct {
	Protocol string // OTLPProtocolGRPC or OTLPProtocolHTTP
	// Endpoint is an absolute URL: for gRPC its host:port is dialled, for
	// HTTP it is the full traces URL (…/v1/traces). Scheme http means
	// plaintext, https means TLS.
	Endpoint string
}

// BatchConfig bounds the in-memory span queue. When the queue is full new
// spans are dropped: a slow or dead exporter never blocks requests.
type BatchConfig struct {
	MaxQueueSize       int
	MaxExportBatchSize int
	ScheduleDelay      time.Duration
	ExportTimeout      time.Duration
}

// settings are the variables as given, declared for config.Parse; LoadConfig
// derives Config from them with the precedences the specification sets
// (a signal-specific variable wins over the generic one; OTEL_SERVICE_NAME
// over a service.name in OTEL_RESOURCE_ATTRIBUTES). docDefault is the value
// .env.example shows for a variable whose default is computed.
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

// LoadConfig reads the tracing configuration through getenv (os.Getenv in
// production, a map in tests). Invalid values yield one error, on one line,
// naming each variable and the rule it breaks.
func LoadConfig(getenv func(string) string) (Config, error) {
	in, err := config.Parse[settings](getenv)
	var problems config.Problems
	if err != nil && !errors.As(err, &problems) {
		return Config{}, err
	}
	fail := func(name, value, rule string) {
		problems = append(problems, &config.Problem{Variable: name, Value: value, Rule: rule})
	}
	cfg := Config{
		Exporter:    ExporterNone,
		ServiceName: DefaultServiceName,
		Sampler:     string(in.Sampler),
		SamplerArg:  in.SamplerArg,
		Jaeger: JaegerConfig{
			Mode:              cmp.Or(string(in.JaegerMode), JaegerModeAgent),
			AgentEndpoint:     cmp.Or(in.JaegerAgent, DefaultJaegerAgentEndpoint),
			CollectorEndpoint: cmp.Or(in.JaegerCollector, DefaultJaegerCollectorEndpoint),
		},
		OTLP: OTLPConfig{Protocol: string(cmp.Or(in.OTLPTracesProtocol, in.OTLPProtocol))},
		Batch: BatchConfig{
			MaxQueueSize:       in.MaxQueueSize,
			MaxExportBatchSize: in.MaxExportBatchSize,
			ScheduleDelay:      time.Duration(in.ScheduleDelayMS) * time.Millisecond,
			ExportTimeout:      time.Duration(in.ExportTimeoutMS) * time.Millisecond,
		},
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
	if in.Resource != "" {
		attrs, err := parseResourceAttributes(in.Resource)
		if err != nil {
			fail(EnvResourceAttributes, in.Resource, err.Error())
		}
		cfg.ResourceAttributes = attrs
		for _, attr := range attrs {
			if attr.Key == "service.name" {
				cfg.ServiceName = attr.Value.AsString()
			}
		}
	}
	cfg.ServiceName = cmp.Or(in.ServiceName, cfg.ServiceName)
	// The signal-specific URL is used as is; the generic one gets
	// /v1/traces appended for HTTP, as the OTLP exporter specification says.
	switch {
	case in.OTLPTracesEndpoint != "":
		cfg.OTLP.Endpoint = in.OTLPTracesEndpoint
	case cfg.OTLP.Protocol == OTLPProtocolGRPC:
		cfg.OTLP.Endpoint = cmp.Or(in.OTLPEndpoint, DefaultOTLPGRPCEndpoint)
	default:
		cfg.OTLP.Endpoint = strings.TrimSuffix(cmp.Or(in.OTLPEndpoint, DefaultOTLPHTTPEndpoint), "/") + "/v1/traces"
	}
	if in.MaxExportBatchSize > in.MaxQueueSize && in.MaxQueueSize > 0 {
		fail(EnvBSPMaxExportBatchSize, strconv.Itoa(in.MaxExportBatchSize), "must not exceed "+EnvBSPMaxQueueSize)
	}
	if len(problems) > 0 {
		return Config{}, problems
	}
	return cfg, nil
}

// parseResourceAttributes parses the W3C-baggage-like list
// "key1=value1,key2=value2" with percent-encoded values.
func parseResourceAttributes(s string) ([]attribute.KeyValue, error) {
	var attrs []attribute.KeyValue
	for _, pair := range strings.Split(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		key, value, ok := strings.Cut(pair, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("must be a comma-separated list of key=value, %q is not", pair)
		}
		decoded, err := url.PathUnescape(strings.TrimSpace(value))
		if err != nil {
			return nil, fmt.Errorf("value of %q is not percent-encoded correctly", key)
		}
		attrs = append(attrs, attribute.String(key, decoded))
	}
	return attrs, nil
}
