// Package telemetry sets up distributed tracing for the service: an
// OpenTelemetry tracer provider exporting to stdout, Jaeger or OTLP, a Gin
// middleware for server spans, a MongoDB command monitor for client spans,
// and a slog handler that stamps log records with trace and span ids.
//
// Nothing here reads or writes the otel package's globals: the provider
// and propagator are passed explicitly to whatever needs them.
package telemetry

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"

	"go.opentelemetry.io/otel/exporters/jaeger"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// instrumentationName names the tracer of the spans this package creates
// itself (MongoDB commands).
const instrumentationName = "github.com/osms/sports-service/telemetry"

// Provider owns the service's tracer provider and its export pipeline.
type Provider struct {
	sdk        *sdktrace.TracerProvider
	propagator propagation.TextMapPropagator
	// exportsNothing: every span is unsampled (ExporterNone), so the
	// instrumentation may skip what only a recorded span would use.
	exportsNothing bool
	// sampler is the SDK's sampler when something is exported; nil: the
	// SDK's own, which the middleware does not ask first.
	sampler     sdktrace.Sampler
	serviceName string
}

// New builds the tracer provider that cfg describes. version is the
// service's build version (resource attribute service.version); stdout
// receives spans when cfg.Exporter is ExporterStdout.
//
// Spans are exported in batches from a bounded queue; when the exporter is
// down, slow or unreachable the queue fills and further spans are dropped,
// so request handling never waits for the exporter. With ExporterNone every
// span is unsampled: trace ids still exist (for X-Trace-Id and logs) but
// nothing is recorded or exported.
func New(ctx context.Context, cfg Config, version string, stdout io.Writer) (*Provider, error) {
	res, err := newResource(ctx, version)
	if err != nil {
		return nil, err
	}
	p := &Provider{
		propagator:  propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		serviceName: serviceName(res),
	}
	if cfg.Exporter == ExporterNone || cfg.Exporter == "" {
		p.sdk = sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSampler(sdktrace.NeverSample()))
		p.exportsNothing = true
		return p, nil
	}

	exporter, err := newExporter(ctx, cfg, stdout)
	if err != nil {
		return nil, fmt.Errorf("create %s trace exporter: %w", cfg.Exporter, err)
	}
	// The batch settings (OTEL_BSP_*) are read by the SDK. Not
	// WithBlocking: a full queue drops spans instead of stalling the
	// request that ends them. The sampler and the ids: see sampledFirst.
	p.sampler = samplerFromEnv(os.Getenv)
	p.sdk = sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithBatcher(exporter),
		sdktrace.WithSampler(p.sampler),
		sdktrace.WithIDGenerator(presetTraceIDs{}),
	)
	return p, nil
}

// TracerProvider is the provider to hand to instrumentation.
func (p *Provider) TracerProvider() trace.TracerProvider { return p.sdk }

// Propagator reads and writes W3C traceparent/tracestate and baggage.
func (p *Provider) Propagator() propagation.TextMapPropagator { return p.propagator }

// Shutdown exports the spans still queued and closes the exporter, giving
// up when ctx ends. Spans ended after Shutdown are dropped.
func (p *Provider) Shutdown(ctx context.Context) error {
	if err := p.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down tracer provider: %w", err)
	}
	return nil
}

// ServiceName is the service.name of the spans: OTEL_SERVICE_NAME, else a
// service.name in OTEL_RESOURCE_ATTRIBUTES, else DefaultServiceName.
func (p *Provider) ServiceName() string { return p.serviceName }

// newResource describes the process: the SDK, the host, the service's
// default name under what OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES say
// (resource.WithFromEnv), then the build version and a per-process id.
func newResource(ctx context.Context, version string) (*resource.Resource, error) {
	instanceID, err := newInstanceID()
	if err != nil {
		return nil, err
	}
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithAttributes(semconv.ServiceName(DefaultServiceName)),
		resource.WithFromEnv(),
		resource.WithAttributes(
			semconv.ServiceVersion(version),
			semconv.ServiceInstanceID(instanceID),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("build trace resource: %w", err)
	}
	return res, nil
}

func serviceName(res *resource.Resource) string {
	if v, ok := res.Set().Value(semconv.ServiceNameKey); ok {
		return v.AsString()
	}
	return DefaultServiceName
}

// newInstanceID returns a random id that tells apart processes of the same
// service on one host (service.instance.id).
func newInstanceID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate service instance id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

func newExporter(ctx context.Context, cfg Config, stdout io.Writer) (sdktrace.SpanExporter, error) {
	switch cfg.Exporter {
	case ExporterStdout:
		if stdout == nil {
			return nil, errors.New("the stdout exporter needs a writer")
		}
		return stdouttrace.New(stdouttrace.WithWriter(stdout))
	case ExporterJaeger:
		if cfg.Jaeger.Mode == JaegerModeCollector {
			return jaeger.New(jaeger.WithCollectorEndpoint(
				jaeger.WithEndpoint(cfg.Jaeger.CollectorEndpoint),
				// The exporter's default client has no timeout; a
				// collector that accepts but never answers must not hold
				// an export forever.
				jaeger.WithHTTPClient(&http.Client{Timeout: cmp.Or(cfg.ExportTimeout, DefaultExportTimeout)}),
			))
		}
		host, port, err := net.SplitHostPort(cfg.Jaeger.AgentEndpoint)
		if err != nil {
			return nil, fmt.Errorf("jaeger agent endpoint %q: %w", cfg.Jaeger.AgentEndpoint, err)
		}
		return jaeger.New(jaeger.WithAgentEndpoint(jaeger.WithAgentHost(host), jaeger.WithAgentPort(port)))
	case ExporterOTLP:
		// Each exporter reads its endpoint, headers, TLS, compression and
		// timeout from OTEL_EXPORTER_OTLP_(TRACES_)*; only the choice between
		// the two is made here (see docs/observability.md for why not
		// autoexport). An explicit option wins over the environment, so the
		// default endpoint is passed only when none is configured.
		if cfg.OTLPProtocol == OTLPProtocolGRPC {
			var opts []otlptracegrpc.Option
			if cfg.OTLPDefaultEndpoint != "" {
				opts = append(opts, otlptracegrpc.WithEndpointURL(cfg.OTLPDefaultEndpoint))
			}
			return otlptracegrpc.New(ctx, opts...)
		}
		var opts []otlptracehttp.Option
		if cfg.OTLPDefaultEndpoint != "" {
			opts = append(opts, otlptracehttp.WithEndpointURL(cfg.OTLPDefaultEndpoint))
		}
		return otlptracehttp.New(ctx, opts...)
	default:
		return nil, fmt.Errorf("unknown exporter %q", cfg.Exporter)
	}
}
