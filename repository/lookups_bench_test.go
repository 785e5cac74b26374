package repository_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/osms/sports-service/embeddeddb"
	"github.com/osms/sports-service/models"
	"github.com/osms/sports-service/password"
	"github.com/osms/sports-service/repository"
)

// BenchmarkEmbeddedLookups measures, on the embedded database at several
// sizes (LOOKUP_SIZES, default 1000,10000,100000 records of each kind), the
// lookups of issue #25 through the store: first as the store was (no
// Lookups, leases in the database: "ferretdb-alone"), then as the service
// now opens the embedded database (Lookups and their indexes, leases in
// memory: "embedded-default"), on the same files in the same run. Run it with a fixed count, e.g.
//
//	go test -run '^$' -bench EmbeddedLookups -benchtime 20x ./repository/
//
// ("before" at 100,000 takes seconds per keyset page).
func BenchmarkEmbeddedLookups(b *testing.B) {
	sizes := os.Getenv("LOOKUP_SIZES")
	if sizes == "" {
		sizes = "1000,10000,100000"
	}
	for _, field := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(field)
		if err != nil {
			b.Fatalf("LOOKUP_SIZES: %v", err)
		}
		benchmarkLookupsAt(b, n)
	}
}

func benchmarkLookupsAt(b *testing.B, n int) {
	ctx := context.Background()
	dir := b.TempDir()
	db, err := embeddeddb.Start(dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = db.Stop(ctx) }()
	lookups, err := embeddeddb.OpenLookups(dir, "osms")
	if err != nil {
		b.Fatal(err)
	}
	defer lookups.Close()
	hasher, err := password.NewHasher(password.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		b.Fatal(err)
	}
	open := func(l repository.Lookups, exclusive bool) *repository.Store {
		s, err := repository.Open(db.URI(), repository.Options{Database: "osms", Timeout: time.Minute, Lookups: l, Exclusive: exclusive}, hasher)
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	plain := open(nil, false)
	defer plain.Close(ctx)
	if err := plain.EnsureIndexes(ctx); err != nil {
		b.Fatal(err)
	}
	seedLookups(b, plain, n)

	var added int64 = 10_000_000
	updates := 0
	ops := []struct {
		name string
		op   func(s *repository.Store) error
	}{
		{"get-by-id", func(s *repository.Store) error { _, err := s.GetPlayer(ctx, int64(n/2)); return err }},
		{"login-by-username", func(s *repository.Store) error {
			_, err := s.LoginByUsername(ctx, fmt.Sprintf("user%d", n/2))
			return err
		}},
		{"add-player-with-game", func(s *repository.Store) error {
			added++
			p := player(added)
			g := int64(n / 3)
			p.GameID = &g
			_, err := s.CreatePlayer(ctx, p)
			return err
		}},
		{"delete-game-refused", func(s *repository.Store) error {
			var iu *repository.InUseError
			if err := s.DeleteGame(ctx, int64(n/4)); !errors.As(err, &iu) {
				return fmt.Errorf("delete a game with players: %v, want InUseError", err)
			}
			return nil
		}},
		{"delete-official-refused", func(s *repository.Store) error {
			var iu *repository.InUseError
			if err := s.DeleteOfficial(ctx, lastGamesOfficial); !errors.As(err, &iu) {
				return fmt.Errorf("delete an official of games: %v, want InUseError", err)
			}
			return nil
		}},
		{"keyset-page-100", func(s *repository.Store) error {
			k := 0
			err := s.ListPlayers(ctx, repository.ListQuery{Limit: 100, After: int64(n / 2)}, func(models.Player) error { k++; return nil })
			if err == nil && k != 100 {
				err = fmt.Errorf("a page of %d players, want 100", k)
			}
			return err
		}},
		{"update-player", func(s *repository.Store) error {
			updates++
			age := 21 + updates%2 // a write that changes the record
			_, err := s.UpdatePlayer(ctx, int64(n/5), models.PlayerPatch{Age: &age})
			return err
		}},
		// What an update cost before versions: read the record, write it
		// back by `_id`; no claim, no version.
		{"update-unversioned", func(s *repository.Store) error {
			id := int64(n/5 + 1)
			if _, err := s.GetPlayer(ctx, id); err != nil {
				return err
			}
			updates++
			_, err = s.Client().Database("osms").Collection(repository.PlayerCollection).UpdateOne(ctx,
				bson.D{{Key: "_id", Value: strconv.FormatInt(id, 10)}}, bson.D{{Key: "$set", Value: bson.D{{Key: "age", Value: 21 + updates%2}}}})
			return err
		}},
	}
	run := func(label string, s *repository.Store) {
		for _, o := range ops {
			b.Run(fmt.Sprintf("%s/n=%d/%s", o.name, n, label), func(b *testing.B) {
				var took []time.Duration
				for b.Loop() {
					start := time.Now()
					if err := o.op(s); err != nil {
						b.Fatal(err)
					}
					took = append(took, time.Since(start))
				}
				slices.Sort(took)
				b.ReportMetric(quantileMS(took, 0.5), "p50-ms")
				b.ReportMetric(quantileMS(took, 0.99), "p99-ms")
			})
		}
	}
	run("ferretdb-alone", plain)
	fast := open(lookups, true)
	defer fast.Close(ctx)
	if err := fast.EnsureIndexes(ctx); err != nil { // creates the lookups' indexes
		b.Fatal(err)
	}
	run("embedded-default", fast)
}

// lastGamesOfficial is the official of the last game only (officials 1 to
// 100 are each in every hundredth game).
const lastGamesOfficial = 101

// seedLookups inserts n players (a third in games), n logins, n games
// (each with one of 100 officials, the last with lastGamesOfficial) and the
// officials, as raw documents in batches: the store's own adds would take
// minutes at 100,000.
func seedLookups(b *testing.B, s *repository.Store, n int) {
	ctx := context.Background()
	db := s.Client().Database("osms")
	insert := func(coll string, count int, doc func(i int) map[string]any) {
		batch := make([]any, 0, 1000)
		for i := 1; i <= count; i++ {
			batch = append(batch, doc(i))
			if len(batch) == cap(batch) || i == count {
				if _, err := db.Collection(coll).InsertMany(ctx, batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
	insert(repository.PlayerCollection, n, func(i int) map[string]any {
		d := map[string]any{"_id": strconv.Itoa(i), "player_id": int64(i), "fname": "Ann", "lname": "Lee", "age": 21,
			"birthday": day(2004, 1, 2), "date_started": day(2020, 5, 1), "version": int64(1)}
		if i%3 == 0 {
			d["game_id"] = int64(i/3) % int64(n) // every game up to n/3 has a player
		}
		return d
	})
	insert(repository.LoginCollection, n, func(i int) map[string]any {
		return map[string]any{"_id": strconv.Itoa(i), "login_id": int64(i), "username": fmt.Sprintf("user%d", i),
			"password_hash": "x", "role": "viewer", "version": int64(1)}
	})
	insert(repository.OfficialCollection, lastGamesOfficial, func(i int) map[string]any {
		return map[string]any{"_id": strconv.Itoa(i), "official_id": int64(i), "fname": "Jo", "lname": "Ref", "age": 40,
			"birthday": day(1984, 1, 2), "date_started": day(2010, 5, 1), "version": int64(1)}
	})
	insert(repository.GameCollection, n, func(i int) map[string]any {
		officials := []int64{int64(i%100) + 1}
		if i == n {
			officials = []int64{lastGamesOfficial} // only the last game: a delete of it reads every game
		}
		return map[string]any{"_id": strconv.Itoa(i), "game_id": int64(i), "name": "Final", "date_start": day(2024, 1, 2), "date_end": day(2024, 1, 3), "officials": officials,
			"version": int64(1)}
	})
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// quantileMS is the q-quantile of sorted durations, in milliseconds.
func quantileMS(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * q)
	return float64(sorted[i]) / float64(time.Millisecond)
}
