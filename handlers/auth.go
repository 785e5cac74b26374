package handlers

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gin-gonic/gin"

	"github.com/osms/sports-service/auth"
	"github.com/osms/sports-service/models"
)

// AuthOptions turn sign-in on (AUTH_ENABLED): every /ch11 request then needs
// a bearer token, reads of any role and writes of the admin role.
type AuthOptions struct {
	Tokens *auth.Tokens
	Logins LoginDirectory
}

// LoginDirectory is what sign-in needs of the store.
type LoginDirectory interface {
	VerifyLogin(ctx context.Context, username, password string) (models.Login, error)
	LoginByUsername(ctx context.Context, username string) (models.Login, error)
	SetLoginRole(ctx context.Context, id int64, role string) (models.Login, error)
}

// Paths of the sign-in operations.
const (
	TokenPath = "/ch11/login/token"
	MePath    = "/ch11/login/me"
)

// Names of the security schemes in the OpenAPI document.
const (
	schemeOAuth2   = "oauth2"
	schemeAPIToken = "apiToken"
)

// access is what an operation asks of its caller.
type access int

const (
	accessOpen  access = iota // no token
	accessRead                // a valid token of any role
	accessWrite               // a valid token of the admin role
)

// accessOf is the rule, in one place, for the middleware and for the OpenAPI
// document: everything outside /ch11, the admin site (which has its own
// sign-in) and the token endpoint are open; reads, and the password check,
// which changes nothing, need a token; everything else changes records and
// needs an admin.
func accessOf(method, path string, guarded []string) access {
	switch {
	case !strings.HasPrefix(path, apiPrefix),
		slices.ContainsFunc(guarded, func(p string) bool { return path == p || strings.HasPrefix(path, p+"/") }),
		path == TokenPath:
		return accessOpen
	case method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions,
		method == http.MethodPost && path == "/ch11/login/verify":
		return accessRead
	default:
		return accessWrite
	}
}

// Principal is the authenticated caller, stored in the request context.
type Principal struct {
	Username string // the token's subject; "" for the API_TOKEN
	Role     string
}

type principalKey struct{}

// PrincipalFrom returns the caller, if a token was checked.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// authenticate is the sign-in middleware. A request needing a token without
// one, or with a refused one, gets 401 with WWW-Authenticate: Bearer (RFC
// 6750); a viewer on a write gets 403. apiToken, when set, is accepted as a
// machine caller with the admin role. Neither the token nor why a signature
// failed beyond a short reason reaches the answer or the logs.
func authenticate(tokens *auth.Tokens, apiToken string, guarded []string) gin.HandlerFunc {
	var apiSum [sha256.Size]byte
	if apiToken != "" {
		apiSum = sha256.Sum256([]byte(apiToken))
	}
	return func(c *gin.Context) {
		need := accessOf(c.Request.Method, c.Request.URL.Path, guarded)
		if need == accessOpen {
			c.Next()
			return
		}
		raw, ok := bearer(c.GetHeader("Authorization"))
		if !ok {
			c.Header("WWW-Authenticate", `Bearer realm="sports-service"`)
			writeProblem(c, http.StatusUnauthorized, "this operation needs a bearer token: sign in at "+TokenPath)
			return
		}
		var p Principal
		if apiToken != "" && matchesDigest(raw, apiSum) {
			p = Principal{Role: auth.RoleAdmin}
		} else {
			claims, err := tokens.Check(raw)
			if err != nil {
				c.Header("WWW-Authenticate", `Bearer realm="sports-service", error="invalid_token"`)
				writeProblem(c, http.StatusUnauthorized, err.Error())
				return
			}
			p = Principal{Username: claims.Subject, Role: claims.Role}
		}
		if need == accessWrite && p.Role != auth.RoleAdmin {
			c.Header("WWW-Authenticate", `Bearer realm="sports-service", error="insufficient_scope"`)
			writeProblem(c, http.StatusForbidden, "this operation changes records and needs the admin role; the token's role is "+p.Role)
			return
		}
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), principalKey{}, p))
		c.Next()
	}
}

// matchesDigest compares digests, so that the comparison takes the same
// time whatever the length of what was sent.
func matchesDigest(got string, want [sha256.Size]byte) bool {
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], want[:]) == 1
}

// bearer takes the token out of an Authorization header; the scheme is
// case-insensitive (RFC 7235).
func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// guardMiddleware is the token check of the configuration: sign-in when
// auth is on, the single API_TOKEN when only that is set, else none.
func guardMiddleware(o Options) gin.HandlerFunc {
	var guarded, exempt []string
	for _, m := range o.Mounts {
		exempt = append(exempt, m.Prefix+"/")
		if m.OwnSignIn {
			guarded = append(guarded, m.Prefix)
		}
	}
	switch {
	case o.Auth != nil:
		return authenticate(o.Auth.Tokens, o.APIToken, guarded)
	case o.APIToken != "":
		return requireToken(o.APIToken, apiPrefix, exempt...)
	default:
		return nil
	}
}

// securityOf returns the OpenAPI security requirement of an operation, in
// agreement with accessOf; nil for an open one.
func securityOf(o Options, op *huma.Operation) []map[string][]string {
	var guarded []string
	for _, m := range o.Mounts {
		if m.OwnSignIn {
			guarded = append(guarded, m.Prefix)
		}
	}
	if accessOf(op.Method, op.Path, guarded) == accessOpen {
		return []map[string][]string{}
	}
	req := []map[string][]string{{schemeOAuth2: {}}}
	if o.APIToken != "" {
		req = append(req, map[string][]string{schemeAPIToken: {}})
	}
	return req
}

// authSchemes declares the OAuth2 password flow (Swagger UI's Authorize
// dialog signs in through it) and, when set, the API_TOKEN.
func authSchemes(o Options) map[string]*huma.SecurityScheme {
	s := map[string]*huma.SecurityScheme{
		schemeOAuth2: {
			Type:        "oauth2",
			Description: "Sign in with a login's username and password; reads need any role, changes the admin role.",
			Flows:       &huma.OAuthFlows{Password: &huma.OAuthFlow{TokenURL: TokenPath, Scopes: map[string]string{}}},
		},
	}
	if o.APIToken != "" {
		s[schemeAPIToken] = &huma.SecurityScheme{Type: "http", Scheme: "bearer",
			Description: "The API_TOKEN, for machine clients: acts with the admin role."}
	}
	return s
}

func describeAccess(a access) string {
	switch a {
	case accessRead:
		return "Needs a bearer token of any role."
	case accessWrite:
		return "Needs a bearer token of the admin role (403 for a viewer)."
	}
	return ""
}
