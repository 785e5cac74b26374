package testenv

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// StartFerretDB runs an embedded FerretDB (SQLite backend in a temporary
// directory, random loopback port) for the duration of the test and returns
// its MongoDB URI. The SQLite backend has no transactions.
func StartFerretDB(t testing.TB) string {
	t.Helper()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + t.TempDir() + "/",
		// Its info logs would drown the test output.
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("start ferretdb: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return f.MongoDBURI()
}
