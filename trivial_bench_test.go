package main

// BenchmarkTrivialRouteLayers attributes the trivial route's cost to the
// layers of the service, in-process (ServeHTTP, no socket): bare Gin
// answering the same bytes, then the service's router with its own
// middleware and the access log (JSON to io.Discard), then with gin-metrics,
// then with tracing: exporter none (the service's default), then an
// exporter with nothing sampled, 10 % and everything sampled (otelgin's
// spans, exported by the stdout exporter to io.Discard on the batch
// goroutine). The differences between
// neighbouring lines are what each layer costs a request; the middleware
// one by one are in handlers' BenchmarkMiddlewareLayers:
//
//	go test -run '^$' -bench TrivialRouteLayers -benchmem -count 6 . | tee new.txt
//	go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da new.txt
//
// The profiles of the whole chain in the service's default configuration:
//
//	go test -run '^$' -bench 'TrivialRouteLayers/\+_tracing_none' -benchtime 5s \
//	  -cpuprofile artifacts/trivial-chain.cpu.pprof -memprofile artifacts/trivial-chain.mem.pprof .
//
// docs/performance.md reports them next to the socket-level figures of
// `go run ./bench -only trivial`, which writes these profiles too.
// TestTrivialRouteAllocs guards the allocations per request.

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/osms/sports-service/config"
	"github.com/osms/sports-service/handlers"
	"github.com/osms/sports-service/internal/logbuf"
	"github.com/osms/sports-service/metrics"
	"github.com/osms/sports-service/password"
	"github.com/osms/sports-service/repository"
	"github.com/osms/sports-service/telemetry"
)

// trivialRoute is the route the benchmark and the allocation guard request,
// and the bytes it answers.
const trivialRoute, trivialBody = "/ch11/flask/index", "flask integration"

// trivialLayer is one configuration of the request path answering
// trivialRoute.
type trivialLayer struct {
	name    string
	handler http.Handler
}

// Names of the layers that TestTrivialRouteAllocs guards.
const (
	layerBareGin        = "bare Gin"
	layerServiceDefault = "+ tracing none"
	layerTracingOff     = "+ tracing 0%"
)

// trivialRouteLayers builds bare Gin and the service's router with ever
// more of its layers, each line adding one to the line before it.
func trivialRouteLayers(tb testing.TB) []trivialLayer {
	tb.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		tb.Fatal(err)
	}
	hasher, err := password.NewHasher(password.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		tb.Fatal(err)
	}
	// The route never reaches the database; the driver connects lazily.
	store, err := repository.Open("mongodb://127.0.0.1:1", repository.Options{Database: "bench", Timeout: cfg.DBTimeout, MaxPoolSize: 1}, hasher)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = store.Close(context.Background()) })
	logger, accessLog := newLoggers(cfg, logbuf.New(io.Discard, cfg.LogFlushInterval))
	mounts, err := legacyMounts(cfg, store, logger)
	if err != nil {
		tb.Fatal(err)
	}
	// The service's own settings: gin-metrics takes one set per process,
	// and the other tests of this package start the service.
	mcfg, err := metrics.LoadConfig(func(string) string { return "" })
	if err != nil {
		tb.Fatal(err)
	}
	monitor, err := metrics.New(mcfg)
	if err != nil {
		tb.Fatal(err)
	}
	tracing := func(env map[string]string) func(*gin.Engine) {
		for k, v := range env {
			if telemetry.IsSDKVariable(k) {
				tb.Setenv(k, v) // the SDK reads OTEL_* when New builds the provider
			}
		}
		tcfg, err := telemetry.LoadConfig(func(k string) string { return env[k] })
		if err != nil {
			tb.Fatal(err)
		}
		p, err := telemetry.New(context.Background(), tcfg, "bench", io.Discard)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = p.Shutdown(context.Background()) })
		return func(e *gin.Engine) { e.Use(telemetry.Middleware(p.ServiceName(), p)...) }
	}
	router := func(observe ...func(*gin.Engine)) http.Handler {
		return handlers.NewRouter(handlers.Options{Mounts: mounts, Observe: observe, Logger: logger, AccessLog: accessLog, Store: store,
			RequestTimeout: cfg.RequestTimeout, BodyLimit: cfg.BodyLimit})
	}
	gin.SetMode(gin.ReleaseMode)
	bare := gin.New()
	bare.GET(trivialRoute, func(c *gin.Context) { c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(trivialBody)) })

	return []trivialLayer{
		{layerBareGin, bare},
		{"router and access log", router()},
		{"+ metrics", router(monitor.Use)},
		// The service's default configuration (TRACING_EXPORTER=none).
		{layerServiceDefault, router(monitor.Use, tracing(map[string]string{"TRACING_EXPORTER": "none"}))},
		// An exporter, so the sampler decides; otelgin runs for the sampled.
		{layerTracingOff, router(monitor.Use, tracing(map[string]string{"TRACING_EXPORTER": "stdout", "OTEL_TRACES_SAMPLER": "always_off"}))},
		{"+ tracing 10%", router(monitor.Use, tracing(map[string]string{"TRACING_EXPORTER": "stdout", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}))},
		{"+ tracing 100%", router(monitor.Use, tracing(map[string]string{"TRACING_EXPORTER": "stdout", "OTEL_TRACES_SAMPLER": "always_on"}))},
	}
}

// serveTrivial sends one request for trivialRoute to h and checks the answer.
func serveTrivial(tb testing.TB, h http.Handler) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, trivialRoute, nil)
	r.RemoteAddr = "127.0.0.1:40000"
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK || w.Body.String() != trivialBody {
		tb.Fatalf("%d %q", w.Code, w.Body)
	}
}

func BenchmarkTrivialRouteLayers(b *testing.B) {
	for _, layer := range trivialRouteLayers(b) {
		b.Run(layer.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serveTrivial(b, layer.handler)
			}
		})
	}
}
