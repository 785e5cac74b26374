package repository_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/osms/sports-service/embeddeddb"
	"github.com/osms/sports-service/models"
	"github.com/osms/sports-service/password"
	"github.com/osms/sports-service/repository"
)

// newStore opens a Store on a fresh embedded FerretDB, with its lookups and
// its leases in memory (as the service runs it on the embedded default).
func newStore(t testing.TB) *repository.Store {
	t.Helper()
	dir := t.TempDir()
	db, err := embeddeddb.Start(dir, slog.New(slog.NewTextHandler(testWriter(t), nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Stop(context.Background()) })
	lookups, err := embeddeddb.OpenLookups(dir, "osms")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lookups.Close() })
	hasher, err := password.NewHasher(password.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	s, err := repository.Open(db.URI(), repository.Options{Database: "osms", Timeout: 5 * time.Second, Lookups: lookups, Exclusive: true}, hasher)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	if err := s.EnsureIndexes(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureIndexes(context.Background()); err != nil {
		t.Fatalf("EnsureIndexes is not idempotent: %v", err)
	}
	return s
}

func player(id int64) models.Player {
	return models.Player{PlayerID: id, FirstName: "Ann", LastName: "Lee", Age: 20,
		Birthday: models.NewDate(2004, 1, 2), DateStarted: models.NewDate(2020, 5, 1)}
}

func TestLoginConflictsNameTheField(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if _, err := s.CreateLogin(ctx, models.LoginCreate{LoginID: 1, Username: "alice", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		in    models.LoginCreate
		field string
	}{
		{"same id", models.LoginCreate{LoginID: 1, Username: "bob", Password: "correct horse"}, "login_id"},
		{"same username", models.LoginCreate{LoginID: 2, Username: "alice", Password: "correct horse"}, "username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateLogin(ctx, tt.in)
			var ce *repository.ConflictError
			if !errors.As(err, &ce) || !errors.Is(err, repository.ErrConflict) {
				t.Fatalf("err = %v, want a ConflictError", err)
			}
			if ce.Field != tt.field {
				t.Errorf("conflict field = %q, want %q", ce.Field, tt.field)
			}
		})
	}
	if _, err := s.VerifyLogin(ctx, "alice", "correct horse"); err != nil {
		t.Errorf("verify with the right password: %v", err)
	}
	for _, bad := range [][2]string{{"alice", "wrong password"}, {"nobody", "correct horse"}} {
		if _, err := s.VerifyLogin(ctx, bad[0], bad[1]); !errors.Is(err, repository.ErrBadCredentials) {
			t.Errorf("verify %v: err = %v, want ErrBadCredentials", bad, err)
		}
	}
}

func TestListStreamsInIDOrderWithKeysetPages(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for _, id := range []int64{5, 3, 9, 1, 7} {
		if _, err := s.CreatePlayer(ctx, player(id)); err != nil {
			t.Fatal(err)
		}
	}
	collect := func(q repository.ListQuery) []int64 {
		var ids []int64
		if err := s.ListPlayers(ctx, q, func(p models.Player) error { ids = append(ids, p.PlayerID); return nil }); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	tests := []struct {
		q    repository.ListQuery
		want []int64
	}{
		{repository.ListQuery{}, []int64{1, 3, 5, 7, 9}},
		{repository.ListQuery{Limit: 2}, []int64{1, 3}},
		{repository.ListQuery{After: 3, Limit: 2}, []int64{5, 7}},
		{repository.ListQuery{After: 9}, nil},
	}
	for _, tt := range tests {
		if got := collect(tt.q); !equal(got, tt.want) {
			t.Errorf("%+v: got %v, want %v", tt.q, got, tt.want)
		}
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReferencesMustExistAndBlockDeletes(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	gameID := int64(10)
	p := player(1)
	p.GameID = &gameID
	if _, err := s.CreatePlayer(ctx, p); !errors.Is(err, models.ErrValidation) {
		t.Fatalf("player with a missing game: err = %v, want a validation error", err)
	}
	o := models.Official{OfficialID: 4, FirstName: "Ref", LastName: "Eree", Age: 40,
		Birthday: models.NewDate(1980, 1, 1), DateStarted: models.NewDate(2000, 1, 1)}
	if _, err := s.CreateOfficial(ctx, o); err != nil {
		t.Fatal(err)
	}
	g := models.Game{GameID: gameID, Name: "Final", DateStart: models.NewDate(2024, 6, 1), DateEnd: models.NewDate(2024, 6, 2), Officials: []int64{4}}
	if _, err := s.CreateGame(ctx, g); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePlayer(ctx, p); err != nil {
		t.Fatal(err)
	}
	var inUse *repository.InUseError
	if err := s.DeleteGame(ctx, gameID); !errors.As(err, &inUse) || len(inUse.Referrers) != 1 || inUse.Referrers[0] != "player 1" {
		t.Errorf("delete a game in use: err = %v, want InUseError naming player 1", err)
	}
	if err := s.DeleteOfficial(ctx, 4); !errors.As(err, &inUse) || inUse.Referrers[0] != "game 10" {
		t.Errorf("delete an official in use: err = %v, want InUseError naming game 10", err)
	}
	if err := s.DeletePlayer(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGame(ctx, gameID); err != nil {
		t.Errorf("delete a free game: %v", err)
	}
	if _, err := s.GetGame(ctx, gameID); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("get a deleted game: err = %v, want ErrNotFound", err)
	}
}

func TestConcurrentCreatesStoreEachIDOnce(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, conflicts := map[int64]int{}, 0
	for i := range 60 {
		id := int64(i%50 + 1) // ids 1..10 raced by two goroutines each
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.CreatePlayer(ctx, player(id))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created[id]++
			case errors.Is(err, repository.ErrConflict):
				conflicts++
			default:
				t.Errorf("create %d: %v", id, err)
			}
		}()
	}
	wg.Wait()
	if len(created) != 50 || conflicts != 10 {
		t.Errorf("created %d distinct, %d conflicts; want 50 and 10", len(created), conflicts)
	}
	for id, n := range created {
		if n != 1 {
			t.Errorf("player %d created %d times", id, n)
		}
	}
	n := 0
	_ = s.ListPlayers(ctx, repository.ListQuery{}, func(models.Player) error { n++; return nil })
	if n != 50 {
		t.Errorf("listed %d players, want 50", n)
	}
}

func testWriter(testing.TB) io.Writer { return io.Discard }

// On the embedded database a list with no limit over more than
// MaxEmbeddedListAll records is refused before any work (FerretDB would sort
// them all in memory, past DB_TIMEOUT); keyset pages of any size still work,
// in id order, through the lookups.
func TestEmbeddedListAllRefusedAboveTheLimit(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	players := s.Client().Database("osms").Collection(repository.PlayerCollection)
	n := repository.MaxEmbeddedListAll + 1
	docs := make([]any, 0, n)
	for i := n; i >= 1; i-- { // inserted in reverse: the order must come from the ids
		docs = append(docs, map[string]any{"_id": strconv.Itoa(i), "player_id": int64(i), "fname": "Ann", "lname": "Lee"})
	}
	if _, err := players.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	var tooMany *repository.TooManyError
	err := s.ListPlayers(ctx, repository.ListQuery{}, func(models.Player) error { return nil })
	if !errors.As(err, &tooMany) || tooMany.Count != int64(n) || !strings.Contains(err.Error(), "?limit=") {
		t.Fatalf("list/all of %d players: %v, want a TooManyError that counts them and points to keyset pages", n, err)
	}
	for _, q := range []repository.ListQuery{{Limit: 100}, {Limit: 100, After: 5000}, {Limit: 1000, After: int64(n) - 3}} {
		var got []int64
		if err := s.ListPlayers(ctx, q, func(p models.Player) error { got = append(got, p.PlayerID); return nil }); err != nil {
			t.Fatalf("page %+v: %v", q, err)
		}
		want := []int64{}
		for id := q.After + 1; id <= int64(n) && len(want) < q.Limit; id++ {
			want = append(want, id)
		}
		if !slices.Equal(got, want) {
			t.Errorf("page %+v: %d players from %v, want %d from %v", q, len(got), first(got), len(want), first(want))
		}
	}
}

func first(ids []int64) any {
	if len(ids) == 0 {
		return "none"
	}
	return ids[0]
}

// TestExclusiveConditionalWrites: on the embedded default (leases in memory,
// no re-read under a claim: Options.Exclusive) conditional writes of one
// version sent at the same moment still succeed once: the local lock on the
// record is the guarantee there, since no other process writes the database.
func TestExclusiveConditionalWrites(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	writers := make([]*repository.Store, 12)
	for i := range writers {
		writers[i] = s
	}
	for id := int64(1); id <= 20; id++ {
		if _, err := s.CreatePlayer(ctx, player(id)); err != nil {
			t.Fatal(err)
		}
		vctx, v := repository.WithVersionSink(ctx)
		if _, err := s.GetPlayer(vctx, id); err != nil {
			t.Fatal(err)
		}
		ok, errs := atOnce(t, writers, repository.ErrPreconditionFailed, func(i int, s *repository.Store) error {
			name := fmt.Sprintf("Writer%d", i)
			_, err := s.UpdatePlayer(repository.WithIfMatch(ctx, v.Value), id, models.PlayerPatch{LastName: &name})
			return err
		})
		if ok != 1 {
			t.Fatalf("player %d: %d conditional writes of one version succeeded (%v), want 1", id, ok, errs)
		}
	}
}
