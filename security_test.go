package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// specOperation is one operation of the service's own OpenAPI document, with
// its path parameters filled in.
type specOperation struct {
	Method, Template, Path string
	HasBody                bool
	// Open: the operation's own security is "no token" (the legacy mounts,
	// documented in the spec but exempt from API_TOKEN).
	Open bool
}

func (o specOperation) String() string { return o.Method + " " + o.Template }

// specOperations lists every operation that /openapi.json declares.
func specOperations(t *testing.T, s *testService) []specOperation {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody *struct{}          `json:"requestBody"`
			Security    []map[string][]any `json:"security"`
		} `json:"paths"`
	}
	s.do(t, "GET", "/openapi.json", nil).JSON(t, &doc)
	fill := strings.NewReplacer("{id}", "1", "{app}", "SPORTS_SERVICE")
	var ops []specOperation
	for path, methods := range doc.Paths {
		for method, op := range methods {
			open := len(op.Security) > 0
			for _, req := range op.Security {
				open = open && len(req) == 0
			}
			ops = append(ops, specOperation{Method: strings.ToUpper(method), Template: path, Path: fill.Replace(path), HasBody: op.RequestBody != nil, Open: open})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].String() < ops[j].String() })
	if len(ops) < 20 {
		t.Fatalf("the OpenAPI document lists %d operations; expected the whole API", len(ops))
	}
	return ops
}

const (
	securityToken = "security-test-token-0123456789"
	allowedOrigin = "https://app.example"
)

// TestSecurityAcrossTheSpec walks every operation of the OpenAPI document on
// a service with API_TOKEN and CORS_ALLOWED_ORIGINS set:
//   - a password in the query string is refused with 400, whatever the case
//     of the key, before authentication or the handler see it;
//   - every /ch11 operation refuses a missing or wrong token with 401 and
//     WWW-Authenticate, and the others need none;
//   - every response carries the security headers, errors included.
func TestSecurityAcrossTheSpec(t *testing.T) {
	s := startService(t, map[string]string{"API_TOKEN": securityToken, "CORS_ALLOWED_ORIGINS": allowedOrigin})
	ops := specOperations(t, s)
	auth := []string{"Authorization", "Bearer " + securityToken}
	var protected int
	for _, op := range ops {
		t.Run(op.String(), func(t *testing.T) {
			for _, key := range []string{"password", "new_password", "PassWord"} {
				r := s.do(t, op.Method, op.Path+"?"+key+"=x", nil, auth...)
				expect(t, r, http.StatusBadRequest, "not accepted in the URL")
				assertSecurityHeaders(t, r)
			}
			if !strings.HasPrefix(op.Template, "/ch11/") || op.Open {
				if r := s.do(t, op.Method, op.Path, nil); r.Status == http.StatusUnauthorized {
					t.Errorf("needs a token outside /ch11: %d", r.Status)
				}
				return
			}
			protected++
			for _, header := range [][]string{nil, {"Authorization", "Bearer wrong-token"}, {"Authorization", securityToken}} {
				r := s.do(t, op.Method, op.Path, nil, header...)
				expect(t, r, http.StatusUnauthorized, "bearer token")
				if r.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				assertSecurityHeaders(t, r)
			}
			// With the token the operation is reached (whatever it then
			// answers without a body), and still carries the headers.
			r := s.do(t, op.Method, op.Path, nil, auth...)
			if r.Status == http.StatusUnauthorized {
				t.Errorf("refused with the right token: %s", r.Body)
			}
			assertSecurityHeaders(t, r)
		})
	}
	t.Logf("FIGURE: %d operations in the spec, %d protected by the token; password-in-URL refused on all", len(ops), protected)

	// Responses from outside the API framework carry the headers too.
	for _, c := range []struct{ method, path string }{
		{"GET", "/no/such/route"}, {"PUT", "/ch11/player/add"}, {"GET", "/docs"}, {"GET", "/ch11/flask/index"},
	} {
		assertSecurityHeaders(t, s.do(t, c.method, c.path, nil, auth...))
	}
}

func assertSecurityHeaders(t *testing.T, r response) {
	t.Helper()
	want := map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'self'",
		"Referrer-Policy":         "no-referrer",
	}
	for h, v := range want {
		if got := r.Header.Get(h); !strings.Contains(got, v) {
			t.Errorf("%s = %q, want it to contain %q (status %d)", h, got, v, r.Status)
		}
	}
}

// TestCORSThroughConfiguration: CORS is off unless CORS_ALLOWED_ORIGINS lists
// the origin; a preflight from a listed origin is answered 204 with the
// methods and headers the API uses, even when API_TOKEN is set (browsers send
// preflights without credentials).
func TestCORSThroughConfiguration(t *testing.T) {
	off := startService(t, nil)
	on := startService(t, map[string]string{"API_TOKEN": securityToken, "CORS_ALLOWED_ORIGINS": allowedOrigin + ",https://other.example"})
	preflight := []string{"Origin", allowedOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type"}

	r := off.do(t, "OPTIONS", "/ch11/player/add", nil, preflight...)
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("CORS off by default, but a preflight got Allow-Origin %q", got)
	}
	if got := off.do(t, "GET", "/health/live", nil, "Origin", allowedOrigin).Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("CORS off by default, but a request got Allow-Origin %q", got)
	}

	r = on.do(t, "OPTIONS", "/ch11/player/add", nil, preflight...)
	if r.Status != http.StatusNoContent {
		t.Errorf("preflight from a listed origin: status %d, want 204", r.Status)
	}
	checks := map[string]string{
		"Access-Control-Allow-Origin":  allowedOrigin,
		"Access-Control-Allow-Methods": "POST",
		"Access-Control-Allow-Headers": "Authorization",
		"Access-Control-Max-Age":       "600",
		"Vary":                         "Origin",
	}
	for h, v := range checks {
		if got := r.Header.Get(h); !strings.Contains(got, v) {
			t.Errorf("preflight %s = %q, want it to contain %q", h, got, v)
		}
	}
	r = on.do(t, "GET", "/ch11/player/list/all", nil, "Origin", allowedOrigin, "Authorization", "Bearer "+securityToken)
	if r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != allowedOrigin ||
		!strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "X-Request-ID") {
		t.Errorf("request from a listed origin: %d, headers %v", r.Status, r.Header)
	}
	r = on.do(t, "OPTIONS", "/ch11/player/add", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("an unlisted origin got Allow-Origin %q", got)
	}
}

// TestOversizedBodyRefusedBeforeItIsSent: a client declares a 1 GiB body on
// every operation that takes one, sends only the headers, and waits: the 413
// arrives without the body being read, and the connection is closed.
func TestOversizedBodyRefusedBeforeItIsSent(t *testing.T) {
	s := startService(t, nil)
	addr := strings.TrimPrefix(s.URL, "http://")
	for _, op := range specOperations(t, s) {
		if !op.HasBody {
			continue
		}
		t.Run(op.String(), func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			start := time.Now()
			fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", op.Method, op.Path, 1<<30)
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer while the body is withheld: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
				t.Errorf("status %d (close %v), want 413 and the connection closed: %s", resp.StatusCode, resp.Close, body)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("the 413 took %v", took)
			}
		})
	}
}

// TestHostileJSONRejectedCheaply sends bodies built to cost a parser time or
// memory, each within BODY_LIMIT: each is refused with a 4xx problem quickly
// and without the service allocating much more than the body's size.
func TestHostileJSONRejectedCheaply(t *testing.T) {
	s := startService(t, nil)
	const size = 1000 * 1000 // under the default BODY_LIMIT of 1 MiB
	tests := []struct {
		name, path, body string
	}{
		{"100k nested arrays", "/ch11/game/add", strings.Repeat("[", 100000)},
		{"100k nested objects", "/ch11/game/add", strings.Repeat(`{"a":`, 100000)},
		{"nested arrays in a field", "/ch11/game/add", `{"officials":` + strings.Repeat("[", 100000)},
		{"huge array of ids", "/ch11/game/add", `{"game_id":1,"name":"x","date_start":"2024-01-01","date_end":"2024-01-02","officials":[` +
			strings.TrimSuffix(strings.Repeat("1,", size/2-100), ",") + `]}`},
		{"huge array of objects", "/ch11/game/add", `{"officials":[` + strings.TrimSuffix(strings.Repeat("{},", size/3-100), ",") + `]}`},
		{"huge string", "/ch11/player/add", `{"player_id":1,"fname":"` + strings.Repeat("a", size-100) + `"}`},
		{"many unknown keys", "/ch11/official/add", "{" + manyKeys(size/12) + "}"},
		{"huge number", "/ch11/player/add", `{"player_id":` + strings.Repeat("9", size-100) + `}`},
		{"huge password", "/ch11/login/verify", `{"username":"someone","password":"` + strings.Repeat("p", size-100) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			r := s.do(t, "POST", tt.path, tt.body)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			allocated := after.TotalAlloc - before.TotalAlloc
			t.Logf("FIGURE: %s (%d bytes): %d in %v, %d MiB allocated in the process, %d-byte answer",
				tt.name, len(tt.body), r.Status, took.Round(time.Millisecond), allocated>>20, len(r.Body))
			if r.Status < 400 || r.Status >= 500 {
				t.Errorf("status %d, want a 4xx: %.200s", r.Status, r.Body)
			}
			expect(t, r, r.Status)
			if took > 5*time.Second {
				t.Errorf("took %v", took)
			}
			// Linear, not explosive: the framework decodes the body into
			// generic values to validate it (a 1 MB list of {} costs about
			// 260 MB) before the rules run. The test's own request and
			// response are in the count too.
			if limit := uint64(300 * len(tt.body)); allocated > max(limit, 64<<20) {
				t.Errorf("%d MiB allocated for a %d-byte body", allocated>>20, len(tt.body))
			}
			// An answer may echo a value the client sent, no more: it is
			// never larger than the body plus a few details.
			if len(r.Body) > len(tt.body)+64<<10 {
				t.Errorf("a %d-byte problem document for a %d-byte body: the details are not bounded", len(r.Body), len(tt.body))
			}
			if tt.name == "huge password" && strings.Contains(string(r.Body), "pppppppp") {
				t.Error("the password was echoed back")
			}
		})
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":1`, i)
	}
	return b.String()
}
