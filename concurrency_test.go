package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/osms/sports-service/embeddeddb"
	"github.com/osms/sports-service/internal/testenv"
)

// sendAsync is testService.do for goroutines: it returns the error instead of
// failing the test.
func sendAsync(base, method, path string, body any, headers ...string) (response, error) {
	req, err := testenv.NewRequest(method, base+path, body, headers...)
	if err != nil {
		return response{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: data}, err
}

// sharedDatabase starts an embedded FerretDB for several service instances.
func sharedDatabase(t *testing.T) string {
	t.Helper()
	db, err := embeddeddb.Start(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Stop(context.Background()) })
	return db.URI()
}

// TestConditionalRequests walks through ETag, If-None-Match and If-Match on
// one record, and REQUIRE_IF_MATCH.
func TestConditionalRequests(t *testing.T) {
	t.Parallel()
	s := startService(t, nil)
	strict := startService(t, map[string]string{"REQUIRE_IF_MATCH": "true"})

	add := s.do(t, "POST", "/ch11/player/add", playerBody(1))
	expect(t, add, 201)
	tag := add.Header.Get("ETag")
	if !strings.HasPrefix(tag, `"`) || len(tag) < 3 {
		t.Fatalf("add answered ETag %q, want a strong tag", tag)
	}
	get := s.do(t, "GET", "/ch11/player/get/1", nil)
	expect(t, get, 200)
	if got := get.Header.Get("ETag"); got != tag {
		t.Fatalf("get ETag %q, add said %q", got, tag)
	}

	steps := []struct {
		name    string
		method  string
		path    string
		body    any
		headers []string
		status  int
		want    []string
	}{
		{"not modified", "GET", "/ch11/player/get/1", nil, []string{"If-None-Match", tag}, 304, nil},
		{"not modified weak", "GET", "/ch11/player/get/1", nil, []string{"If-None-Match", `"x", W/` + tag}, 304, nil},
		{"modified", "GET", "/ch11/player/get/1", nil, []string{"If-None-Match", `"1"`}, 200, nil},
		{"malformed If-Match", "PATCH", "/ch11/player/update/1", map[string]any{"fname": "Bo"}, []string{"If-Match", "abc"}, 400, []string{"header.If-Match"}},
		{"stale If-Match", "PATCH", "/ch11/player/update/1", map[string]any{"fname": "Bo"}, []string{"If-Match", `"1"`}, 412, []string{"current version", strings.Trim(tag, `"`)}},
		{"weak If-Match never matches", "PATCH", "/ch11/player/update/1", map[string]any{"fname": "Bo"}, []string{"If-Match", "W/" + tag}, 412, []string{strings.Trim(tag, `"`)}},
		{"stale delete", "DELETE", "/ch11/player/delete/1", nil, []string{"If-Match", `"1"`}, 412, []string{strings.Trim(tag, `"`)}},
		{"unchanged after 412", "GET", "/ch11/player/get/1", nil, nil, 200, []string{`"fname":"Ann"`}},
		{"matching If-Match", "PATCH", "/ch11/player/update/1", map[string]any{"fname": "Cy"}, []string{"If-Match", tag}, 200, []string{`"fname":"Cy"`}},
		{"old tag now stale", "PATCH", "/ch11/player/update/1", map[string]any{"fname": "Di"}, []string{"If-Match", tag}, 412, nil},
		{"no If-Match writes", "PATCH", "/ch11/player/update/1", map[string]any{"fname": "Ed"}, nil, 200, []string{`"fname":"Ed"`}},
		{"star matches", "PATCH", "/ch11/player/update/1", map[string]any{"fname": "Flo"}, []string{"If-Match", "*"}, 200, nil},
		// RFC 9110 §13.1.1: no current representation fails If-Match.
		{"missing record, If-Match", "PATCH", "/ch11/player/update/9", map[string]any{"fname": "Flo"}, []string{"If-Match", tag}, 412, []string{"no longer exists"}},
		{"missing record", "PATCH", "/ch11/player/update/9", map[string]any{"fname": "Flo"}, nil, 404, nil},
	}
	for _, st := range steps {
		r := s.do(t, st.method, st.path, st.body, st.headers...)
		if r.Status != st.status {
			t.Fatalf("%s: status %d, want %d: %s", st.name, r.Status, st.status, r.Body)
		}
		if st.status == 304 && (len(r.Body) != 0 || r.Header.Get("ETag") != tag) {
			t.Errorf("%s: 304 with body %q, ETag %q", st.name, r.Body, r.Header.Get("ETag"))
		}
		if st.status == 200 && st.method == "PATCH" {
			if nt := r.Header.Get("ETag"); nt == "" || nt == tag {
				t.Errorf("%s: update answered ETag %q (before: %q)", st.name, nt, tag)
			}
		}
		for _, w := range st.want {
			if !strings.Contains(string(r.Body), w) {
				t.Errorf("%s: body does not mention %q: %s", st.name, w, r.Body)
			}
		}
	}

	expect(t, strict.do(t, "POST", "/ch11/official/add", officialBody(1)), 201)
	expect(t, strict.do(t, "PATCH", "/ch11/official/update/1", map[string]any{"fname": "Al"}), 428, "If-Match")
	expect(t, strict.do(t, "DELETE", "/ch11/official/delete/1", nil), 428, "If-Match")
	cur := strict.do(t, "GET", "/ch11/official/get/1", nil)
	expect(t, strict.do(t, "DELETE", "/ch11/official/delete/1", nil, "If-Match", cur.Header.Get("ETag")), 200)
}

// TestRecordWithoutVersion: a record stored before versions existed is
// version 0 and can be updated conditionally.
func TestRecordWithoutVersion(t *testing.T) {
	t.Parallel()
	uri := sharedDatabase(t)
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(context.Background())
	_, err = client.Database("osms").Collection("official").InsertOne(context.Background(), bson.D{
		{Key: "_id", Value: "5"}, {Key: "official_id", Value: int64(5)}, {Key: "fname", Value: "Old"}, {Key: "lname", Value: "Doc"},
		{Key: "age", Value: 40}, {Key: "birthday", Value: time.Date(1984, 3, 4, 0, 0, 0, 0, time.UTC)},
		{Key: "date_started", Value: time.Date(2005, 1, 1, 0, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	s := startService(t, map[string]string{"MONGODB_URI": uri})
	get := s.do(t, "GET", "/ch11/official/get/5", nil)
	expect(t, get, 200)
	if tag := get.Header.Get("ETag"); tag != `"0"` {
		t.Fatalf("unversioned record has ETag %q, want \"0\"", tag)
	}
	up := s.do(t, "PATCH", "/ch11/official/update/5", map[string]any{"fname": "New"}, "If-Match", `"0"`)
	expect(t, up, 200)
	if tag := up.Header.Get("ETag"); tag != `"1"` {
		t.Fatalf("first versioned write gave ETag %q, want \"1\"", tag)
	}
	expect(t, s.do(t, "PATCH", "/ch11/official/update/5", map[string]any{"fname": "Lost"}, "If-Match", `"0"`), 412, `current version is \"1\"`)
}

// TestConcurrentWritesWithSameETag: N clients write the same record with
// the same ETag at once; exactly one wins, the rest get 412, and the record
// is the winner's. The embedded FerretDB does not make a filtered update
// atomic: this is the test that shows the version claim is needed.
func TestConcurrentWritesWithSameETag(t *testing.T) {
	t.Parallel()
	const clients = 12
	uri := sharedDatabase(t)
	// Two instances on one database: the claim must hold across them.
	services := []*testService{startService(t, map[string]string{"MONGODB_URI": uri}), startService(t, map[string]string{"MONGODB_URI": uri})}
	tests := []struct {
		name    string
		deletes int // how many of the clients delete instead of patching
	}{
		{"patch against patch", 0},
		{"delete against patch", clients / 2},
	}
	for round, tt := range tests {
		id := int64(round + 1)
		expect(t, services[0].do(t, "POST", "/ch11/player/add", playerBody(id)), 201)
		path := fmt.Sprint("/ch11/player/get/", id)
		tag := services[0].do(t, "GET", path, nil).Header.Get("ETag")

		answers := make([]response, clients)
		errs := make([]error, clients)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				base := services[i%2].URL
				<-start
				if i < tt.deletes {
					answers[i], errs[i] = sendAsync(base, "DELETE", fmt.Sprint("/ch11/player/delete/", id), nil, "If-Match", tag)
				} else {
					answers[i], errs[i] = sendAsync(base, "PATCH", fmt.Sprint("/ch11/player/update/", id), map[string]any{"fname": fmt.Sprint("Name", i)}, "If-Match", tag)
				}
			}()
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, a := range answers {
			if errs[i] != nil {
				t.Fatalf("%s: client %d: %v", tt.name, i, errs[i])
			}
			switch a.Status {
			case 200:
				if winner >= 0 {
					t.Errorf("%s: clients %d and %d both succeeded with the same ETag", tt.name, winner, i)
				}
				winner = i
			case 412:
			default:
				t.Errorf("%s: client %d: status %d: %s", tt.name, i, a.Status, a.Body)
			}
		}
		if winner < 0 {
			t.Fatalf("%s: nobody succeeded", tt.name)
		}
		now := services[1].do(t, "GET", path, nil)
		if winner < tt.deletes {
			expect(t, now, 404) // and the losing patches were told 412 above
			continue
		}
		expect(t, now, 200, fmt.Sprintf(`"fname":"Name%d"`, winner))
		if now.Header.Get("ETag") != answers[winner].Header.Get("ETag") {
			t.Errorf("%s: stored ETag %q, winner was told %q", tt.name, now.Header.Get("ETag"), answers[winner].Header.Get("ETag"))
		}
	}
}

// TestContentionAnswers503: a write that finds its record held by another
// writer for longer than it waits (here: a claim left by an instance that
// died, not yet stale) answers 503 with Retry-After and a problem document
// naming the record, and changes nothing; once the claim is stale, the write
// goes through.
func TestContentionAnswers503(t *testing.T) {
	t.Parallel()
	uri := sharedDatabase(t)
	s := startService(t, map[string]string{"MONGODB_URI": uri, "DB_TIMEOUT": "500ms"}) // leases stale after 2 s
	expect(t, s.do(t, "POST", "/ch11/official/add", officialBody(1)), 201)
	tag := s.do(t, "GET", "/ch11/official/get/1", nil).Header.Get("ETag")
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(context.Background())
	_, err = client.Database("osms").Collection("_version_claims").InsertOne(context.Background(), bson.D{
		{Key: "_id", Value: "official:1:" + strings.Trim(tag, `"`)}, {Key: "at", Value: time.Now().UTC()},
		{Key: "owner", Value: "a-dead-instance"}, {Key: "mode", Value: "write"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []struct{ method, path string }{{"PATCH", "/ch11/official/update/1"}, {"DELETE", "/ch11/official/delete/1"}} {
		r := s.do(t, req.method, req.path, map[string]any{"fname": "Bo"})
		if req.method == "DELETE" {
			r = s.do(t, req.method, req.path, nil)
		}
		expect(t, r, 503, "official 1", "retry")
		if r.Header.Get("Retry-After") != "1" {
			t.Errorf("%s: Retry-After %q, want 1", req.method, r.Header.Get("Retry-After"))
		}
	}
	expect(t, s.do(t, "GET", "/ch11/official/get/1", nil), 200, `"fname":"Rita"`)
	time.Sleep(2 * time.Second) // the claim goes stale
	expect(t, s.do(t, "PATCH", "/ch11/official/update/1", map[string]any{"fname": "Bo"}, "If-Match", tag), 200, `"fname":"Bo"`)
}

// postAndHangUp sends a create and closes the socket before reading the
// answer, as a client whose connection was cut.
func postAndHangUp(base, path, key string, body []byte) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		return err
	}
	defer conn.Close()
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nIdempotency-Key: %s\r\nContent-Length: %d\r\n\r\n%s",
		path, u.Host, key, len(body), body)
	return w.Flush()
}

// TestIdempotentCreateAfterCutConnection: a client that hangs up on every
// create and retries it ends with one record per key and the same answer to
// every retry, with one instance and with two sharing the database.
func TestIdempotentCreateAfterCutConnection(t *testing.T) {
	t.Parallel()
	const keys = 6
	tests := []struct {
		name      string
		instances int
	}{
		{"one instance", 1},
		{"two instances", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			uri := sharedDatabase(t)
			var services []*testService
			for range tt.instances {
				services = append(services, startService(t, map[string]string{"MONGODB_URI": uri, "LOG_LEVEL": "info"}))
			}
			var wg sync.WaitGroup
			for k := range keys {
				wg.Add(1)
				go func() {
					defer wg.Done()
					key := fmt.Sprintf("create-official-%d", k)
					body, _ := json.Marshal(officialBody(int64(k + 1)))
					if err := postAndHangUp(services[0].URL, "/ch11/official/add", key, body); err != nil {
						t.Errorf("key %s: %v", key, err)
						return
					}
					var first response
					for attempt := 0; attempt < 4; attempt++ {
						var a response
						for wait := 0; ; wait++ { // 409 while the first run goes on
							var err error
							a, err = sendAsync(services[(attempt+1)%len(services)].URL, "POST", "/ch11/official/add", string(body),
								"Content-Type", "application/json", "Idempotency-Key", key)
							if err != nil {
								t.Errorf("key %s: %v", key, err)
								return
							}
							if a.Status != 409 || wait > 1000 {
								break
							}
							time.Sleep(10 * time.Millisecond)
						}
						// The cut request may reach the service after
						// the first retry: then that retry is the one
						// that runs, and the cut one is replayed to
						// nobody. Every later retry is a replay.
						if a.Status != 201 || attempt > 0 && a.Header.Get("Idempotent-Replayed") != "true" {
							t.Errorf("key %s retry %d: status %d, replayed %q: %s", key, attempt, a.Status, a.Header.Get("Idempotent-Replayed"), a.Body)
							return
						}
						if attempt == 0 {
							first = a
							continue
						}
						if string(a.Body) != string(first.Body) || a.Header.Get("ETag") != first.Header.Get("ETag") {
							t.Errorf("key %s: retries differ: %s %s / %s %s", key, first.Header.Get("ETag"), first.Body, a.Header.Get("ETag"), a.Body)
						}
					}
				}()
			}
			wg.Wait()
			var list []map[string]any
			services[0].do(t, "GET", "/ch11/official/list/all", nil).JSON(t, &list)
			if len(list) != keys && testing.Verbose() {
				for _, s := range services {
					t.Log(s.Logs.String())
				}
			}
			if len(list) != keys {
				t.Errorf("%d officials stored, want one per key (%d)", len(list), keys)
			}
		})
	}
}

// TestIdempotencyKeyRules: same key with another body, malformed keys,
// expiry, and concurrent first requests.
func TestIdempotencyKeyRules(t *testing.T) {
	t.Parallel()
	s := startService(t, map[string]string{"IDEMPOTENCY_KEY_TTL": "1s"})
	expect(t, s.do(t, "POST", "/ch11/game/add", gameBody(1), "Idempotency-Key", "k1"), 201)
	replay := s.do(t, "POST", "/ch11/game/add", gameBody(1), "Idempotency-Key", "k1")
	expect(t, replay, 201)
	if replay.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay not marked: %v", replay.Header)
	}
	expect(t, s.do(t, "POST", "/ch11/game/add", gameBody(2), "Idempotency-Key", "k1"), 422, "Idempotency-Key")
	expect(t, s.do(t, "POST", "/ch11/game/add", gameBody(2), "Idempotency-Key", strings.Repeat("k", 256)), 400, "header.Idempotency-Key")
	expect(t, s.do(t, "POST", "/ch11/game/add", gameBody(2), "Idempotency-Key", "tab\there"), 400, "header.Idempotency-Key")
	// A failed create is stored too: its retry gets the same 409.
	expect(t, s.do(t, "POST", "/ch11/game/add", gameBody(1), "Idempotency-Key", "k2"), 409)
	expect(t, s.do(t, "POST", "/ch11/game/add", gameBody(1), "Idempotency-Key", "k2"), 409)

	// Concurrent first requests with one key: one runs, the others see it
	// running (409) or replay it.
	var wg sync.WaitGroup
	answers := make([]response, 8)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], _ = sendAsync(s.URL, "POST", "/ch11/game/add", gameBody(3), "Idempotency-Key", "k3")
		}()
	}
	wg.Wait()
	ran := 0
	for i, a := range answers {
		switch {
		case a.Status == 201 && a.Header.Get("Idempotent-Replayed") == "":
			ran++
		case a.Status == 201, a.Status == 409 && strings.Contains(string(a.Body), "still being processed"):
		default:
			t.Errorf("concurrent request %d: %d %s", i, a.Status, a.Body)
		}
	}
	if ran != 1 {
		t.Errorf("%d of the concurrent requests ran, want 1", ran)
	}

	time.Sleep(1100 * time.Millisecond) // IDEMPOTENCY_KEY_TTL
	expired := s.do(t, "POST", "/ch11/game/add", gameBody(4), "Idempotency-Key", "k1")
	expect(t, expired, 201, `"game_id":4`)
	if expired.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("expired key replayed")
	}
}
