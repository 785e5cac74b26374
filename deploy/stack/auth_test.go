//go:build stack

package stack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/osms/sports-service/internal/testenv"
)

// The compose stack runs with AUTH_ENABLED=true: the harness signs in once
// as the first admin (ADMIN_USERNAME/ADMIN_PASSWORD, as compose resolved
// them) and its client sends the token on every /ch11 request, so that the
// tests read as before. The admin site and its logins need none.

// adminCredentials are the first admin's, from the app's compose
// environment; ok is false when sign-in is off.
func (s *stack) adminCredentials(t testing.TB) (c testenv.Credentials, ok bool) {
	t.Helper()
	app := s.app()
	if app.env("AUTH_ENABLED", "false") != "true" {
		return c, false
	}
	c = testenv.Credentials{Username: app.env("ADMIN_USERNAME", ""), Password: app.env("ADMIN_PASSWORD", "")}
	if c.Username == "" || c.Password == "" {
		t.Fatal("the stack runs with AUTH_ENABLED=true but compose gives the app no ADMIN_USERNAME/ADMIN_PASSWORD: " +
			"set them in .env (bash .ci/stack.sh exports generated ones)")
	}
	return c, true
}

// signIn trades credentials for a token at the gateway. The first admin is
// created in the background once the database answers: retry a while.
func (s *stack) signIn(t testing.TB, c testenv.Credentials) string {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {c.Username}, "password": {c.Password}}.Encode()
	var last answer
	deadline := time.Now().Add(time.Minute) // a hang, not a timing assertion
	for time.Now().Before(deadline) {
		a, err := s.try(&http.Client{Timeout: 30 * time.Second}, http.MethodPost, "/ch11/login/token", form,
			"Content-Type", "application/x-www-form-urlencoded")
		if err == nil && a.status == http.StatusOK {
			var tr struct {
				AccessToken string `json:"access_token"`
			}
			if json.Unmarshal([]byte(a.body), &tr) == nil && tr.AccessToken != "" {
				return tr.AccessToken
			}
		}
		last = a
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("sign in as %s through the gateway: %s", c.Username, last)
	return ""
}

// bearerTransport adds the token to requests for the API.
type bearerTransport struct {
	base  http.RoundTripper
	token string
}

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, "/ch11/") && r.Header.Get("Authorization") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return b.base.RoundTrip(r)
}

// authorize makes the harness's client sign its API requests, when the
// stack runs with sign-in on.
func (s *stack) authorize(t testing.TB) {
	t.Helper()
	c, ok := s.adminCredentials(t)
	if !ok {
		return
	}
	token := s.signIn(t, c)
	s.bearer = "Bearer " + token
	s.http.Transport = bearerTransport{base: http.DefaultTransport, token: token}
}

// testSignIn: through the gateway, the API refuses a request without a
// token and a viewer's write, and answers the admin's.
func testSignIn(t *testing.T, s *stack) {
	c, ok := s.adminCredentials(t)
	if !ok {
		t.Skip("the stack runs with AUTH_ENABLED=false")
	}
	bare := &http.Client{Timeout: 30 * time.Second}
	a := s.request(t, bare, http.MethodGet, "/ch11/player/list/all?limit=1", nil)
	expect(t, "a read without a token", a, http.StatusUnauthorized)
	if !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("401 without WWW-Authenticate: Bearer: %v", a.header)
	}
	admin := s.signIn(t, c)
	expect(t, "me", s.request(t, bare, http.MethodGet, "/ch11/login/me", nil, "Authorization", "Bearer "+admin), http.StatusOK, `"role":"admin"`)
	n := newID()
	user := fmt.Sprintf("viewer-%d", n)
	expect(t, "add a viewer", s.request(t, bare, http.MethodPost, "/ch11/login/add",
		map[string]any{"login_id": n + 1, "username": user, "password": "viewer-password"}, "Authorization", "Bearer "+admin), http.StatusCreated)
	viewer := s.signIn(t, testenv.Credentials{Username: user, Password: "viewer-password"})
	expect(t, "a viewer's read", s.request(t, bare, http.MethodGet, "/ch11/player/list/all?limit=1", nil, "Authorization", "Bearer "+viewer), http.StatusOK)
	expect(t, "a viewer's write", s.request(t, bare, http.MethodPost, "/ch11/player/add", player(n, 0, "Viewer"), "Authorization", "Bearer "+viewer), http.StatusForbidden)
	expect(t, "delete the viewer", s.request(t, bare, http.MethodDelete, fmt.Sprintf("/ch11/login/delete/%d", n+1), nil, "Authorization", "Bearer "+admin), http.StatusOK)
}
