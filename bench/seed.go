package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/osms/sports-service/internal/benchdata"
)

// seedPlayers makes the player collection hold exactly ids 1..n, adding
// what is missing: sizes grow 1k → 10k → 100k on one database.
func seedPlayers(ctx context.Context, uri string, n int) error {
	client, err := mongo.Connect(options.Client().ApplyURI(uri).SetTimeout(5 * time.Minute))
	if err != nil {
		return err
	}
	defer client.Disconnect(context.Background())
	coll := client.Database("osms").Collection("player")
	have, err := coll.CountDocuments(ctx, bson.D{})
	if err != nil {
		return fmt.Errorf("count players: %w", err)
	}
	if have > int64(n) {
		if _, err := coll.DeleteMany(ctx, bson.D{}); err != nil {
			return err
		}
		have = 0
	}
	const batch = 1000
	docs := make([]any, 0, batch)
	for id := have + 1; id <= int64(n); id++ {
		// The suite writes players with the driver because creating
		// 100,000 through the API would take minutes; checkSeed reads
		// some back through the service.
		docs = append(docs, benchdata.NewPlayer(id))
		if len(docs) == batch || id == int64(n) {
			if _, err := coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(true)); err != nil {
				return fmt.Errorf("insert players up to %d: %w", id, err)
			}
			docs = docs[:0]
		}
	}
	return nil
}

// checkSeed reads the first and last player through the service. Right
// after a large seed FerretDB may still be busy (SQLite checkpointing its
// write-ahead log) and fail a first read: a few tries, each logged.
func checkSeed(ctx context.Context, s *suite, base string, n int) error {
	for _, id := range []int{1, n} {
		var err error
		for try := 1; try <= 5; try++ {
			var status int
			var body []byte
			status, body, err = httpGet(ctx, base+"/ch11/player/get/"+strconv.Itoa(id))
			if err == nil && status == 200 {
				break
			}
			err = fmt.Errorf("seeded player %d through the service: %d %v %s", id, status, err, body)
			s.logf("try %d: %v", try, err)
			time.Sleep(time.Duration(try) * time.Second)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
