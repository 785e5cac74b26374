//go:build !noembed

// Package embeddeddb runs FerretDB (SQLite backend) inside the process, so the
// service works with no MongoDB installed. It listens on a loopback port and
// the service talks to it through the ordinary MongoDB driver.
package embeddeddb

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// Available reports whether this binary was built with the embedded database.
const Available = true

// DB is a running embedded FerretDB.
type DB struct {
	uri    string
	cancel context.CancelFunc
	done   chan struct{}
}

// Start opens (or creates) the SQLite files in dataDir and serves them on a
// free loopback port. logger receives FerretDB's own logs; pass one at warn
// level unless debugging.
func Start(dataDir string, logger *slog.Logger) (*DB, error) {
	return StartAt("127.0.0.1:0", dataDir, logger)
}

// StartAt is Start listening on addr (host:port) instead: the CI stack's
// stand-in for the mongo container (tools/mongostandin) serves 0.0.0.0:27017.
func StartAt(addr, dataDir string, logger *slog.Logger) (*DB, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir %q: %w", dataDir, err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
		Logger:    slog.New(deferredAttrs{handler: logger.Handler()}),
	})
	if err != nil {
		return nil, fmt.Errorf("start embedded FerretDB in %s: %w", abs, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	db := &DB{uri: f.MongoDBURI(), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(db.done)
		_ = f.Run(ctx) // returns when ctx is cancelled; its errors are logged by FerretDB
	}()
	return db, nil
}

// URI is the mongodb:// address of the embedded server.
func (d *DB) URI() string { return d.uri }

// Stop closes the listener and the SQLite files, and waits until they are.
func (d *DB) Stop(ctx context.Context) error {
	d.cancel()
	select {
	case <-d.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop embedded FerretDB: %w", ctx.Err())
	}
}
