package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestEveryErrorIsAProblem: the service's 404s and 405s, and the legacy
// mounts' plain-text errors, are RFC 9457 problem documents naming what went
// wrong (the README lists the exceptions: the admin site's HTML pages and the
// Django-style slash redirects).
func TestEveryErrorIsAProblem(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	tests := []struct {
		method, path string
		status       int
		detail       string
	}{
		{"GET", "/nothing", 404, "no route for /nothing"},
		{"GET", "/ch11/nothing", 404, "no route for /ch11/nothing"},
		{"GET", "/ch11/player/list/all/", 404, "try /ch11/player/list/all"},
		{"POST", "/ch11/player/add/", 404, "try /ch11/player/add"},
		{"PUT", "/ch11/player/add", 405, "PUT is not allowed"},
		{"DELETE", "/health", 405, "DELETE is not allowed"},
		{"GET", "/ch11/flask/nothing", 404, "no route for /ch11/flask/nothing"},
		{"POST", "/static/admin.css", 405, "method not allowed"},
		{"GET", "/static/nothing.css", 404, "/static/nothing.css"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := s.do(t, tt.method, tt.path, nil)
			expect(t, r, tt.status)
			var p struct {
				Status int    `json:"status"`
				Title  string `json:"title"`
				Detail string `json:"detail"`
			}
			if err := json.Unmarshal(r.Body, &p); err != nil || p.Status != tt.status || p.Title != http.StatusText(tt.status) ||
				!strings.Contains(p.Detail, tt.detail) {
				t.Errorf("body %s (%v), want a problem with status %d and detail containing %q", r.Body, err, tt.status, tt.detail)
			}
		})
	}
}
