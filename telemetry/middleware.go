package telemetry

import (
	"context"
	"encoding/hex"
	"unsafe"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
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

// Middleware returns the handlers that start a server span for each
// request, named "METHOD /route/:template", continuing the trace of incoming
// traceparent/tracestate/baggage headers. The response gets an X-Trace-Id
// header. Install them, in order, after the request-id middleware and before
// the routes.
//
// When the provider exports spans, otelgin makes them: they carry the route,
// method, status code and client address, our request id, and 5xx marks
// them as errors. When it exports nothing (ExporterNone), otelgin's
// attribute sets, semantic-convention bookkeeping and metric attributes
// would be built for a span nobody records (17% of the service's CPU on a
// trivial route under load); the span context alone is made instead, so
// that logs and X-Trace-Id keep their trace ids and an incoming trace is
// still continued.
func Middleware(serviceName string, p *Provider) gin.HandlersChain {
	if p.exportsNothing {
		return gin.HandlersChain{spanContextOnly(p)}
	}
	traced := otelgin.Middleware(serviceName,
		otelgin.WithTracerProvider(p.TracerProvider()),
		otelgin.WithPropagators(p.Propagator()),
		// The HTTP metrics come from the metrics package; without this
		// otelgin would fall back to the global meter provider.
		otelgin.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelgin.WithSpanNameFormatter(spanName),
	)
	// otelgin starts the span and runs the rest of the chain; the next
	// handler therefore sees the span while the response headers are still
	// writable.
	if p.sampler == nil {
		return gin.HandlersChain{traced, annotateServerSpan}
	}
	return gin.HandlersChain{sampledFirst(p, traced), annotateServerSpan}
}

// annotateServerSpan adds what otelgin does not know to its server span.
func annotateServerSpan(c *gin.Context) {
	span := trace.SpanFromContext(c.Request.Context())
	h := c.Writer.Header()
	// An unsampled request's trace id is set already (serveUnsampled).
	if sc := span.SpanContext(); sc.HasTraceID() && len(h[HeaderTraceID]) == 0 {
		h[HeaderTraceID] = traceIDHeader(sc.TraceID())
	}
	if id := h[canonicalRequestIDHeader]; len(id) > 0 && id[0] != "" && span.IsRecording() {
		span.SetAttributes(AttributeRequestID.String(id[0]))
	}
	c.Next()
}

// canonicalRequestIDHeader is HeaderRequestID as net/http stores it: looked
// up directly, it is not canonicalised (an allocation) on every request.
const canonicalRequestIDHeader = "X-Request-Id"

// spanContextOnly gives each request a non-recording server span: a trace id
// (the incoming one, if any) and a span id, and the incoming baggage.
func spanContextOnly(p *Provider) gin.HandlerFunc {
	unsampled := newUnsampledServer(p)
	return func(c *gin.Context) { unsampled.serve(c, p.incomingContext(c)) }
}

// incomingContext is the request's context with the trace and baggage its
// headers carry, if any.
func (p *Provider) incomingContext(c *gin.Context) context.Context {
	ctx := c.Request.Context()
	if h := c.Request.Header; len(h["Traceparent"]) > 0 || len(h["Baggage"]) > 0 {
		ctx = p.propagator.Extract(ctx, propagation.HeaderCarrier(h))
	}
	return ctx
}

// unsampledServer starts the non-recording server spans of the requests that
// nobody records.
type unsampledServer struct {
	tracer trace.Tracer
	// options are made once: the option boxed on every request was an
	// allocation.
	options []trace.SpanStartOption
}

func newUnsampledServer(p *Provider) unsampledServer {
	return unsampledServer{
		tracer:  p.TracerProvider().Tracer(instrumentationName),
		options: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)},
	}
}

// serve runs the rest of the chain under a server span started in ctx,
// which the sampler does not record, and returns its trace id to the client.
func (u unsampledServer) serve(c *gin.Context, ctx context.Context) {
	ctx, span := u.tracer.Start(ctx, "", u.options...)
	defer span.End()
	c.Request = c.Request.WithContext(ctx)
	// HeaderTraceID is canonical already: no Set, which would canonicalise
	// it again.
	c.Writer.Header()[HeaderTraceID] = traceIDHeader(span.SpanContext().TraceID())
	c.Next()
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

// traceIDHeader is the header value of id: the hex digits and the value
// slice in one allocation instead of two, since every request makes one.
func traceIDHeader(id trace.TraceID) []string {
	v := new(struct {
		digits [2 * len(trace.TraceID{})]byte
		value  [1]string
	})
	hex.Encode(v.digits[:], id[:])
	// The digits are never written again, and the string keeps v alive.
	v.value[0] = unsafe.String(&v.digits[0], len(v.digits))
	return v.value[:]
}
