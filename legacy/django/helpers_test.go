package django

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/osms/sports-service/legacy"
	"github.com/osms/sports-service/legacy/internal/fakestore"
	"github.com/osms/sports-service/models"
)

const (
	mount        = "/ch11/django"
	testUser     = "admin"
	testPassword = "correct horse battery"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// site is the admin app mounted as the lead mounts it, minus Gin: the app
// under /ch11/django and its assets under /static/.
type site struct {
	*httptest.Server
	// gateway serves the same site under gatewayPrefix, as NGINX would
	// with proxy_pass and X-Forwarded-Prefix.
	gateway *httptest.Server
	app     *App
	store   *fakestore.Store
}

const gatewayPrefix = "/gw"

// gateway strips prefix and tells the service about it, like
//
//	location /gw/ { proxy_pass http://service/; proxy_set_header X-Forwarded-Prefix /gw; }
func gateway(prefix string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, prefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = rest
		r2.URL.RawPath = ""
		r2.Header.Set("X-Forwarded-Prefix", prefix)
		next.ServeHTTP(w, r2)
	})
}

func newSite(t *testing.T, store Store, now func() time.Time) *site {
	t.Helper()
	app, err := New(Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SessionKey: testKey, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	// Routed by hand rather than with an http.ServeMux, which would clean
	// paths itself and hide what legacy.Mount does with them (Gin does not).
	mounted := legacy.Mount(mount, app)
	router := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, StaticPath) {
			app.Static().ServeHTTP(w, r)
			return
		}
		mounted.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	gw := httptest.NewServer(gateway(gatewayPrefix, router))
	t.Cleanup(gw.Close)
	s := &site{Server: srv, gateway: gw, app: app}
	if fs, ok := store.(*fakestore.Store); ok {
		s.store = fs
	}
	return s
}

func newFakeSite(t *testing.T) *site {
	t.Helper()
	store := fakestore.New()
	if _, err := store.CreateLogin(context.Background(), models.LoginCreate{LoginID: 1, Username: testUser, Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	return newSite(t, store, nil)
}

// browser is a client with a cookie jar that does not follow redirects, so
// tests see every Location.
type browser struct {
	t      *testing.T
	client *http.Client
	base   string
	prefix string      // the gateway's, in front of every path login uses
	header http.Header // sent with every request, e.g. X-Forwarded-Prefix
}

func newBrowser(t *testing.T, base string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: base, header: http.Header{}, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type response struct {
	*http.Response
	body string
}

func (b *browser) do(method, path string, form url.Values) response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range b.header {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return response{Response: resp, body: string(raw)}
}

func (b *browser) get(path string) response { return b.do("GET", path, nil) }

func (b *browser) post(path string, form url.Values) response { return b.do("POST", path, form) }

var csrfPattern = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf returns the token of the first form on the page at path.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	r := b.get(path)
	m := csrfPattern.FindStringSubmatch(r.body)
	if m == nil {
		b.t.Fatalf("GET %s (%d): no CSRF token in\n%s", path, r.StatusCode, r.body)
	}
	return m[1]
}

// login logs in through the form and returns the response of the POST.
func (b *browser) login(username, password string) response {
	b.t.Helper()
	token := b.csrf(b.prefix + mount + "/admin/login/")
	return b.post(b.prefix+mount+"/admin/login/", url.Values{"csrf_token": {token}, "username": {username}, "password": {password}})
}

func expect(t *testing.T, r response, status int, location string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d\n%s", r.Request.Method, r.Request.URL, r.StatusCode, status, r.body)
	}
	if location != "" && r.Header.Get("Location") != location {
		t.Fatalf("%s %s: Location %q, want %q", r.Request.Method, r.Request.URL, r.Header.Get("Location"), location)
	}
}

// httptestRequest is a request as the app sees it after legacy.Mount.
func httptestRequest(t *testing.T, forwarded string) *http.Request {
	t.Helper()
	req := httptest.NewRequest("GET", "/admin/", nil)
	return req.WithContext(legacy.WithPrefix(req.Context(), legacy.Prefix{Gateway: forwarded, Mount: mount}))
}
