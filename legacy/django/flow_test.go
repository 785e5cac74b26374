package django

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/osms/sports-service/legacy/internal/fakestore"
	"github.com/osms/sports-service/legacy/internal/realstore"
	"github.com/osms/sports-service/models"
)

// backends runs a test against the in-memory fake and against the real
// repository on the embedded FerretDB.
var backends = []struct {
	name string
	open func(t *testing.T) Store
}{
	{"fake", func(*testing.T) Store { return fakestore.New() }},
	{"ferretdb", func(t *testing.T) Store { return realstore.Open(t) }},
}

func newBackendSite(t *testing.T, store Store) *site {
	t.Helper()
	if _, err := store.CreateLogin(context.Background(), models.LoginCreate{LoginID: 1, Username: testUser, Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	return newSite(t, store, nil)
}

// fieldErrorsOf returns the messages shown next to the named input.
func fieldErrorsOf(body, name string) string {
	m := regexp.MustCompile(`(?s)<ul class="errors" id="e-` + regexp.QuoteMeta(name) + `">(.*?)</ul>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestAdminFlowEndToEnd(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			s := newBackendSite(t, be.open(t))
			b := newBrowser(t, s.URL)
			admin := mount + "/admin/"

			expect(t, b.get(admin+"players/"), 303, admin+"login/?next="+url.QueryEscape(admin+"players/"))
			expect(t, b.login(testUser, "not the password"), http.StatusUnauthorized, "")
			expect(t, b.login(testUser, testPassword), 303, admin)

			// Add: the store's rules come back next to the fields.
			token := b.csrf(admin + "players/add/")
			bad := url.Values{"csrf_token": {token}, "player_id": {"7"}, "fname": {""}, "lname": {"Lee"}, "age": {"abc"},
				"birthday": {"2999-01-01"}, "date_started": {"2010-01-01"}, "game_id": {"99"}}
			r := b.post(admin+"players/add/", bad)
			expect(t, r, http.StatusUnprocessableEntity, "")
			for name, want := range map[string]string{"fname": "characters", "age": "whole number", "birthday": "future"} {
				if got := fieldErrorsOf(r.body, name); !strings.Contains(got, want) {
					t.Errorf("error at %s = %q, want %q", name, got, want)
				}
			}
			if !strings.Contains(r.body, `value="Lee"`) {
				t.Error("the form lost the values typed")
			}
			// Parsing passes, the store refuses the missing game.
			good := url.Values{"csrf_token": {token}, "player_id": {"7"}, "fname": {"Ann"}, "lname": {"Lee"}, "age": {"20"},
				"birthday": {"2005-01-01"}, "date_started": {"2010-01-01"}, "game_id": {"99"}}
			r = b.post(admin+"players/add/", good)
			expect(t, r, http.StatusUnprocessableEntity, "")
			if !strings.Contains(fieldErrorsOf(r.body, "game_id"), "does not exist") {
				t.Fatalf("missing game not shown at game_id:\n%s", r.body)
			}
			good.Del("game_id")
			expect(t, b.post(admin+"players/add/", good), 303, admin+"players/?done=added")
			// The same id again is a conflict shown at the id.
			r = b.post(admin+"players/add/", good)
			expect(t, r, http.StatusUnprocessableEntity, "")
			if !strings.Contains(fieldErrorsOf(r.body, "player_id"), "already taken") {
				t.Fatalf("conflict not shown at player_id:\n%s", r.body)
			}
			r = b.get(admin + "players/?done=added")
			if !strings.Contains(r.body, "The player was added.") || !strings.Contains(r.body, ">Ann<") {
				t.Fatalf("list:\n%s", r.body)
			}
			r = b.get(admin + "players/?q=ANN")
			if !strings.Contains(r.body, ">Ann<") {
				t.Fatal("search by name found nothing")
			}
			r = b.get(admin + "players/?q=zed")
			if strings.Contains(r.body, ">Ann<") || !strings.Contains(r.body, "No players found") {
				t.Fatal("search for another name found Ann")
			}

			// Change: without the token, refused; with it, saved.
			change := admin + "players/7/change/"
			r = b.get(change)
			expect(t, r, 200, "")
			if !strings.Contains(r.body, `value="2005-01-01"`) {
				t.Fatalf("change form not filled:\n%s", r.body)
			}
			edit := url.Values{"fname": {"Anna"}, "lname": {"Lee"}, "age": {"21"}, "birthday": {"2005-01-01"}, "date_started": {"2010-01-01"}}
			expect(t, b.post(change, edit), http.StatusForbidden, "")
			edit.Set("csrf_token", "forged")
			expect(t, b.post(change, edit), http.StatusForbidden, "")
			edit.Set("csrf_token", b.csrf(change))
			expect(t, b.post(change, edit), 303, admin+"players/?done=changed")
			if r := b.get(change); !strings.Contains(r.body, `value="Anna"`) || !strings.Contains(r.body, `value="21"`) {
				t.Fatalf("change not saved:\n%s", r.body)
			}
			edit.Set("date_started", "2000-01-01")
			r = b.post(change, edit)
			expect(t, r, http.StatusUnprocessableEntity, "")
			if !strings.Contains(fieldErrorsOf(r.body, "date_started"), "before birthday") {
				t.Fatalf("cross-field rule not shown:\n%s", r.body)
			}

			// Delete: a confirmation page, then a POST with the token.
			del := admin + "players/7/delete/"
			r = b.get(del)
			if !strings.Contains(r.body, "Are you sure") || !strings.Contains(r.body, "player 7 (Anna Lee)") {
				t.Fatalf("confirmation page:\n%s", r.body)
			}
			expect(t, b.post(del, url.Values{}), http.StatusForbidden, "")
			expect(t, b.post(del, url.Values{"csrf_token": {b.csrf(del)}}), 303, admin+"players/?done=deleted")
			expect(t, b.get(change), http.StatusNotFound, "")

			// Logout ends the session.
			expect(t, b.post(admin+"logout/", url.Values{"csrf_token": {b.csrf(admin)}}), 303, admin+"login/?done=logged-out")
			expect(t, b.get(admin), 303, admin+"login/?next="+url.QueryEscape(admin))
			expect(t, b.get(admin+"logout/"), 303, "") // GET is not a logout, and needs a login anyway
		})
	}
}

func TestOtherRecordsEndToEnd(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			s := newBackendSite(t, be.open(t))
			b := newBrowser(t, s.URL)
			admin := mount + "/admin/"
			expect(t, b.login(testUser, testPassword), 303, admin)
			post := func(path string, form url.Values) response {
				form.Set("csrf_token", b.csrf(path))
				return b.post(path, form)
			}
			expect(t, post(admin+"officials/add/", url.Values{"official_id": {"5"}, "fname": {"Olga"}, "lname": {"Ref"}, "age": {"50"},
				"birthday": {"1975-05-05"}, "date_started": {"2000-01-01"}}), 303, admin+"officials/?done=added")
			r := post(admin+"games/add/", url.Values{"game_id": {"10"}, "name": {"Final"}, "date_start": {"2030-06-02"},
				"date_end": {"2030-06-01"}, "officials": {"5, 6"}})
			expect(t, r, http.StatusUnprocessableEntity, "")
			if fieldErrorsOf(r.body, "date_end") == "" {
				t.Fatalf("game date errors:\n%s", r.body)
			}
			r = post(admin+"games/add/", url.Values{"game_id": {"10"}, "name": {"Final"}, "date_start": {"2030-06-01"},
				"date_end": {"2030-06-02"}, "officials": {"5, 6"}})
			expect(t, r, http.StatusUnprocessableEntity, "")
			if !strings.Contains(fieldErrorsOf(r.body, "officials"), "6 does not exist") {
				t.Fatalf("game reference errors:\n%s", r.body)
			}
			expect(t, post(admin+"games/add/", url.Values{"game_id": {"10"}, "name": {"Final"}, "date_start": {"2030-06-01"},
				"date_end": {"2030-06-02"}, "officials": {"5"}}), 303, admin+"games/?done=added")
			// An official in a game cannot be deleted: the page says by whom.
			r = post(admin+"officials/5/delete/", url.Values{})
			expect(t, r, http.StatusConflict, "")
			if !strings.Contains(r.body, "game 10") {
				t.Fatalf("in-use page:\n%s", r.body)
			}
			expect(t, post(admin+"games/10/change/", url.Values{"name": {"Grand final"}, "date_start": {"2030-06-01"},
				"date_end": {"2030-06-03"}, "officials": {""}}), 303, admin+"games/?done=changed")
			expect(t, post(admin+"officials/5/delete/", url.Values{}), 303, admin+"officials/?done=deleted")

			// Logins: the password is never shown or sent back.
			secret := "s3cret-password"
			r = post(admin+"logins/add/", url.Values{"login_id": {"2"}, "username": {"ed"}, "password": {secret}})
			expect(t, r, http.StatusUnprocessableEntity, "")
			if strings.Contains(r.body, secret) || fieldErrorsOf(r.body, "username") == "" {
				t.Fatalf("login form:\n%s", r.body)
			}
			expect(t, post(admin+"logins/add/", url.Values{"login_id": {"2"}, "username": {"editor"}, "password": {secret}}), 303, admin+"logins/?done=added")
			r = post(admin+"logins/2/change/", url.Values{"password": {"wrong one"}, "new_password": {"another-secret"}})
			expect(t, r, http.StatusUnprocessableEntity, "")
			if strings.Contains(r.body, "another-secret") || !strings.Contains(fieldErrorsOf(r.body, "password"), "not the current password") {
				t.Fatalf("password change page:\n%s", r.body)
			}
			expect(t, post(admin+"logins/2/change/", url.Values{"password": {secret}, "new_password": {"another-secret"}}), 303, admin+"logins/?done=changed")
			other := newBrowser(t, s.URL)
			expect(t, other.login("editor", "another-secret"), 303, admin)
		})
	}
}

func TestKeysetPagination(t *testing.T) {
	s := newFakeSite(t)
	ctx := context.Background()
	for id := int64(1); id <= 5; id++ {
		if _, err := s.store.CreateOfficial(ctx, models.Official{OfficialID: id * 10, FirstName: "F", LastName: "L", Age: 30,
			Birthday: models.NewDate(1990, 1, 1), DateStarted: models.NewDate(2010, 1, 1)}); err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowser(t, s.URL)
	expect(t, b.login(testUser, testPassword), 303, "")
	list := mount + "/admin/officials/"
	r := b.get(list + "?limit=2")
	if !strings.Contains(r.body, `href="`+list+`?after=20&amp;limit=2"`) || strings.Contains(r.body, "First page") {
		t.Fatalf("page 1:\n%s", r.body)
	}
	r = b.get(list + "?limit=2&after=40")
	if !strings.Contains(r.body, ">50<") || strings.Contains(r.body, ">40<") || strings.Contains(r.body, "Next page") ||
		!strings.Contains(r.body, `href="`+list+`?limit=2"`) {
		t.Fatalf("last page:\n%s", r.body)
	}
}
