package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestEveryEndpoint exercises each operation and its error paths over HTTP.
func TestEveryEndpoint(t *testing.T) {
	s := startService(t, nil)

	steps := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		want   []string
	}{
		// logins
		{"add login", "POST", "/ch11/login/add", map[string]any{"login_id": 1, "username": "alice", "password": "s3cret-pass"}, 201, []string{`"username":"alice"`}},
		{"login id taken", "POST", "/ch11/login/add", map[string]any{"login_id": 1, "username": "bob", "password": "s3cret-pass"}, 409, []string{"login_id"}},
		{"username taken", "POST", "/ch11/login/add", map[string]any{"login_id": 2, "username": "alice", "password": "s3cret-pass"}, 409, []string{"username"}},
		{"short password", "POST", "/ch11/login/add", map[string]any{"login_id": 3, "username": "carol", "password": "short"}, 422, []string{"body.password", ">= 8"}},
		{"short username", "POST", "/ch11/login/add", map[string]any{"login_id": 3, "username": "ca", "password": "long enough"}, 422, []string{"body.username"}},
		{"get login", "GET", "/ch11/login/get/1", nil, 200, []string{`"login_id":1`}},
		{"missing login", "GET", "/ch11/login/get/42", nil, 404, []string{"login 42 not found"}},
		{"list logins", "GET", "/ch11/login/list/all", nil, 200, []string{`"alice"`}},
		{"verify ok", "POST", "/ch11/login/verify", map[string]any{"username": "alice", "password": "s3cret-pass"}, 200, []string{`"login_id":1`}},
		{"verify wrong", "POST", "/ch11/login/verify", map[string]any{"username": "alice", "password": "wrong-pass"}, 401, nil},
		{"verify unknown", "POST", "/ch11/login/verify", map[string]any{"username": "nobody", "password": "wrong-pass"}, 401, nil},
		{"change password wrong current", "PATCH", "/ch11/login/update", map[string]any{"username": "alice", "password": "nope-nope", "new_password": "another-pass"}, 401, nil},
		{"change password", "PATCH", "/ch11/login/update", map[string]any{"username": "alice", "password": "s3cret-pass", "new_password": "another-pass"}, 200, nil},
		{"verify new password", "POST", "/ch11/login/verify", map[string]any{"username": "alice", "password": "another-pass"}, 200, nil},
		{"old password refused", "POST", "/ch11/login/verify", map[string]any{"username": "alice", "password": "s3cret-pass"}, 401, nil},
		{"password in query", "PATCH", "/ch11/login/update?username=alice&new_password=x", nil, 400, []string{"JSON request body"}},
		{"delete login", "DELETE", "/ch11/login/delete/1", nil, 200, []string{"login 1 deleted"}},
		{"delete login again", "DELETE", "/ch11/login/delete/1", nil, 404, nil},

		// officials
		{"add official", "POST", "/ch11/official/add", officialBody(7), 201, []string{`"official_id":7`, `"birthday":"1984-03-04"`}},
		{"official date-time at midnight", "POST", "/ch11/official/add", func() map[string]any {
			b := officialBody(8)
			b["birthday"] = "1984-03-04T00:00:00"
			return b
		}(), 201, []string{`"birthday":"1984-03-04"`}},
		{"official duplicate", "POST", "/ch11/official/add", officialBody(7), 409, []string{"official_id"}},
		{"official bad fields", "POST", "/ch11/official/add", map[string]any{"official_id": 9, "fname": "X", "lname": "Y", "age": 0,
			"birthday": "2999-01-01", "date_started": "not-a-date", "nickname": "z"}, 422,
			[]string{"body.age", "body.birthday", "body.date_started", "body.nickname"}},
		{"official missing fields", "POST", "/ch11/official/add", map[string]any{"official_id": 9}, 422, []string{"fname", "required"}},
		{"official impossible date", "POST", "/ch11/official/add", func() map[string]any {
			b := officialBody(9)
			b["birthday"] = "1984-02-30"
			return b
		}(), 422, []string{"body.birthday", "ISO 8601 calendar date"}},
		{"official started before born", "POST", "/ch11/official/add", func() map[string]any {
			b := officialBody(9)
			b["date_started"] = "1980-01-01"
			return b
		}(), 422, []string{"body.date_started", "before birthday"}},
		{"get official", "GET", "/ch11/official/get/7", nil, 200, []string{`"fname":"Rita"`}},
		{"update official", "PATCH", "/ch11/official/update/7", map[string]any{"lname": "Referee", "age": 41}, 200, []string{`"lname":"Referee"`, `"age":41`, `"fname":"Rita"`}},
		{"update official breaks a rule", "PATCH", "/ch11/official/update/7", map[string]any{"birthday": "2010-01-01"}, 422, []string{"body.date_started", "before birthday"}},
		{"update missing official", "PATCH", "/ch11/official/update/99", map[string]any{"age": 30}, 404, nil},
		{"list officials", "GET", "/ch11/official/list/all", nil, 200, []string{`"official_id":7`, `"official_id":8`}},

		// games
		{"game with missing official", "POST", "/ch11/game/add", gameBody(3, 7, 99), 422, []string{"body.officials[1]", "official 99 does not exist"}},
		{"game with official id 0", "POST", "/ch11/game/add", gameBody(3, 0, 7), 422, []string{"body.officials[0]", ">= 1"}},
		{"game update with official id 0", "PATCH", "/ch11/game/update/3", map[string]any{"officials": []int{0}}, 422, []string{"body.officials[0]", ">= 1"}},
		{"game ends before start", "POST", "/ch11/game/add", func() map[string]any {
			b := gameBody(3, 7)
			b["date_end"] = "2024-05-01"
			return b
		}(), 422, []string{"body.date_end"}},
		{"add game", "POST", "/ch11/game/add", gameBody(3, 7), 201, []string{`"officials":[7]`}},
		{"get game", "GET", "/ch11/game/get/3", nil, 200, []string{`"name":"Final"`}},
		{"update game", "PATCH", "/ch11/game/update/3", map[string]any{"name": "Semi-final", "officials": []int{7, 8}}, 200, []string{`"officials":[7,8]`}},
		{"list games", "GET", "/ch11/game/list/all", nil, 200, []string{`"game_id":3`}},

		// players
		{"add player", "POST", "/ch11/player/add", playerBody(1), 201, []string{`"player_id":1`, `"game_id":null`}},
		{"player with missing game", "POST", "/ch11/player/add", func() map[string]any {
			b := playerBody(2)
			b["game_id"] = 77
			return b
		}(), 422, []string{"body.game_id", "game 77 does not exist"}},
		{"player in game", "POST", "/ch11/player/add", func() map[string]any {
			b := playerBody(2)
			b["game_id"] = 3
			return b
		}(), 201, []string{`"game_id":3`}},
		{"player duplicate", "POST", "/ch11/player/add", playerBody(1), 409, []string{"player_id"}},
		{"get player", "GET", "/ch11/player/get/2", nil, 200, []string{`"game_id":3`}},
		{"update player", "PATCH", "/ch11/player/update/1", map[string]any{"age": 21, "game_id": 3}, 200, []string{`"age":21`, `"game_id":3`}},
		{"patch keeps an absent game_id", "PATCH", "/ch11/player/update/1", map[string]any{"age": 22}, 200, []string{`"game_id":3`}},
		{"null removes the game", "PATCH", "/ch11/player/update/1", map[string]any{"game_id": nil}, 200, []string{`"game_id":null`}},
		{"game set again", "PATCH", "/ch11/player/update/1", map[string]any{"game_id": 3}, 200, []string{`"game_id":3`}},
		{"update player to missing game", "PATCH", "/ch11/player/update/1", map[string]any{"game_id": 5}, 422, []string{"game 5 does not exist"}},
		{"list players", "GET", "/ch11/player/list/all", nil, 200, []string{`"player_id":1`, `"player_id":2`}},

		// references block deletes
		{"delete game in use", "DELETE", "/ch11/game/delete/3", nil, 409, []string{"player 1", "player 2"}},
		{"delete official in game", "DELETE", "/ch11/official/delete/7", nil, 409, []string{"game 3"}},
		{"delete official not in game", "DELETE", "/ch11/official/delete/99", nil, 404, nil},
		{"delete players", "DELETE", "/ch11/player/delete/1", nil, 200, nil},
		{"delete player 2", "DELETE", "/ch11/player/delete/2", nil, 200, nil},
		{"delete game", "DELETE", "/ch11/game/delete/3", nil, 200, []string{"game 3 deleted"}},
		{"delete official", "DELETE", "/ch11/official/delete/7", nil, 200, nil},
		{"get deleted player", "GET", "/ch11/player/get/1", nil, 404, []string{"player 1 not found"}},

		// malformed input
		{"malformed JSON", "POST", "/ch11/player/add", `{"player_id": 1,`, 400, nil},
		{"wrong type", "POST", "/ch11/player/add", `{"player_id": "one"}`, 422, []string{"body.player_id"}},
		{"id out of range", "GET", "/ch11/player/get/0", nil, 422, []string{"path.id"}},
		{"id not a number", "GET", "/ch11/player/get/abc", nil, 422, []string{"path.id"}},
		{"limit out of range", "GET", "/ch11/player/list/all?limit=5000", nil, 422, []string{"query.limit"}},
		{"unknown route", "GET", "/ch11/nothing", nil, 404, nil},
		{"wrong method", "PUT", "/ch11/player/add", nil, 405, nil},

		// operations
		{"live", "GET", "/health/live", nil, 200, []string{`"status":"UP"`}},
		{"ready", "GET", "/health/ready", nil, 200, []string{`"database"`}},
		{"health", "GET", "/health", nil, 200, []string{`"components"`}},
		{"info", "GET", "/info", nil, 200, []string{`"go_version"`, `"start_time"`}},
		{"openapi", "GET", "/openapi.json", nil, 200, []string{`"openapi":"3.1.0"`}},
		{"docs", "GET", "/docs", nil, 200, []string{"swagger-ui"}},
		{"docs asset", "GET", "/docs/swagger-ui-bundle.js", nil, 200, nil},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := s.do(t, st.method, st.path, st.body)
			expect(t, r, st.status, st.want...)
		})
	}
}

func TestKeysetPagination(t *testing.T) {
	s := startService(t, nil)
	for _, id := range []int64{40, 10, 30, 20, 50} {
		expect(t, s.do(t, "POST", "/ch11/player/add", playerBody(id)), 201)
	}
	var got []int64
	after := int64(0)
	for page := 0; page < 5; page++ {
		var players []struct {
			PlayerID int64 `json:"player_id"`
		}
		s.do(t, "GET", fmt.Sprintf("/ch11/player/list/all?limit=2&after=%d", after), nil).JSON(t, &players)
		if len(players) == 0 {
			break
		}
		for _, p := range players {
			got = append(got, p.PlayerID)
		}
		after = players[len(players)-1].PlayerID
	}
	if fmt.Sprint(got) != "[10 20 30 40 50]" {
		t.Errorf("pages gave %v, want [10 20 30 40 50]", got)
	}
}

func TestBodyLimit(t *testing.T) {
	s := startService(t, map[string]string{"BODY_LIMIT": "2048"})
	big := `{"player_id":1,"fname":"` + strings.Repeat("a", 4096) + `"}`
	const tooLarge = "the request body exceeds the limit of 2048 bytes"
	expect(t, s.do(t, "POST", "/ch11/player/add", big), http.StatusRequestEntityTooLarge, tooLarge)

	// Without a Content-Length (chunked), the framework stops reading at the limit.
	req, _ := http.NewRequest("POST", s.URL+"/ch11/player/add", strings.NewReader(big))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), tooLarge) {
		t.Errorf("chunked oversized body: status %d %s, want 413 %q (one text, one limit)", resp.StatusCode, body, tooLarge)
	}
}

func TestAPIToken(t *testing.T) {
	const token = "test-token-0123456789"
	s := startService(t, map[string]string{"API_TOKEN": token})
	tests := []struct {
		name   string
		path   string
		auth   string
		status int
	}{
		{"no token", "/ch11/player/list/all", "", 401},
		{"wrong token", "/ch11/player/list/all", "Bearer nope", 401},
		{"not bearer", "/ch11/player/list/all", token, 401},
		{"right token", "/ch11/player/list/all", "Bearer " + token, 200},
		{"health needs none", "/health/ready", "", 200},
		{"docs need none", "/openapi.json", "", 200},
	}
	s.awaitReady(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r response
			if tt.auth == "" {
				r = s.do(t, "GET", tt.path, nil)
			} else {
				r = s.do(t, "GET", tt.path, nil, "Authorization", tt.auth)
			}
			expect(t, r, tt.status)
		})
	}
	if !strings.Contains(startService(t, nil).Logs.String(), "AUTH_ENABLED is false and API_TOKEN is not set") {
		t.Error("no warning logged when AUTH_ENABLED and API_TOKEN are unset")
	}
}

func TestRequestIDAndSecurityHeaders(t *testing.T) {
	s := startService(t, nil)
	r := s.do(t, "GET", "/health/live", nil, "X-Request-ID", "abc-123")
	if got := r.Header.Get("X-Request-ID"); got != "abc-123" {
		t.Errorf("X-Request-ID echoed as %q, want abc-123", got)
	}
	r = s.do(t, "GET", "/health/live", nil, "X-Request-ID", "bad id with spaces")
	if got := r.Header.Get("X-Request-ID"); len(got) != 32 {
		t.Errorf("an invalid request id was not replaced: %q", got)
	}
	for _, h := range []string{"X-Content-Type-Options", "Content-Security-Policy", "Referrer-Policy"} {
		if r.Header.Get(h) == "" {
			t.Errorf("missing security header %s", h)
		}
	}
	if !strings.Contains(s.logsSoFar(t), `"request_id":"abc-123"`) {
		t.Error("the access log does not carry the request id")
	}
}

// TestLegacyMounts: the seed's URLs answer through the full router, with the
// same middleware as the API.
func TestLegacyMounts(t *testing.T) {
	s := startService(t, map[string]string{"API_TOKEN": "token-for-the-api-only"})
	tests := []struct {
		path     string
		status   int
		want     string
		location string
	}{
		{"/ch11/flask/index", 200, "flask integration", ""},
		{"/ch11/django/index/", 200, "django integration", ""},
		{"/ch11/django/index", 301, "", "/ch11/django/index/"},
		{"/ch11/django/admin/", 303, "", "/ch11/django/admin/login/"},
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := client.Get(s.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body := new(strings.Builder)
			_, _ = io.Copy(body, resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(body.String(), tt.want) ||
				!strings.HasPrefix(resp.Header.Get("Location"), tt.location) {
				t.Errorf("%d %q (Location %q); want %d containing %q, Location %q",
					resp.StatusCode, body, resp.Header.Get("Location"), tt.status, tt.want, tt.location)
			}
			if resp.Header.Get("X-Request-ID") == "" {
				t.Error("the mount did not go through the request-id middleware")
			}
		})
	}
	if !strings.Contains(s.logsSoFar(t), `"route":"/ch11/flask/*path"`) {
		t.Error("the access log does not name the flask mount's route")
	}
}
