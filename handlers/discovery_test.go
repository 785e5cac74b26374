package handlers_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/osms/sports-service/discovery"
	"github.com/osms/sports-service/handlers"
	"github.com/osms/sports-service/internal/testenv"
)

// peerAt is a Discovery whose only instance's status page is url: the call
// is real HTTP, as discovery.Transport makes it, so the handler meets real
// peers' statuses, bodies, refusals and slowness.
type peerAt struct{ url string }

func (p peerAt) Instances(string) (discovery.AppInstances, error) {
	return discovery.AppInstances{}, nil
}

func (p peerAt) StatusPage(ctx context.Context, app string) (*http.Response, discovery.Instance, error) {
	inst := discovery.Instance{InstanceID: "peer-1:" + strings.ToLower(app) + ":1", StatusPageURL: p.url}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return nil, inst, err
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	return resp, inst, err
}

// noInstance is a Discovery whose lookups fail with err.
type noInstance struct{ err error }

func (n noInstance) Instances(string) (discovery.AppInstances, error) {
	return discovery.AppInstances{}, n.err
}
func (n noInstance) StatusPage(context.Context, string) (*http.Response, discovery.Instance, error) {
	return nil, discovery.Instance{}, n.err
}

func peerServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestDiscoveryInfoPassthrough: /ch11/discovery/{app}/info gives back what
// the peer's status page answered, unchanged, and names what went wrong
// when there is no answer.
func TestDiscoveryInfoPassthrough(t *testing.T) {
	springInfo := `{"app":{"name":"demo","version":"1.0"},"build":{"artifact":"demo"}}`
	big := strings.Repeat("x", 1<<20+1)
	tests := []struct {
		name        string
		discovery   handlers.Discovery
		status      int
		contentType string
		body        string // exact for a passthrough, a substring for a problem
		problem     bool
	}{
		{"Spring actuator body", peerAt{peerServer(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/actuator/info" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/vnd.spring-boot.actuator.v3+json")
			io.WriteString(w, springInfo)
		}) + "/actuator/info"}, 200, "application/vnd.spring-boot.actuator.v3+json", springInfo, false},
		{"plain text", peerAt{peerServer(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, "ok\n")
		})}, 200, "text/plain; charset=utf-8", "ok\n", false},
		{"peer's 404 passes through", peerAt{peerServer(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(404)
			io.WriteString(w, `{"error":"Not Found"}`)
		})}, 404, "application/json", `{"error":"Not Found"}`, false},
		{"peer's 503 passes through", peerAt{peerServer(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(503)
			io.WriteString(w, "draining")
		})}, 503, "text/plain", "draining", false},
		{"redirect not followed", peerAt{peerServer(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		})}, 302, "text/html; charset=utf-8", `<a href="/elsewhere">Found</a>`, false},
		{"connection refused", peerAt{"http://" + testenv.RefusingAddr(t) + "/info"}, 502, "application/problem+json", "refused", true},
		{"body too large", peerAt{peerServer(t, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, big) })},
			502, "application/problem+json", "body over 1048576 bytes", true},
		{"peer too slow", peerAt{peerServer(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		})}, 504, "application/problem+json", "did not answer in time", true},
		{"app unknown", noInstance{discovery.ErrAppNotFound}, 404, "application/problem+json", "not found", true},
		{"no instance up", noInstance{discovery.ErrNoInstanceUp}, 503, "application/problem+json", "no instance is UP", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := handlers.NewRouter(handlers.Options{
				Logger: slog.New(slog.DiscardHandler), Store: &acceptingStore{},
				// The slow peer is cut by the request's deadline.
				ReadyTimeout: time.Second, RequestTimeout: 300 * time.Millisecond, BodyLimit: 1 << 20,
				Discovery: tt.discovery,
			})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/ch11/discovery/demo-app/info", nil))
			if rec.Code != tt.status || rec.Header().Get("Content-Type") != tt.contentType {
				t.Fatalf("got %d %q, want %d %q: %.300s", rec.Code, rec.Header().Get("Content-Type"), tt.status, tt.contentType, rec.Body)
			}
			if tt.problem {
				var p struct{ Detail string }
				if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || !strings.Contains(p.Detail, tt.body) {
					t.Errorf("problem %s (%v): want detail with %q", rec.Body, err, tt.body)
				}
				return
			}
			if got := rec.Body.String(); !strings.Contains(got, tt.body) || (tt.status != 302 && got != tt.body) {
				t.Errorf("body %q, want %q", got, tt.body)
			}
			if got := rec.Header().Get("X-Discovery-Instance"); got != "peer-1:demo-app:1" {
				t.Errorf("X-Discovery-Instance = %q", got)
			}
		})
	}
}

// TestRootRedirectsToDocs: "/" no longer answers 404; the registered home
// page (/docs) answers 200 itself.
func TestRootRedirectsToDocs(t *testing.T) {
	h := handlers.NewRouter(handlers.Options{Logger: slog.New(slog.DiscardHandler), Store: &acceptingStore{},
		ReadyTimeout: time.Second, RequestTimeout: time.Second, BodyLimit: 1 << 20})
	for _, c := range []struct {
		path     string
		status   int
		location string
	}{{"/", 302, "/docs"}, {discovery.HomePagePath, 200, ""}} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
		if rec.Code != c.status || rec.Header().Get("Location") != c.location {
			t.Errorf("GET %s = %d Location %q, want %d %q", c.path, rec.Code, rec.Header().Get("Location"), c.status, c.location)
		}
	}
}
