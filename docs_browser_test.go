package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/osms/sports-service/internal/testenv"
)

func playerJSON(id int) string {
	return fmt.Sprintf(`{"player_id": %d, "fname": "Ann", "lname": "Lee", "age": 20, "birthday": "2004-01-02", "date_started": "2020-05-01"}`, id)
}

// testSwaggerUISignIn: in /docs, "Try it out" on an add is refused with 401
// before signing in, and succeeds after Authorize with an admin's username
// and password (the OAuth2 password flow the document declares).
func testSwaggerUISignIn(t *testing.T, a authFixture) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	s := a.s
	ctx, seen := testenv.NewBrowser(t)
	if _, err := testenv.RunAction(ctx, chromedp.Steps(chromedp.Navigate(s.URL+"/docs"), chromedp.WaitVisible(chromedp.CSS(`.opblock`)))); err != nil {
		t.Fatalf("/docs: %v (%v)", err, seen.Take())
	}
	// Another add than the one below: Swagger UI keeps a tried operation's
	// block open in "try it out" mode, which TryItOut would toggle off.
	official := `{"official_id": 5, "fname": "Rita", "lname": "Ref", "age": 40, "birthday": "1984-03-04", "date_started": "2005-01-01"}`
	status, body := testenv.TryItOut(t, ctx, "POST", "/ch11/official/add", official)
	if status != "401" {
		t.Errorf("Try it out without signing in: %s %.300s, want 401", status, body)
	}
	seen.Take() // the 401 was the point

	testenv.AuthorizeSwaggerUI(t, ctx, testenv.Credentials{Username: "root", Password: testAdminPass})
	id := 1 + rand.IntN(1e9)
	status, body = testenv.TryItOut(t, ctx, "POST", "/ch11/player/add", playerJSON(id))
	if status != "201" || !strings.Contains(body, fmt.Sprint(id)) {
		t.Errorf("Try it out after Authorize: %s %.300s, want 201 with the player", status, body)
	}
	for _, p := range seen.Take() {
		t.Error(p)
	}
}

// testAdminSiteRolesInChromium signs in to the admin site in a real browser
// as a viewer and as an admin: the viewer's pages show the records without
// Add, Save or Delete; the admin's have them.
func testAdminSiteRolesInChromium(t *testing.T, a authFixture) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	s := a.s
	expect(t, s.do(t, "POST", "/ch11/player/add", playerBody(4), "Authorization", "Bearer "+a.admin), 201)
	tests := []struct {
		user, password string
		canChange      bool
	}{
		{"coach", "viewer-password", false},
		{"root", testAdminPass, true},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			ctx, seen := testenv.NewBrowser(t)
			base := s.URL + "/ch11/django/admin/"
			if _, err := testenv.RunAction(ctx, chromedp.Steps(
				chromedp.Navigate(base+"login/"),
				chromedp.WaitVisible(chromedp.CSS("#f-username")),
				chromedp.SendKeys(chromedp.CSS("#f-username"), tt.user),
				chromedp.SendKeys(chromedp.CSS("#f-password"), tt.password),
				chromedp.Click(chromedp.CSS("button[type=submit]")),
				chromedp.WaitVisible(chromedp.CSS("header.site .user")),
				chromedp.Navigate(base+"players/"),
				chromedp.WaitVisible(chromedp.CSS("table tbody tr")),
			)); err != nil {
				testenv.Screenshot(t, ctx, "admin-failed")
				t.Fatalf("sign in and open the players: %v (%v)", err, seen.Take())
			}
			has := func(js string) bool {
				t.Helper()
				v, err := testenv.RunAction(ctx, chromedp.Evaluate[bool](js))
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			addLink := `Array.from(document.querySelectorAll('a')).some(a => a.textContent.trim() === 'Add player')`
			if got := has(addLink); got != tt.canChange {
				t.Errorf("the players list shows Add player: %v, want %v", got, tt.canChange)
			}
			if !has(`document.body.textContent.includes('Ann')`) {
				t.Error("the players list does not show the player")
			}
			testenv.Screenshot(t, ctx, "players-as-"+tt.user)
			if _, err := testenv.RunAction(ctx, chromedp.Steps(chromedp.Navigate(base+"players/4/change/"), chromedp.WaitVisible(chromedp.CSS("form")))); err != nil {
				t.Fatal(err)
			}
			if got := has(`Array.from(document.querySelectorAll('button')).some(b => b.textContent.trim() === 'Save') && Array.from(document.querySelectorAll('a')).some(a => a.textContent.includes('Delete'))`); got != tt.canChange {
				t.Errorf("the player's page offers Save and Delete: %v, want %v", got, tt.canChange)
			}
			testenv.Screenshot(t, ctx, "player-as-"+tt.user)
			for _, p := range seen.Take() {
				t.Error(p)
			}
		})
	}
}
