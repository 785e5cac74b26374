package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/osms/sports-service/internal/invariants"
	"github.com/osms/sports-service/internal/testenv"
	"github.com/osms/sports-service/telemetry"
)

// syncBuffer collects the service's log output; it is written by the
// service's goroutines and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testService is the whole service, started in-process by run().
type testService struct {
	URL     string
	Logs    *syncBuffer
	DataDir string
	stop    context.CancelFunc
	done    chan error
	// barriers counts logsSoFar's requests.
	barriers int
}

var listeningAddr = regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)

// startService runs the service on a free loopback port against a fresh
// embedded database (or env's), and stops it when the test ends.
func startService(t testing.TB, env map[string]string) *testService {
	t.Helper()
	vars := map[string]string{
		"LISTEN_ADDR": "127.0.0.1:0",
		"DATA_DIR":    t.TempDir(),
		"ENV_FILE":    os.DevNull,
		"LOG_LEVEL":   "debug",
	}
	for k, v := range env {
		if telemetry.IsSDKVariable(k) {
			// The OpenTelemetry SDK reads OTEL_* from the process
			// environment only; a test that sets them cannot be parallel.
			t.Setenv(k, v)
			continue
		}
		vars[k] = v
	}
	getenv := func(k string) string { return vars[k] }
	ctx, cancel := context.WithCancel(context.Background())
	s := &testService{Logs: &syncBuffer{}, DataDir: vars["DATA_DIR"], stop: cancel, done: make(chan error, 1)}
	go func() { s.done <- run(ctx, []string{"sports-service"}, getenv, s.Logs, s.Logs) }()
	deadline := time.Now().Add(30 * time.Second)
	for s.URL == "" {
		if m := listeningAddr.FindStringSubmatch(s.Logs.String()); m != nil {
			s.URL = "http://" + m[1]
			break
		}
		select {
		case err := <-s.done:
			t.Fatalf("service exited during start-up: %v\n%s", err, s.Logs)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("service did not start listening:\n%s", s.Logs)
		}
	}
	// Cleanups run last-registered first: the scan sees the whole log,
	// shutdown included.
	t.Cleanup(func() { assertNoSecrets(t, "the service log", s.Logs.String()) })
	t.Cleanup(func() { s.Stop(t) })
	return s
}

// secretMarkers betray a stored password: the argon2id hash's prefix and the
// stored document's field name.
var secretMarkers = []string{"$argon2id$", "password_hash"}

// assertNoSecrets fails the test when text (a log or response bodies, named by
// what) contains one of the passwords given or a stored hash.
func assertNoSecrets(t testing.TB, what, text string, passwords ...string) {
	t.Helper()
	for _, secret := range append(passwords, secretMarkers...) {
		if strings.Contains(text, secret) {
			t.Errorf("%q appears in %s", secret, what)
		}
	}
}

// logsSoFar returns the log once every line written before the call has
// reached it: lines arrive in batches (LOG_FLUSH_INTERVAL) and in order, so
// the access line of a request made now is a barrier behind them.
func (s *testService) logsSoFar(t testing.TB) string {
	t.Helper()
	s.barriers++
	id := fmt.Sprintf("log-barrier-%d", s.barriers)
	expect(t, s.do(t, "GET", "/health/live", nil, "X-Request-ID", id), http.StatusOK)
	marker := `"request_id":"` + id + `"`
	deadline := time.Now().Add(30 * time.Second) // a hang, not a timing assertion
	for {
		if logs := s.Logs.String(); strings.Contains(logs, marker) {
			return logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the access line of request %s never reached the log", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// awaitReady waits until /health/ready answers 200: the indexes (and the
// first admin, when configured) are made in the background after start-up.
func (s *testService) awaitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // a hang, not a timing assertion
	for {
		r := s.do(t, "GET", "/health/ready", nil)
		if r.Status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("never ready: %d %s", r.Status, r.Body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop cancels the service's context (as SIGTERM does) and waits for run.
func (s *testService) Stop(t testing.TB) {
	t.Helper()
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("run returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("service did not stop")
	}
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("response is not JSON (%v): %s", err, r.Body)
	}
}

// do sends a request; body is JSON-encoded unless it is a string or nil.
func (s *testService) do(t testing.TB, method, path string, body any, headers ...string) response {
	t.Helper()
	req, err := testenv.NewRequest(method, s.URL+path, body, headers...)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// expect checks the status and, for errors, that the body is a problem
// document whose text contains every string in want.
func expect(t testing.TB, r response, status int, want ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	if status >= 400 {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
			t.Errorf("error Content-Type %q, want application/problem+json", ct)
		}
	}
	for _, w := range want {
		if !bytes.Contains(r.Body, []byte(w)) {
			t.Errorf("body does not mention %q: %s", w, r.Body)
		}
	}
}

// Bodies of valid records, shared with the multi-instance races.
var (
	playerBody   = invariants.PlayerBody
	officialBody = invariants.OfficialBody
	gameBody     = invariants.GameBody
)

func TestMain(m *testing.M) {
	fmt.Fprintln(os.Stderr, "service tests start the whole service in-process on the embedded FerretDB")
	os.Exit(testenv.Main(m))
}
