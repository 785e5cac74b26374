// Package auth issues and checks the service's access tokens: JWTs signed
// with HS256 by one of the keys of JWT_SIGNING_KEYS, carrying the login's
// username (sub) and role. Signing and checking are golang-jwt's; this
// package chooses the keys, the claims and the refusals.
package auth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/osms/sports-service/models"
)

// Roles of a login.
const (
	RoleAdmin  = models.RoleAdmin
	RoleViewer = models.RoleViewer
)

// ValidRole reports whether r is a role this service knows.
func ValidRole(r string) bool { return r == RoleAdmin || r == RoleViewer }

// MinKeyBytes is the shortest signing key accepted: HS256's output size, as
// RFC 7518 section 3.2 requires.
const MinKeyBytes = 32

// Key is one HMAC signing key and its id (the JWT header's kid).
type Key struct {
	ID     string
	Secret []byte
}

// ErrKeys is wrapped by every error of ParseKeys.
var ErrKeys = errors.New("invalid JWT_SIGNING_KEYS")

// ParseKeys reads "kid:base64secret[,kid:base64secret...]". The first key
// signs new tokens; the others are still accepted, so that a key can be
// rotated without signing everybody out: put the new key first, keep the
// old one after it for one token lifetime, then drop it. Errors never
// contain a secret.
func ParseKeys(s string) ([]Key, error) {
	var keys []Key
	seen := map[string]bool{}
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		kid, b64, ok := strings.Cut(part, ":")
		kid = strings.TrimSpace(kid)
		if !ok || !validKID(kid) {
			return nil, fmt.Errorf("%w: entry %d must be kid:base64secret with a kid of letters, digits, '.', '_' or '-'", ErrKeys, i+1)
		}
		if seen[kid] {
			return nil, fmt.Errorf("%w: kid %q appears twice", ErrKeys, kid)
		}
		secret, err := decodeSecret(strings.TrimSpace(b64))
		if err != nil {
			return nil, fmt.Errorf("%w: the secret of kid %q is not base64", ErrKeys, kid)
		}
		if len(secret) < MinKeyBytes {
			return nil, fmt.Errorf("%w: the secret of kid %q has %d bytes, at least %d are needed (e.g. openssl rand -base64 32)",
				ErrKeys, kid, len(secret), MinKeyBytes)
		}
		seen[kid] = true
		keys = append(keys, Key{ID: kid, Secret: secret})
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no key given", ErrKeys)
	}
	return keys, nil
}

func validKID(kid string) bool {
	if kid == "" || len(kid) > 64 {
		return false
	}
	for _, r := range kid {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-", r)) {
			return false
		}
	}
	return true
}

// decodeSecret accepts standard or URL-safe base64, padded or not.
func decodeSecret(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// Claims are what a token says: the registered claims (sub = username, iss,
// aud, iat, exp, nbf) and the role.
type Claims struct {
	Role string `json:"role"`
	jwt.RegisteredClaims
}

// Tokens issues and checks access tokens.
type Tokens struct {
	keys     []Key
	byID     map[string][]byte
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
	parser   *jwt.Parser
}

// Config configures Tokens.
type Config struct {
	Keys     []Key         // the first signs
	Issuer   string        // iss, e.g. "sports-service"
	Audience string        // aud, e.g. "sports-service"
	TTL      time.Duration // lifetime of a token
	Now      func() time.Time
}

// DefaultIssuer and DefaultAudience name this service in its tokens.
const (
	DefaultIssuer   = "sports-service"
	DefaultAudience = "sports-service"
)

// New returns Tokens for cfg.
func New(cfg Config) (*Tokens, error) {
	if len(cfg.Keys) == 0 {
		return nil, fmt.Errorf("%w: no key given", ErrKeys)
	}
	if cfg.TTL <= 0 {
		return nil, errors.New("auth: the token lifetime must be positive")
	}
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	if cfg.Audience == "" {
		cfg.Audience = DefaultAudience
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	t := &Tokens{keys: cfg.Keys, byID: map[string][]byte{}, issuer: cfg.Issuer, audience: cfg.Audience, ttl: cfg.TTL, now: cfg.Now}
	for _, k := range cfg.Keys {
		t.byID[k.ID] = k.Secret
	}
	// Only HS256: "none" and every other algorithm (RS256 with the HMAC
	// secret as a "public key", the classic confusion) are refused before
	// any key is looked up.
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithLeeway(5*time.Second),
	)
	return t, nil
}

// TTL is the lifetime of the tokens Issue makes.
func (t *Tokens) TTL() time.Duration { return t.ttl }

// Issue signs a token for username with role, with the current key.
func (t *Tokens) Issue(username, role string) (string, error) {
	if !ValidRole(role) {
		return "", fmt.Errorf("auth: unknown role %q", role)
	}
	now := t.now().Truncate(time.Second)
	claims := Claims{Role: role, RegisteredClaims: jwt.RegisteredClaims{
		Subject: username, Issuer: t.issuer, Audience: jwt.ClaimStrings{t.audience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
	}}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = t.keys[0].ID
	s, err := tok.SignedString(t.keys[0].Secret)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// ErrInvalidToken is wrapped by every refusal of Check. Its text, and that
// of the errors wrapping it, is safe to show: it never holds the token.
var ErrInvalidToken = errors.New("invalid token")

// Check verifies the signature (by the key its kid names), the algorithm,
// issuer, audience, expiry and role, and returns the claims.
func (t *Tokens) Check(token string) (Claims, error) {
	var c Claims
	_, err := t.parser.ParseWithClaims(token, &c, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		secret, ok := t.byID[kid]
		if !ok {
			return nil, errors.New("unknown key id")
		}
		return secret, nil
	})
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %s", ErrInvalidToken, reason(err))
	}
	if c.Subject == "" || !ValidRole(c.Role) {
		return Claims{}, fmt.Errorf("%w: no subject or unknown role", ErrInvalidToken)
	}
	return c, nil
}

// reason names the refusal in words a client may read.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "not valid yet"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "bad signature or unknown key"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "a required claim is missing"
	default:
		return "malformed"
	}
}
