package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/osms/sports-service/handlers"
	"github.com/osms/sports-service/models"
	"github.com/osms/sports-service/repository"
)

// acceptingStore stores whatever the HTTP layer hands it, without checking
// anything: the fuzz targets use it to see what the decoding and validation of
// the HTTP layer let through on their own. It never reaches a database.
type acceptingStore struct {
	mu      sync.Mutex
	created int
}

func (s *acceptingStore) ok() { s.mu.Lock(); s.created++; s.mu.Unlock() }

func (s *acceptingStore) CreateLogin(_ context.Context, l models.LoginCreate) (models.Login, error) {
	s.ok()
	return models.Login{LoginID: l.LoginID, Username: l.Username}, nil
}
func (s *acceptingStore) GetLogin(context.Context, int64) (models.Login, error) {
	return models.Login{LoginID: 1, Username: "someone"}, nil
}
func (s *acceptingStore) ListLogins(context.Context, repository.ListQuery, func(models.Login) error) error {
	return nil
}
func (s *acceptingStore) DeleteLogin(context.Context, int64) error { return nil }
func (s *acceptingStore) ChangePassword(_ context.Context, u models.LoginUpdate) (models.Login, error) {
	return models.Login{LoginID: 1, Username: u.Username}, nil
}
func (s *acceptingStore) VerifyLogin(_ context.Context, username, _ string) (models.Login, error) {
	return models.Login{LoginID: 1, Username: username}, nil
}
func (s *acceptingStore) CreateOfficial(_ context.Context, o models.Official) (models.Official, error) {
	s.ok()
	return o, nil
}
func (s *acceptingStore) GetOfficial(context.Context, int64) (models.Official, error) {
	return models.Official{}, nil
}
func (s *acceptingStore) ListOfficials(context.Context, repository.ListQuery, func(models.Official) error) error {
	return nil
}
func (s *acceptingStore) UpdateOfficial(_ context.Context, _ int64, p models.OfficialPatch) (models.Official, error) {
	return p.Apply(validOfficial()), nil
}
func (s *acceptingStore) DeleteOfficial(context.Context, int64) error { return nil }
func (s *acceptingStore) CreatePlayer(_ context.Context, p models.Player) (models.Player, error) {
	s.ok()
	return p, nil
}
func (s *acceptingStore) GetPlayer(context.Context, int64) (models.Player, error) {
	return models.Player{}, nil
}
func (s *acceptingStore) ListPlayers(context.Context, repository.ListQuery, func(models.Player) error) error {
	return nil
}
func (s *acceptingStore) UpdatePlayer(_ context.Context, _ int64, p models.PlayerPatch) (models.Player, error) {
	return p.Apply(models.Player{PlayerID: 1}), nil
}
func (s *acceptingStore) DeletePlayer(context.Context, int64) error { return nil }
func (s *acceptingStore) CreateGame(_ context.Context, g models.Game) (models.Game, error) {
	s.ok()
	return g, nil
}
func (s *acceptingStore) GetGame(context.Context, int64) (models.Game, error) {
	return models.Game{}, nil
}
func (s *acceptingStore) ListGames(context.Context, repository.ListQuery, func(models.Game) error) error {
	return nil
}
func (s *acceptingStore) UpdateGame(_ context.Context, _ int64, p models.GamePatch) (models.Game, error) {
	return p.Apply(models.Game{GameID: 1}), nil
}
func (s *acceptingStore) DeleteGame(context.Context, int64) error { return nil }

func validOfficial() models.Official {
	return models.Official{OfficialID: 1, FirstName: "Rita", LastName: "Ref", Age: 40,
		Birthday: models.NewDate(1984, 3, 4), DateStarted: models.NewDate(2005, 1, 1)}
}

// fuzzRouter is the real router on the accepting store, built once per fuzz
// process.
var fuzzRouter = sync.OnceValue(func() http.Handler {
	return handlers.NewRouter(handlers.Options{
		Logger: slog.New(slog.DiscardHandler), Store: &acceptingStore{},
		ReadyTimeout: time.Second, RequestTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second, BodyLimit: 1 << 20,
	})
})

// serveFuzz sends one request through the router and checks what every
// answer must be: no panic (it would crash the fuzzer), no 5xx, and errors as
// problem documents.
func serveFuzz(t *testing.T, method, path string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	fuzzRouter().ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s answered %d for %q: %s", method, path, rec.Code, body, rec.Body)
	}
	if rec.Code >= 400 && !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
		t.Fatalf("%s %s: error %d as %q", method, path, rec.Code, rec.Header().Get("Content-Type"))
	}
	return rec
}

// strictDecode decodes body as the framework should have: every field known.
func strictDecode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return io.ErrUnexpectedEOF // trailing data
	}
	return nil
}

// addTargets are the create operations and the rules a stored record obeys.
var addTargets = []struct {
	path  string
	check func(body []byte) []models.FieldError // nil error list: valid
}{
	{"/ch11/login/add", func(b []byte) []models.FieldError {
		var l models.LoginCreate
		if err := strictDecode(b, &l); err != nil {
			return []models.FieldError{{Field: "body", Message: err.Error()}}
		}
		return l.Check()
	}},
	{"/ch11/official/add", func(b []byte) []models.FieldError {
		var o models.Official
		if err := strictDecode(b, &o); err != nil {
			return []models.FieldError{{Field: "body", Message: err.Error()}}
		}
		return o.Check(models.Today())
	}},
	{"/ch11/player/add", func(b []byte) []models.FieldError {
		var p models.Player
		if err := strictDecode(b, &p); err != nil {
			return []models.FieldError{{Field: "body", Message: err.Error()}}
		}
		return p.Check(models.Today())
	}},
	{"/ch11/game/add", func(b []byte) []models.FieldError {
		var g models.Game
		if err := strictDecode(b, &g); err != nil {
			return []models.FieldError{{Field: "body", Message: err.Error()}}
		}
		return g.Check(models.Today())
	}},
}

// FuzzAddBodies sends arbitrary bodies to the create operations: no panic, no
// 5xx, and a 201 only for a body that decodes strictly into the model and
// passes every rule of models' Check, although the store here checks nothing.
func FuzzAddBodies(f *testing.F) {
	seeds := []struct {
		target uint8
		body   string
	}{
		{0, `{"login_id":1,"username":"alice","password":"s3cret-pass"}`},
		{0, `{"login_id":1,"username":"al","password":"short"}`},
		{1, `{"official_id":7,"fname":"Rita","lname":"Ref","age":40,"birthday":"1984-03-04","date_started":"2005-01-01"}`},
		{1, `{"official_id":7,"fname":"Rita","lname":"Ref","age":40,"birthday":"1984-03-04T00:00:00Z","date_started":"1980-01-01"}`},
		{2, `{"player_id":1,"fname":"Ann","lname":"Lee","age":20,"birthday":"2004-01-02","date_started":"2020-05-01","game_id":null}`},
		{2, `{"player_id":1,"fname":"Ann","lname":"Lee","age":20,"birthday":"2004-02-30","date_started":"2020-05-01","game_id":0}`},
		{3, `{"game_id":3,"name":"Final","date_start":"2024-06-01","date_end":"2024-06-02","officials":[7,8]}`},
		{3, `{"game_id":3,"name":"Final","date_start":"2024-06-01","date_end":"2024-06-02","officials":[{}]}`},
		{3, `{"game_id":3,"name":"Final","date_start":"2024-06-01","date_end":"2024-06-02","officials":[7,7]}`},
		{3, `[[[[[[`},
	}
	for _, s := range seeds {
		f.Add(s.target, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, target uint8, body []byte) {
		tt := addTargets[int(target)%len(addTargets)]
		rec := serveFuzz(t, "POST", tt.path, body)
		if rec.Code == http.StatusCreated {
			if errs := tt.check(body); len(errs) > 0 {
				t.Fatalf("POST %s stored %q, which breaks %v", tt.path, body, errs)
			}
		}
	})
}

// FuzzUpdateBodies sends arbitrary partial updates: no panic, no 5xx.
func FuzzUpdateBodies(f *testing.F) {
	paths := []string{"/ch11/official/update/1", "/ch11/player/update/1", "/ch11/game/update/1"}
	f.Add(uint8(0), []byte(`{"lname":"Referee","age":41}`))
	f.Add(uint8(0), []byte(`{"birthday":null}`))
	f.Add(uint8(1), []byte(`{"game_id":3,"date_started":"2021-01-01T00:00"}`))
	f.Add(uint8(2), []byte(`{"officials":[{},[]],"date_end":"x"}`))
	f.Fuzz(func(t *testing.T, target uint8, body []byte) {
		serveFuzz(t, "PATCH", paths[int(target)%len(paths)], body)
	})
}

// FuzzPasswordBodies sends arbitrary bodies to the password change and the
// credential check: no panic, no 5xx, and no answer ever repeats a password
// it was sent.
func FuzzPasswordBodies(f *testing.F) {
	f.Add(false, []byte(`{"username":"alice","password":"s3cret-pass","new_password":"another-pass"}`))
	f.Add(false, []byte(`{"username":"alice","password":"s3cret-pass","new_password":"short"}`))
	f.Add(true, []byte(`{"username":"alice","password":"s3cret-pass"}`))
	f.Add(true, []byte(`{"username":"alice","password":"s3cret-pass","extra":{"password":"s3cret-pass"}}`))
	f.Add(true, []byte(`{"username":"alice","password":"s3cret-pass"`))
	f.Fuzz(func(t *testing.T, verify bool, body []byte) {
		method, path := "PATCH", "/ch11/login/update"
		if verify {
			method, path = "POST", "/ch11/login/verify"
		}
		rec := serveFuzz(t, method, path, body)
		var sent struct {
			Username    string `json:"username"`
			Password    string `json:"password"`
			NewPassword string `json:"new_password"`
		}
		_ = json.Unmarshal(body, &sent)
		for _, pw := range []string{sent.Password, sent.NewPassword} {
			// A short or trivial string may occur in an answer by chance
			// (a field name, the username): only a real secret counts.
			if len(pw) < 8 || strings.Contains(sent.Username, pw) || strings.Contains(path+"passwordnew_password", pw) {
				continue
			}
			if strings.Contains(rec.Body.String(), pw) {
				t.Fatalf("%s %s echoed the password %q: %s", method, path, pw, rec.Body)
			}
		}
	})
}
