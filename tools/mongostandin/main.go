// Command mongostandin is the CI stack's stand-in for the mongo:8.0 container
// of docker-compose.yaml. It is NOT MongoDB: it is FerretDB (SQLite backend),
// embedded through this repository's own embeddeddb package, speaking the
// MongoDB wire protocol on 0.0.0.0:27017 with its files in /data/db (the
// compose file's mongo-data volume). CI builds it because no container
// registry, hence no mongo image, is reachable there (.ci/stack.sh,
// .ci/compose.local-images.yaml); users run the real mongo image.
//
//	mongostandin [mongod options]  serve until SIGTERM or SIGINT; mongod's
//	                               options (the compose file's command) are
//	                               logged and ignored
//	mongostandin ping              exit 0 when the server on 127.0.0.1:27017
//	                               answers ping (the healthcheck, for mongosh)
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/osms/sports-service/embeddeddb"
)

const (
	listenAddr = "0.0.0.0:27017"
	pingURI    = "mongodb://127.0.0.1:27017/"
	dataDir    = "/data/db"
)

func main() {
	var err error
	if len(os.Args) > 1 && os.Args[1] == "ping" {
		err = ping(context.Background())
	} else {
		err = serve(os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mongostandin:", err)
		os.Exit(1)
	}
}

func serve(ignored []string) error {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	db, err := embeddeddb.StartAt(listenAddr, dataDir, logger)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "mongostandin: FerretDB (SQLite in %s) listening on %s\n", dataDir, listenAddr)
	if len(ignored) > 0 {
		fmt.Fprintf(os.Stderr, "mongostandin: ignoring mongod options %q\n", ignored)
	}
	<-ctx.Done()
	// Within docker's default stop timeout (10 s).
	stopCtx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	return db.Stop(stopCtx)
}

func ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	client, err := mongo.Connect(options.Client().ApplyURI(pingURI).SetServerSelectionTimeout(3 * time.Second))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	if err := client.Database("admin").RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err(); err != nil {
		return fmt.Errorf("ping %s: %w", pingURI, err)
	}
	return nil
}
