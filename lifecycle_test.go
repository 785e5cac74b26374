package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/osms/sports-service/config"
	"github.com/osms/sports-service/models"
)

// TestFastAPIClientReplay sends what a client of the FastAPI original sends,
// in its order, and checks that each call still succeeds.
func TestFastAPIClientReplay(t *testing.T) {
	s := startService(t, nil)
	// The original's clients sent datetimes (Python's isoformat of a date
	// stored as datetime) and no game_id for free players.
	calls := []struct {
		method, path string
		body         string
		status       int
	}{
		{"POST", "/ch11/login/add", `{"login_id": 101, "username": "sjctrags", "password": "sjctrags1234"}`, 201},
		{"POST", "/ch11/player/add", `{"player_id": 1, "fname": "Juan", "lname": "Luna", "age": 30, "birthday": "1992-10-01T00:00:00", "date_started": "2010-06-15T00:00:00"}`, 201},
		{"POST", "/ch11/player/add", `{"player_id": 2, "fname": "Jose", "lname": "Rizal", "age": 28, "birthday": "1994-06-19", "date_started": "2012-01-01", "game_id": null}`, 201},
		{"POST", "/ch11/official/add", `{"official_id": 1, "fname": "Andres", "lname": "Bonifacio", "age": 45, "birthday": "1977-11-30T00:00:00", "date_started": "2000-01-01T00:00:00"}`, 201},
		{"GET", "/ch11/login/list/all", "", 200},
		{"GET", "/ch11/player/list/all", "", 200},
		{"GET", "/ch11/official/list/all", "", 200},
		{"GET", "/ch11/login/get/101", "", 200},
	}
	for _, c := range calls {
		var body any
		if c.body != "" {
			body = c.body
		}
		r := s.do(t, c.method, c.path, body)
		if r.Status != c.status {
			t.Fatalf("%s %s: status %d, want %d: %s", c.method, c.path, r.Status, c.status, r.Body)
		}
	}
	var logins []map[string]any
	s.do(t, "GET", "/ch11/login/list/all", nil).JSON(t, &logins)
	if len(logins) != 1 || logins[0]["username"] != "sjctrags" {
		t.Fatalf("logins: %v", logins)
	}
	if _, leaked := logins[0]["password"]; leaked {
		t.Error("the login list returns the password, as the original did")
	}
	var players []map[string]any
	s.do(t, "GET", "/ch11/player/list/all", nil).JSON(t, &players)
	if len(players) != 2 || players[0]["birthday"] != "1992-10-01" || players[0]["fname"] != "Juan" {
		t.Errorf("players: %v", players)
	}
}

// TestConcurrentCreates: 50 distinct players from 50 goroutines, and a few
// racing on the same ids; each stored once, each loser told 409.
func TestConcurrentCreates(t *testing.T) {
	s := startService(t, nil)
	var wg sync.WaitGroup
	statuses := make([]int, 60)
	for i := range statuses {
		id := int64(i%50 + 1) // ids 1..10 are raced by two goroutines
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = s.do(t, "POST", "/ch11/player/add", playerBody(id)).Status
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, st := range statuses {
		count[st]++
	}
	if count[201] != 50 || count[409] != 10 {
		t.Errorf("statuses %v, want 50×201 and 10×409", count)
	}
	var players []models.Player
	s.do(t, "GET", "/ch11/player/list/all", nil).JSON(t, &players)
	seen := map[int64]bool{}
	for _, p := range players {
		if seen[p.PlayerID] {
			t.Errorf("player %d listed twice", p.PlayerID)
		}
		seen[p.PlayerID] = true
	}
	if len(seen) != 50 {
		t.Errorf("%d players stored, want 50", len(seen))
	}
}

// TestDataSurvivesRestart stops the service and starts it on the same data dir.
func TestDataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := startService(t, map[string]string{"DATA_DIR": dir})
	expect(t, s.do(t, "POST", "/ch11/player/add", playerBody(5)), 201)
	expect(t, s.do(t, "POST", "/ch11/login/add", map[string]any{"login_id": 1, "username": "keeper", "password": "persisted-pw"}), 201)
	s.Stop(t)

	s2 := startService(t, map[string]string{"DATA_DIR": dir})
	expect(t, s2.do(t, "GET", "/ch11/player/get/5", nil), 200, `"player_id":5`)
	expect(t, s2.do(t, "POST", "/ch11/login/verify", map[string]any{"username": "keeper", "password": "persisted-pw"}), 200)
	expect(t, s2.do(t, "POST", "/ch11/player/add", playerBody(5)), 409)
}

// TestDatabaseDown points the service at a port where nothing listens: every
// database call answers 503 within the configured timeout, never hangs.
func TestDatabaseDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := startService(t, map[string]string{
		"MONGODB_URI": "mongodb://" + addr + "/?directConnection=true", "DB_TIMEOUT": "300ms", "READY_TIMEOUT": "300ms",
	})
	for _, c := range []struct{ method, path string }{
		{"GET", "/ch11/player/get/1"}, {"GET", "/ch11/player/list/all"}, {"DELETE", "/ch11/game/delete/1"},
	} {
		start := time.Now()
		r := s.do(t, c.method, c.path, nil)
		expect(t, r, http.StatusServiceUnavailable, "retry later")
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("%s %s took %v: the timeout did not bound it", c.method, c.path, took)
		}
	}
	r := s.do(t, "GET", "/health/ready", nil)
	if r.Status != http.StatusServiceUnavailable || !bytes.Contains(r.Body, []byte(`"DOWN"`)) {
		t.Errorf("ready: %d %s, want 503 with the database DOWN", r.Status, r.Body)
	}
	expect(t, s.do(t, "GET", "/health/live", nil), 200)
	if strings.Contains(s.logsSoFar(t), "goroutine ") {
		t.Error("a stack trace reached the logs")
	}
}

// TestSecretsNeverLeak scans every response and the whole log for the
// passwords used and for anything that looks like a stored hash.
func TestSecretsNeverLeak(t *testing.T) {
	s := startService(t, nil)
	secrets := []string{"first-Secret-1", "second-Secret-2", "third-Secret-3"}
	var bodies []string
	record := func(r response) { bodies = append(bodies, string(r.Body)) }
	record(s.do(t, "POST", "/ch11/login/add", map[string]any{"login_id": 1, "username": "leaky", "password": secrets[0]}))
	record(s.do(t, "POST", "/ch11/login/add", map[string]any{"login_id": 1, "username": "leaky", "password": secrets[0]}))
	record(s.do(t, "POST", "/ch11/login/add", map[string]any{"login_id": 2, "username": "x", "password": secrets[1], "extra": 1}))
	record(s.do(t, "POST", "/ch11/login/add", `{"login_id": 3, "username": "broken", "password": "`+secrets[1]+`"`))
	record(s.do(t, "PATCH", "/ch11/login/update", map[string]any{"username": "leaky", "password": secrets[0], "new_password": secrets[2]}))
	record(s.do(t, "PATCH", "/ch11/login/update", map[string]any{"username": "leaky", "password": secrets[0], "new_password": "short"}))
	record(s.do(t, "POST", "/ch11/login/verify", map[string]any{"username": "leaky", "password": secrets[2]}))
	record(s.do(t, "POST", "/ch11/login/verify", map[string]any{"username": "leaky", "password": secrets[1]}))
	record(s.do(t, "GET", "/ch11/login/update?password="+secrets[1], nil))
	record(s.do(t, "GET", "/ch11/login/list/all", nil))
	record(s.do(t, "GET", "/ch11/login/get/1", nil))
	assertNoSecrets(t, "a response or the log", strings.Join(bodies, "\n")+s.logsSoFar(t), secrets...)
}

// TestOpenAPIDescribesEveryRoute checks the generated document: every API
// route is there with its error responses, and the documented limits are the
// models' constants.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	s := startService(t, nil)
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Minimum   *float64 `json:"minimum"`
					Maximum   *float64 `json:"maximum"`
					MinLength *int     `json:"minLength"`
					MaxLength *int     `json:"maxLength"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	s.do(t, "GET", "/openapi.json", nil).JSON(t, &doc)
	want := map[string][]string{
		"/ch11/login/add": {"post"}, "/ch11/login/update": {"patch"}, "/ch11/login/verify": {"post"},
		"/ch11/login/delete/{id}": {"delete"}, "/ch11/login/list/all": {"get"}, "/ch11/login/get/{id}": {"get"},
		"/health": {"get"}, "/health/live": {"get"}, "/health/ready": {"get"}, "/info": {"get"},
	}
	for _, kind := range []string{"official", "player", "game"} {
		want["/ch11/"+kind+"/add"] = []string{"post"}
		want["/ch11/"+kind+"/list/all"] = []string{"get"}
		want["/ch11/"+kind+"/get/{id}"] = []string{"get"}
		want["/ch11/"+kind+"/update/{id}"] = []string{"patch"}
		want["/ch11/"+kind+"/delete/{id}"] = []string{"delete"}
	}
	for path, methods := range want {
		for _, m := range methods {
			op, ok := doc.Paths[path][m]
			if !ok {
				t.Errorf("%s %s is not documented", m, path)
				continue
			}
			if strings.HasPrefix(path, "/ch11/") && !bytes.Contains(op, []byte(`"503"`)) {
				t.Errorf("%s %s does not document its 503", m, path)
			}
		}
	}
	schemas := doc.Components.Schemas
	checks := []struct {
		schema, prop string
		got          any
		want         any
	}{
		{"Player", "age", schemas["Player"].Properties["age"].Minimum, float64(models.MinAge)},
		{"Player", "age", schemas["Player"].Properties["age"].Maximum, float64(models.MaxAge)},
		{"Player", "fname", schemas["Player"].Properties["fname"].MaxLength, models.MaxName},
		{"Player", "player_id", schemas["Player"].Properties["player_id"].Maximum, float64(models.MaxID)},
		{"Official", "age", schemas["Official"].Properties["age"].Maximum, float64(models.MaxAge)},
		{"Game", "name", schemas["Game"].Properties["name"].MaxLength, models.MaxGameName},
		{"LoginCreate", "username", schemas["LoginCreate"].Properties["username"].MinLength, models.MinUsername},
		{"LoginCreate", "username", schemas["LoginCreate"].Properties["username"].MaxLength, models.MaxUsername},
		{"LoginCreate", "password", schemas["LoginCreate"].Properties["password"].MinLength, models.MinPassword},
		{"LoginCreate", "password", schemas["LoginCreate"].Properties["password"].MaxLength, models.MaxPassword},
	}
	for _, c := range checks {
		got := fmt.Sprint(c.got)
		switch v := c.got.(type) {
		case *float64:
			if v != nil {
				got = fmt.Sprint(*v)
			}
		case *int:
			if v != nil {
				got = fmt.Sprint(*v)
			}
		}
		if got != fmt.Sprint(c.want) {
			t.Errorf("%s.%s documents %s, the rule says %v", c.schema, c.prop, got, c.want)
		}
	}
}

func TestHealthcheckCommand(t *testing.T) {
	s := startService(t, nil)
	s.awaitReady(t)
	port := s.URL[strings.LastIndex(s.URL, ":")+1:]
	env := map[string]string{"LISTEN_ADDR": ":" + port, "ENV_FILE": os.DevNull}
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer
	if err := run(context.Background(), []string{"sports-service", "healthcheck"}, getenv, &out, &out); err != nil {
		t.Errorf("healthcheck against a ready service: %v", err)
	}
	s.Stop(t)
	if err := run(context.Background(), []string{"sports-service", "healthcheck"}, getenv, &out, &out); err == nil {
		t.Error("healthcheck against a stopped service succeeded")
	}
}

func TestInvalidConfigurationStopsStartUp(t *testing.T) {
	tests := []struct {
		name, value string
	}{
		{"DB_TIMEOUT", "soon"},
		{"BODY_LIMIT", "-1"},
		{"LOG_LEVEL", "loud"},
		{"LISTEN_ADDR", "8000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{tt.name: tt.value, "ENV_FILE": os.DevNull}
			var out bytes.Buffer
			err := run(context.Background(), []string{"sports-service"}, func(k string) string { return env[k] }, &out, &out)
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tt.name) {
				t.Errorf("err = %v, want an invalid-configuration error naming %s", err, tt.name)
			}
		})
	}
}

// TestShutdownFinishesInFlightRequests cancels run's context while a slow
// list is streaming: the request completes, then run returns.
func TestShutdownFinishesInFlightRequests(t *testing.T) {
	s := startService(t, nil)
	for i := range 200 {
		expect(t, s.do(t, "POST", "/ch11/official/add", officialBody(int64(i+1))), 201)
	}
	var wg sync.WaitGroup
	results := make(chan int, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(s.URL + "/ch11/official/list/all")
			if err != nil {
				results <- -1
				return
			}
			defer resp.Body.Close()
			var list []models.Official
			if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list) != 200 {
				results <- -2
				return
			}
			results <- resp.StatusCode
		}()
	}
	time.Sleep(20 * time.Millisecond)
	s.Stop(t)
	wg.Wait()
	close(results)
	for st := range results {
		// A request either completed in full or was refused before it was
		// accepted (connection refused); never cut in the middle.
		if st != 200 && st != -1 {
			t.Errorf("an in-flight request ended with %d", st)
		}
	}
}
