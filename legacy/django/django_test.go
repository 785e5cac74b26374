package django

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/osms/sports-service/models"
	"github.com/osms/sports-service/repository"
)

func TestSeedEndpointsAndAppendSlash(t *testing.T) {
	s := newFakeSite(t)
	b := newBrowser(t, s.URL)
	r := b.get(mount + "/index/")
	if r.StatusCode != 200 || r.body != "django integration" {
		t.Fatalf("GET /index/: %d %q", r.StatusCode, r.body)
	}
	cases := []struct {
		name, method, path, forwarded string
		status                        int
		location                      string
	}{
		{"index without slash", "GET", "/index", "", 301, mount + "/index/"},
		{"keeps the query", "GET", "/admin/players?q=x", "", 301, mount + "/admin/players/?q=x"},
		{"behind a gateway", "GET", "/index", "/sports", 301, "/sports" + mount + "/index/"},
		{"hostile forwarded prefix is dropped", "GET", "/index", "//evil.example", 301, mount + "/index/"},
		{"admin root", "GET", "/admin", "", 301, mount + "/admin/"},
		{"post keeps its method", "POST", "/admin/login", "", 308, mount + "/admin/login/"},
		{"unclean path", "GET", "//admin/../index/", "", 301, mount + "/index/"},
		{"unknown page", "GET", "/nothing", "", 404, ""},
		{"unknown kind", "GET", "/admin/teams/", "", 303, ""}, // login first, then 404
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBrowser(t, s.URL)
			if c.forwarded != "" {
				b.header.Set("X-Forwarded-Prefix", c.forwarded)
			}
			expect(t, b.do(c.method, mount+c.path, nil), c.status, c.location)
		})
	}
}

func TestUnauthenticatedRedirectKeepsNext(t *testing.T) {
	s := newFakeSite(t)
	for _, c := range []struct{ base, prefix string }{{s.URL, ""}, {s.gateway.URL, gatewayPrefix}} {
		b := newBrowser(t, c.base)
		r := b.get(c.prefix + mount + "/admin/players/?q=ann&after=3")
		next := c.prefix + mount + "/admin/players/?q=ann&after=3"
		expect(t, r, 303, c.prefix+mount+"/admin/login/?next="+url.QueryEscape(next))
		// The login form carries next and, once logged in, goes there.
		login := b.get(r.Header.Get("Location"))
		if !strings.Contains(login.body, `name="next" value="`+strings.ReplaceAll(next, "&", "&amp;")+`"`) {
			t.Fatalf("login form lost next %q:\n%s", next, login.body)
		}
		token := csrfPattern.FindStringSubmatch(login.body)[1]
		r = b.post(c.prefix+mount+"/admin/login/", url.Values{"csrf_token": {token}, "username": {testUser}, "password": {testPassword}, "next": {next}})
		expect(t, r, 303, next)
		expect(t, b.get(next), 200, "")
	}
}

func TestSafeNext(t *testing.T) {
	req := httptestRequest(t, "/gw")
	home := "/gw" + mount + "/admin/"
	cases := map[string]string{
		"":                                    home,
		"/gw" + mount + "/admin/players/":     "/gw" + mount + "/admin/players/",
		"/gw" + mount + "/admin/?q=1":         "/gw" + mount + "/admin/?q=1",
		"https://evil.example/":               home,
		"//evil.example/" + mount:             home,
		"/\\evil.example":                     home,
		"/gw" + mount + "/admin/../../x":      home,
		"/other/path":                         home,
		"javascript:alert(1)":                 home,
		"/gw" + mount + "/admin/\r\nX: y":     home,
		"http:/gw" + mount + "/admin/":        home,
		"/gw" + mount + "/admin@evil.example": home,
	}
	for next, want := range cases {
		if got := safeNext(req, next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestLoginFailuresAndCSRF(t *testing.T) {
	s := newFakeSite(t)
	b := newBrowser(t, s.URL)

	r := b.login(testUser, "wrong password!")
	expect(t, r, http.StatusUnauthorized, "")
	if !strings.Contains(r.body, "Please enter a correct username and password") || strings.Contains(r.body, "wrong password!") {
		t.Fatalf("failed login page should show the error and not the password:\n%s", r.body)
	}
	if !strings.Contains(r.body, `value="admin"`) {
		t.Fatalf("the username should be kept")
	}
	expect(t, b.login("nobody", testPassword), http.StatusUnauthorized, "")

	// Without the token, or with another browser's token: refused.
	expect(t, b.post(mount+"/admin/login/", url.Values{"username": {testUser}, "password": {testPassword}}), http.StatusForbidden, "")
	other := newBrowser(t, s.URL)
	foreign := other.csrf(mount + "/admin/login/")
	expect(t, b.post(mount+"/admin/login/", url.Values{"csrf_token": {foreign}, "username": {testUser}, "password": {testPassword}}), http.StatusForbidden, "")

	expect(t, b.login(testUser, testPassword), 303, mount+"/admin/")
	// Logged in, the old anonymous token is no good for session forms.
	loggedIn := b.get(mount + "/admin/")
	expect(t, loggedIn, 200, "")
	expect(t, b.post(mount+"/admin/logout/", url.Values{"csrf_token": {foreign}}), http.StatusForbidden, "")
}

func TestSessionCookie(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store := newFakeSite(t).store
	s := newSite(t, store, clock)

	b := newBrowser(t, s.gateway.URL)
	b.prefix = gatewayPrefix
	b.header.Set("X-Forwarded-Proto", "https")
	r := b.login(testUser, testPassword)
	expect(t, r, 303, "/gw"+mount+"/admin/")
	var c *http.Cookie
	for _, k := range r.Cookies() {
		if k.Name == sessionCookie {
			c = k
		}
	}
	if c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/gw"+mount+"/admin/" || c.MaxAge != int(DefaultSessionTTL.Seconds()) {
		t.Fatalf("session cookie %+v", c)
	}
	if strings.Contains(c.Value, testPassword) {
		t.Fatal("the cookie holds the password")
	}
	plain := newBrowser(t, s.URL)
	r = plain.login(testUser, testPassword)
	for _, k := range r.Cookies() {
		if k.Secure {
			t.Fatalf("cookie %s is Secure over plain HTTP", k.Name)
		}
	}

	get := func(value string) response {
		req, _ := http.NewRequest("GET", s.URL+mount+"/admin/", nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: value})
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return response{Response: resp}
	}
	expect(t, get(c.Value), 200, "")
	tampered := []byte(c.Value)
	tampered[3] ^= 1
	expect(t, get(string(tampered)), 303, "")
	forged := s.app.signer.encode(session{LoginID: 1, Expires: now.Add(time.Hour), ID: "x"})
	other, _ := newSigner([]byte("another key, also thirty-two bytes long"))
	expect(t, get(forged), 200, "")
	expect(t, get(other.encode(session{LoginID: 1, Expires: now.Add(time.Hour), ID: "x"})), 303, "")

	now = now.Add(DefaultSessionTTL + time.Second)
	expect(t, get(c.Value), 303, "")

	// A deleted login's sessions end at once.
	now = now.Add(-DefaultSessionTTL)
	if err := store.DeleteLogin(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	expect(t, get(c.Value), 303, "")
}

var formActionPattern = regexp.MustCompile(`(href|action|src)="([^"]*)"`)

// TestEveryLinkCarriesThePrefix walks the pages a user sees behind a gateway
// that serves the site at /gw and checks every link, form action and script.
func TestEveryLinkCarriesThePrefix(t *testing.T) {
	s := newFakeSite(t)
	seedRecords(t, s.store)
	b := newBrowser(t, s.gateway.URL)
	b.prefix = gatewayPrefix
	expect(t, b.login(testUser, testPassword), 303, "/gw"+mount+"/admin/")
	pages := []string{
		"/admin/login/", "/admin/", "/admin/players/?limit=1", "/admin/players/?limit=1&after=1", "/admin/players/add/",
		"/admin/players/1/change/", "/admin/players/1/delete/", "/admin/officials/", "/admin/games/", "/admin/games/10/change/",
		"/admin/logins/", "/admin/logins/1/change/", "/admin/nothing/",
	}
	seen := 0
	for _, p := range pages {
		r := b.get(gatewayPrefix + mount + p)
		for _, m := range formActionPattern.FindAllStringSubmatch(r.body, -1) {
			link := strings.ReplaceAll(m[2], "&amp;", "&")
			if !strings.HasPrefix(link, "/gw"+mount+"/") && !strings.HasPrefix(link, "/gw"+StaticPath) {
				t.Errorf("page %s: %s=%q lacks the prefix", p, m[1], link)
			}
			seen++
		}
	}
	if seen < 50 {
		t.Fatalf("only %d links seen", seen)
	}
}

func seedRecords(t *testing.T, s Store) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.CreateOfficial(ctx, models.Official{OfficialID: 5, FirstName: "Olga", LastName: "Ref", Age: 50,
		Birthday: models.NewDate(1975, 5, 5), DateStarted: models.NewDate(2000, 1, 1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateGame(ctx, models.Game{GameID: 10, Name: "Final", DateStart: models.NewDate(2030, 6, 1),
		DateEnd: models.NewDate(2030, 6, 2), Officials: []int64{5}}); err != nil {
		t.Fatal(err)
	}
	game := int64(10)
	for i, name := range []string{"Ann", "Bob", "Cid"} {
		if _, err := s.CreatePlayer(ctx, models.Player{PlayerID: int64(i + 1), FirstName: name, LastName: "Lee", Age: 20,
			Birthday: models.NewDate(2005, 1, 1), DateStarted: models.NewDate(2015, 1, 1), GameID: &game}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStoreUnavailable(t *testing.T) {
	s := newFakeSite(t)
	b := newBrowser(t, s.URL)
	expect(t, b.login(testUser, testPassword), 303, "")
	s.store.Fail = repository.ErrUnavailable
	r := b.get(mount + "/admin/players/")
	expect(t, r, http.StatusServiceUnavailable, "")
	if !strings.Contains(r.body, "Database unavailable") {
		t.Fatal(r.body)
	}
}

// A client that left while the database was answering is logged as 499,
// not as the database's 503.
func TestStoreUnavailableAfterClientLeft(t *testing.T) {
	s := newFakeSite(t)
	for _, tt := range []struct {
		name string
		left bool
		want int
	}{
		{"client waiting", false, http.StatusServiceUnavailable},
		{"client gone", true, 499},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.left {
				cancel()
			}
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, mount+"/admin/players/", nil).WithContext(ctx)
			s.app.storeFailure(rec, req, repository.ErrUnavailable, nil)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
		})
	}
}

func TestPagesAreLockedDown(t *testing.T) {
	s := newFakeSite(t)
	b := newBrowser(t, s.URL)
	r := b.get(mount + "/admin/login/")
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Fatalf("CSP %q", csp)
	}
	if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("headers %v", r.Header)
	}
	for _, bad := range []string{"<script>", "style=", " onclick", "<style"} {
		if strings.Contains(r.body, bad) {
			t.Fatalf("the login page has inline %q, which the CSP would block", bad)
		}
	}
}
