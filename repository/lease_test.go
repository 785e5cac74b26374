package repository_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/osms/sports-service/internal/testenv"
	"github.com/osms/sports-service/models"
	"github.com/osms/sports-service/password"
	"github.com/osms/sports-service/repository"
)

// twoStores opens two stores on one FerretDB, as two instances would.
func twoStores(t testing.TB, timeout time.Duration) (*repository.Store, *repository.Store) {
	t.Helper()
	uri := testenv.StartFerretDB(t)
	hasher, err := password.NewHasher(password.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	open := func() *repository.Store {
		s, err := repository.Open(uri, repository.Options{Database: "osms", Timeout: timeout}, hasher)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close(context.Background()) })
		if err := s.EnsureIndexes(context.Background()); err != nil {
			t.Fatal(err)
		}
		return s
	}
	return open(), open()
}

// plantLease stores a lease as an instance that died would have left it.
func plantLease(t *testing.T, s *repository.Store, doc bson.D) {
	t.Helper()
	_, err := s.Client().Database("osms").Collection(repository.VersionClaimCollection).InsertOne(context.Background(), doc)
	if err != nil {
		t.Fatal(err)
	}
}

func leaseCount(t *testing.T, s *repository.Store, filter bson.D) int64 {
	t.Helper()
	n, err := s.Client().Database("osms").Collection(repository.VersionClaimCollection).CountDocuments(context.Background(), filter)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func game(id int64) models.Game {
	return models.Game{GameID: id, Name: "Final", DateStart: models.NewDate(2024, 6, 1), DateEnd: models.NewDate(2024, 6, 2), Officials: []int64{}}
}

// atOnce calls do on every store at the same moment and counts the calls
// that succeeded; an error other than refused fails the test.
func atOnce(t *testing.T, stores []*repository.Store, refused error, do func(i int, s *repository.Store) error) (int, []error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(stores))
	start := make(chan struct{})
	for i, s := range stores {
		wg.Go(func() {
			<-start
			errs[i] = do(i, s)
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, refused):
			t.Errorf("want success or %v, got %v", refused, err)
		}
	}
	return ok, errs
}

// TestDeadLeasesAreTakenOver: what a crashed instance leaves (a claim, a pin,
// the admins' lock) blocks the others until it is LeaseStale old, then no
// longer.
func TestDeadLeasesAreTakenOver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, _ := twoStores(t, 500*time.Millisecond) // LeaseStale: 2 s
	stale := func() time.Time {
		return time.Now().Add(-repository.LeaseStale(500 * time.Millisecond)).Add(-time.Second).UTC()
	}
	live := func() time.Time { return time.Now().UTC() }

	tests := []struct {
		name  string
		plant func(t *testing.T, id int64, at time.Time)
		write func(ctx context.Context, id int64) error
	}{
		{
			name: "version claim of an update",
			plant: func(t *testing.T, id int64, at time.Time) {
				ctx, v := repository.WithVersionSink(ctx)
				if _, err := a.GetGame(ctx, id); err != nil {
					t.Fatal(err)
				}
				plantLease(t, a, bson.D{{Key: "_id", Value: fmt.Sprintf("game:%d:%d", id, v.Value)}, {Key: "at", Value: at},
					{Key: "owner", Value: "dead"}, {Key: "mode", Value: "write"}})
			},
			write: func(ctx context.Context, id int64) error {
				name := "Renamed"
				_, err := a.UpdateGame(ctx, id, models.GamePatch{Name: &name})
				return err
			},
		},
		{
			name: "claim stored before owners existed",
			plant: func(t *testing.T, id int64, at time.Time) {
				ctx, v := repository.WithVersionSink(ctx)
				if _, err := a.GetGame(ctx, id); err != nil {
					t.Fatal(err)
				}
				plantLease(t, a, bson.D{{Key: "_id", Value: fmt.Sprintf("game:%d:%d", id, v.Value)}, {Key: "at", Value: at}})
			},
			write: func(ctx context.Context, id int64) error { return a.DeleteGame(ctx, id) },
		},
		{
			name: "pin of a player being added to the game",
			plant: func(t *testing.T, id int64, at time.Time) {
				plantLease(t, a, bson.D{{Key: "_id", Value: fmt.Sprintf("pin:game:%d:dead", id)}, {Key: "at", Value: at},
					{Key: "owner", Value: fmt.Sprintf("pin:game:%d:dead", id)}, {Key: "mode", Value: "pin"}, {Key: "target", Value: fmt.Sprintf("game:%d", id)}})
			},
			write: func(ctx context.Context, id int64) error { return a.DeleteGame(ctx, id) },
		},
		{
			name: "delete claim that pins must respect",
			plant: func(t *testing.T, id int64, at time.Time) {
				ctx, v := repository.WithVersionSink(ctx)
				if _, err := a.GetGame(ctx, id); err != nil {
					t.Fatal(err)
				}
				plantLease(t, a, bson.D{{Key: "_id", Value: fmt.Sprintf("game:%d:%d", id, v.Value)}, {Key: "at", Value: at},
					{Key: "owner", Value: "dead"}, {Key: "mode", Value: "delete"}})
			},
			write: func(ctx context.Context, id int64) error {
				p := player(id)
				p.GameID = &id
				_, err := a.CreatePlayer(ctx, p)
				return err
			},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				age  string
				at   func() time.Time
				busy bool
			}{{"live", live, true}, {"stale", stale, false}} {
				id := int64(100*i + 1)
				if c.age == "stale" {
					id++
				}
				if _, err := a.CreateGame(ctx, game(id)); err != nil {
					t.Fatal(err)
				}
				tt.plant(t, id, c.at())
				err := tt.write(ctx, id)
				if c.busy && !errors.Is(err, repository.ErrBusy) {
					t.Errorf("%s lease: err = %v, want ErrBusy (the write waits, then 503)", c.age, err)
				}
				if !c.busy && err != nil {
					t.Errorf("%s lease: err = %v, want the write to take it over", c.age, err)
				}
			}
		})
	}

	t.Run("admins' lock", func(t *testing.T) {
		plantLease(t, a, bson.D{{Key: "_id", Value: "lock:admins"}, {Key: "at", Value: live()}, {Key: "owner", Value: "dead"}, {Key: "mode", Value: "lock"}})
		if _, err := a.EnsureAdmin(ctx, "root", "first-admin-password"); !errors.Is(err, repository.ErrBusy) {
			t.Fatalf("live lock: err = %v, want ErrBusy", err)
		}
		_, err := a.Client().Database("osms").Collection(repository.VersionClaimCollection).UpdateOne(ctx,
			bson.D{{Key: "_id", Value: "lock:admins"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "at", Value: stale()}}}})
		if err != nil {
			t.Fatal(err)
		}
		if created, err := a.EnsureAdmin(ctx, "root", "first-admin-password"); err != nil || !created {
			t.Fatalf("stale lock: created %v, err %v; want the admin", created, err)
		}
	})
}

// TestTakeoverByOneWriter: two instances that find the same dead claim at the
// same moment both take it over only if the breaker is missing; with it, of
// two conditional writes of the same version exactly one succeeds.
func TestTakeoverByOneWriter(t *testing.T) {
	t.Parallel()
	a, b := twoStores(t, 500*time.Millisecond)
	stale := time.Now().Add(-time.Hour).UTC()
	ctx := context.Background()
	for id := int64(1); id <= 25; id++ {
		if _, err := a.CreateGame(ctx, game(id)); err != nil {
			t.Fatal(err)
		}
		vctx, v := repository.WithVersionSink(ctx)
		if _, err := a.GetGame(vctx, id); err != nil {
			t.Fatal(err)
		}
		plantLease(t, a, bson.D{{Key: "_id", Value: fmt.Sprintf("game:%d:%d", id, v.Value)}, {Key: "at", Value: stale},
			{Key: "owner", Value: "dead"}, {Key: "mode", Value: "write"}})
		ok, errs := atOnce(t, []*repository.Store{a, b}, repository.ErrPreconditionFailed, func(i int, s *repository.Store) error {
			name := fmt.Sprintf("Writer %d", i)
			_, err := s.UpdateGame(repository.WithIfMatch(ctx, v.Value), id, models.GamePatch{Name: &name})
			return err
		})
		if ok != 1 {
			t.Fatalf("game %d: %d conditional writes of one version succeeded after a takeover (%v), want 1", id, ok, errs)
		}
	}
}

// TestSweepRemovesDeadLeases: the sweep deletes stale claims (through their
// breakers) and, later, the breakers; live ones stay.
func TestSweepRemovesDeadLeases(t *testing.T) {
	t.Parallel()
	a, _ := twoStores(t, 500*time.Millisecond)
	ctx := context.Background()
	stale := time.Now().Add(-time.Hour).UTC()
	plantLease(t, a, bson.D{{Key: "_id", Value: "game:1:1"}, {Key: "at", Value: stale}, {Key: "owner", Value: "dead"}, {Key: "mode", Value: "write"}})
	plantLease(t, a, bson.D{{Key: "_id", Value: "game:2:1"}, {Key: "at", Value: time.Now().UTC()}, {Key: "owner", Value: "alive"}, {Key: "mode", Value: "write"}})
	plantLease(t, a, bson.D{{Key: "_id", Value: "break:game:9:1@gone"}, {Key: "at", Value: stale}, {Key: "owner", Value: "x"}, {Key: "mode", Value: "break"}})
	if _, err := a.SweepIdempotent(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id   string
		want int64
	}{{"game:1:1", 0}, {"game:2:1", 1}, {"break:game:9:1@gone", 0}, {"break:game:1:1@dead", 1}} {
		if n := leaseCount(t, a, bson.D{{Key: "_id", Value: c.id}}); n != c.want {
			t.Errorf("%s: %d after the sweep, want %d", c.id, n, c.want)
		}
	}
}

// TestAbandonedIdempotencyKeyTakenOverOnce: two instances that find the same
// abandoned key at once: exactly one runs the request again.
func TestAbandonedIdempotencyKeyTakenOverOnce(t *testing.T) {
	t.Parallel()
	a, b := twoStores(t, time.Second)
	ctx := context.Background()
	keys := a.Client().Database("osms").Collection(repository.IdempotencyCollection)
	old := time.Now().Add(-2 * time.Hour).UTC()
	for round := range 25 {
		key := fmt.Sprintf("key-%d", round)
		// Left running by an instance that died two hours ago.
		if _, err := keys.InsertOne(ctx, repository.IdempotentAnswer{Key: key, Fingerprint: "fp", Created: old,
			Expires: time.Now().Add(time.Hour), Owner: "dead"}); err != nil {
			t.Fatal(err)
		}
		won, errs := atOnce(t, []*repository.Store{a, b}, repository.ErrIdempotencyKeyTaken, func(_ int, s *repository.Store) error {
			_, err := s.BeginIdempotent(ctx, key, "fp", time.Now().Add(time.Hour), time.Minute)
			return err
		})
		if won != 1 {
			t.Fatalf("round %d: %d instances took the abandoned key over (%v), want 1: the request would run twice", round, won, errs)
		}
	}
}

// BenchmarkCreatePlayer is the cost of keeping a reference: a player add
// that names a game (pin, reads, insert, unpin) against one that names none
// (insert only), four at a time on the embedded FerretDB.
//
//	go test -run x -bench CreatePlayer -count 6 ./repository/
func BenchmarkCreatePlayer(b *testing.B) {
	s, _ := twoStores(b, 5*time.Second)
	ctx := context.Background()
	const games = 50
	for id := int64(1); id <= games; id++ {
		if _, err := s.CreateGame(ctx, game(id)); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	for _, withGame := range []bool{false, true} {
		name := map[bool]string{false: "no game", true: "with a game"}[withGame]
		b.Run(name, func(b *testing.B) {
			b.SetParallelism(2) // 2 x GOMAXPROCS writers
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					p := player(next.Add(1))
					if withGame {
						g := 1 + p.PlayerID%games
						p.GameID = &g
					}
					if _, err := s.CreatePlayer(ctx, p); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkDeleteGame is a game delete that nothing refers to, four at a
// time on the embedded FerretDB: claim, pins read, referrers read, delete.
//
//	go test -run x -bench DeleteGame -count 6 ./repository/
func BenchmarkDeleteGame(b *testing.B) {
	s, _ := twoStores(b, 5*time.Second)
	ctx := context.Background()
	for id := int64(1); id <= int64(b.N); id++ {
		if _, err := s.CreateGame(ctx, game(id)); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.ResetTimer()
	b.SetParallelism(2)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.DeleteGame(ctx, next.Add(1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
