// Package realstore opens the real repository.Store on a fresh embedded
// FerretDB for the legacy applications' integration tests. Only tests
// import it.
package realstore

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/osms/sports-service/embeddeddb"
	"github.com/osms/sports-service/password"
	"github.com/osms/sports-service/repository"
)

// Open starts FerretDB (SQLite) in a temporary directory and returns a store
// on it; both are closed when the test ends.
func Open(t testing.TB) *repository.Store {
	t.Helper()
	db, err := embeddeddb.Start(t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("start embedded FerretDB: %v", err)
	}
	t.Cleanup(func() { _ = db.Stop(context.Background()) })
	// Cheap argon2 parameters: the tests log in many times.
	hasher, err := password.NewHasher(password.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	s, err := repository.Open(db.URI(), repository.Options{Database: "osms", Timeout: 10 * time.Second}, hasher)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	if err := s.EnsureIndexes(context.Background()); err != nil {
		t.Fatalf("ensure indexes: %v", err)
	}
	return s
}
