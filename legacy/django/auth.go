package django

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/osms/sports-service/legacy"
	"github.com/osms/sports-service/models"
	"github.com/osms/sports-service/repository"
)

// visitor is a logged-in user of the admin site.
type visitor struct {
	login   models.Login
	session session
}

type authedHandler func(w http.ResponseWriter, r *http.Request, v *visitor)

// cookiePath scopes the cookies to the admin pages of this mount.
func cookiePath(r *http.Request) string {
	return legacy.PrefixFrom(r.Context()).App("/admin/")
}

// currentVisitor reads the session cookie. The login is read again on every
// request so that deleting it ends its sessions at once.
func (a *App) currentVisitor(r *http.Request) (*visitor, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, errBadSession
	}
	sess, err := a.signer.decode(c.Value, a.cfg.Now())
	if err != nil {
		return nil, err
	}
	login, err := a.cfg.Store.GetLogin(r.Context(), sess.LoginID)
	if errors.Is(err, repository.ErrNotFound) {
		return nil, errBadSession
	}
	if err != nil {
		return nil, err
	}
	return &visitor{login: login, session: sess}, nil
}

// authed lets logged-in visitors through, checks the CSRF token of every
// POST, and sends everyone else to the login page with the page they asked
// for in next.
func (a *App) authed(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := a.currentVisitor(r)
		if errors.Is(err, errBadSession) {
			p := legacy.PrefixFrom(r.Context())
			next := p.App(r.URL.Path)
			if r.URL.RawQuery != "" {
				next += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, p.App("/admin/login/")+"?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		if err != nil {
			a.storeFailure(w, r, err, nil)
			return
		}
		if r.Method == http.MethodPost {
			if err := parsePost(w, r); err != nil {
				a.errorPage(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.", v)
				return
			}
			if !a.signer.csrfValid("session", v.session.ID, r.PostForm.Get("csrf_token")) {
				a.csrfFailure(w, r, v)
				return
			}
		}
		h(w, r, v)
	}
}

func (a *App) csrfFailure(w http.ResponseWriter, r *http.Request, v *visitor) {
	a.cfg.Logger.WarnContext(r.Context(), "django: CSRF check failed", "path", r.URL.Path)
	a.errorPage(w, r, http.StatusForbidden, "Forbidden", "The form's security token is missing or out of date. Go back, reload the page and try again.", v)
}

// safeNext returns next when it is a path inside this application, else the
// admin index: a login link must never send the user to another site.
func safeNext(r *http.Request, next string) string {
	p := legacy.PrefixFrom(r.Context())
	home := p.App("/admin/")
	u, err := url.Parse(next)
	if err != nil || next == "" || u.Scheme != "" || u.Host != "" || u.User != nil ||
		strings.ContainsAny(next, "\\\r\n\t") || strings.HasPrefix(next, "//") ||
		!strings.HasPrefix(u.Path, home) || strings.Contains(u.Path, "..") {
		return home
	}
	return next
}

// loginData is the login template's data; the password is never sent back.
type loginData struct {
	Next     string
	Username string
}

// anonCSRF returns the browser's pre-login CSRF id, setting the cookie when
// there is none yet.
func (a *App) anonCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 16 && len(c.Value) <= 64 {
		return c.Value
	}
	id := randomID()
	http.SetCookie(w, cookie(r, cookiePath(r), csrfCookie, id, 0))
	return id
}

func (a *App) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r, r.URL.Query().Get("next"))
	if v, err := a.currentVisitor(r); err == nil && v != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	a.renderLogin(w, r, http.StatusOK, loginData{Next: next}, "")
}

func (a *App) renderLogin(w http.ResponseWriter, r *http.Request, status int, d loginData, problem string) {
	p := a.newPage(r, "Log in", nil)
	p.CSRF = a.signer.csrfToken("anon", a.anonCSRF(w, r))
	p.Error = problem
	if r.URL.Query().Get("done") == "logged-out" {
		p.Flash = "You have been logged out."
	}
	p.Data = d
	a.render(w, r, status, "login", p)
}

func (a *App) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if err := parsePost(w, r); err != nil {
		a.errorPage(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.", nil)
		return
	}
	c, err := r.Cookie(csrfCookie)
	if err != nil || !a.signer.csrfValid("anon", c.Value, r.PostForm.Get("csrf_token")) {
		a.csrfFailure(w, r, nil)
		return
	}
	d := loginData{Next: safeNext(r, r.PostForm.Get("next")), Username: strings.TrimSpace(r.PostForm.Get("username"))}
	login, err := a.cfg.Store.VerifyLogin(r.Context(), d.Username, r.PostForm.Get("password"))
	switch {
	case errors.Is(err, repository.ErrBadCredentials), errors.Is(err, models.ErrValidation):
		// The same answer for an unknown user and a wrong password.
		a.cfg.Logger.InfoContext(r.Context(), "django: failed admin login", "username", d.Username)
		a.renderLogin(w, r, http.StatusUnauthorized, d, "Please enter a correct username and password.")
		return
	case err != nil:
		a.storeFailure(w, r, err, nil)
		return
	}
	sess := session{LoginID: login.LoginID, Expires: a.cfg.Now().Add(a.cfg.SessionTTL), ID: randomID()}
	http.SetCookie(w, cookie(r, cookiePath(r), sessionCookie, a.signer.encode(sess), int(a.cfg.SessionTTL.Seconds())))
	http.SetCookie(w, cookie(r, cookiePath(r), csrfCookie, "", -1))
	a.cfg.Logger.InfoContext(r.Context(), "django: admin login", "login_id", login.LoginID)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

func (a *App) logout(w http.ResponseWriter, r *http.Request, _ *visitor) {
	http.SetCookie(w, cookie(r, cookiePath(r), sessionCookie, "", -1))
	redirect(w, r, "/admin/login/?done=logged-out")
}
