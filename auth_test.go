package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/osms/sports-service/auth"
)

// The sign-in settings of the tests: two keys, k2 signs, k1 is still
// accepted (a rotation in progress).
var (
	testKeyK2     = []byte("0123456789abcdef0123456789abcdef-k2")
	testKeyK1     = []byte("0123456789abcdef0123456789abcdef-k1")
	testAdminPass = "first-admin-password"
)

func authEnv() map[string]string {
	enc := base64.StdEncoding.EncodeToString
	return map[string]string{
		"AUTH_ENABLED":     "true",
		"JWT_SIGNING_KEYS": "k2:" + enc(testKeyK2) + ",k1:" + enc(testKeyK1),
		"ADMIN_USERNAME":   "root",
		"ADMIN_PASSWORD":   testAdminPass,
		"API_TOKEN":        "machine-token-0123456789",
	}
}

// authService starts the service with sign-in on, waits for the first admin
// and adds a viewer; it returns an admin's and a viewer's token.
func authService(t *testing.T) (s *testService, admin, viewer string) {
	t.Helper()
	s = startService(t, authEnv())
	// The admin is created in the background; each sign-in attempt costs an
	// argon2id hash, so wait for the log line rather than polling.
	deadline := time.Now().Add(2 * time.Minute) // a hang, not a timing assertion
	for !strings.Contains(s.Logs.String(), "created the first admin") {
		if time.Now().After(deadline) {
			t.Fatalf("the first admin was never created:\n%s", s.Logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	admin = accessToken(t, s.signIn(t, "root", testAdminPass))
	expect(t, s.do(t, "POST", "/ch11/login/add", map[string]any{"login_id": 50, "username": "coach", "password": "viewer-password"},
		"Authorization", "Bearer "+admin), http.StatusCreated, `"role":"viewer"`)
	viewer = accessToken(t, s.signIn(t, "coach", "viewer-password"))
	t.Cleanup(func() {
		assertNoSecrets(t, "the service log", s.Logs.String(), testAdminPass, "viewer-password", admin, viewer)
	})
	return s, admin, viewer
}

func (s *testService) signIn(t testing.TB, username, password string) response {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {username}, "password": {password}}
	return s.do(t, "POST", "/ch11/login/token", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
}

func accessToken(t testing.TB, r response) string {
	t.Helper()
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	r.JSON(t, &tr)
	if r.Status != http.StatusOK || tr.AccessToken == "" || tr.TokenType != "bearer" || tr.ExpiresIn != 1800 {
		t.Fatalf("sign-in answered %d %s", r.Status, r.Body)
	}
	return tr.AccessToken
}

// authFixture is one service with sign-in on, shared by the TestAuth
// subtests: an admin's and a viewer's token.
type authFixture struct {
	s             *testService
	admin, viewer string
}

// TestAuth runs the sign-in checks, in parallel, against one service.
func TestAuth(t *testing.T) {
	t.Parallel()
	s, admin, viewer := authService(t)
	a := authFixture{s, admin, viewer}
	for _, tc := range []struct {
		name string
		run  func(*testing.T, authFixture)
	}{
		{"sign-in", testSignIn},
		{"role matrix", testRoleMatrix},
		{"admin site roles", testAdminSiteRoles},
		{"role change", testRoleChange},
		{"swagger ui sign-in", testSwaggerUISignIn},
		{"admin site in chromium", testAdminSiteRolesInChromium},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, a)
		})
	}
}

// testSignIn: the password grant and its refusals, /me, and every kind of
// bad token end to end.
func testSignIn(t *testing.T, a authFixture) {
	s, admin, viewer := a.s, a.admin, a.viewer
	form := "application/x-www-form-urlencoded"

	t.Run("token endpoint", func(t *testing.T) {
		ok := s.signIn(t, "root", testAdminPass)
		if cc := ok.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store (RFC 6749 5.1)", cc)
		}
		tests := []struct {
			name, contentType, body string
			status                  int
			want                    []string
		}{
			{"wrong password", form, "grant_type=password&username=root&password=wrong-password", 401, []string{"invalid_grant", "wrong username or password"}},
			{"unknown user", form, "grant_type=password&username=nobody&password=wrong-password", 401, []string{"invalid_grant", "wrong username or password"}},
			{"other grant", form, "grant_type=client_credentials&username=root&password=x", 400, []string{"unsupported_grant_type", "body.grant_type"}},
			{"no password", form, "grant_type=password&username=root", 400, []string{"invalid_request", "body.password"}},
			{"JSON body", "application/json", `{"grant_type":"password"}`, 415, []string{"x-www-form-urlencoded"}},
		}
		for _, tt := range tests {
			r := s.do(t, "POST", "/ch11/login/token", tt.body, "Content-Type", tt.contentType)
			expect(t, r, tt.status, tt.want...)
			if tt.status == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: WWW-Authenticate %q", tt.name, r.Header.Get("WWW-Authenticate"))
			}
			assertNoSecrets(t, tt.name+" answer", string(r.Body), "wrong-password", testAdminPass)
		}
	})

	t.Run("me", func(t *testing.T) {
		for _, tt := range []struct{ token, want string }{{admin, `"username":"root","role":"admin"`}, {viewer, `"username":"coach","role":"viewer"`}} {
			expect(t, s.do(t, "GET", "/ch11/login/me", nil, "Authorization", "Bearer "+tt.token), 200, tt.want)
		}
		expect(t, s.do(t, "GET", "/ch11/login/me", nil, "Authorization", "Bearer machine-token-0123456789"), 404, "API_TOKEN")
		expect(t, s.do(t, "GET", "/ch11/login/get/50", nil, "Authorization", "Bearer "+viewer), 200, `"role":"viewer"`)
	})

	t.Run("bad tokens", func(t *testing.T) {
		now := time.Now()
		claims := func(f func(*auth.Claims)) auth.Claims {
			c := auth.Claims{Role: auth.RoleAdmin, RegisteredClaims: jwt.RegisteredClaims{
				Subject: "root", Issuer: auth.DefaultIssuer, Audience: jwt.ClaimStrings{auth.DefaultAudience},
				IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
			}}
			f(&c)
			return c
		}
		sign := func(m jwt.SigningMethod, kid string, key any, c auth.Claims) string {
			tok := jwt.NewWithClaims(m, c)
			tok.Header["kid"] = kid
			s, err := tok.SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		same := func(*auth.Claims) {}
		parts := strings.Split(viewer, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		elevated := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"viewer"`, `"admin"`, 1)))
		tests := []struct {
			name, token string
			status      int
		}{
			{"control: forged with the old key k1, still accepted", sign(jwt.SigningMethodHS256, "k1", testKeyK1, claims(same)), 201},
			{"expired", sign(jwt.SigningMethodHS256, "k2", testKeyK2, claims(func(c *auth.Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute)) })), 401},
			{"viewer promoted to admin in the payload", parts[0] + "." + elevated + "." + parts[2], 401},
			{"wrong key", sign(jwt.SigningMethodHS256, "k2", []byte("another-secret-of-at-least-32-bytes!"), claims(same)), 401},
			{"alg none", sign(jwt.SigningMethodNone, "k2", jwt.UnsafeAllowNoneSignatureType, claims(same)), 401},
			{"wrong audience", sign(jwt.SigningMethodHS256, "k2", testKeyK2, claims(func(c *auth.Claims) { c.Audience = jwt.ClaimStrings{"billing"} })), 401},
			{"not a JWT", "abc", 401},
			{"viewer", viewer, 403},
		}
		for i, tt := range tests {
			r := s.do(t, "POST", "/ch11/player/add", playerBody(int64(900+i)), "Authorization", "Bearer "+tt.token)
			if r.Status != tt.status {
				t.Errorf("%s: %d, want %d: %s", tt.name, r.Status, tt.status, r.Body)
				continue
			}
			if tt.status == 401 || tt.status == 403 {
				expect(t, r, tt.status)
				if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s: WWW-Authenticate %q", tt.name, r.Header.Get("WWW-Authenticate"))
				}
				assertNoSecrets(t, tt.name+" answer", string(r.Body), tt.token)
			}
		}
	})
}

// testRoleChange: an admin promotes and demotes a login; the new role is in
// the next token; the last admin cannot be demoted or deleted.
func testRoleChange(t *testing.T, a authFixture) {
	s, bearer := a.s, "Bearer "+a.admin
	expect(t, s.do(t, "POST", "/ch11/login/add", map[string]any{"login_id": 60, "username": "assistant", "password": "assistant-password"},
		"Authorization", bearer), 201, `"role":"viewer"`)
	expect(t, s.do(t, "PATCH", "/ch11/login/role/60", map[string]any{"role": "admin"}, "Authorization", bearer), 200, `"role":"admin"`)
	promoted := accessToken(t, s.signIn(t, "assistant", "assistant-password"))
	expect(t, s.do(t, "POST", "/ch11/official/add", officialBody(61), "Authorization", "Bearer "+promoted), 201)
	expect(t, s.do(t, "PATCH", "/ch11/login/role/60", map[string]any{"role": "viewer"}, "Authorization", bearer), 200, `"role":"viewer"`)
	expect(t, s.do(t, "PATCH", "/ch11/login/role/1", map[string]any{"role": "viewer"}, "Authorization", bearer), 409, "last admin")
	expect(t, s.do(t, "DELETE", "/ch11/login/delete/1", nil, "Authorization", bearer), 409, "last admin")
	expect(t, s.do(t, "PATCH", "/ch11/login/role/60", map[string]any{"role": "root"}, "Authorization", bearer), 422, "body.role")
	expect(t, s.do(t, "GET", "/ch11/login/get/1", nil, "Authorization", bearer), 200, `"role":"admin"`)
}

// opRequest is a request for one operation of the spec: path parameters
// filled with ids no record has (so that an admin's write changes nothing),
// and an empty JSON object as the body of a write.
func opRequest(path string) string {
	return regexp.MustCompile(`\{[^}]+\}`).ReplaceAllStringFunc(path, func(p string) string {
		if p == "{app}" {
			return "no-such-app"
		}
		return "987654"
	})
}

// testRoleMatrix sends every operation of /openapi.json (and the legacy
// mounts' writes) as nobody, with a bad token, as a viewer and as an admin:
// reads need any token, writes an admin, the open ones nothing. A new
// operation is in the matrix without anyone adding it.
func testRoleMatrix(t *testing.T, a authFixture) {
	s, admin, viewer := a.s, a.admin, a.viewer
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string                 `json:"operationId"`
			Security    *[]map[string][]string `json:"security"`
		} `json:"paths"`
		Components struct {
			SecuritySchemes map[string]struct {
				Type  string `json:"type"`
				Flows struct {
					Password struct {
						TokenURL string `json:"tokenUrl"`
					} `json:"password"`
				} `json:"flows"`
			} `json:"securitySchemes"`
		} `json:"components"`
	}
	spec := s.do(t, "GET", "/openapi.json", nil)
	expect(t, spec, 200)
	spec.JSON(t, &doc)
	if got := doc.Components.SecuritySchemes["oauth2"].Flows.Password.TokenURL; got != "/ch11/login/token" {
		t.Errorf("the oauth2 scheme's password flow has tokenUrl %q", got)
	}

	type op struct{ method, path, id string }
	var ops []op
	for path, item := range doc.Paths {
		for method, o := range item {
			ops = append(ops, op{strings.ToUpper(method), path, o.OperationID})
			declared := o.Security != nil && len(*o.Security) > 0
			if want := needs(strings.ToUpper(method), path, o.OperationID) != "open"; declared != want {
				t.Errorf("%s %s declares security %v, want it declared: %v", method, path, o.Security, want)
			}
		}
	}
	if len(ops) < 20 {
		t.Fatalf("only %d operations in the spec", len(ops))
	}
	// The legacy mounts are not in the document.
	ops = append(ops, op{"POST", "/ch11/flask/schedule", "flask-schedule"}, op{"GET", "/ch11/flask/schedule/games/{game_id}", "flask-game"})
	slices.SortFunc(ops, func(a, b op) int { return strings.Compare(a.method+a.path, b.method+b.path) })

	callers := []struct{ name, header string }{
		{"nobody", ""}, {"bad token", "Bearer " + viewer + "x"}, {"viewer", "Bearer " + viewer}, {"admin", "Bearer " + admin},
	}
	for _, o := range ops {
		need := needs(o.method, o.path, o.id)
		for _, c := range callers {
			var headers []string
			if c.header != "" {
				headers = []string{"Authorization", c.header}
			}
			var body any
			if o.method != "GET" && o.method != "DELETE" {
				body = map[string]any{}
			}
			if o.id == "sign-in" {
				body, headers = "grant_type=password&username=x&password=y", append(headers, "Content-Type", "application/x-www-form-urlencoded")
			}
			r := s.do(t, o.method, opRequest(o.path), body, headers...)
			want := "passes"
			switch {
			case need == "open":
			case c.name == "nobody" || c.name == "bad token":
				want = "401"
			case need == "admin" && c.name == "viewer":
				want = "403"
			}
			got := "passes"
			if r.Status == 401 && o.id != "sign-in" || r.Status == 403 {
				got = fmt.Sprint(r.Status)
			}
			if got != want {
				t.Errorf("%s %s (%s) as %s: %d %s, want %s", o.method, o.path, need, c.name, r.Status, r.Body, want)
			}
			if got == "401" && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s as %s: 401 without WWW-Authenticate: Bearer", o.method, o.path, c.name)
			}
		}
	}
}

// needs is the rule the matrix checks, written out independently of the
// middleware: what each operation asks of its caller.
func needs(method, path, operationID string) string {
	switch {
	case !strings.HasPrefix(path, "/ch11/") || operationID == "sign-in":
		return "open"
	case method == "GET" || operationID == "verify-login":
		return "any role"
	default:
		return "admin"
	}
}

// testAdminSiteRoles: the admin site signs in with the API's logins; a
// viewer sees records without add, change or delete, an admin has them.
func testAdminSiteRoles(t *testing.T, a authFixture) {
	s, admin := a.s, a.admin
	expect(t, s.do(t, "POST", "/ch11/player/add", playerBody(3), "Authorization", "Bearer "+admin), 201)
	tests := []struct {
		user, password string
		canChange      bool
	}{
		{"coach", "viewer-password", false},
		{"root", testAdminPass, true},
	}
	for _, tt := range tests {
		b := newAdminBrowser(t, s.URL)
		b.signIn(tt.user, tt.password)
		list := b.get("/ch11/django/admin/players/")
		if list.status != 200 || !strings.Contains(list.body, "Ann") {
			t.Fatalf("%s: players list %d %.300s", tt.user, list.status, list.body)
		}
		if got := strings.Contains(list.body, "Add player"); got != tt.canChange {
			t.Errorf("%s: the list shows Add: %v, want %v", tt.user, got, tt.canChange)
		}
		change := b.get("/ch11/django/admin/players/3/change/")
		if got := strings.Contains(change.body, ">Save<"); change.status != 200 || got != tt.canChange {
			t.Errorf("%s: the record page %d shows Save: %v, want %v", tt.user, change.status, got, tt.canChange)
		}
		wantStatus := map[bool]int{false: 403, true: 200}[tt.canChange]
		for _, page := range []string{"/ch11/django/admin/players/add/", "/ch11/django/admin/players/3/delete/"} {
			if r := b.get(page); r.status != wantStatus {
				t.Errorf("%s: GET %s = %d, want %d", tt.user, page, r.status, wantStatus)
			}
		}
		// A submitted delete is refused for a viewer, whatever the page showed.
		r := b.post("/ch11/django/admin/players/3/delete/", url.Values{"csrf_token": {b.csrfOf(change.body)}})
		if !tt.canChange && r.status != 403 {
			t.Errorf("%s: a posted delete answered %d, want 403", tt.user, r.status)
		}
	}
}

// adminBrowser is a cookie-keeping client of the admin site that does not
// follow redirects.
type adminBrowser struct {
	t      *testing.T
	base   string
	client *http.Client
}

type page struct {
	status int
	body   string
}

func newAdminBrowser(t *testing.T, base string) *adminBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &adminBrowser{t: t, base: base, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *adminBrowser) get(path string) page { return b.do("GET", path, nil) }

func (b *adminBrowser) post(path string, form url.Values) page { return b.do("POST", path, form) }

func (b *adminBrowser) do(method, path string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(data)}
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (b *adminBrowser) csrfOf(html string) string {
	b.t.Helper()
	m := csrfField.FindStringSubmatch(html)
	if m == nil {
		b.t.Fatalf("no CSRF token in %.300s", html)
	}
	return m[1]
}

func (b *adminBrowser) signIn(username, password string) {
	b.t.Helper()
	login := b.get("/ch11/django/admin/login/")
	r := b.post("/ch11/django/admin/login/", url.Values{"csrf_token": {b.csrfOf(login.body)}, "username": {username}, "password": {password}})
	if r.status != http.StatusSeeOther {
		b.t.Fatalf("admin sign-in as %s: %d %.300s", username, r.status, r.body)
	}
}
