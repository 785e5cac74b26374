// Package invariants is the table of the data's rules that must hold across
// instances sharing one database (docs/concurrency.md), each with requests
// that break it if sent to two instances at the same moment, and the check
// that reads the data back through the API. The multi-instance tests (the
// root package's, on processes of the binary; deploy/stack's, through the
// gateway of the compose stack) play it.
//
// It is imported only by _test.go files.
package invariants

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Step is one request of a race.
type Step struct {
	Method, Path string
	Body         any      // JSON-encoded; nil: none
	Header       []string // name, value, ...
}

// Answer is what an instance answered to a step (Err: no answer at all).
type Answer struct {
	Status int
	Body   string
	Header map[string][]string
	Err    error
}

func (a Answer) String() string {
	if a.Err != nil {
		return "error " + a.Err.Error()
	}
	return fmt.Sprintf("%d %.300s", a.Status, a.Body)
}

// Client sends a step to instance inst (a gateway ignores inst and spreads
// the steps itself).
type Client interface {
	Send(inst int, s Step) Answer
}

// Race is one rule and the requests that would break it if the rule did
// not hold across instances.
type Race struct {
	Name string
	// Prepare makes, through instance inst, what round n races over, and
	// returns the requests to send at once.
	Prepare func(c Client, inst, n int) ([]Step, error)
	// Allowed are the statuses each request may answer; 503 (busy, with
	// Retry-After) is always allowed.
	Allowed [][]int
	// Broken says what the answers break, if anything.
	Broken func(answers []Answer) string
}

func bothSucceeded(a []Answer) string {
	if a[0].Status/100 == 2 && a[1].Status/100 == 2 {
		return "both requests succeeded"
	}
	return ""
}

// Bodies of valid records.

func PlayerBody(id int64) map[string]any {
	return map[string]any{"player_id": id, "fname": "Ann", "lname": "Lee", "age": 20,
		"birthday": "2004-01-02", "date_started": "2020-05-01"}
}

func OfficialBody(id int64) map[string]any {
	return map[string]any{"official_id": id, "fname": "Rita", "lname": "Ref", "age": 40,
		"birthday": "1984-03-04", "date_started": "2005-01-01"}
}

func GameBody(id int64, officials ...int64) map[string]any {
	if officials == nil {
		officials = []int64{}
	}
	return map[string]any{"game_id": id, "name": "Final", "date_start": "2024-06-01", "date_end": "2024-06-02", "officials": officials}
}

// must sends s to inst and wants status.
func must(c Client, inst, status int, s Step) (Answer, error) {
	a := c.Send(inst, s)
	if a.Err != nil || a.Status != status {
		return a, fmt.Errorf("%s %s on instance %d: %s, want %d", s.Method, s.Path, inst, a, status)
	}
	return a, nil
}

type login struct {
	LoginID  int64  `json:"login_id"`
	Username string `json:"username"`
	Role     string `json:"role"`
}

func logins(c Client, inst int) ([]login, error) {
	a, err := must(c, inst, 200, Step{Method: "GET", Path: "/ch11/login/list/all"})
	if err != nil {
		return nil, err
	}
	var out []login
	return out, json.Unmarshal([]byte(a.Body), &out)
}

// Admins lists the ids of the logins with the admin role.
func Admins(c Client, inst int) ([]int64, error) {
	all, err := logins(c, inst)
	var ids []int64
	for _, l := range all {
		if l.Role == "admin" {
			ids = append(ids, l.LoginID)
		}
	}
	return ids, err
}

// Races returns the races; the records of round n of race r have ids
// base + r*100000 + n*10 + 1 (+1), so a base keeps reruns on one database
// apart. The admin races need exactly one admin before each round (they
// leave one).
func Races(base int64) []Race {
	id := func(race, n int) int64 { return base + int64(race*100000+n*10+1) }
	theAdmin := func(c Client, inst int) (int64, error) {
		admins, err := Admins(c, inst)
		if err != nil {
			return 0, err
		}
		if len(admins) != 1 {
			return 0, fmt.Errorf("admins before the race: %v, want exactly one", admins)
		}
		return admins[0], nil
	}
	newAdmin := func(c Client, inst int, id int64) error {
		_, err := must(c, inst, 201, Step{Method: "POST", Path: "/ch11/login/add", Body: map[string]any{
			"login_id": id, "username": fmt.Sprintf("admin%d", id), "password": "admin-password-1", "role": "admin"}})
		return err
	}
	role := func(r string) map[string]any { return map[string]any{"role": r} }
	return []Race{
		{
			Name: "player add vs game delete",
			Prepare: func(c Client, inst, n int) ([]Step, error) {
				g, p := id(1, n), id(1, n)
				if _, err := must(c, inst, 201, Step{Method: "POST", Path: "/ch11/game/add", Body: GameBody(g)}); err != nil {
					return nil, err
				}
				body := PlayerBody(p)
				body["game_id"] = g
				return []Step{{Method: "POST", Path: "/ch11/player/add", Body: body},
					{Method: "DELETE", Path: fmt.Sprintf("/ch11/game/delete/%d", g)}}, nil
			},
			Allowed: [][]int{{201, 422}, {200, 409}}, Broken: bothSucceeded,
		},
		{
			Name: "player moved into a game vs game delete",
			Prepare: func(c Client, inst, n int) ([]Step, error) {
				g, p := id(2, n), id(2, n)
				if _, err := must(c, inst, 201, Step{Method: "POST", Path: "/ch11/game/add", Body: GameBody(g)}); err != nil {
					return nil, err
				}
				if _, err := must(c, inst, 201, Step{Method: "POST", Path: "/ch11/player/add", Body: PlayerBody(p)}); err != nil {
					return nil, err
				}
				return []Step{{Method: "PATCH", Path: fmt.Sprintf("/ch11/player/update/%d", p), Body: map[string]any{"game_id": g}},
					{Method: "DELETE", Path: fmt.Sprintf("/ch11/game/delete/%d", g)}}, nil
			},
			Allowed: [][]int{{200, 422}, {200, 409}}, Broken: bothSucceeded,
		},
		{
			Name: "game add vs official delete",
			Prepare: func(c Client, inst, n int) ([]Step, error) {
				o, g := id(3, n), id(3, n)
				if _, err := must(c, inst, 201, Step{Method: "POST", Path: "/ch11/official/add", Body: OfficialBody(o)}); err != nil {
					return nil, err
				}
				return []Step{{Method: "POST", Path: "/ch11/game/add", Body: GameBody(g, o)},
					{Method: "DELETE", Path: fmt.Sprintf("/ch11/official/delete/%d", o)}}, nil
			},
			Allowed: [][]int{{201, 422}, {200, 409}}, Broken: bothSucceeded,
		},
		{
			Name: "official added to a game vs official delete",
			Prepare: func(c Client, inst, n int) ([]Step, error) {
				o, g := id(4, n), id(4, n)
				if _, err := must(c, inst, 201, Step{Method: "POST", Path: "/ch11/official/add", Body: OfficialBody(o)}); err != nil {
					return nil, err
				}
				if _, err := must(c, inst, 201, Step{Method: "POST", Path: "/ch11/game/add", Body: GameBody(g)}); err != nil {
					return nil, err
				}
				return []Step{{Method: "PATCH", Path: fmt.Sprintf("/ch11/game/update/%d", g), Body: map[string]any{"officials": []int64{o}}},
					{Method: "DELETE", Path: fmt.Sprintf("/ch11/official/delete/%d", o)}}, nil
			},
			Allowed: [][]int{{200, 422}, {200, 409}}, Broken: bothSucceeded,
		},
		{
			Name: "the last two admins demoted at once",
			Prepare: func(c Client, inst, n int) ([]Step, error) {
				b := id(5, n)
				a, err := theAdmin(c, inst)
				if err != nil {
					return nil, err
				}
				if err := newAdmin(c, inst, b); err != nil {
					return nil, err
				}
				return []Step{{Method: "PATCH", Path: fmt.Sprintf("/ch11/login/role/%d", a), Body: role("viewer")},
					{Method: "PATCH", Path: fmt.Sprintf("/ch11/login/role/%d", b), Body: role("viewer")}}, nil
			},
			Allowed: [][]int{{200, 409}, {200, 409}}, Broken: bothSucceeded,
		},
		{
			Name: "the last two admins, one deleted and one demoted at once",
			Prepare: func(c Client, inst, n int) ([]Step, error) {
				b := id(6, n)
				a, err := theAdmin(c, inst)
				if err != nil {
					return nil, err
				}
				if err := newAdmin(c, inst, b); err != nil {
					return nil, err
				}
				return []Step{{Method: "DELETE", Path: fmt.Sprintf("/ch11/login/delete/%d", a)},
					{Method: "PATCH", Path: fmt.Sprintf("/ch11/login/role/%d", b), Body: role("viewer")}}, nil
			},
			Allowed: [][]int{{200, 409}, {200, 409}}, Broken: bothSucceeded,
		},
		{
			Name: "two password changes from the same password",
			Prepare: func(c Client, inst, n int) ([]Step, error) {
				l := id(7, n)
				user := fmt.Sprintf("user%d", l)
				if _, err := must(c, inst, 201, Step{Method: "POST", Path: "/ch11/login/add", Body: map[string]any{
					"login_id": l, "username": user, "password": "old-password-1"}}); err != nil {
					return nil, err
				}
				change := func(to string) Step {
					return Step{Method: "PATCH", Path: "/ch11/login/update", Body: map[string]any{
						"username": user, "password": "old-password-1", "new_password": to}}
				}
				return []Step{change("new-password-a"), change("new-password-b")}, nil
			},
			Allowed: [][]int{{200, 401}, {200, 401}}, Broken: bothSucceeded,
		},
		{
			Name: "one username added twice",
			Prepare: func(_ Client, _, n int) ([]Step, error) {
				l := id(8, n)
				add := func(l int64) Step {
					return Step{Method: "POST", Path: "/ch11/login/add", Body: map[string]any{
						"login_id": l, "username": fmt.Sprintf("twin%d", id(8, n)), "password": "twin-password-1"}}
				}
				return []Step{add(l), add(l + 1)}, nil
			},
			Allowed: [][]int{{201, 409}, {201, 409}}, Broken: bothSucceeded,
		},
		{
			Name: "one update, same ETag, sent twice",
			Prepare: func(c Client, inst, n int) ([]Step, error) {
				o := id(9, n)
				a, err := must(c, inst, 201, Step{Method: "POST", Path: "/ch11/official/add", Body: OfficialBody(o)})
				if err != nil {
					return nil, err
				}
				etag := ""
				if v := a.Header["Etag"]; len(v) > 0 {
					etag = v[0]
				}
				patch := func(name string) Step {
					return Step{Method: "PATCH", Path: fmt.Sprintf("/ch11/official/update/%d", o),
						Body: map[string]any{"fname": name}, Header: []string{"If-Match", etag}}
				}
				return []Step{patch("Ann"), patch("Bea")}, nil
			},
			Allowed: [][]int{{200, 412}, {200, 412}}, Broken: bothSucceeded,
		},
		{
			Name: "one Idempotency-Key sent to every instance",
			Prepare: func(_ Client, _, n int) ([]Step, error) {
				key := fmt.Sprintf("key-%d-%d", id(10, n), rand.Int64())
				s := Step{Method: "POST", Path: "/ch11/official/add", Body: OfficialBody(id(10, n)),
					Header: []string{"Idempotency-Key", key}}
				return []Step{s, s, s}, nil
			},
			Allowed: [][]int{{201, 409}, {201, 409}, {201, 409}},
			Broken: func(a []Answer) string {
				// 409 is right only while the first still runs; "already
				// exists" means the create ran twice.
				for _, x := range a {
					if x.Status == 409 && !strings.Contains(x.Body, "still being processed") {
						return "the create ran twice: " + x.Body
					}
				}
				return ""
			},
		},
	}
}

// AtOnce sends each step to its instance (on[i % len(on)]) at the same
// moment, give or take up to 2 ms, so that the rounds overlap the requests'
// steps in ever different places.
func AtOnce(c Client, steps []Step, on []int) []Answer {
	answers := make([]Answer, len(steps))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range steps {
		delay := time.Duration(rand.Int64N(int64(2 * time.Millisecond)))
		wg.Go(func() {
			<-start
			time.Sleep(delay)
			answers[i] = c.Send(on[i%len(on)], s)
		})
	}
	close(start)
	wg.Wait()
	return answers
}

// Tally counts what the rounds saw.
type Tally struct {
	mu         sync.Mutex
	Violations []string
	Unexpected []string
	Busy       int // 503 answers
	NoAnswer   int // sent to an instance being killed
	Rounds     int
}

// Play runs rounds first, first+1, ... of every race. Each round sends its
// requests at once to the instances alive() returns, rotating;
// between(n), when not nil, runs before round n; dead(i) says that instance i
// was killed on purpose (its transport errors are expected).
func Play(c Client, races []Race, first, rounds int, tally *Tally, alive func() []int, dead func(int) bool, between func(n int)) error {
	for n := first; n < first+rounds; n++ {
		if between != nil {
			between(n)
		}
		for _, r := range races {
			live := alive()
			on := make([]int, 0, len(live))
			for i := range live {
				on = append(on, live[(n+i)%len(live)])
			}
			steps, err := r.Prepare(c, on[0], n)
			if err != nil {
				return fmt.Errorf("%s, round %d: %w", r.Name, n, err)
			}
			answers := AtOnce(c, steps, on)
			tally.mu.Lock()
			tally.Rounds++
			for i, a := range answers {
				switch {
				case a.Err != nil && dead != nil && dead(on[i%len(on)]):
					tally.NoAnswer++
				case a.Err != nil:
					tally.Unexpected = append(tally.Unexpected, fmt.Sprintf("%s, round %d, request %d: %s", r.Name, n, i, a))
				case a.Status == 503:
					tally.Busy++
				case !slices.Contains(r.Allowed[i], a.Status):
					tally.Unexpected = append(tally.Unexpected, fmt.Sprintf("%s, round %d, request %d (%s %s): %s", r.Name, n, i, steps[i].Method, steps[i].Path, a))
				}
			}
			if why := r.Broken(answers); why != "" {
				tally.Violations = append(tally.Violations, fmt.Sprintf("%s, round %d: %s (%v)", r.Name, n, why, answers))
			}
			tally.mu.Unlock()
		}
	}
	return nil
}

// ReadBack reads every record through instance inst and names what breaks
// a rule: a reference to a record that does not exist, no admin, a username
// held twice.
func ReadBack(c Client, inst int) ([]string, error) {
	var (
		players []struct {
			PlayerID int64  `json:"player_id"`
			GameID   *int64 `json:"game_id"`
		}
		games []struct {
			GameID    int64   `json:"game_id"`
			Officials []int64 `json:"officials"`
		}
		officials []struct {
			OfficialID int64 `json:"official_id"`
		}
	)
	for path, into := range map[string]any{"/ch11/player/list/all": &players, "/ch11/game/list/all": &games, "/ch11/official/list/all": &officials} {
		a, err := must(c, inst, 200, Step{Method: "GET", Path: path})
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(a.Body), into); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	all, err := logins(c, inst)
	if err != nil {
		return nil, err
	}
	gameIDs, officialIDs := map[int64]bool{}, map[int64]bool{}
	for _, g := range games {
		gameIDs[g.GameID] = true
	}
	for _, o := range officials {
		officialIDs[o.OfficialID] = true
	}
	var broken []string
	for _, p := range players {
		if p.GameID != nil && !gameIDs[*p.GameID] {
			broken = append(broken, fmt.Sprintf("player %d refers to game %d, which does not exist", p.PlayerID, *p.GameID))
		}
	}
	for _, g := range games {
		for _, o := range g.Officials {
			if !officialIDs[o] {
				broken = append(broken, fmt.Sprintf("game %d refers to official %d, which does not exist", g.GameID, o))
			}
		}
	}
	admins, names := 0, map[string]int{}
	for _, l := range all {
		if l.Role == "admin" {
			admins++
		}
		names[l.Username]++
	}
	if admins == 0 {
		broken = append(broken, "no admin is left")
	}
	for name, n := range names {
		if n > 1 {
			broken = append(broken, fmt.Sprintf("username %q is held by %d logins", name, n))
		}
	}
	return broken, nil
}

// Report logs the tally and what ReadBack found, and fails t for each
// violation, broken rule in the data and unexpected answer.
func Report(t testing.TB, tally *Tally, broken []string) {
	t.Helper()
	t.Logf("%d races: %d violations in the answers, %d in the data, %d busy (503) answers, %d unanswered by a killed instance",
		tally.Rounds, len(tally.Violations), len(broken), tally.Busy, tally.NoAnswer)
	for _, v := range tally.Violations {
		t.Errorf("violation: %s", v)
	}
	for _, b := range broken {
		t.Errorf("data: %s", b)
	}
	for _, u := range tally.Unexpected {
		t.Errorf("unexpected answer: %s", u)
	}
}
