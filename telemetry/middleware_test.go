package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func init() { gin.SetMode(gin.TestMode) }

// setRequestID stands in for the lead's request-id middleware, which runs
// before ours and sets the response header.
func setRequestID(c *gin.Context) {
	c.Header(HeaderRequestID, "req-123")
	c.Next()
}

func newTestEngine(p *Provider, handlers map[string]gin.HandlerFunc) *gin.Engine {
	engine := gin.New()
	engine.Use(append(gin.HandlersChain{setRequestID}, Middleware("sports-test", p)...)...)
	for route, h := range handlers {
		engine.GET(route, h)
	}
	return engine
}

func recordingProvider() (*Provider, *tracetest.SpanRecorder) {
	tp, rec := newRecordingProvider()
	return &Provider{sdk: tp, propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})}, rec
}

func spanAttrs(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, a := range s.Attributes() {
		m[a.Key] = a.Value.Emit()
	}
	return m
}

func TestMiddlewareServerSpan(t *testing.T) {
	p, rec := recordingProvider()
	engine := newTestEngine(p, map[string]gin.HandlerFunc{
		"/players/:id": func(c *gin.Context) { c.String(http.StatusOK, "ok") },
		"/boom":        func(c *gin.Context) { c.String(http.StatusInternalServerError, "boom") },
		"/missing":     func(c *gin.Context) { c.String(http.StatusNotFound, "no") },
	})

	tests := []struct {
		path       string
		wantName   string
		wantRoute  string
		wantStatus string
		wantError  bool
	}{
		{"/players/42", "GET /players/:id", "/players/:id", "200", false},
		{"/boom", "GET /boom", "/boom", "500", true},
		{"/missing", "GET /missing", "/missing", "404", false},
		{"/no/such/path/8f1c", "GET " + UnmatchedRoute, "", "404", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec.Reset()
			w := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			req.RemoteAddr = "203.0.113.7:5555"
			engine.ServeHTTP(w, req)

			spans := rec.Ended()
			if len(spans) != 1 {
				t.Fatalf("%d spans, want 1", len(spans))
			}
			span := spans[0]
			if span.Name() != tt.wantName || span.SpanKind() != trace.SpanKindServer {
				t.Errorf("span %q kind %v, want %q server", span.Name(), span.SpanKind(), tt.wantName)
			}
			attrs := spanAttrs(span)
			if tt.wantRoute != "" && attrs["http.route"] != tt.wantRoute {
				t.Errorf("http.route = %q, want %q", attrs["http.route"], tt.wantRoute)
			}
			want := map[attribute.Key]string{
				"http.request.method":       "GET",
				"http.response.status_code": tt.wantStatus,
				"client.address":            "203.0.113.7",
				"request.id":                "req-123",
			}
			for k, v := range want {
				if attrs[k] != v {
					t.Errorf("%s = %q, want %q (all: %v)", k, attrs[k], v, attrs)
				}
			}
			if gotError := span.Status().Code == codes.Error; gotError != tt.wantError {
				t.Errorf("status %v, want error=%v", span.Status(), tt.wantError)
			}
			if got := w.Header().Get(HeaderTraceID); got != span.SpanContext().TraceID().String() {
				t.Errorf("X-Trace-Id %q, span trace %s", got, span.SpanContext().TraceID())
			}
		})
	}
}

func TestMiddlewareContinuesIncomingTrace(t *testing.T) {
	p, rec := recordingProvider()
	var member string
	engine := newTestEngine(p, map[string]gin.HandlerFunc{
		"/games": func(c *gin.Context) {
			member = baggage.FromContext(c.Request.Context()).Member("tenant").Value()
			c.Status(http.StatusNoContent)
		},
	})
	const (
		traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		spanID  = "00f067aa0ba902b7"
	)
	req := httptest.NewRequest(http.MethodGet, "/games", nil)
	req.Header.Set("traceparent", "00-"+traceID+"-"+spanID+"-01")
	req.Header.Set("tracestate", "vendor=value")
	req.Header.Set("baggage", "tenant=club-7")
	w := httptest.NewRecorder()
	engine.ServeHTTP(w, req)

	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	span := spans[0]
	if span.SpanContext().TraceID().String() != traceID || span.Parent().SpanID().String() != spanID || !span.Parent().IsRemote() {
		t.Errorf("span %v parent %v: not a child of the incoming traceparent", span.SpanContext(), span.Parent())
	}
	if got := span.SpanContext().TraceState().Get("vendor"); got != "value" {
		t.Errorf("tracestate vendor = %q", got)
	}
	if member != "club-7" {
		t.Errorf("baggage tenant = %q", member)
	}
	if got := w.Header().Get(HeaderTraceID); got != traceID {
		t.Errorf("X-Trace-Id = %q, want %s", got, traceID)
	}
}

func TestMiddlewareWithExporterNone(t *testing.T) {
	p, err := New(t.Context(), Config{Exporter: ExporterNone}, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(t.Context())
	var sampled bool
	engine := newTestEngine(p, map[string]gin.HandlerFunc{
		"/": func(c *gin.Context) {
			sampled = trace.SpanContextFromContext(c.Request.Context()).IsSampled()
			c.Status(http.StatusOK)
		},
	})
	w := httptest.NewRecorder()
	engine.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if sampled {
		t.Error("span sampled with exporter none")
	}
	// Ids still exist so that logs and clients can correlate a request.
	if len(w.Header().Get(HeaderTraceID)) != 32 {
		t.Errorf("X-Trace-Id = %q", w.Header().Get(HeaderTraceID))
	}

	// An incoming trace is continued, with its baggage, though nothing is
	// recorded: the logs carry the caller's trace id.
	var member string
	var got trace.SpanContext
	engine = newTestEngine(p, map[string]gin.HandlerFunc{
		"/games": func(c *gin.Context) {
			got = trace.SpanContextFromContext(c.Request.Context())
			member = baggage.FromContext(c.Request.Context()).Member("tenant").Value()
			c.Status(http.StatusOK)
		},
	})
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req := httptest.NewRequest(http.MethodGet, "/games", nil)
	req.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
	req.Header.Set("baggage", "tenant=club-7")
	w = httptest.NewRecorder()
	engine.ServeHTTP(w, req)
	if got.TraceID().String() != traceID || got.SpanID().String() == parentID || !got.SpanID().IsValid() {
		t.Errorf("span context %v: want trace %s with a new span id", got, traceID)
	}
	if w.Header().Get(HeaderTraceID) != traceID || member != "club-7" {
		t.Errorf("X-Trace-Id %q, baggage tenant %q", w.Header().Get(HeaderTraceID), member)
	}
}

// TestSDKReadsTheEnvironment: the OTEL_* variables this package no longer
// reads itself still take effect, read by the SDK from the process
// environment: the resource (service name precedence, attributes) and the
// sampler, seen on the spans the stdout exporter writes.
func TestSDKReadsTheEnvironment(t *testing.T) {
	tests := []struct {
		name        string
		vars        map[string]string
		wantSpans   int
		wantService string
		wantAttrs   map[string]string
	}{
		{name: "defaults", wantSpans: 1, wantService: DefaultServiceName},
		{
			name: "OTEL_SERVICE_NAME wins over a service.name in the attributes",
			vars: map[string]string{
				"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod, team=sports%20ops,service.name=x",
				"OTEL_SERVICE_NAME":        "osms",
			},
			wantSpans: 1, wantService: "osms",
			wantAttrs: map[string]string{"deployment.environment": "prod", "team": "sports ops"},
		},
		{name: "service.name from the attributes", vars: map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs"}, wantSpans: 1, wantService: "from-attrs"},
		{name: "always_off", vars: map[string]string{"OTEL_TRACES_SAMPLER": "always_off"}, wantSpans: 0, wantService: DefaultServiceName},
		{name: "ratio 0", vars: map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"}, wantSpans: 0, wantService: DefaultServiceName},
		{name: "ratio 1", vars: map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1"}, wantSpans: 1, wantService: DefaultServiceName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, out := stdoutProvider(t, tt.vars)
			if p.ServiceName() != tt.wantService {
				t.Errorf("ServiceName() = %q, want %q", p.ServiceName(), tt.wantService)
			}
			engine := newTestEngine(p, map[string]gin.HandlerFunc{"/games/:id": func(c *gin.Context) { c.Status(http.StatusOK) }})
			engine.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/games/1", nil))
			if err := p.Shutdown(t.Context()); err != nil {
				t.Fatal(err)
			}
			type exported struct {
				Name     string
				Resource []struct {
					Key   string
					Value struct{ Value any }
				}
			}
			var spans []exported
			for dec := json.NewDecoder(out); dec.More(); {
				var sp exported
				if err := dec.Decode(&sp); err != nil {
					t.Fatalf("stdout export is not JSON spans: %v\n%s", err, out.String())
				}
				spans = append(spans, sp)
			}
			if len(spans) != tt.wantSpans {
				t.Fatalf("%d spans exported, want %d:\n%s", len(spans), tt.wantSpans, out.String())
			}
			if tt.wantSpans == 0 {
				return
			}
			if spans[0].Name != "GET /games/:id" {
				t.Errorf("span name %q", spans[0].Name)
			}
			attrs := map[string]string{}
			for _, kv := range spans[0].Resource {
				attrs[kv.Key] = fmt.Sprint(kv.Value.Value)
			}
			want := map[string]string{"service.name": tt.wantService, "service.version": "v1"}
			maps.Copy(want, tt.wantAttrs)
			for k, v := range want {
				if attrs[k] != v {
					t.Errorf("resource %s = %q, want %q (all: %v)", k, attrs[k], v, attrs)
				}
			}
			if attrs["service.instance.id"] == "" {
				t.Errorf("no service.instance.id in %v", attrs)
			}
		})
	}
	if _, err := New(t.Context(), Config{Exporter: ExporterStdout}, "v1", nil); err == nil {
		t.Error("stdout exporter without a writer accepted")
	}
}

func TestTraceIDHeader(t *testing.T) {
	cases := []trace.TraceID{
		{},
		{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	}
	for _, id := range cases {
		got := traceIDHeader(id)
		if len(got) != 1 || got[0] != id.String() {
			t.Errorf("traceIDHeader(%s) = %q", id, got)
		}
	}
}

// TestSampledFirst: with an exporter, the middleware asks the sampler before
// otelgin; a request is exported exactly when the SDK's sampler says so for
// the trace id the client sees in X-Trace-Id (its own parent's, or a new
// one), and the spans that are exported are otelgin's.
func TestSampledFirst(t *testing.T) {
	const parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	ratio := func(r float64) func(id trace.TraceID, parent string) bool {
		return func(id trace.TraceID, _ string) bool {
			return sdktrace.TraceIDRatioBased(r).ShouldSample(sdktrace.SamplingParameters{TraceID: id}).Decision == sdktrace.RecordAndSample
		}
	}
	tests := []struct {
		name        string
		vars        map[string]string
		traceparent string
		// exported says whether the request with this trace id and
		// incoming traceparent is to be exported.
		exported func(id trace.TraceID, traceparent string) bool
	}{
		{"always_off", map[string]string{"OTEL_TRACES_SAMPLER": "always_off"}, "", func(trace.TraceID, string) bool { return false }},
		{"always_on", map[string]string{"OTEL_TRACES_SAMPLER": "always_on"}, "", func(trace.TraceID, string) bool { return true }},
		{"ratio 0.5", map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.5"}, "", ratio(0.5)},
		{"parent-based ratio 0.5, root", map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.5"}, "", ratio(0.5)},
		{"parent-based ratio 0, sampled parent", map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"},
			"00-" + parentTrace + "-00f067aa0ba902b7-01", func(trace.TraceID, string) bool { return true }},
		{"parent-based always on, unsampled parent", map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_always_on"},
			"00-" + parentTrace + "-00f067aa0ba902b7-00", func(trace.TraceID, string) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, out := stdoutProvider(t, tt.vars)
			engine := newTestEngine(p, map[string]gin.HandlerFunc{"/games/:id": func(c *gin.Context) { c.Status(http.StatusOK) }})
			want := map[string]bool{}
			for range 64 {
				req := httptest.NewRequest(http.MethodGet, "/games/1", nil)
				if tt.traceparent != "" {
					req.Header.Set("traceparent", tt.traceparent)
				}
				w := httptest.NewRecorder()
				engine.ServeHTTP(w, req)
				id, err := trace.TraceIDFromHex(w.Header().Get(HeaderTraceID))
				if err != nil {
					t.Fatalf("X-Trace-Id %q: %v", w.Header().Get(HeaderTraceID), err)
				}
				if tt.traceparent != "" && id.String() != parentTrace {
					t.Fatalf("X-Trace-Id %s, the parent's trace is %s", id, parentTrace)
				}
				if tt.exported(id, tt.traceparent) {
					want[id.String()] = true
				}
			}
			if err := p.Shutdown(t.Context()); err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for dec := json.NewDecoder(out); dec.More(); {
				var sp struct {
					Name        string
					SpanContext struct{ TraceID string }
					Attributes  []struct{ Key string }
				}
				if err := dec.Decode(&sp); err != nil {
					t.Fatalf("stdout export is not JSON spans: %v", err)
				}
				if sp.Name != "GET /games/:id" || len(sp.Attributes) == 0 {
					t.Errorf("exported span %q with %d attributes: not otelgin's", sp.Name, len(sp.Attributes))
				}
				got[sp.SpanContext.TraceID] = true
			}
			if tt.traceparent == "" && !maps.Equal(got, want) {
				t.Fatalf("exported traces %v, want %v", got, want)
			}
			if tt.traceparent != "" && len(got) != len(want) {
				t.Fatalf("exported traces %v, want %v", got, want)
			}
		})
	}
}

// stdoutProvider is New's provider exporting to the returned buffer, with
// the variables vars set as the service would read them.
func stdoutProvider(t *testing.T, vars map[string]string) (*Provider, *bytes.Buffer) {
	t.Helper()
	all := map[string]string{"TRACING_EXPORTER": "stdout"}
	maps.Copy(all, vars)
	cfg, err := LoadConfig(env(t, all))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p, err := New(t.Context(), cfg, "v1", &out)
	if err != nil {
		t.Fatal(err)
	}
	return p, &out
}

func TestCanonicalRequestIDHeader(t *testing.T) {
	if got := http.CanonicalHeaderKey(HeaderRequestID); got != canonicalRequestIDHeader {
		t.Fatalf("canonical form of %s is %s, the constant says %s", HeaderRequestID, got, canonicalRequestIDHeader)
	}
}

// The preset trace id goes to the request's server span only: a root span
// started later under the same context begins a trace of its own.
func TestPresetTraceIDOnce(t *testing.T) {
	root := &rootTraceContext{Context: context.Background(), id: newTraceID()}
	var ids presetTraceIDs
	first, _ := ids.NewIDs(root)
	second, _ := ids.NewIDs(root)
	if first != root.id {
		t.Fatalf("first root span's trace %s, preset %s", first, root.id)
	}
	if second == root.id || !second.IsValid() {
		t.Fatalf("second root span's trace %s, preset %s", second, root.id)
	}
	if other, _ := ids.NewIDs(context.Background()); other == root.id || !other.IsValid() {
		t.Fatalf("trace %s without a preset", other)
	}
}
