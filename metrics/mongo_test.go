package metrics

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/osms/sports-service/internal/testenv"
)

func TestMongoMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	uri := testenv.StartFerretDB(t)
	engine, m := newEngine(t)

	client, err := mongo.Connect(options.Client().ApplyURI(uri).
		SetMonitor(m.CommandMonitor()).
		SetPoolMonitor(m.PoolMonitor()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	players := client.Database("sports").Collection("player")
	for range 3 {
		if _, err := players.InsertOne(ctx, bson.D{{Key: "name", Value: "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := players.FindOne(ctx, bson.D{}).Err(); err != nil {
		t.Fatal(err)
	}
	// An unknown command fails on the server.
	if err := client.Database("sports").RunCommand(ctx, bson.D{{Key: "noSuchCommand", Value: 1}}).Err(); err == nil {
		t.Fatal("unknown command succeeded")
	}

	families, _ := scrape(t, engine)
	for _, tt := range []struct {
		family  string
		labels  map[string]string
		atLeast float64
	}{
		{"mongodb_driver_commands_total", map[string]string{"command": "insert", "outcome": "success"}, 3},
		{"mongodb_driver_commands_total", map[string]string{"command": "find", "outcome": "success"}, 1},
		{"mongodb_driver_commands_total", map[string]string{"command": "noSuchCommand", "outcome": "failure"}, 1},
		{"mongodb_driver_command_duration_seconds", map[string]string{"command": "insert", "outcome": "success"}, 3},
		{"mongodb_driver_pool_connections", nil, 1},
		{"mongodb_driver_pool_connections_idle", nil, 1},
	} {
		if got, ok := value(families, tt.family, tt.labels); !ok || got < tt.atLeast {
			t.Errorf("%s%v = %v (present %v), want at least %v", tt.family, tt.labels, got, ok, tt.atLeast)
		}
	}
	for _, idle := range []string{"mongodb_driver_pool_connections_in_use", "mongodb_driver_pool_waiting"} {
		if got, _ := value(families, idle, nil); got != 0 {
			t.Errorf("%s = %v with no command running", idle, got)
		}
	}

	if err := client.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	families, _ = scrape(t, engine)
	if got, _ := value(families, "mongodb_driver_pool_connections", nil); got != 0 {
		t.Errorf("%v connections open after Disconnect", got)
	}
}
