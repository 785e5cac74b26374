package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestStrictValidation holds the cases of issue #14 that the API used to
// accept or report badly: each answer must name the field and the rule, once.
func TestStrictValidation(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	expect(t, s.do(t, "POST", "/ch11/official/add", officialBody(1)), 201)
	expect(t, s.do(t, "POST", "/ch11/game/add", gameBody(1, 1)), 201)
	expect(t, s.do(t, "POST", "/ch11/player/add", playerBody(1)), 201)

	with := func(b map[string]any, k string, v any) map[string]any { b[k] = v; return b }
	tests := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		// want are the problem's entries as "location: message part"; no
		// other entry may appear.
		want []string
	}{
		{"name of only spaces", "POST", "/ch11/player/add", with(playerBody(2), "fname", "   "), 422,
			[]string{"body.fname: not a space"}},
		{"patched name of only spaces", "PATCH", "/ch11/official/update/1", map[string]any{"lname": " \t"}, 422,
			[]string{"body.lname: not a space"}},
		{"age contradicts birthday", "POST", "/ch11/official/add", with(with(officialBody(2), "age", 45), "birthday", "2003-05-10"), 422,
			[]string{"body.age: must agree with birthday 2003-05-10"}},
		{"duplicated key", "POST", "/ch11/player/add",
			`{"player_id": 3, "player_id": 4, "fname": "Ann", "lname": "Lee", "age": 20, "birthday": "2004-01-02", "date_started": "2020-05-01"}`, 422,
			[]string{"body.player_id: duplicated key"}},
		{"null lname", "PATCH", "/ch11/official/update/1", `{"lname": null}`, 422, []string{"body.lname: not nullable"}},
		{"null officials", "PATCH", "/ch11/game/update/1", `{"officials": null}`, 422, []string{"body.officials: not nullable"}},
		{"missing birthday reported once", "POST", "/ch11/player/add", func() map[string]any { b := playerBody(5); delete(b, "birthday"); return b }(), 422,
			[]string{"body: required property birthday"}},
		{"bad date reported once", "POST", "/ch11/player/add", with(playerBody(5), "birthday", "0679-39-01"), 422,
			[]string{"body.birthday: ISO 8601 calendar date"}},
		{"not JSON: one parse error", "POST", "/ch11/player/add", `{"player_id": 1,`, 400, []string{"body: unexpected end of JSON"}},
		{"id bound written as an integer", "GET", "/ch11/player/get/9007199254740992", nil, 422, []string{"path.id: <= 9007199254740991"}},
		{"body bound written as an integer", "POST", "/ch11/player/add", with(playerBody(9007199254740992), "player_id", 9007199254740992), 422,
			[]string{"body.player_id: <= 9007199254740991"}},
		// accepted
		{"integer-valued number", "POST", "/ch11/login/add", `{"login_id": 236687.0, "username": "newbie", "password": "long-enough"}`, 201, nil},
		{"exponent integer", "POST", "/ch11/game/add", `{"game_id": 2e0, "name": "Cup", "date_start": "2024-06-01", "date_end": "2024-06-02", "officials": [1.0]}`, 201, nil},
		{"null game_id stays allowed", "PATCH", "/ch11/player/update/1", `{"game_id": null}`, 200, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, tt.method, tt.path, tt.body)
			expect(t, r, tt.status)
			if tt.status < 400 {
				return
			}
			var p struct {
				Errors []struct{ Location, Message string }
			}
			if err := json.Unmarshal(r.Body, &p); err != nil {
				t.Fatalf("problem: %v: %s", err, r.Body)
			}
			if len(p.Errors) != len(tt.want) {
				t.Errorf("%d entries, want %d (%q): %s", len(p.Errors), len(tt.want), tt.want, r.Body)
			}
			for i, w := range tt.want {
				loc, msg, _ := strings.Cut(w, ": ")
				if i >= len(p.Errors) || p.Errors[i].Location != loc || !strings.Contains(p.Errors[i].Message, msg) {
					t.Errorf("entry %d: want %s: ...%s...; got %s", i, loc, msg, r.Body)
				}
			}
			if bytes.Contains(r.Body, []byte("e+15")) {
				t.Errorf("a bound in float notation: %s", r.Body)
			}
		})
	}
	_ = http.StatusOK
}
