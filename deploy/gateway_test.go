package deploy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// recorder is an upstream that keeps the requests nginx sends it.
type recorder struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []*http.Request
	conns int // TCP connections nginx opened to it
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, req)
		r.mu.Unlock()
		// Like the app: echo the id, answer JSON (large enough to gzip).
		w.Header().Set("X-Request-ID", req.Header.Get("X-Request-ID"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"items":[`+strings.Repeat(`{"name":"a player"},`, 200)+`{}]}`)
	}))
	r.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			r.mu.Lock()
			r.conns++
			r.mu.Unlock()
		}
	}
	r.Start()
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) last(t *testing.T) *http.Request {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("the upstream got no request")
	}
	return r.reqs[len(r.reqs)-1]
}

func (r *recorder) count(method, path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, req := range r.reqs {
		if (method == "" || req.Method == method) && (path == "" || req.URL.Path == path) {
			n++
		}
	}
	return n
}

func (r *recorder) hostPort() string { return strings.TrimPrefix(r.URL, "http://") }

var generatedID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestGatewayForwarding: what nginx.conf sends upstream and answers itself.
func TestGatewayForwarding(t *testing.T) {
	up := newRecorder(t)
	gw := startGateway(t, []string{up.hostPort()}, nil)
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}

	t.Run("forwarded headers and trace context", func(t *testing.T) {
		h := http.Header{
			"X-Request-Id": {"client-id.123"},
			"Traceparent":  {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
			"Tracestate":   {"vendor=opaque"},
			"Baggage":      {"tenant=osms"},
		}
		req, _ := http.NewRequest(http.MethodGet, gw.URL+"/ch11/player/list/all", nil)
		req.Host = "api.example.test:8080"
		req.Header = h
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := up.last(t)
		for name, want := range map[string]string{
			"X-Real-Ip":         "127.0.0.1",
			"X-Forwarded-For":   "127.0.0.1",
			"X-Forwarded-Proto": "http",
			"X-Forwarded-Host":  "api.example.test:8080",
			"X-Request-Id":      "client-id.123",
			"Traceparent":       h.Get("Traceparent"),
			"Tracestate":        "vendor=opaque",
			"Baggage":           "tenant=osms",
		} {
			if v := got.Header.Get(name); v != want {
				t.Errorf("upstream got %s: %q, want %q", name, v, want)
			}
		}
		if got.Host != "api.example.test:8080" {
			t.Errorf("upstream got Host %q, want the client's", got.Host)
		}
		if got.Proto != "HTTP/1.1" || got.Header.Get("Connection") != "" {
			t.Errorf("upstream request %s Connection=%q: want HTTP/1.1 keepalive", got.Proto, got.Header.Get("Connection"))
		}
		if ids := resp.Header.Values("X-Request-ID"); len(ids) != 1 || ids[0] != "client-id.123" {
			t.Errorf("response X-Request-ID = %q, want exactly the client's", ids)
		}
	})

	t.Run("request id generated when absent or malformed", func(t *testing.T) {
		for _, sent := range []string{"", "has spaces and \"quotes\"", strings.Repeat("x", 200)} {
			h := http.Header{}
			if sent != "" {
				h.Set("X-Request-ID", sent)
			}
			resp, _ := do(t, client, http.MethodGet, gw.URL+"/health/live", "", h)
			id := up.last(t).Header.Get("X-Request-ID")
			if !generatedID.MatchString(id) {
				t.Errorf("sent %q: upstream got X-Request-ID %q, want a generated one", sent, id)
			}
			if got := resp.Header.Values("X-Request-ID"); len(got) != 1 || got[0] != id {
				t.Errorf("sent %q: response X-Request-ID %q, want the one sent upstream %q", sent, got, id)
			}
		}
	})

	t.Run("gzip for JSON", func(t *testing.T) {
		resp, _ := do(t, client, http.MethodGet, gw.URL+"/ch11/player/list/all", "", http.Header{"Accept-Encoding": {"gzip"}})
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("Content-Encoding %q, want gzip", resp.Header.Get("Content-Encoding"))
		}
	})

	t.Run("metrics not published", func(t *testing.T) {
		before := up.count("", "")
		for _, p := range []string{"/metrics", "/metrics/", "/metrics?x=1", "/%6detrics"} {
			resp, _ := do(t, client, http.MethodGet, gw.URL+p, "", nil)
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: %s, want 404", p, resp.Status)
			}
		}
		if n := up.count("", "") - before; n != 0 {
			t.Errorf("%d /metrics requests reached the upstream", n)
		}
		for _, p := range []string{"/health", "/health/live", "/health/ready", "/info", "/docs", "/openapi.json"} {
			if resp, _ := do(t, client, http.MethodGet, gw.URL+p, "", nil); resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s through the gateway: %s", p, resp.Status)
			}
		}
	})

	t.Run("body limit", func(t *testing.T) {
		c := clientFrom("127.0.0.5") // its own write-rate bucket
		before := up.count(http.MethodPost, "")
		resp, body := do(t, c, http.MethodPost, gw.URL+"/ch11/player/add", strings.Repeat("x", 1048576+1), nil)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, `"status":413`) {
			t.Errorf("body over 1 MiB: %s %s, want 413 problem+json", resp.Status, body)
		}
		if up.count(http.MethodPost, "") != before {
			t.Error("the oversized body reached the upstream")
		}
		if resp, _ := do(t, c, http.MethodPost, gw.URL+"/ch11/player/add", strings.Repeat("x", 1048576), nil); resp.StatusCode != http.StatusOK {
			t.Errorf("body of exactly 1 MiB: %s, want it passed to the upstream", resp.Status)
		}
	})

	t.Run("upstream keepalive", func(t *testing.T) {
		up.mu.Lock()
		conns0, reqs0 := up.conns, len(up.reqs)
		up.mu.Unlock()
		for range 20 {
			do(t, client, http.MethodGet, gw.URL+"/health/live", "", nil)
		}
		up.mu.Lock()
		conns, reqs := up.conns-conns0, len(up.reqs)-reqs0
		up.mu.Unlock()
		if conns >= reqs {
			t.Errorf("%d requests opened %d upstream connections: keepalive not used", reqs, conns)
		}
	})

	t.Run("JSON access log", func(t *testing.T) {
		entries := gw.accessLog(t)
		if len(entries) == 0 {
			t.Fatal("empty access log")
		}
		var seen bool
		for _, e := range entries {
			for _, k := range []string{"time", "request_id", "method", "uri", "status", "request_time", "upstream_addr", "upstream_response_time", "upstream_connect_time"} {
				if _, ok := e[k]; !ok {
					t.Fatalf("access log entry lacks %s: %v", k, e)
				}
			}
			if e["request_id"] == "client-id.123" && e["upstream_addr"] == up.hostPort() {
				seen = true
			}
		}
		if !seen {
			t.Error("no access log entry with the client's request id and the upstream address")
		}
	})
}

// TestGatewayRateLimits: writes under /ch11/ and logins are limited per
// client address (429, problem+json); reads are not.
func TestGatewayRateLimits(t *testing.T) {
	up := newRecorder(t)
	// One request a minute: the test never waits long enough to refill.
	gw := startGateway(t, []string{up.hostPort()}, map[string]string{
		"NGINX_WRITE_RATE": "1r/m", "NGINX_WRITE_BURST": "3",
		"NGINX_LOGIN_RATE": "1r/m", "NGINX_LOGIN_BURST": "1",
	})

	statuses := func(c *http.Client, method, path string, n int) []int {
		var out []int
		for range n {
			resp, body := do(t, c, method, gw.URL+path, `{}`, nil)
			if resp.StatusCode == http.StatusTooManyRequests &&
				(!strings.Contains(body, `"status":429`) || resp.Header.Get("Retry-After") == "" || resp.Header.Get("X-Request-ID") == "") {
				t.Errorf("429 without problem body, Retry-After or X-Request-ID: %v %s", resp.Header, body)
			}
			out = append(out, resp.StatusCode)
		}
		return out
	}
	check := func(name string, got []int, allowed int) {
		t.Helper()
		for i, s := range got {
			if i < allowed && s == http.StatusTooManyRequests {
				t.Errorf("%s: request %d limited within the burst: %v", name, i+1, got)
			}
			if i >= allowed && s != http.StatusTooManyRequests {
				t.Errorf("%s: request %d not limited: %v", name, i+1, got)
			}
		}
	}

	check("POST", statuses(clientFrom("127.0.0.2"), http.MethodPost, "/ch11/player/add", 8), 4)
	check("PATCH", statuses(clientFrom("127.0.0.3"), http.MethodPatch, "/ch11/player/update/1", 6), 4)
	check("DELETE", statuses(clientFrom("127.0.0.4"), http.MethodDelete, "/ch11/player/delete/1", 6), 4)
	check("login", statuses(clientFrom("127.0.0.6"), http.MethodPost, "/ch11/login/verify", 5), 2)
	check("sign-in", statuses(clientFrom("127.0.0.8"), http.MethodPost, "/ch11/login/token", 5), 2)
	// Reads from an address that is over its write limit still pass.
	check("GET", statuses(clientFrom("127.0.0.2"), http.MethodGet, "/ch11/player/list/all", 10), 10)
	// Another client is not affected by the first one's limit.
	check("POST from another address", statuses(clientFrom("127.0.0.7"), http.MethodPost, "/ch11/player/add", 1), 1)
}

// TestGatewayRetriesOnlyIdempotent: when an instance drops the connection
// after reading the request, a GET is retried on another instance and a POST
// is not (it may have been applied).
func TestGatewayRetriesOnlyIdempotent(t *testing.T) {
	good := newRecorder(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() { // reads the request head, then hangs up without answering
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil || line == "\r\n" {
						return
					}
				}
			}()
		}
	}()
	// max_fails=3 in startGateway: the POSTs (at most 2 on the bad one)
	// leave it in rotation for the GETs.
	gw := startGateway(t, []string{ln.Addr().String(), good.hostPort()}, nil)
	c := clientFrom("127.0.0.8")

	var posts502, posts200 int
	for range 4 {
		resp, _ := do(t, c, http.MethodPost, gw.URL+"/ch11/player/add", `{}`, nil)
		switch resp.StatusCode {
		case http.StatusBadGateway:
			posts502++
		case http.StatusOK:
			posts200++
		default:
			t.Errorf("POST: %s", resp.Status)
		}
	}
	if posts502 == 0 {
		t.Error("no POST was answered 502: a POST was retried on the other instance (or round robin skipped the bad one)")
	}
	if got := good.count(http.MethodPost, ""); got != posts200 {
		t.Errorf("the good instance got %d POSTs for %d successes", got, posts200)
	}
	for range 4 {
		if resp, _ := do(t, c, http.MethodGet, gw.URL+"/ch11/player/list/all", "", nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET: %s, want it retried on the good instance", resp.Status)
		}
	}
	var retried bool
	for _, e := range gw.accessLog(t) {
		if e["method"] == "GET" && strings.Contains(e["upstream_addr"].(string), ", ") {
			retried = true
		}
	}
	if !retried {
		t.Error("no GET in the access log went to two upstreams")
	}
}
