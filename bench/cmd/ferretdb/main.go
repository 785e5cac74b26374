// Command ferretdb runs FerretDB v1 as a process of its own, for the
// performance suite: the service (with MONGODB_URI) and the driver-only
// ceiling loop then talk to the same database, and the service's memory is
// measured without the database's.
//
//	ferretdb -handler sqlite -sqlite-dir DIR
//	ferretdb -handler postgresql -postgresql-url postgres://user@127.0.0.1:5433/ferretdb
//
// It prints "uri mongodb://..." on stdout once it listens, and stops on
// SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	handler := flag.String("handler", "sqlite", "backend: sqlite or postgresql")
	sqliteDir := flag.String("sqlite-dir", "", "directory of the SQLite files (the service's DATA_DIR layout)")
	pgURL := flag.String("postgresql-url", "", "PostgreSQL connection string")
	listen := flag.String("listen", "127.0.0.1:0", "TCP listen address")
	flag.Parse()
	if err := run(*handler, *sqliteDir, *pgURL, *listen); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

func run(handler, sqliteDir, pgURL, listen string) error {
	cfg := &ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: listen},
		Handler:  handler,
		// FerretDB logs every closed connection at warn level; errors only.
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	}
	switch handler {
	case "sqlite":
		abs, err := filepath.Abs(sqliteDir)
		if err != nil || sqliteDir == "" {
			return fmt.Errorf("-sqlite-dir %q: want a directory", sqliteDir)
		}
		if err := os.MkdirAll(abs, 0o750); err != nil {
			return err
		}
		// The same URL form as the service's embedded database, so that a
		// directory seeded here is the service's DATA_DIR.
		cfg.SQLiteURL = "file:" + abs + "/"
	case "postgresql":
		if pgURL == "" {
			return fmt.Errorf("-postgresql-url is required with -handler postgresql")
		}
		cfg.PostgreSQLURL = pgURL
	default:
		return fmt.Errorf("-handler %q: want sqlite or postgresql", handler)
	}
	f, err := ferretdb.New(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Run(ctx)
	}()
	fmt.Printf("uri %s\n", f.MongoDBURI())
	<-done
	return nil
}
