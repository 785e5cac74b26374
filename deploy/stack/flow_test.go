//go:build stack

package stack

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// testClientFlow is the book's client, through the gateway: a login is
// added and verified, an official, a game and its players are created,
// read, listed, updated and deleted (in the order the references allow),
// the Flask-style app schedules the game and the Django-style admin site
// logs in with the login and serves its static files.
func testClientFlow(t *testing.T, s *stack) {
	n := newID()
	tag := fmt.Sprintf("%x", n) // names this run's records
	user, pass := "flow-"+tag, "flow-pass-"+tag
	game, official, p1, p2 := n, n, n, n+1
	lname := "Flow" + tag

	post := func(path string, body any) answer { return s.request(t, nil, http.MethodPost, path, body) }
	get := func(path string) answer { return s.request(t, nil, http.MethodGet, path, nil) }

	// Logins: the password is stored hashed and never shown.
	a := post("/ch11/login/add", map[string]any{"login_id": n, "username": user, "password": pass})
	expect(t, "add login", a, http.StatusCreated, user)
	if strings.Contains(a.body, pass) || strings.Contains(a.body, "argon2") {
		t.Errorf("add login shows the password or its hash: %s", a.body)
	}
	expect(t, "verify login", post("/ch11/login/verify", map[string]any{"username": user, "password": pass}), http.StatusOK)
	expect(t, "verify a wrong password", post("/ch11/login/verify", map[string]any{"username": user, "password": "wrong-" + pass}), http.StatusUnauthorized)
	expect(t, "get login", get(fmt.Sprintf("/ch11/login/get/%d", n)), http.StatusOK, user)

	// Officials, games, players.
	expect(t, "add official", post("/ch11/official/add", map[string]any{"official_id": official, "fname": "Rita", "lname": lname,
		"age": 40, "birthday": "1984-03-04", "date_started": "2005-01-01"}), http.StatusCreated, lname)
	expect(t, "get official", get(fmt.Sprintf("/ch11/official/get/%d", official)), http.StatusOK, lname)
	expect(t, "add game", post("/ch11/game/add", map[string]any{"game_id": game, "name": "Final", "date_start": "2024-06-01",
		"date_end": "2024-06-02", "officials": []int64{official}}), http.StatusCreated, `"Final"`)
	for _, id := range []int64{p1, p2} {
		expect(t, "add player", post("/ch11/player/add", player(id, game, lname)), http.StatusCreated, fmt.Sprint(id))
	}
	expect(t, "add a player twice", post("/ch11/player/add", player(p1, game, lname)), http.StatusConflict)
	expect(t, "add an invalid player", post("/ch11/player/add", map[string]any{"player_id": n + 2, "fname": "A", "lname": lname, "age": -1,
		"birthday": "2004-01-02", "date_started": "2020-05-01"}), http.StatusUnprocessableEntity, "age")
	expect(t, "get player", get(fmt.Sprintf("/ch11/player/get/%d", p1)), http.StatusOK, lname)
	expect(t, "get game", get(fmt.Sprintf("/ch11/game/get/%d", game)), http.StatusOK, `"Final"`)
	expect(t, "get a missing game", get(fmt.Sprintf("/ch11/game/get/%d", n+7)), http.StatusNotFound)
	// Keyset pages from just before this run's ids: the list is in id order.
	for _, kind := range []string{"player", "official", "game"} {
		expect(t, "list "+kind+"s", get(fmt.Sprintf("/ch11/%s/list/all?limit=5&after=%d", kind, n-1)), http.StatusOK, fmt.Sprint(n))
	}
	expect(t, "list all players", get("/ch11/player/list/all"), http.StatusOK, lname)
	expect(t, "update game", s.request(t, nil, http.MethodPatch, fmt.Sprintf("/ch11/game/update/%d", game), map[string]any{"name": "Semi"}),
		http.StatusOK, `"Semi"`)
	expect(t, "get updated game", get(fmt.Sprintf("/ch11/game/get/%d", game)), http.StatusOK, `"Semi"`)

	// The Flask-style app: its index, a schedule of named teams and one of
	// the stored game's players.
	expect(t, "flask index", get("/ch11/flask/index"), http.StatusOK, "flask integration")
	expect(t, "flask schedule", post("/ch11/flask/schedule", map[string]any{"teams": []string{"Ants", "Bees", "Cats", "Dogs"},
		"start_date": "2024-06-01"}), http.StatusOK, `"rounds"`, "Ants")
	expect(t, "flask game schedule", get(fmt.Sprintf("/ch11/flask/schedule/games/%d", game)), http.StatusOK,
		fmt.Sprintf(`"game_id":%d`, game), fmt.Sprintf(`"player_id":%d`, p2))

	// The Django-style app and its admin site, logged in with the login.
	expect(t, "django index", get("/ch11/django/index/"), http.StatusOK, "django integration")
	adminFlow(t, s, user, pass, lname)

	// Deletes: the game is refused while players reference it.
	del := func(path string) answer { return s.request(t, nil, http.MethodDelete, path, nil) }
	expect(t, "delete a referenced game", del(fmt.Sprintf("/ch11/game/delete/%d", game)), http.StatusConflict, fmt.Sprint(p1))
	for _, id := range []int64{p1, p2} {
		expect(t, "delete player", del(fmt.Sprintf("/ch11/player/delete/%d", id)), http.StatusOK)
	}
	expect(t, "delete game", del(fmt.Sprintf("/ch11/game/delete/%d", game)), http.StatusOK)
	expect(t, "get deleted game", get(fmt.Sprintf("/ch11/game/get/%d", game)), http.StatusNotFound)
	expect(t, "delete official", del(fmt.Sprintf("/ch11/official/delete/%d", official)), http.StatusOK)
	expect(t, "delete login", del(fmt.Sprintf("/ch11/login/delete/%d", n)), http.StatusOK)
	expect(t, "verify a deleted login", post("/ch11/login/verify", map[string]any{"username": user, "password": pass}), http.StatusUnauthorized)
}

// staticRef finds the admin pages' stylesheet, icon and script links.
var staticRef = regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`)

// adminFlow logs in to the admin site through the gateway, finds a player
// by last name and fetches every static file the pages link to.
func adminFlow(t *testing.T, s *stack, user, pass, lname string) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	a := s.request(t, c, http.MethodGet, "/ch11/django/admin/", nil)
	if a.status != http.StatusFound && a.status != http.StatusSeeOther {
		t.Fatalf("admin without a session: %s, want a redirect to the login page", a)
	}
	login := s.request(t, c, http.MethodGet, "/ch11/django/admin/login/", nil)
	expect(t, "admin login page", login, http.StatusOK, `name="csrf_token"`)
	token := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(login.body)
	if token == nil {
		t.Fatalf("no CSRF token on the login page: %.500s", login.body)
	}
	form := url.Values{"csrf_token": {token[1]}, "username": {user}, "password": {pass}, "next": {"/ch11/django/admin/"}}
	a = s.request(t, c, http.MethodPost, "/ch11/django/admin/login/", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	if a.status != http.StatusSeeOther {
		t.Fatalf("admin login: %s, want 303", a)
	}
	list := s.request(t, c, http.MethodGet, "/ch11/django/admin/players/?q="+url.QueryEscape(lname), nil)
	expect(t, "admin player search", list, http.StatusOK, lname)

	refs := staticRef.FindAllStringSubmatch(login.body+list.body, -1)
	if len(refs) < 3 {
		t.Errorf("the admin pages link %d static files, want the stylesheet, icon and script: %v", len(refs), refs)
	}
	wantType := map[string]string{".css": "text/css", ".js": "javascript", ".svg": "image/svg+xml"}
	seen := map[string]bool{}
	for _, r := range refs {
		path := r[1]
		if seen[path] {
			continue
		}
		seen[path] = true
		a := s.request(t, nil, http.MethodGet, path, nil)
		if a.status != http.StatusOK || a.body == "" {
			t.Errorf("static %s: %s", path, a)
			continue
		}
		for ext, ct := range wantType {
			if strings.Contains(path, ext) && !strings.Contains(a.header.Get("Content-Type"), ct) {
				t.Errorf("static %s: Content-Type %q, want %s", path, a.header.Get("Content-Type"), ct)
			}
		}
	}
}
