package telemetry

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
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

// LoadConfig reads the tracing configuration through getenv (os.Getenv in
// production, a map in tests). An invalid value yields an error naming the
// variable and the rule it breaks.
func LoadConfig(getenv func(string) string) (Config, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	cfg := Config{
		Exporter:    ExporterNone,
		ServiceName: DefaultServiceName,
		Sampler:     SamplerParentBasedAlwaysOn,
		SamplerArg:  1,
		Jaeger: JaegerConfig{
			Mode:              JaegerModeAgent,
			AgentEndpoint:     DefaultJaegerAgentEndpoint,
			CollectorEndpoint: DefaultJaegerCollectorEndpoint,
		},
		OTLP: OTLPConfig{Protocol: OTLPProtocolHTTP},
	}
	var problems []string
	fail := func(name, value, rule string) {
		problems = append(problems, fmt.Sprintf("%s=%q %s", name, value, rule))
	}

	exporterVar, exporter := EnvTracingExporter, get(EnvTracingExporter)
	if exporter == "" {
		exporterVar, exporter = EnvTracesExporter, get(EnvTracesExporter)
	}
	switch strings.ToLower(exporter) {
	case "", ExporterNone:
	case ExporterStdout, "console":
		cfg.Exporter = ExporterStdout
	case ExporterJaeger:
		cfg.Exporter = ExporterJaeger
	case ExporterOTLP:
		cfg.Exporter = ExporterOTLP
	default:
		fail(exporterVar, exporter, "must be one of none, stdout, jaeger, otlp")
	}

	if v := get(EnvResourceAttributes); v != "" {
		attrs, err := parseResourceAttributes(v)
		if err != nil {
			fail(EnvResourceAttributes, v, err.Error())
		}
		cfg.ResourceAttributes = attrs
		for _, attr := range attrs {
			if attr.Key == "service.name" {
				cfg.ServiceName = attr.Value.AsString()
			}
		}
	}
	// The specification gives OTEL_SERVICE_NAME precedence over a
	// service.name in OTEL_RESOURCE_ATTRIBUTES.
	if v := get(EnvServiceName); v != "" {
		cfg.ServiceName = v
	}

	if v := get(EnvSampler); v != "" {
		switch v = strings.ToLower(v); v {
		case SamplerAlwaysOn, SamplerAlwaysOff, SamplerTraceIDRatio,
			SamplerParentBasedAlwaysOn, SamplerParentBasedAlwaysOff, SamplerParentBasedTraceIDRatio:
			cfg.Sampler = v
		default:
			fail(EnvSampler, v, "must be one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio")
		}
	}
	if v := get(EnvSamplerArg); v != "" && strings.HasSuffix(cfg.Sampler, SamplerTraceIDRatio) {
		ratio, err := strconv.ParseFloat(v, 64)
		if err != nil || ratio < 0 || ratio > 1 {
			fail(EnvSamplerArg, v, "must be a number from 0 to 1")
		}
		cfg.SamplerArg = ratio
	}

	if v := get(EnvJaegerMode); v != "" {
		switch v = strings.ToLower(v); v {
		case JaegerModeAgent, JaegerModeCollector:
			cfg.Jaeger.Mode = v
		default:
			fail(EnvJaegerMode, v, "must be agent or collector")
		}
	} else if get(EnvJaegerCollectorEndpoint) != "" {
		// Naming a collector is enough to choose it.
		cfg.Jaeger.Mode = JaegerModeCollector
	}
	if v := get(EnvJaegerAgentEndpoint); v != "" {
		if _, port, err := net.SplitHostPort(v); err != nil || !validPort(port) {
			fail(EnvJaegerAgentEndpoint, v, "must be host:port")
		}
		cfg.Jaeger.AgentEndpoint = v
	}
	if v := get(EnvJaegerCollectorEndpoint); v != "" {
		if !validHTTPURL(v) {
			fail(EnvJaegerCollectorEndpoint, v, "must be an absolute http or https URL")
		}
		cfg.Jaeger.CollectorEndpoint = v
	}

	protocolVar, protocol := EnvOTLPTracesProtocol, get(EnvOTLPTracesProtocol)
	if protocol == "" {
		protocolVar, protocol = EnvOTLPProtocol, get(EnvOTLPProtocol)
	}
	switch strings.ToLower(protocol) {
	case "", OTLPProtocolHTTP:
	case OTLPProtocolGRPC:
		cfg.OTLP.Protocol = OTLPProtocolGRPC
	default:
		fail(protocolVar, protocol, "must be grpc or http/protobuf")
	}
	cfg.OTLP.Endpoint = otlpEndpoint(cfg.OTLP.Protocol, get, fail)

	cfg.Batch = BatchConfig{
		MaxQueueSize:       positiveInt(EnvBSPMaxQueueSize, get, fail, DefaultMaxQueueSize),
		MaxExportBatchSize: positiveInt(EnvBSPMaxExportBatchSize, get, fail, DefaultMaxExportBatchSize),
		ScheduleDelay:      time.Duration(positiveInt(EnvBSPScheduleDelay, get, fail, int(DefaultScheduleDelay/time.Millisecond))) * time.Millisecond,
		ExportTimeout:      time.Duration(positiveInt(EnvBSPExportTimeout, get, fail, int(DefaultExportTimeout/time.Millisecond))) * time.Millisecond,
	}
	if cfg.Batch.MaxExportBatchSize > cfg.Batch.MaxQueueSize {
		fail(EnvBSPMaxExportBatchSize, strconv.Itoa(cfg.Batch.MaxExportBatchSize), "must not exceed "+EnvBSPMaxQueueSize)
	}

	if len(problems) > 0 {
		// One line, so start-up can stop with exactly this message.
		return Config{}, errors.New("tracing configuration: " + strings.Join(problems, "; "))
	}
	return cfg, nil
}

// otlpEndpoint resolves the traces URL: the signal-specific variable is used
// as is, the generic one gets /v1/traces appended for HTTP (as the OTLP
// exporter specification says).
func otlpEndpoint(protocol string, get func(string) string, fail func(name, value, rule string)) string {
	if v := get(EnvOTLPTracesEndpoint); v != "" {
		if !validHTTPURL(v) {
			fail(EnvOTLPTracesEndpoint, v, "must be an absolute http or https URL")
		}
		return v
	}
	base := DefaultOTLPHTTPEndpoint
	if protocol == OTLPProtocolGRPC {
		base = DefaultOTLPGRPCEndpoint
	}
	if v := get(EnvOTLPEndpoint); v != "" {
		if !validHTTPURL(v) {
			fail(EnvOTLPEndpoint, v, "must be an absolute http or https URL")
		}
		base = v
	}
	if protocol == OTLPProtocolGRPC {
		return base
	}
	return strings.TrimSuffix(base, "/") + "/v1/traces"
}

func positiveInt(name string, get func(string) string, fail func(name, value, rule string), def int) int {
	v := get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		fail(name, v, "must be a positive whole number")
		return def
	}
	return n
}

func validHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && n < 65536
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
