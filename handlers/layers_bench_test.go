package handlers

// BenchmarkMiddlewareLayers is the per-layer budget of the request path
// (issue #27): bare Gin answering the trivial route, then the same engine
// with exactly one of the service's middleware in front of the route, then
// all of them as NewRouter installs them, in one run so that each line is
// compared with the bare line next to it. The difference between a line
// and "bare Gin" is what that one layer costs a request:
//
//	go test -run '^$' -bench MiddlewareLayers -benchmem -count 6 ./handlers/ | tee new.txt
//	go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da new.txt
//
// BenchmarkTrivialRouteLayers in the root package adds metrics and tracing
// to the whole router, BenchmarkAuthMiddleware measures the token checks;
// docs/performance.md has the tables.

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

func BenchmarkMiddlewareLayers(b *testing.B) {
	// Not a record operation, as the trivial route is not.
	const path, body = "/ch11/schedule/index", "flask integration"
	logger := slog.New(slog.DiscardHandler)
	accessLine := NewJSONAccessLog(io.Discard, slog.LevelInfo,
		func(context.Context) ([16]byte, [8]byte, bool) { return [16]byte{}, [8]byte{}, false })
	all := []gin.HandlerFunc{requestContext(time.Minute), securityHeaders(), rejectSecretsInURL(),
		accessLog(accessLine), recoverPanics(logger), cors(nil), limitBody(1 << 20), conditionalRequests(false)}

	gin.SetMode(gin.ReleaseMode)
	layers := []struct {
		name       string
		middleware []gin.HandlerFunc
	}{
		{name: "bare Gin"},
		{name: "request id and deadline", middleware: []gin.HandlerFunc{requestContext(time.Minute)}},
		{name: "security headers", middleware: []gin.HandlerFunc{securityHeaders()}},
		{name: "no secrets in URL", middleware: []gin.HandlerFunc{rejectSecretsInURL()}},
		{name: "access log (JSON)", middleware: []gin.HandlerFunc{accessLog(accessLine)}},
		{name: "recover", middleware: []gin.HandlerFunc{recoverPanics(logger)}},
		{name: "CORS, none allowed", middleware: []gin.HandlerFunc{cors(nil)}},
		{name: "CORS, origin listed", middleware: []gin.HandlerFunc{cors([]string{"https://app.example"})}},
		{name: "body limit", middleware: []gin.HandlerFunc{limitBody(1 << 20)}},
		{name: "conditional requests", middleware: []gin.HandlerFunc{conditionalRequests(false)}},
		{name: "all of NewRouter's, no guard", middleware: all},
	}
	for _, layer := range layers {
		b.Run(layer.name, func(b *testing.B) {
			r := gin.New()
			r.Use(layer.middleware...)
			r.GET(path, func(c *gin.Context) { c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(body)) })
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodGet, path, nil)
				req.RemoteAddr = "127.0.0.1:40000"
				req.Header.Set("Origin", "https://app.example")
				r.ServeHTTP(w, req)
				if w.Code != http.StatusOK || w.Body.String() != body {
					b.Fatalf("%d %q", w.Code, w.Body)
				}
			}
		})
	}
}
