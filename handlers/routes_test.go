package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/osms/sports-service/embeddeddb"
	"github.com/osms/sports-service/handlers"
	"github.com/osms/sports-service/password"
	"github.com/osms/sports-service/repository"
)

// newRouter builds the real router on a fresh embedded database; edit
// adjusts the options.
func newRouter(t *testing.T, logs *bytes.Buffer, edit func(*handlers.Options)) http.Handler {
	t.Helper()
	db, err := embeddeddb.Start(t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Stop(context.Background()) })
	hasher, _ := password.NewHasher(password.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	store, err := repository.Open(db.URI(), repository.Options{Database: "osms", Timeout: 2 * time.Second}, hasher)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close(context.Background()) })
	o := handlers.Options{
		Logger: slog.New(handlers.LogHandler(slog.NewJSONHandler(logs, nil))), Store: store,
		ReadyTimeout: time.Second, RequestTimeout: 5 * time.Second, BodyLimit: 1 << 20,
	}
	edit(&o)
	return handlers.NewRouter(o)
}

// TestPanicBecomesProblem: a panicking handler answers a 500 problem without
// internals, and the stack goes to the log with the request id.
func TestPanicBecomesProblem(t *testing.T) {
	var logs bytes.Buffer
	h := newRouter(t, &logs, func(o *handlers.Options) {
		o.Routes = append(o.Routes, func(r *gin.Engine) {
			r.GET("/boom", func(*gin.Context) { panic("secret internal state") })
		})
	})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/boom", nil)
	req.Header.Set("X-Request-ID", "req-42")
	h.ServeHTTP(rec, req)
	if rec.Code != 500 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
		t.Fatalf("got %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	var p map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p["status"] != float64(500) {
		t.Fatalf("body %s", rec.Body)
	}
	if strings.Contains(rec.Body.String(), "secret internal state") {
		t.Error("the panic value reached the client")
	}
	if !strings.Contains(logs.String(), "secret internal state") || !strings.Contains(logs.String(), `"request_id":"req-42"`) {
		t.Errorf("the panic was not logged with its request id: %s", logs.String())
	}
}

func TestCORS(t *testing.T) {
	tests := []struct {
		name    string
		origins []string
		origin  string
		want    string
	}{
		{"off by default", nil, "https://a.example", ""},
		{"allowed origin", []string{"https://a.example"}, "https://a.example", "https://a.example"},
		{"other origin", []string{"https://a.example"}, "https://b.example", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := newRouter(t, &logs, func(o *handlers.Options) { o.CORSOrigins = tt.origins })
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("OPTIONS", "/ch11/player/add", nil)
			req.Header.Set("Origin", tt.origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			h.ServeHTTP(rec, req)
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tt.want {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.want)
			}
		})
	}
}
