//go:build !noembed

package embeddeddb

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// started is an embedded FerretDB with a client and lookups on its files.
type started struct {
	db      *DB
	client  *mongo.Client
	lookups *Lookups
}

func start(t *testing.T, dir string) started {
	t.Helper()
	db, err := Start(dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	client, err := mongo.Connect(options.Client().ApplyURI(db.URI()))
	if err != nil {
		t.Fatal(err)
	}
	lookups, err := OpenLookups(dir, "sports")
	if err != nil {
		t.Fatal(err)
	}
	s := started{db, client, lookups}
	t.Cleanup(s.stop)
	return s
}

func (s started) stop() {
	_ = s.lookups.Close()
	_ = s.client.Disconnect(context.Background())
	_ = s.db.Stop(context.Background())
}

// Every lookup answers what the same query through FerretDB answers, on
// documents shaped as the service stores them, and with Index the `_id`
// query FerretDB sends to SQLite becomes an index search; the indexes
// survive a restart and stay out of FerretDB's own index list.
func TestLookupsMatchFerretDB(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := start(t, dir)
	coll := s.client.Database("sports").Collection("player")
	if _, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "player_id", Value: 1}}, Options: options.Index().SetUnique(true)}); err != nil {
		t.Fatal(err)
	}
	var docs []any
	for i := int64(1); i <= 60; i++ {
		d := bson.D{{Key: "_id", Value: strconv.FormatInt(i*7, 10)}, {Key: "player_id", Value: i * 7},
			{Key: "lname", Value: "name" + strconv.FormatInt(i%5, 10)}}
		if i%3 != 0 { // some have no game: null, or no field at all
			d = append(d, bson.E{Key: "game_id", Value: i % 4})
		} else if i%2 == 0 {
			d = append(d, bson.E{Key: "game_id", Value: nil})
		}
		d = append(d, bson.E{Key: "officials", Value: bson.A{i % 6, i%6 + 10}})
		docs = append(docs, d)
	}
	if _, err := coll.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	driverIDs := func(filter bson.D, opts ...options.Lister[options.FindOptions]) []string {
		cur, err := coll.Find(ctx, filter, opts...)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for cur.Next(ctx) {
			out = append(out, cur.Current.Lookup("_id").StringValue())
		}
		return out
	}
	sorted := func(ids []string) []string { slices.Sort(ids); return ids }
	byPlayerID := options.Find().SetSort(bson.D{{Key: "player_id", Value: 1}})

	for _, indexed := range []bool{false, true} {
		if indexed {
			if err := s.lookups.Index(ctx, "player", "player_id", "game_id", "lname"); err != nil {
				t.Fatal(err)
			}
			if err := s.lookups.IndexArray(ctx, "player", "officials"); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name   string
			lookup func() ([]string, error)
			driver []string
			order  bool // the lookup's order is part of its answer
		}{
			{"equal int", func() ([]string, error) { return s.lookups.Equal(ctx, "player", "game_id", int64(2), 100) },
				driverIDs(bson.D{{Key: "game_id", Value: int64(2)}}), false},
			{"equal string", func() ([]string, error) { return s.lookups.Equal(ctx, "player", "lname", "name3", 100) },
				driverIDs(bson.D{{Key: "lname", Value: "name3"}}), false},
			{"equal nothing", func() ([]string, error) { return s.lookups.Equal(ctx, "player", "game_id", int64(99), 100) },
				nil, false},
			{"contains", func() ([]string, error) { return s.lookups.Contains(ctx, "player", "officials", int64(13), 100) },
				driverIDs(bson.D{{Key: "officials", Value: int64(13)}}), false},
			{"after, a page", func() ([]string, error) { return s.lookups.After(ctx, "player", "player_id", 100, 10) },
				driverIDs(bson.D{{Key: "player_id", Value: bson.D{{Key: "$gt", Value: 100}}}}, byPlayerID.SetLimit(10)), true},
			{"after, the rest", func() ([]string, error) { return s.lookups.After(ctx, "player", "player_id", 390, 0) },
				driverIDs(bson.D{{Key: "player_id", Value: bson.D{{Key: "$gt", Value: 390}}}}, options.Find().SetSort(bson.D{{Key: "player_id", Value: 1}})), true},
			{"missing collection", func() ([]string, error) { return s.lookups.Equal(ctx, "nothing", "game_id", int64(1), 10) },
				nil, false},
		}
		for _, tc := range tests {
			t.Run(tc.name+map[bool]string{true: " (indexed)", false: ""}[indexed], func(t *testing.T) {
				got, err := tc.lookup()
				if err != nil {
					t.Fatal(err)
				}
				want := tc.driver
				if !tc.order {
					got, want = sorted(got), sorted(want)
				}
				if len(want) == 0 && len(got) == 0 {
					return
				}
				if !slices.Equal(got, want) {
					t.Errorf("lookup %v, FerretDB %v", got, want)
				}
			})
		}
		if n, err := s.lookups.Count(ctx, "player"); err != nil || n != 60 {
			t.Errorf("Count = %d, %v; want 60", n, err)
		}
	}
	if _, err := s.lookups.Equal(ctx, "player", "game_id; DROP TABLE x", 1, 1); err == nil {
		t.Error("a field name that is not an identifier was accepted")
	}

	table, err := s.lookups.table(ctx, "player")
	if err != nil {
		t.Fatal(err)
	}
	// The statement FerretDB runs for FindOne({_id: "14"}) (sqlite/collection.go).
	plan := func(l *Lookups) string {
		rows, err := l.db.QueryContext(ctx, `EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM "`+table+`" WHERE `+idExpr+` = ?`, `"14"`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var steps []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			steps = append(steps, detail)
		}
		return strings.Join(steps, "; ")
	}
	if p := plan(s.lookups); !strings.Contains(p, "USING INDEX sports_"+table+"_id") {
		t.Errorf("FerretDB's _id query plan after Index: %s, want a search with sports_%s_id", p, table)
	}
	indexNames := func(c started) []string {
		specs, err := c.client.Database("sports").Collection("player").Indexes().ListSpecifications(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, sp := range specs {
			names = append(names, sp.Name)
		}
		return sorted(names)
	}
	if got := indexNames(s); !slices.Equal(got, []string{"_id_", "player_id_1"}) {
		t.Errorf("FerretDB lists the indexes %v, want only its own [_id_ player_id_1]", got)
	}

	// A restart on the same files: the indexes are still there, and
	// FerretDB reads, writes and deletes as before.
	s.stop()
	s = start(t, dir)
	if p := plan(s.lookups); !strings.Contains(p, "USING INDEX sports_"+table+"_id") {
		t.Errorf("after a restart, FerretDB's _id query plan: %s", p)
	}
	coll = s.client.Database("sports").Collection("player")
	var got bson.Raw
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "14"}}).Decode(&got); err != nil {
		t.Fatalf("FindOne by _id after a restart: %v", err)
	}
	if _, err := coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: "14"}}); err != nil {
		t.Fatal(err)
	}
	if ids, err := s.lookups.Equal(ctx, "player", "player_id", int64(14), 1); err != nil || len(ids) != 0 {
		t.Errorf("after a delete through FerretDB the lookup finds %v, %v", ids, err)
	}
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "1000"}, {Key: "player_id", Value: int64(1000)}, {Key: "game_id", Value: int64(77)}}); err != nil {
		t.Fatal(err)
	}
	if ids, err := s.lookups.Equal(ctx, "player", "game_id", int64(77), 1); err != nil || !slices.Equal(ids, []string{"1000"}) {
		t.Errorf("after an insert through FerretDB the lookup finds %v, %v; want [1000]", ids, err)
	}
	// The array's table follows FerretDB's inserts, updates and deletes
	// (its triggers), and is rebuilt by IndexArray after a restart.
	if err := s.lookups.IndexArray(ctx, "player", "officials"); err != nil {
		t.Fatal(err)
	}
	contains := func(value int64) []string {
		t.Helper()
		ids, err := s.lookups.Contains(ctx, "player", "officials", value, 100)
		if err != nil {
			t.Fatal(err)
		}
		return sorted(ids)
	}
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "1001"}, {Key: "officials", Value: bson.A{int64(501), int64(502)}}}); err != nil {
		t.Fatal(err)
	}
	if got := contains(502); !slices.Equal(got, []string{"1001"}) {
		t.Errorf("after an insert, officials holding 502: %v, want [1001]", got)
	}
	if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "1001"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "officials", Value: bson.A{int64(503)}}}}}); err != nil {
		t.Fatal(err)
	}
	if got, now := contains(502), contains(503); len(got) != 0 || !slices.Equal(now, []string{"1001"}) {
		t.Errorf("after an update to [503]: 502 in %v, 503 in %v; want none and [1001]", got, now)
	}
	if got := contains(13); !slices.Equal(got, sorted(driverIDs(bson.D{{Key: "officials", Value: int64(13)}}))) {
		t.Errorf("after a restart and a rebuild, officials holding 13: %v", got)
	}
	if _, err := coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: "1001"}}); err != nil {
		t.Fatal(err)
	}
	if got := contains(503); len(got) != 0 {
		t.Errorf("after a delete, officials holding 503: %v, want none", got)
	}
	if err := coll.Drop(ctx); err != nil {
		t.Fatalf("drop the collection: %v", err)
	}
	var left int
	// The indexes and triggers go with the table (the array's own table
	// stays, and is rebuilt by the next IndexArray).
	if err := s.lookups.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE tbl_name = ?`, table).Scan(&left); err != nil || left != 0 {
		t.Errorf("after a drop, %d indexes or triggers of the dropped table are left (%v)", left, err)
	}
}
