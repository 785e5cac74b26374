package flask

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/osms/sports-service/legacy"
	"github.com/osms/sports-service/legacy/internal/fakestore"
	"github.com/osms/sports-service/models"
	"github.com/osms/sports-service/repository"
)

func newServer(t *testing.T, store Store) *httptest.Server {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(legacy.Mount("/ch11/flask", New(store, logger)))
	t.Cleanup(srv.Close)
	return srv
}

func seeded(t *testing.T) *fakestore.Store {
	t.Helper()
	ctx := context.Background()
	s := fakestore.New()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for id := int64(1); id <= 3; id++ {
		must(s.CreateOfficial(ctx, models.Official{OfficialID: id, FirstName: "Ref", LastName: string(rune('A' + id)), Age: 40,
			Birthday: models.NewDate(1980, 1, 1), DateStarted: models.NewDate(2000, 1, 1)}))
	}
	must(s.CreateGame(ctx, models.Game{GameID: 10, Name: "Spring cup", DateStart: models.NewDate(2030, time.March, 1),
		DateEnd: models.NewDate(2030, time.March, 10), Officials: []int64{1, 2}}))
	must(s.CreateGame(ctx, models.Game{GameID: 11, Name: "Empty", DateStart: models.NewDate(2030, 1, 1), DateEnd: models.NewDate(2030, 1, 2)}))
	game := int64(10)
	for id := int64(1); id <= 5; id++ {
		must(s.CreatePlayer(ctx, models.Player{PlayerID: id, FirstName: "Player", LastName: string(rune('A' + id)), Age: 20,
			Birthday: models.NewDate(2000, 1, 1), DateStarted: models.NewDate(2010, 1, 1), GameID: &game}))
	}
	return s
}

func do(t *testing.T, method, url, contentType, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestIndex(t *testing.T) {
	srv := newServer(t, seeded(t))
	resp, body := do(t, "GET", srv.URL+"/ch11/flask/index", "", "")
	if resp.StatusCode != 200 || body != "flask integration" {
		t.Fatalf("GET /index: %d %q", resp.StatusCode, body)
	}
}

func TestRootLinksCarryPrefix(t *testing.T) {
	srv := newServer(t, seeded(t))
	for _, c := range []struct{ forwarded, want string }{
		{"", "/ch11/flask/schedule"},
		{"/sports", "/sports/ch11/flask/schedule"},
		{"//evil.example", "/ch11/flask/schedule"},
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/ch11/flask/", nil)
		if c.forwarded != "" {
			req.Header.Set(legacy.ForwardedPrefixHeader, c.forwarded)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var links map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&links)
		resp.Body.Close()
		if links["schedule"] != c.want {
			t.Errorf("forwarded %q: schedule link %q, want %q", c.forwarded, links["schedule"], c.want)
		}
	}
}

func TestScheduleTeams(t *testing.T) {
	srv := newServer(t, seeded(t))
	resp, body := do(t, "POST", srv.URL+"/ch11/flask/schedule", "application/json",
		`{"teams":["Lions","Tigers","Bears"],"start_date":"2030-03-01","interval_days":2,"skip_weekdays":["sun"],"double_round_robin":true}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var got ScheduleResponse
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Rounds) != 6 {
		t.Fatalf("%d rounds, want 6: %s", len(got.Rounds), body)
	}
	for _, r := range got.Rounds {
		if len(r.Matches) != 1 || r.Bye == "" {
			t.Fatalf("round %d: %+v", r.Round, r)
		}
		if r.Date.Time().Weekday() == time.Sunday {
			t.Fatalf("round %d on a Sunday", r.Round)
		}
	}
	if got.Rounds[0].Date.String() != "2030-03-01" {
		t.Fatalf("first date %s", got.Rounds[0].Date)
	}
}

func TestScheduleFromStoredRecords(t *testing.T) {
	srv := newServer(t, seeded(t))
	resp, body := do(t, "POST", srv.URL+"/ch11/flask/schedule", "", `{"player_ids":[1,2,3,4],"start_date":"2030-03-01"}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"Player B (#1)"`) || !strings.Contains(body, `"interval_days":7`) {
		t.Fatalf("players: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "POST", srv.URL+"/ch11/flask/schedule", "", `{"official_ids":[1,2],"start_date":"2030-03-01"}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"official_id":2`) {
		t.Fatalf("officials: %d %s", resp.StatusCode, body)
	}
}

func TestScheduleGame(t *testing.T) {
	srv := newServer(t, seeded(t))
	resp, body := do(t, "GET", srv.URL+"/ch11/flask/schedule/games/10?interval_days=1&skip_weekdays=sat,sun", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var got ScheduleResponse
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	// Five players: five rounds of two matches, 2030-03-01 is a Friday.
	if len(got.Teams) != 5 || len(got.Rounds) != 5 || got.GameID != 10 {
		t.Fatalf("teams %d rounds %d game %d", len(got.Teams), len(got.Rounds), got.GameID)
	}
	wantDates := []string{"2030-03-01", "2030-03-04", "2030-03-05", "2030-03-06", "2030-03-07"}
	counts := map[int64]int{}
	for i, r := range got.Rounds {
		if r.Date.String() != wantDates[i] {
			t.Fatalf("round %d on %s, want %s", r.Round, r.Date, wantDates[i])
		}
		for _, m := range r.Matches {
			counts[m.OfficialID]++
		}
	}
	if counts[1] != 5 || counts[2] != 5 {
		t.Fatalf("officials not rotated evenly: %v", counts)
	}
	if got.WithinGameDates == nil || !*got.WithinGameDates {
		t.Fatalf("within_game_dates = %v, want true", got.WithinGameDates)
	}
}

type problemOut struct {
	Status int           `json:"status"`
	Errors []fieldDetail `json:"errors"`
}

func TestScheduleRejects(t *testing.T) {
	srv := newServer(t, seeded(t))
	many := make([]string, 257)
	for i := range many {
		many[i] = `"t` + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + `"`
	}
	cases := []struct {
		name, method, path, contentType, body string
		status                                int
		location                              string
	}{
		{"malformed json", "POST", "/schedule", "", `{"teams":`, 400, ""},
		{"trailing data", "POST", "/schedule", "", `{"teams":["a","b"],"start_date":"2030-01-01"} {}`, 400, ""},
		{"wrong media type", "POST", "/schedule", "text/plain", `{}`, 415, ""},
		{"unknown field", "POST", "/schedule", "", `{"teams":["a","b"],"start_date":"2030-01-01","colour":"red"}`, 422, "body.colour"},
		{"wrong type", "POST", "/schedule", "", `{"teams":"a,b","start_date":"2030-01-01"}`, 422, "body.teams"},
		{"no teams", "POST", "/schedule", "", `{"start_date":"2030-01-01"}`, 422, "body.teams"},
		{"one team", "POST", "/schedule", "", `{"teams":["a"],"start_date":"2030-01-01"}`, 422, "body.teams"},
		{"too many teams", "POST", "/schedule", "", `{"teams":[` + strings.Join(many, ",") + `],"start_date":"2030-01-01"}`, 422, "body.teams"},
		{"duplicate team", "POST", "/schedule", "", `{"teams":["Lions","lions "],"start_date":"2030-01-01"}`, 422, "body.teams[1]"},
		{"blank team", "POST", "/schedule", "", `{"teams":["a"," "],"start_date":"2030-01-01"}`, 422, "body.teams[1]"},
		{"two sources", "POST", "/schedule", "", `{"teams":["a","b"],"player_ids":[1,2],"start_date":"2030-01-01"}`, 422, "body"},
		{"bad date", "POST", "/schedule", "", `{"teams":["a","b"],"start_date":"2030-02-30"}`, 422, "body.start_date"},
		{"missing date", "POST", "/schedule", "", `{"teams":["a","b"]}`, 422, "body.start_date"},
		{"bad interval", "POST", "/schedule", "", `{"teams":["a","b"],"start_date":"2030-01-01","interval_days":0}`, 422, "body.interval_days"},
		{"bad weekday", "POST", "/schedule", "", `{"teams":["a","b"],"start_date":"2030-01-01","skip_weekdays":["funday"]}`, 422, "body.skip_weekdays[0]"},
		{"every weekday", "POST", "/schedule", "", `{"teams":["a","b"],"start_date":"2030-01-01","skip_weekdays":["mon","tue","wed","thu","fri","sat","sun"]}`, 422, "body.skip_weekdays"},
		{"bad skip date", "POST", "/schedule", "", `{"teams":["a","b"],"start_date":"2030-01-01","skip_dates":["2030-01-02","soon"]}`, 422, "body.skip_dates[1]"},
		{"unknown player", "POST", "/schedule", "", `{"player_ids":[1,99],"start_date":"2030-01-01"}`, 422, "body.player_ids[1]"},
		{"duplicate player", "POST", "/schedule", "", `{"player_ids":[1,1],"start_date":"2030-01-01"}`, 422, "body.player_ids[1]"},
		{"past year 9999", "POST", "/schedule", "", `{"teams":["a","b","c"],"start_date":"9999-12-01","interval_days":365}`, 422, "body.start_date"},
		{"game not found", "GET", "/schedule/games/99", "", "", 404, ""},
		{"game id not a number", "GET", "/schedule/games/x", "", "", 422, "path.game_id"},
		{"game without players", "GET", "/schedule/games/11", "", "", 422, "path.game_id"},
		{"game unknown parameter", "GET", "/schedule/games/10?colour=red", "", "", 422, "query.colour"},
		{"game bad interval", "GET", "/schedule/games/10?interval_days=x", "", "", 422, "query.interval_days"},
		{"wrong method", "GET", "/schedule", "", "", 405, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := do(t, c.method, srv.URL+"/ch11/flask"+c.path, c.contentType, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if c.status == 405 {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type %q", ct)
			}
			var p problemOut
			if err := json.Unmarshal([]byte(body), &p); err != nil || p.Status != c.status {
				t.Fatalf("problem %s: %v", body, err)
			}
			if c.location == "" {
				return
			}
			for _, e := range p.Errors {
				if e.Location == c.location {
					return
				}
			}
			t.Fatalf("no error at %s: %s", c.location, body)
		})
	}
}

func TestStoreUnavailable(t *testing.T) {
	s := seeded(t)
	s.Fail = repository.ErrUnavailable
	srv := newServer(t, s)
	resp, body := do(t, "GET", srv.URL+"/ch11/flask/schedule/games/10", "", "")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
}
