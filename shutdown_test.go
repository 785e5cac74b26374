package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/osms/sports-service/handlers"
)

// drainRecorder stands in for the registry: it records when each step came.
type drainRecorder struct {
	mu     sync.Mutex
	start  time.Time
	events []string
	at     map[string]time.Duration
	// hang makes MarkOutOfService wait for its context, as a registry that
	// does not answer would.
	hang bool
}

func (r *drainRecorder) record(what string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, what)
	r.at[what] = time.Since(r.start)
}

func (r *drainRecorder) markOutOfService(ctx context.Context) error {
	r.record("out-of-service")
	if r.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (r *drainRecorder) deregister(context.Context) error {
	r.record("deregister")
	return nil
}

// TestDrainSequence runs the shutdown steps against a real HTTP server:
// readiness fails first, the registry hears OUT_OF_SERVICE before the delay
// and the DELETE after it, requests are served during the delay, and the
// server stops after.
func TestDrainSequence(t *testing.T) {
	tests := []struct {
		name       string
		delay      time.Duration
		hurryAfter time.Duration // 0: no second signal
		hang       bool
		wantEvents []string
		// the DELETE comes within [minLeave, maxLeave] of the signal
		minLeave, maxLeave time.Duration
	}{
		{"no delay: deregister and drain at once", 0, 0, false, []string{"deregister"}, 0, 200 * time.Millisecond},
		{"delay", 600 * time.Millisecond, 0, false, []string{"out-of-service", "deregister"}, 600 * time.Millisecond, 900 * time.Millisecond},
		{"a hanging registry does not lengthen the delay", 600 * time.Millisecond, 0, true, []string{"out-of-service", "deregister"}, 600 * time.Millisecond, 900 * time.Millisecond},
		{"a second signal ends the delay", 10 * time.Second, 300 * time.Millisecond, false, []string{"out-of-service", "deregister"}, 300 * time.Millisecond, 700 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := &lifecycle{}
			mux := http.NewServeMux()
			mux.HandleFunc("GET /health/ready", func(w http.ResponseWriter, r *http.Request) {
				if state.Check(r.Context()).Status != handlers.StatusUp {
					w.WriteHeader(http.StatusServiceUnavailable)
				}
			})
			mux.HandleFunc("GET /work", func(http.ResponseWriter, *http.Request) {})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: mux}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ln) }()
			base := "http://" + ln.Addr().String()
			if got := getStatus(t, base+"/health/ready"); got != 200 {
				t.Fatalf("ready before the signal: %d", got)
			}

			rec := &drainRecorder{start: time.Now(), at: map[string]time.Duration{}, hang: tt.hang}
			hurry := make(chan os.Signal, 1)
			d := drain{
				Delay: tt.delay, Timeout: 5 * time.Second, Hurry: hurry, Log: slog.New(slog.DiscardHandler),
				StopReady: state.startDraining, MarkOutOfService: rec.markOutOfService, Deregister: rec.deregister,
				Server: srv,
			}
			done := make(chan error, 1)
			go func() { done <- d.run(rec.start) }()
			if tt.hurryAfter > 0 {
				time.AfterFunc(tt.hurryAfter, func() { hurry <- syscall.SIGTERM })
			}

			if tt.delay > 0 {
				// Within the delay: not ready, still serving, not gone.
				probeAt := tt.delay / 3
				if tt.hurryAfter > 0 {
					probeAt = tt.hurryAfter / 3
				}
				time.Sleep(probeAt)
				if got := getStatus(t, base+"/health/ready"); got != 503 {
					t.Errorf("/health/ready during the delay = %d, want 503", got)
				}
				if got := getStatus(t, base+"/work"); got != 200 {
					t.Errorf("a request during the delay = %d, want 200", got)
				}
				rec.mu.Lock()
				_, gone := rec.at["deregister"]
				rec.mu.Unlock()
				if gone {
					t.Error("deregistered before the delay was over")
				}
			}

			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("drain: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("drain did not return")
			}
			returned := time.Since(rec.start)
			if err := <-served; !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("Serve returned %v", err)
			}
			if _, err := http.Get(base + "/work"); err == nil {
				t.Error("the server still answers after drain returned")
			}
			if !slices.Equal(rec.events, tt.wantEvents) {
				t.Errorf("registry calls %v, want %v", rec.events, tt.wantEvents)
			}
			if leave := rec.at["deregister"]; leave < tt.minLeave || leave > tt.maxLeave {
				t.Errorf("deregistered %v after the signal, want within [%v, %v]", leave, tt.minLeave, tt.maxLeave)
			}
			if oos, ok := rec.at["out-of-service"]; ok && oos > 100*time.Millisecond {
				t.Errorf("OUT_OF_SERVICE sent %v after the signal, want at once", oos)
			}
			t.Logf("signal -> drain returned: %v", returned.Round(time.Millisecond))
		})
	}
}

// TestLifecycleComponent: the component decides readiness (UP, then
// OUT_OF_SERVICE from the first startDraining on, which later calls do not
// move).
func TestLifecycleComponent(t *testing.T) {
	var l lifecycle
	if c := l.Check(context.Background()); c.Status != handlers.StatusUp || c.Details["state"] != "serving" {
		t.Fatalf("before: %+v", c)
	}
	l.startDraining()
	first := l.Check(context.Background())
	time.Sleep(2 * time.Millisecond)
	l.startDraining()
	second := l.Check(context.Background())
	if first.Status != handlers.StatusOutOfService || first.Details["state"] != "draining" || first.Details["since"] != second.Details["since"] {
		t.Errorf("draining: %+v then %+v", first, second)
	}
}
