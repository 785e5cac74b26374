package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// blackHoleTCP accepts connections and never reads or answers, like a
// collector behind a firewall that drops replies. It returns host:port.
func blackHoleTCP(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// unreadUDP binds a UDP port and never reads from it, so datagrams pile up
// and are dropped by the kernel.
func unreadUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.LocalAddr().String()
}

// TestUnreachableExporterNeverBlocksRequests sends far more spans than the
// queue holds while the exporter is stuck: requests must all complete
// (spans beyond the queue are dropped) and Shutdown must give up at its
// context's deadline. The watchdog deadlines are much shorter than the
// export timeout, so a blocking pipeline would trip them; they are hang
// detectors, not speed assertions.
func TestUnreachableExporterNeverBlocksRequests(t *testing.T) {
	const exportTimeout = 2 * time.Minute
	hole := blackHoleTCP(t)
	tests := []struct {
		name string
		vars map[string]string
	}{
		{"jaeger agent, unread UDP port", map[string]string{"TRACING_EXPORTER": "jaeger", "JAEGER_AGENT_ENDPOINT": unreadUDP(t)}},
		{"jaeger collector, silent TCP", map[string]string{"TRACING_EXPORTER": "jaeger", "JAEGER_COLLECTOR_ENDPOINT": "http://" + hole + "/api/traces"}},
		{"otlp http, silent TCP", map[string]string{"TRACING_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + hole}},
		{"otlp grpc, silent TCP", map[string]string{"TRACING_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + hole}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.vars["OTEL_BSP_MAX_QUEUE_SIZE"] = "64"
			tt.vars["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"] = "16"
			tt.vars["OTEL_BSP_SCHEDULE_DELAY"] = "10"
			tt.vars["OTEL_BSP_EXPORT_TIMEOUT"] = fmt.Sprint(exportTimeout.Milliseconds())
			cfg, err := LoadConfig(env(t, tt.vars))
			if err != nil {
				t.Fatal(err)
			}
			p, err := New(t.Context(), cfg, "test", io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			engine := gin.New()
			engine.Use(Middleware("sports-test", p)...)
			engine.GET("/players/:id", func(c *gin.Context) { c.Status(http.StatusOK) })

			const requests = 2000 // ~30 times the queue
			served := make(chan int, 1)
			go func() {
				ok := 0
				for i := range requests {
					w := httptest.NewRecorder()
					engine.ServeHTTP(w, httptest.NewRequest(http.MethodGet, fmt.Sprintf("/players/%d", i), nil))
					if w.Code == http.StatusOK {
						ok++
					}
				}
				served <- ok
			}()
			select {
			case ok := <-served:
				if ok != requests {
					t.Errorf("%d of %d requests succeeded", ok, requests)
				}
			case <-time.After(exportTimeout / 2):
				t.Fatal("requests are blocked behind the stuck exporter")
			}

			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			returned := make(chan error, 1)
			go func() { returned <- p.Shutdown(ctx) }()
			select {
			case err := <-returned:
				// Whether the last batch made it out before the deadline
				// depends on the transport; giving up is what matters.
				if err != nil && !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("shutdown: %v", err)
				}
			case <-time.After(exportTimeout / 2):
				t.Fatal("Shutdown ignored its context deadline")
			}
		})
	}
}
