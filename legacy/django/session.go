package django

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MinSessionKeyBytes is the least key length New accepts (SESSION_KEY).
const MinSessionKeyBytes = 32

// Cookie names. The session cookie is scoped to the application's path.
const (
	sessionCookie = "osms_admin_session"
	csrfCookie    = "osms_admin_csrf" // only before login: ties the login form to the browser
)

var errBadSession = errors.New("invalid or expired session")

// session is what the signed cookie holds; nothing is kept on the server, so
// any instance behind the gateway accepts it.
type session struct {
	LoginID int64
	Expires time.Time
	// ID is random per login: CSRF tokens derive from it, and a new login
	// gets a new one, so a token seen before login is useless after it.
	ID string
}

// signer makes and checks session cookies and CSRF tokens with keys derived
// from the configured secret, one per purpose.
type signer struct {
	sessionKey []byte
	csrfKey    []byte
}

func newSigner(secret []byte) (signer, error) {
	if len(secret) < MinSessionKeyBytes {
		return signer{}, fmt.Errorf("session key must be at least %d bytes, got %d", MinSessionKeyBytes, len(secret))
	}
	return signer{sessionKey: mac(secret, "osms admin session v1"), csrfKey: mac(secret, "osms admin csrf v1")}, nil
}

func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

var b64 = base64.RawURLEncoding

func randomID() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return b64.EncodeToString(b)
}

// encode returns "payload.signature", both base64url; the payload is
// "loginID|expiresUnix|id".
func (s signer) encode(sess session) string {
	payload := fmt.Sprintf("%d|%d|%s", sess.LoginID, sess.Expires.Unix(), sess.ID)
	return b64.EncodeToString([]byte(payload)) + "." + b64.EncodeToString(mac(s.sessionKey, payload))
}

// decode verifies the signature before reading anything, then the expiry.
func (s signer) decode(value string, now time.Time) (session, error) {
	p64, sig64, ok := strings.Cut(value, ".")
	if !ok || len(value) > 512 {
		return session{}, errBadSession
	}
	payload, err1 := b64.DecodeString(p64)
	sig, err2 := b64.DecodeString(sig64)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, mac(s.sessionKey, string(payload))) {
		return session{}, errBadSession
	}
	parts := strings.Split(string(payload), "|")
	if len(parts) != 3 {
		return session{}, errBadSession
	}
	id, err1 := strconv.ParseInt(parts[0], 10, 64)
	exp, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || parts[2] == "" {
		return session{}, errBadSession
	}
	sess := session{LoginID: id, Expires: time.Unix(exp, 0), ID: parts[2]}
	if !now.Before(sess.Expires) {
		return session{}, errBadSession
	}
	return sess, nil
}

// csrfToken binds a form to the session (or, before login, to the browser's
// CSRF cookie): a page on another site can neither read nor compute it.
func (s signer) csrfToken(kind, id string) string {
	return b64.EncodeToString(mac(s.csrfKey, kind+"|"+id))
}

func (s signer) csrfValid(kind, id, token string) bool {
	if id == "" || token == "" {
		return false
	}
	return hmac.Equal([]byte(token), []byte(s.csrfToken(kind, id)))
}

// secureRequest reports whether the client reached us over TLS, directly or
// through the gateway.
func secureRequest(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// cookie returns a cookie with the attributes every cookie of the app has.
func cookie(r *http.Request, path, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     path,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   secureRequest(r),
		SameSite: http.SameSiteLaxMode,
	}
}
