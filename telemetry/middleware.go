package telemetry

import (
	"context"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"

	"github.com/osms/sports-service/internal/httpmethod"
)

// Headers read and written by Middleware.
const (
	// HeaderTraceID carries the request's trace id back to the client, to
	// be pasted into Jaeger's search.
	HeaderTraceID = "X-Trace-Id"
	// HeaderRequestID is set on the response by the request-id middleware,
	// which must run before Middleware.
	HeaderRequestID = "X-Request-ID"
)

// UnmatchedRoute names the server span of a request that matched no route:
// the raw path would give every scanned URL a span name of its own.
const UnmatchedRoute = "unmatched route"

// AttributeRequestID is the span attribute holding the X-Request-ID value.
const AttributeRequestID = attribute.Key("request.id")

// Middleware starts a server span for each request (via otelgin), named
// "METHOD /route/:template", continuing the trace of incoming
// traceparent/tracestate/baggage headers. The span carries the route,
// method, status code, client address and request id; 5xx responses mark it
// as an error. The response gets an X-Trace-Id header.
//
// Install it after the request-id middleware and before the routes.
func Middleware(serviceName string, p *Provider) gin.HandlerFunc {
	traced := otelgin.Middleware(serviceName,
		otelgin.WithTracerProvider(serverSpanHookProvider{TracerProvider: p.TracerProvider()}),
		otelgin.WithPropagators(p.Propagator()),
		// The HTTP metrics come from the metrics package; without this
		// otelgin would fall back to the global meter provider.
		otelgin.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelgin.WithSpanNameFormatter(spanName),
	)
	return func(c *gin.Context) {
		orig := c.Request.Context()
		// otelgin starts the span and calls the rest of the chain in one
		// go; the hook in the request context lets us act on the span
		// between the two, while the response headers are still writable.
		c.Request = c.Request.WithContext(context.WithValue(orig, serverSpanHookKey{}, serverSpanHook(func(span trace.Span) {
			onServerSpan(c, span)
		})))
		traced(c)
		c.Request = c.Request.WithContext(orig)
	}
}

func onServerSpan(c *gin.Context, span trace.Span) {
	if sc := span.SpanContext(); sc.HasTraceID() {
		c.Header(HeaderTraceID, sc.TraceID().String())
	}
	if id := c.Writer.Header().Get(HeaderRequestID); id != "" {
		span.SetAttributes(AttributeRequestID.String(id))
	}
}

// spanName uses the route template, never the raw path, so span names stay
// a small fixed set.
func spanName(c *gin.Context) string {
	route := c.FullPath()
	if route == "" {
		route = UnmatchedRoute
	}
	// A client-chosen method must not mint span names either.
	return httpmethod.Normalize(c.Request.Method) + " " + route
}

type (
	serverSpanHookKey struct{}
	serverSpanHook    func(trace.Span)
)

// serverSpanHookProvider hands otelgin tracers that call the hook found in
// the start context once the server span exists.
type serverSpanHookProvider struct {
	trace.TracerProvider
}

func (p serverSpanHookProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return serverSpanHookTracer{Tracer: p.TracerProvider.Tracer(name, opts...)}
}

type serverSpanHookTracer struct {
	trace.Tracer
}

func (t serverSpanHookTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	ctx, span := t.Tracer.Start(ctx, name, opts...)
	// otelgin.HTML starts child spans with the same tracer; only the
	// server span is of interest.
	if hook, ok := ctx.Value(serverSpanHookKey{}).(serverSpanHook); ok {
		if cfg := trace.NewSpanStartConfig(opts...); cfg.SpanKind() == trace.SpanKindServer {
			hook(span)
		}
	}
	return ctx, span
}
