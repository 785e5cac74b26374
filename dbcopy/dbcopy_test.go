package dbcopy_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/osms/sports-service/dbcopy"
	"github.com/osms/sports-service/internal/testenv"
)

// inserts records the number of documents of each insert command.
type inserts struct {
	mu    sync.Mutex
	sizes []int
}

func (r *inserts) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		if e.CommandName != "insert" {
			return
		}
		docs, _ := e.Command.Lookup("documents").Array().Values()
		r.mu.Lock()
		r.sizes = append(r.sizes, len(docs))
		r.mu.Unlock()
	}}
}

func connect(t *testing.T, uri string, monitor *event.CommandMonitor) *mongo.Database {
	t.Helper()
	co := options.Client().ApplyURI(uri)
	if monitor != nil {
		co.SetMonitor(monitor)
	}
	client, err := mongo.Connect(co)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return client.Database("copytest")
}

func seed(t *testing.T, db *mongo.Database, coll string, n int) {
	t.Helper()
	for i := range n {
		if _, err := db.Collection(coll).InsertOne(context.Background(), bson.D{{Key: "_id", Value: i}, {Key: "pad", Value: strings.Repeat("x", 100)}}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBatches: the documents reach the target in inserts of at most
// BatchDocuments documents and at most about BatchBytes bytes, so memory is
// bounded by a batch, and all of them arrive.
func TestBatches(t *testing.T) {
	uri := testenv.StartFerretDB(t)
	src := connect(t, uri, nil)
	seed(t, src, "a", 5)
	for _, tt := range []struct {
		name      string
		opts      dbcopy.Options
		wantSizes []int
	}{
		{"by count", dbcopy.Options{BatchDocuments: 2}, []int{2, 2, 1}},
		{"by size", dbcopy.Options{BatchDocuments: 100, BatchBytes: 250}, []int{3, 2}}, // ~125 bytes a document
		{"defaults", dbcopy.Options{}, []int{5}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := &inserts{}
			dst := connect(t, uri, rec.monitor())
			dst = dst.Client().Database("copytest_" + strings.ReplaceAll(tt.name, " ", "_"))
			tt.opts.Collections = []string{"a"}
			var progress []int
			tt.opts.Progress = func(c dbcopy.Count) { progress = append(progress, int(c.Documents)) }
			counts, err := dbcopy.Copy(context.Background(), src, dst, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(counts) != 1 || counts[0] != (dbcopy.Count{Collection: "a", Documents: 5}) {
				t.Errorf("counts %v, want a: 5", counts)
			}
			if !slices.Equal(rec.sizes, tt.wantSizes) {
				t.Errorf("inserts of %v documents, want %v", rec.sizes, tt.wantSizes)
			}
			var sums []int
			total := 0
			for _, n := range tt.wantSizes {
				total += n
				sums = append(sums, total)
			}
			if !slices.Equal(progress, sums) {
				t.Errorf("progress reports %v, want %v", progress, sums)
			}
		})
	}
}

// TestRefusalWritesNothing: a document in the last collection of the list
// stops the copy before the first is written, and the error names it;
// Overwrite drops what the target held, in the copied and the discarded
// collections.
func TestRefusalWritesNothing(t *testing.T) {
	uri := testenv.StartFerretDB(t)
	client := connect(t, uri, nil).Client()
	src, dst := client.Database("src"), client.Database("dst")
	seed(t, src, "first", 3)
	seed(t, src, "last", 2)
	seed(t, dst, "last", 1)
	seed(t, dst, "leases", 4)
	opts := dbcopy.Options{Collections: []string{"first", "last"}, Discard: []string{"leases"}}
	_, err := dbcopy.Copy(context.Background(), src, dst, opts)
	if !errors.Is(err, dbcopy.ErrTargetNotEmpty) || !strings.Contains(err.Error(), "collection last") {
		t.Fatalf("got %v, want ErrTargetNotEmpty naming collection last", err)
	}
	count := func(db *mongo.Database, coll string) int64 {
		n, err := db.Collection(coll).CountDocuments(context.Background(), bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(dst, "first"); n != 0 {
		t.Errorf("the refused copy wrote %d documents into collection first", n)
	}
	opts.Overwrite = true
	if _, err := dbcopy.Copy(context.Background(), src, dst, opts); err != nil {
		t.Fatal(err)
	}
	for coll, want := range map[string]int64{"first": 3, "last": 2, "leases": 0} {
		if n := count(dst, coll); n != want {
			t.Errorf("after the overwrite collection %s holds %d documents, want %d", coll, n, want)
		}
	}
}
