package flask

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/osms/sports-service/legacy/internal/realstore"
	"github.com/osms/sports-service/models"
)

// TestScheduleGameWithRealStore reads a game and its players through the
// repository on the embedded FerretDB.
func TestScheduleGameWithRealStore(t *testing.T) {
	store := realstore.Open(t)
	ctx := context.Background()
	if _, err := store.CreateOfficial(ctx, models.Official{OfficialID: 1, FirstName: "Olga", LastName: "Ref", Age: 50,
		Birthday: models.NewDate(1975, 5, 5), DateStarted: models.NewDate(2000, 1, 1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateGame(ctx, models.Game{GameID: 3, Name: "League", DateStart: models.NewDate(2030, time.April, 1),
		DateEnd: models.NewDate(2030, time.April, 3), Officials: []int64{1}}); err != nil {
		t.Fatal(err)
	}
	game := int64(3)
	for id := int64(1); id <= 4; id++ {
		if _, err := store.CreatePlayer(ctx, models.Player{PlayerID: id, FirstName: "P", LastName: "L", Age: 20,
			Birthday: models.NewDate(2005, 1, 1), DateStarted: models.NewDate(2015, 1, 1), GameID: &game}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.CreatePlayer(ctx, models.Player{PlayerID: 9, FirstName: "Not", LastName: "Enrolled", Age: 20,
		Birthday: models.NewDate(2005, 1, 1), DateStarted: models.NewDate(2015, 1, 1)}); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, store)
	resp, body := do(t, "GET", srv.URL+"/ch11/flask/schedule/games/3?interval_days=1", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var got ScheduleResponse
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	// Four players: three rounds on April 1-3, within the game's dates.
	if len(got.Teams) != 4 || len(got.Rounds) != 3 || got.WithinGameDates == nil || !*got.WithinGameDates {
		t.Fatalf("schedule: %s", body)
	}
	resp, body = do(t, "POST", srv.URL+"/ch11/flask/schedule", "", `{"player_ids":[1,9,42],"start_date":"2030-01-01"}`)
	if resp.StatusCode != 422 || !json.Valid([]byte(body)) {
		t.Fatalf("unknown player: %d %s", resp.StatusCode, body)
	}
}
