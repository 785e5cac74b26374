package django

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/osms/sports-service/legacy/internal/realstore"
	"github.com/osms/sports-service/models"
)

var versionPattern = regexp.MustCompile(`name="version" value="([0-9]+)"`)

// formOf returns the CSRF token and the version of the form at path.
func formOf(t *testing.T, b *browser, path string) (token, version string) {
	t.Helper()
	r := b.get(path)
	expect(t, r, 200, "")
	c, v := csrfPattern.FindStringSubmatch(r.body), versionPattern.FindStringSubmatch(r.body)
	if c == nil || v == nil {
		t.Fatalf("GET %s: no CSRF token or version in\n%s", path, r.body)
	}
	return c[1], v[1]
}

// TestTwoSessionsEditTheSameRecord: two administrators open the same
// record; the first save wins, the second is refused with a message and the
// record keeps the first save. Likewise a delete from a stale page.
func TestTwoSessionsEditTheSameRecord(t *testing.T) {
	t.Parallel()
	store := realstore.Open(t)
	s := newBackendSite(t, store)
	ctx := context.Background()
	for _, id := range []int64{7, 8} {
		if _, err := store.CreateOfficial(ctx, models.Official{OfficialID: id, FirstName: "Rita", LastName: "Ref", Age: 40,
			Birthday: models.DateOf(time.Date(1984, 3, 4, 0, 0, 0, 0, time.UTC)), DateStarted: models.DateOf(time.Date(2005, 1, 1, 0, 0, 0, 0, time.UTC))}); err != nil {
			t.Fatal(err)
		}
	}
	admin := mount + "/admin/"
	alice, bob := newBrowser(t, s.URL), newBrowser(t, s.URL)
	for _, b := range []*browser{alice, bob} {
		expect(t, b.login(testUser, testPassword), 303, admin)
	}
	person := func(token, version, first string) url.Values {
		return url.Values{"csrf_token": {token}, "version": {version}, "fname": {first}, "lname": {"Ref"}, "age": {"41"},
			"birthday": {"1984-03-04"}, "date_started": {"2005-01-01"}}
	}

	change := admin + "officials/7/change/"
	aToken, aVersion := formOf(t, alice, change)
	bToken, bVersion := formOf(t, bob, change)
	expect(t, alice.post(change, person(aToken, aVersion, "Alice")), 303, admin+"officials/?done=changed")
	r := bob.post(change, person(bToken, bVersion, "Bob"))
	expect(t, r, http.StatusConflict, "")
	if !strings.Contains(r.body, "changed by someone else since you opened it") {
		t.Fatalf("second save not refused with the message:\n%s", r.body)
	}
	if !strings.Contains(r.body, `value="Alice"`) || strings.Contains(r.body, `name="version" value="`+bVersion+`"`) {
		t.Errorf("the refused form does not show the stored record and its new version:\n%s", r.body)
	}
	if o, err := store.GetOfficial(ctx, 7); err != nil || o.FirstName != "Alice" {
		t.Fatalf("stored %+v (%v), want the first save", o, err)
	}

	del := admin + "officials/8/delete/"
	bToken, bVersion = formOf(t, bob, del)
	aToken, aVersion = formOf(t, alice, admin+"officials/8/change/")
	expect(t, alice.post(admin+"officials/8/change/", person(aToken, aVersion, "Changed")), 303, admin+"officials/?done=changed")
	r = bob.post(del, url.Values{"csrf_token": {bToken}, "version": {bVersion}})
	expect(t, r, http.StatusConflict, "")
	if !strings.Contains(r.body, "changed by someone else since you opened it") {
		t.Fatalf("stale delete not refused with the message:\n%s", r.body)
	}
	if _, err := store.GetOfficial(ctx, 8); err != nil {
		t.Fatalf("record deleted from a stale page: %v", err)
	}
	// Confirming again from the refreshed page deletes it.
	bToken, bVersion = formOf(t, bob, del)
	expect(t, bob.post(del, url.Values{"csrf_token": {bToken}, "version": {bVersion}}), 303, admin+"officials/?done=deleted")
}
