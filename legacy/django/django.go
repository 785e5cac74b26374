// Package django is the Go counterpart of the book's Django project mounted
// at /ch11/django: the seed's index view and an admin site for players,
// officials, games and logins, server-rendered with html/template.
//
// It is a plain http.Handler: mount it with legacy.Mount, which strips the
// prefix and records it so that every link, redirect and form action carries
// it. Sessions live in a signed, expiring cookie, so instances behind a
// gateway share nothing but the key. Its assets are served by Static() at
// /static/admin/ (site-wide, as the seed serves Django's).
package django

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/osms/sports-service/internal/httpstatus"
	"github.com/osms/sports-service/legacy"
	"github.com/osms/sports-service/models"
	"github.com/osms/sports-service/repository"
)

// Store is what the admin site needs of the repository; *repository.Store
// satisfies it. Create and Update apply the models' Check rules themselves.
type Store interface {
	CreateLogin(ctx context.Context, in models.LoginCreate) (models.Login, error)
	GetLogin(ctx context.Context, id int64) (models.Login, error)
	ListLogins(ctx context.Context, q repository.ListQuery, fn func(models.Login) error) error
	DeleteLogin(ctx context.Context, id int64) error
	ChangePassword(ctx context.Context, in models.LoginUpdate) (models.Login, error)
	VerifyLogin(ctx context.Context, username, password string) (models.Login, error)

	CreateOfficial(ctx context.Context, o models.Official) (models.Official, error)
	GetOfficial(ctx context.Context, id int64) (models.Official, error)
	ListOfficials(ctx context.Context, q repository.ListQuery, fn func(models.Official) error) error
	UpdateOfficial(ctx context.Context, id int64, p models.OfficialPatch) (models.Official, error)
	DeleteOfficial(ctx context.Context, id int64) error

	CreatePlayer(ctx context.Context, p models.Player) (models.Player, error)
	GetPlayer(ctx context.Context, id int64) (models.Player, error)
	ListPlayers(ctx context.Context, q repository.ListQuery, fn func(models.Player) error) error
	UpdatePlayer(ctx context.Context, id int64, p models.PlayerPatch) (models.Player, error)
	DeletePlayer(ctx context.Context, id int64) error

	CreateGame(ctx context.Context, g models.Game) (models.Game, error)
	GetGame(ctx context.Context, id int64) (models.Game, error)
	ListGames(ctx context.Context, q repository.ListQuery, fn func(models.Game) error) error
	UpdateGame(ctx context.Context, id int64, p models.GamePatch) (models.Game, error)
	DeleteGame(ctx context.Context, id int64) error
}

// Config is what New needs.
type Config struct {
	Store  Store
	Logger *slog.Logger
	// SessionKey signs session cookies and CSRF tokens: at least 32 bytes.
	// Every instance behind the gateway needs the same one (SESSION_KEY).
	SessionKey []byte
	// EnforceRoles lets only logins with the admin role add, change or
	// delete; the others (viewers) see the records without those actions.
	// Off, every login may change everything, as before roles existed.
	EnforceRoles bool
	// SessionTTL is how long a login lasts; default DefaultSessionTTL.
	SessionTTL time.Duration
	// Now and Today default to the clock; tests fix them.
	Now   func() time.Time
	Today func() models.Date
}

// DefaultSessionTTL is a working day.
const DefaultSessionTTL = 8 * time.Hour

// Page sizes of the lists.
const (
	DefaultPageSize = 25
	MaxPageSize     = 100
)

// maxFormBytes bounds a posted form; the largest (a game with 100 officials)
// is far below.
const maxFormBytes = 64 << 10

// SessionKeyFrom returns the configured SESSION_KEY as a key, or a random
// key for this process when it is empty (sessions then end at restart and
// are not shared between instances).
func SessionKeyFrom(configured string) ([]byte, error) {
	if configured == "" {
		key := make([]byte, MinSessionKeyBytes)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("generate session key: %w", err)
		}
		return key, nil
	}
	if len(configured) < MinSessionKeyBytes {
		return nil, fmt.Errorf("SESSION_KEY must be at least %d bytes", MinSessionKeyBytes)
	}
	return []byte(configured), nil
}

//go:embed templates
var templateFS embed.FS

// App is the django-style application.
type App struct {
	cfg       Config
	signer    signer
	assets    *assets
	pages     map[string]*template.Template
	resources []*resource
	mux       *http.ServeMux
}

// New builds the application.
func New(cfg Config) (*App, error) {
	if cfg.Store == nil || cfg.Logger == nil {
		return nil, errors.New("django: Store and Logger are required")
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Today == nil {
		cfg.Today = models.Today
	}
	sg, err := newSigner(cfg.SessionKey)
	if err != nil {
		return nil, fmt.Errorf("django: %w", err)
	}
	as, err := loadAssets()
	if err != nil {
		return nil, fmt.Errorf("django: %w", err)
	}
	a := &App{cfg: cfg, signer: sg, assets: as, pages: map[string]*template.Template{}, mux: http.NewServeMux()}
	for _, name := range []string{"login", "index", "list", "form", "delete", "error"} {
		t, err := template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("django: parse template %s: %w", name, err)
		}
		a.pages[name] = t
	}
	a.resources = newResources(cfg.Store, cfg.Today)
	a.routes()
	return a, nil
}

// Static serves the admin's CSS, JavaScript and icon: mount it at /static/
// of the site (the request path keeps /static/).
func (a *App) Static() http.Handler { return a.assets }

func (a *App) routes() {
	m := a.mux
	m.HandleFunc("GET /index/{$}", a.index)
	m.HandleFunc("GET /admin/login/{$}", a.loginPage)
	m.HandleFunc("POST /admin/login/{$}", a.loginSubmit)
	m.HandleFunc("POST /admin/logout/{$}", a.authed(a.logout))
	m.HandleFunc("GET /admin/{$}", a.authed(a.dashboard))
	m.HandleFunc("GET /admin/{kind}/{$}", a.authed(a.list))
	m.HandleFunc("GET /admin/{kind}/add/{$}", a.authed(a.adminOnly(a.addPage)))
	m.HandleFunc("POST /admin/{kind}/add/{$}", a.authed(a.adminOnly(a.addSubmit)))
	m.HandleFunc("GET /admin/{kind}/{id}/change/{$}", a.authed(a.changePage))
	m.HandleFunc("POST /admin/{kind}/{id}/change/{$}", a.authed(a.adminOnly(a.changeSubmit)))
	m.HandleFunc("GET /admin/{kind}/{id}/delete/{$}", a.authed(a.adminOnly(a.deletePage)))
	m.HandleFunc("POST /admin/{kind}/{id}/delete/{$}", a.authed(a.adminOnly(a.deleteSubmit)))
	m.HandleFunc("/", a.notFound)
}

// ServeHTTP implements http.Handler.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.appendSlash(w, r) {
		return
	}
	a.mux.ServeHTTP(w, r)
}

func (a *App) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "django integration")
}

// appendSlash does what Django's APPEND_SLASH does: a path without its
// trailing slash that would match with one is redirected there, keeping the
// mount prefix (308 for other methods than GET and HEAD, so a form is not
// re-sent as a GET). It runs before the mux because the mux's own redirect
// would drop the prefix.
func (a *App) appendSlash(w http.ResponseWriter, r *http.Request) bool {
	if strings.HasSuffix(r.URL.Path, "/") {
		return false
	}
	try := r.Clone(r.Context())
	try.URL.Path += "/"
	try.URL.RawPath = ""
	if _, pattern := a.mux.Handler(try); pattern == "" || pattern == "/" {
		return false
	}
	target := legacy.PrefixFrom(r.Context()).App(try.URL.Path)
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	code := http.StatusMovedPermanently
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		code = http.StatusPermanentRedirect
	}
	http.Redirect(w, r, target, code)
	return true
}

func (a *App) notFound(w http.ResponseWriter, r *http.Request) {
	a.errorPage(w, r, http.StatusNotFound, "Page not found", "There is nothing at this address.", nil)
}

// crumb is one step of the breadcrumb trail.
type crumb struct {
	Label string
	URL   string
}

// page is what every template gets.
type page struct {
	Title  string
	User   string
	CSRF   string
	Flash  string
	Error  string
	Crumbs []crumb
	Data   any
	// CanChange shows the add, save and delete actions (a viewer has none).
	CanChange bool

	prefix legacy.Prefix
	assets *assets
}

// URL is the client-visible path of a path inside the application.
func (p page) URL(path string) string { return p.prefix.App(path) }

// Static is the client-visible path of an asset, fingerprinted.
func (p page) Static(name string) string { return p.prefix.Site(StaticPath + p.assets.url(name)) }

// newPage starts the page data of a request; user is nil before login.
func (a *App) newPage(r *http.Request, title string, user *visitor) page {
	p := page{Title: title, prefix: legacy.PrefixFrom(r.Context()), assets: a.assets}
	if user != nil {
		p.User = user.login.Username
		p.CSRF = a.signer.csrfToken("session", user.session.ID)
		p.CanChange = a.canChange(user)
	}
	return p
}

// securityHeaders: no inline script or style anywhere, so the strict policy
// holds; admin pages are never cached (they show personal data) nor framed.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

func (a *App) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	var buf bytes.Buffer
	if err := a.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		a.cfg.Logger.ErrorContext(r.Context(), "django: render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	securityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func (a *App) errorPage(w http.ResponseWriter, r *http.Request, status int, title, message string, user *visitor) {
	p := a.newPage(r, title, user)
	p.Data = message
	a.render(w, r, status, "error", p)
}

// storeFailure answers an error of the store that the user cannot fix.
func (a *App) storeFailure(w http.ResponseWriter, r *http.Request, err error, user *visitor) {
	switch {
	case errors.Is(err, repository.ErrNotFound):
		a.errorPage(w, r, http.StatusNotFound, "Not found", "That record does not exist (any more).", user)
	case errors.Is(err, repository.ErrLastAdmin):
		a.errorPage(w, r, http.StatusConflict, "The last admin",
			"This login is the last admin: it cannot be deleted. Make another login admin first.", user)
	case errors.Is(err, repository.ErrUnavailable) && httpstatus.ClientGone(r.Context()):
		// Nobody reads it: the status is for the logs and metrics.
		w.WriteHeader(httpstatus.ClientClosedRequest)
	case errors.Is(err, repository.ErrBusy):
		w.Header().Set("Retry-After", "1")
		a.errorPage(w, r, http.StatusServiceUnavailable, "Busy", "Other changes to the same records are being saved. Please try again in a moment.", user)
	case errors.Is(err, repository.ErrUnavailable):
		w.Header().Set("Retry-After", "5")
		a.errorPage(w, r, http.StatusServiceUnavailable, "Database unavailable", "The database is not answering. Please try again in a moment.", user)
	default:
		a.cfg.Logger.ErrorContext(r.Context(), "django: store call failed", "path", r.URL.Path, "err", err)
		a.errorPage(w, r, http.StatusInternalServerError, "Server error", "Something went wrong on our side.", user)
	}
}

// redirect sends the browser to a path inside the application (303, so the
// next request is a GET).
func redirect(w http.ResponseWriter, r *http.Request, path string) {
	http.Redirect(w, r, legacy.PrefixFrom(r.Context()).App(path), http.StatusSeeOther)
}

// parsePost reads a posted form within maxFormBytes.
func parsePost(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("read form: %w", err)
	}
	return nil
}

// values copies a form without its secrets, to show it again.
func withoutSecrets(form url.Values, fields []field) url.Values {
	out := url.Values{}
	for _, f := range fields {
		if f.Type != "password" {
			out.Set(f.Name, form.Get(f.Name))
		}
	}
	return out
}
