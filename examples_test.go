package main

import (
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestSpecExamples sends every request-body example of /openapi.json, as the
// docs page's "Try it out" does, to a fresh database and expects the
// operation's documented success status: adds first, then the rest, with
// path ids set to 1 (the examples' ids).
func TestSpecExamples(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	var spec struct {
		Paths map[string]map[string]struct {
			OperationID string                     `json:"operationId"`
			Summary     string                     `json:"summary"`
			Responses   map[string]json.RawMessage `json:"responses"`
			RequestBody *struct {
				Content map[string]struct {
					Example any `json:"example"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
	}
	s.do(t, "GET", "/openapi.json", nil).JSON(t, &spec)

	for _, p := range []string{"/ch11/flask/schedule", "/ch11/flask/schedule/games/{game_id}", "/metrics"} {
		if spec.Paths[p] == nil {
			t.Errorf("/openapi.json does not document %s", p)
		}
	}
	type call struct {
		order        int
		method, path string
		body         any
		status       int
		id           string
	}
	var calls []call
	badArticle := regexp.MustCompile(`\ba [aeio]`) // "a username" is right
	for path, ops := range spec.Paths {
		for method, op := range ops {
			if badArticle.MatchString(op.Summary) {
				t.Errorf("%s: summary %q: 'an' before a vowel", op.OperationID, op.Summary)
			}
			if op.RequestBody == nil {
				continue
			}
			ex, ok := op.RequestBody.Content["application/json"]
			if !ok || ex.Example == nil {
				t.Errorf("%s %s (%s) has no request example", method, path, op.OperationID)
				continue
			}
			status := 0
			for code := range op.Responses {
				if n, err := strconv.Atoi(code); err == nil && n >= 200 && n < 300 && (status == 0 || n < status) {
					status = n
				}
			}
			order := 2
			switch {
			case strings.HasPrefix(op.OperationID, "add-"):
				order = 0
			case op.OperationID == "verify-login":
				order = 1
			case op.OperationID == "update-login-password":
				order = 3
			}
			calls = append(calls, call{order, strings.ToUpper(method), strings.ReplaceAll(path, "{id}", "1"), ex.Example, status, op.OperationID})
		}
	}
	sort.Slice(calls, func(i, j int) bool {
		if calls[i].order != calls[j].order {
			return calls[i].order < calls[j].order
		}
		return calls[i].id < calls[j].id
	})
	if len(calls) < 9 {
		t.Errorf("%d operations with a request body, want at least 9", len(calls))
	}
	for _, c := range calls {
		r := s.do(t, c.method, c.path, c.body)
		if r.Status != c.status {
			t.Errorf("%s %s with its example: %d, want %d: %s", c.method, c.path, r.Status, c.status, r.Body)
		}
	}
}
