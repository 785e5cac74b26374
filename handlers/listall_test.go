package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/osms/sports-service/embeddeddb"
	"github.com/osms/sports-service/handlers"
	"github.com/osms/sports-service/password"
	"github.com/osms/sports-service/repository"
)

// TestEmbeddedListAllTooLarge: on the embedded default, list/all without a
// limit over more than repository.MaxEmbeddedListAll players is a 422
// problem at once, naming query.limit and pointing to keyset pages; a page
// of the same collection is served.
func TestEmbeddedListAllTooLarge(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := embeddeddb.Start(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Stop(ctx) })
	lookups, err := embeddeddb.OpenLookups(dir, "osms")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lookups.Close() })
	hasher, _ := password.NewHasher(password.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	store, err := repository.Open(db.URI(), repository.Options{Database: "osms", Timeout: 5 * time.Second,
		Lookups: lookups, Exclusive: true}, hasher)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close(ctx) })
	if err := store.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	n := repository.MaxEmbeddedListAll + 1
	docs := make([]any, 0, n)
	for i := 1; i <= n; i++ {
		docs = append(docs, map[string]any{"_id": strconv.Itoa(i), "player_id": int64(i), "fname": "Ann", "lname": "Lee",
			"age": 21, "birthday": time.Date(2004, 1, 2, 0, 0, 0, 0, time.UTC), "date_started": time.Date(2020, 5, 1, 0, 0, 0, 0, time.UTC)})
	}
	if _, err := store.Client().Database("osms").Collection(repository.PlayerCollection).InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	router := handlers.NewRouter(handlers.Options{
		Logger: slog.New(handlers.LogHandler(slog.NewJSONHandler(&logs, nil))), Store: store,
		ReadyTimeout: time.Second, RequestTimeout: 5 * time.Second, BodyLimit: 1 << 20,
	})
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}

	rec := get("/ch11/player/list/all")
	var problem struct {
		Status int    `json:"status"`
		Detail string `json:"detail"`
		Errors []struct {
			Location string `json:"location"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &problem); err != nil {
		t.Fatalf("list/all of %d players: %d %s: %v", n, rec.Code, rec.Body, err)
	}
	if rec.Code != http.StatusUnprocessableEntity || problem.Status != 422 ||
		!strings.Contains(rec.Header().Get("Content-Type"), "problem+json") ||
		!strings.Contains(problem.Detail, strconv.Itoa(n)) || !strings.Contains(problem.Detail, "?limit=") ||
		len(problem.Errors) != 1 || problem.Errors[0].Location != "query.limit" {
		t.Errorf("list/all of %d players: %d %s %s, want a 422 problem that counts them, names query.limit and points to ?limit=",
			n, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}

	rec = get("/ch11/player/list/all?limit=100&after=9950")
	var page []struct {
		PlayerID int64 `json:"player_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &page); rec.Code != http.StatusOK || err != nil {
		t.Fatalf("a keyset page: %d %.300s (%v)", rec.Code, rec.Body, err)
	}
	if len(page) != 51 || page[0].PlayerID != 9951 || page[50].PlayerID != int64(n) {
		t.Errorf("the page after 9950: %d players, want 9951..%d", len(page), n)
	}
}
