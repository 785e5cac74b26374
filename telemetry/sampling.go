package telemetry

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/gin-gonic/gin"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// samplerFromEnv is the sampler the SDK builds from OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG in the process environment (sdktrace's
// samplerFromEnv, for the names and ratios that LoadConfig accepts), built
// here so that the middleware can ask it too.
func samplerFromEnv(getenv func(string) string) sdktrace.Sampler {
	ratio := 1.0
	if arg, err := strconv.ParseFloat(strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER_ARG")), 64); err == nil {
		ratio = arg
	}
	switch strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER"))) {
	case "always_on":
		return sdktrace.AlwaysSample()
	case "always_off":
		return sdktrace.NeverSample()
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio)
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample())
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))
	default: // parentbased_always_on, the specification's default
		return sdktrace.ParentBased(sdktrace.AlwaysSample())
	}
}

// presetTraceIDs is the SDK's ID generator: random ids, except that the
// first root span started under a rootTraceContext (the request's server
// span) gets the trace id decided there, the one its sampling decision was
// made for. Any later root span under the same context (trace.WithNewRoot)
// gets a trace of its own, as it would without this.
type presetTraceIDs struct{}

func (presetTraceIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if root, ok := ctx.Value(rootTraceIDKey{}).(*rootTraceContext); ok && root.used.CompareAndSwap(false, true) {
		return root.id, newSpanID()
	}
	return newTraceID(), newSpanID()
}

func (presetTraceIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID { return newSpanID() }

// newTraceID and newSpanID draw from math/rand/v2's generator (ChaCha8, per
// thread, no lock), as the SDK's default generator draws from math/rand
// under a mutex: ids must be unique, not secret.
func newTraceID() trace.TraceID {
	var id trace.TraceID
	for !id.IsValid() {
		binary.NativeEndian.PutUint64(id[:8], rand.Uint64())
		binary.NativeEndian.PutUint64(id[8:], rand.Uint64())
	}
	return id
}

func newSpanID() trace.SpanID {
	var id trace.SpanID
	for !id.IsValid() {
		binary.NativeEndian.PutUint64(id[:], rand.Uint64())
	}
	return id
}

type rootTraceIDKey struct{}

// rootTraceContext carries the trace id of the root span about to start,
// in one allocation (context.WithValue would box the id in a second).
type rootTraceContext struct {
	context.Context
	id   trace.TraceID
	used atomic.Bool // the id has been given to a span
}

func (c *rootTraceContext) Value(key any) any {
	if _, ok := key.(rootTraceIDKey); ok {
		return c
	}
	return c.Context.Value(key)
}

// sampledFirst runs otelgin (traced) only for the requests that the sampler
// records. otelgin builds its attribute sets and semantic-convention
// bookkeeping before the SDK samples; for a request that is not sampled
// (at 10 %, nine in ten) that was most of tracing's cost, for a span
// nobody sees. So the sampler is asked first, with the trace id the span
// will have: the incoming parent's, or a new one that the ID generator then
// gives the root span (presetTraceIDs). The SDK's samplers decide on the
// parent and the trace id alone, so its own decision when the span starts
// is the same. An unsampled request gets a non-recording span, as with the
// exporter none: trace ids in X-Trace-Id and the logs, the trace continued.
func sampledFirst(p *Provider, traced gin.HandlerFunc) gin.HandlerFunc {
	unsampled := newUnsampledServer(p)
	return func(c *gin.Context) {
		ctx := p.incomingContext(c)
		var traceID trace.TraceID
		if parent := trace.SpanContextFromContext(ctx); parent.IsValid() {
			traceID = parent.TraceID()
		} else {
			root := &rootTraceContext{Context: ctx, id: newTraceID()}
			ctx, traceID = root, root.id
		}
		decision := p.sampler.ShouldSample(sdktrace.SamplingParameters{ParentContext: ctx, TraceID: traceID, Kind: trace.SpanKindServer})
		if decision.Decision == sdktrace.Drop {
			unsampled.serve(c, ctx)
			return
		}
		// otelgin extracts the same parent again, over ctx.
		c.Request = c.Request.WithContext(ctx)
		traced(c)
	}
}
