package handlers_test

// Micro-benchmarks of the database routes through the whole HTTP stack: the
// real router (every middleware, the access log included) and the real store
// on the embedded FerretDB, driven with ServeHTTP so that no socket adds
// noise. The Driver* benchmarks run the same queries with plain driver calls
// against the same database: the difference is our own per-request cost.
//
//	go test -run '^$' -bench . -benchmem ./handlers/
//
// `go test ./...` compiles these and runs none of them.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/gin-gonic/gin"

	"github.com/osms/sports-service/embeddeddb"
	"github.com/osms/sports-service/handlers"
	"github.com/osms/sports-service/internal/benchdata"
	"github.com/osms/sports-service/models"
	"github.com/osms/sports-service/password"
	"github.com/osms/sports-service/repository"
)

// benchPlayers is the size of the list the list benchmarks return.
const benchPlayers = 100

// benchEnv is a router and its store on a fresh embedded database holding
// benchPlayers players with ids 1..benchPlayers.
func benchEnv(b *testing.B) (*gin.Engine, *repository.Store) {
	b.Helper()
	db, err := embeddeddb.Start(b.TempDir(), slog.New(slog.DiscardHandler))
	if errors.Is(err, embeddeddb.ErrNotBuiltIn) {
		b.Skip("needs the embedded database (built with -tags noembed)")
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Stop(context.Background()) })
	// Cheap hashing: no login is created here, and argon2's default memory
	// would only inflate the process.
	hasher, err := password.NewHasher(password.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		b.Fatal(err)
	}
	store, err := repository.Open(db.URI(), repository.Options{Database: "osms", Timeout: 5 * time.Second, MaxPoolSize: 100}, hasher)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close(context.Background()) })
	ctx := context.Background()
	if err := store.EnsureIndexes(ctx); err != nil {
		b.Fatal(err)
	}
	for id := int64(1); id <= benchPlayers; id++ {
		p := models.Player{PlayerID: id, FirstName: "Ann", LastName: "Lee", Age: 20,
			Birthday: models.NewDate(2004, 1, 2), DateStarted: models.NewDate(2020, 5, 1)}
		if _, err := store.CreatePlayer(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	// The access log is on, as in production, but written nowhere: its
	// formatting is part of the cost, the terminal is not.
	logger := slog.New(handlers.LogHandler(slog.NewJSONHandler(io.Discard, nil)))
	r := handlers.NewRouter(handlers.Options{
		Logger: logger, Store: store,
		ReadyTimeout: 2 * time.Second, RequestTimeout: 30 * time.Second, BodyLimit: 1 << 20,
	})
	return r, store
}

// serve runs one request through the router and checks the status.
func serve(b *testing.B, r http.Handler, path string) int {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
	}
	return w.Body.Len()
}

func BenchmarkGetPlayer(b *testing.B) {
	r, _ := benchEnv(b)
	paths := idPaths("/ch11/player/get/")
	i := 0
	for b.Loop() {
		serve(b, r, paths[i%benchPlayers])
		i++
	}
}

func BenchmarkGetPlayerParallel(b *testing.B) {
	r, _ := benchEnv(b)
	paths := idPaths("/ch11/player/get/")
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			serve(b, r, paths[i%benchPlayers])
			i++
		}
	})
}

func BenchmarkListPlayers100(b *testing.B) {
	r, _ := benchEnv(b)
	n := serve(b, r, "/ch11/player/list/all")
	var got []json.RawMessage
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ch11/player/list/all", nil))
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || len(got) != benchPlayers {
		b.Fatalf("list/all: %d records, err %v", len(got), err)
	}
	b.SetBytes(int64(n))
	for b.Loop() {
		serve(b, r, "/ch11/player/list/all")
	}
}

func BenchmarkDriverFindOne(b *testing.B) {
	_, store := benchEnv(b)
	coll := store.Client().Database("osms").Collection(repository.PlayerCollection)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		var d benchdata.Player
		if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: strconv.Itoa(i%benchPlayers + 1)}}).Decode(&d); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkDriverFind100(b *testing.B) {
	_, store := benchEnv(b)
	coll := store.Client().Database("osms").Collection(repository.PlayerCollection)
	ctx := context.Background()
	opts := options.Find().SetSort(bson.D{{Key: "player_id", Value: 1}}).SetBatchSize(100)
	for b.Loop() {
		cur, err := coll.Find(ctx, bson.D{}, opts)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for cur.Next(ctx) {
			var d benchdata.Player
			if err := cur.Decode(&d); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if err := cur.Close(ctx); err != nil || n != benchPlayers {
			b.Fatalf("find: %d documents, err %v", n, err)
		}
	}
}

func idPaths(prefix string) []string {
	paths := make([]string, benchPlayers)
	for i := range paths {
		paths[i] = prefix + strconv.Itoa(i+1)
	}
	return paths
}
