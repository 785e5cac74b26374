package main

// BenchmarkTrivialRouteLayers attributes the trivial route's cost to the
// layers of the service, in-process (ServeHTTP, no socket): bare Gin
// answering the same bytes, then the service's router with its own
// middleware and the access log (JSON to io.Discard), then with gin-metrics,
// then with tracing: exporter none, then otelgin with nothing sampled and
// with everything sampled (exported by the stdout exporter to io.Discard on
// the batch goroutine). The differences
// between neighbouring lines are what each layer costs a request:
//
//	go test -run '^$' -bench TrivialRouteLayers -benchmem -count 5 .
//
// docs/performance.md reports them next to the socket-level figures of
// `go run ./bench -only trivial`.

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

func BenchmarkTrivialRouteLayers(b *testing.B) {
	const path, body = "/ch11/flask/index", "flask integration"
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	hasher, err := password.NewHasher(password.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		b.Fatal(err)
	}
	// The route never reaches the database; the driver connects lazily.
	store, err := repository.Open("mongodb://127.0.0.1:1", repository.Options{Database: "bench", Timeout: cfg.DBTimeout, MaxPoolSize: 1}, hasher)
	if err != nil {
		b.Fatal(err)
	}
	logger, accessLog := newLoggers(cfg, logbuf.New(io.Discard, cfg.LogFlushInterval))
	mounts, err := legacyMounts(cfg, store, logger)
	if err != nil {
		b.Fatal(err)
	}
	monitor, err := metrics.New(metrics.Config{})
	if err != nil {
		b.Fatal(err)
	}
	tracing := func(env map[string]string) func(*gin.Engine) {
		for k, v := range env {
			if telemetry.IsSDKVariable(k) {
				b.Setenv(k, v) // the SDK reads OTEL_* when New builds the provider
			}
		}
		tcfg, err := telemetry.LoadConfig(func(k string) string { return env[k] })
		if err != nil {
			b.Fatal(err)
		}
		p, err := telemetry.New(context.Background(), tcfg, "bench", io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = p.Shutdown(context.Background()) })
		return func(e *gin.Engine) { e.Use(telemetry.Middleware(p.ServiceName(), p)...) }
	}
	router := func(observe ...func(*gin.Engine)) http.Handler {
		return handlers.NewRouter(handlers.Options{Mounts: mounts, Observe: observe, Logger: logger, AccessLog: accessLog, Store: store,
			RequestTimeout: cfg.RequestTimeout, BodyLimit: cfg.BodyLimit})
	}
	bare := gin.New()
	bare.GET(path, func(c *gin.Context) { c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(body)) })

	layers := []struct {
		name    string
		handler http.Handler
	}{
		{"bare Gin", bare},
		{"router and access log", router()},
		{"+ metrics", router(monitor.Use)},
		{"+ tracing none", router(monitor.Use, tracing(map[string]string{"TRACING_EXPORTER": "none"}))},
		// otelgin builds its attributes before the sampler decides.
		{"+ tracing 0%", router(monitor.Use, tracing(map[string]string{"TRACING_EXPORTER": "stdout", "OTEL_TRACES_SAMPLER": "always_off"}))},
		{"+ tracing 100%", router(monitor.Use, tracing(map[string]string{"TRACING_EXPORTER": "stdout", "OTEL_TRACES_SAMPLER": "always_on"}))},
	}
	for _, layer := range layers {
		b.Run(layer.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				r := httptest.NewRequest(http.MethodGet, path, nil)
				r.RemoteAddr = "127.0.0.1:40000"
				layer.handler.ServeHTTP(w, r)
				if w.Code != http.StatusOK || w.Body.String() != body {
					b.Fatalf("%d %q", w.Code, w.Body)
				}
			}
		})
	}
}
