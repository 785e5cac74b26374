package handlers

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"reflect"

	"github.com/danielgtaylor/huma/v2"

	"github.com/osms/sports-service/models"
	"github.com/osms/sports-service/repository"
)

type tokenInput struct {
	ContentType string `header:"Content-Type"`
	RawBody     []byte `contentType:"application/x-www-form-urlencoded"`
}

// RoleChange is the body of PATCH /ch11/login/role/{id}.
type RoleChange struct {
	Role string `json:"role" enum:"admin,viewer"`
}

// TokenResponse is the answer of RFC 6749 section 5.1.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type" enum:"bearer"`
	ExpiresIn   int64  `json:"expires_in" doc:"seconds until the token expires"`
}

type tokenOutput struct {
	CacheControl string `header:"Cache-Control"`
	Pragma       string `header:"Pragma"`
	Body         TokenResponse
}

// OAuthProblem documents the token endpoint's refusals: a problem document
// (RFC 9457) with RFC 6749's error code. oauthProblem writes it.
type OAuthProblem struct {
	Type     string              `json:"type,omitempty" format:"uri" default:"about:blank"`
	Title    string              `json:"title,omitempty"`
	Status   int                 `json:"status,omitempty"`
	Detail   string              `json:"detail,omitempty"`
	Instance string              `json:"instance,omitempty" format:"uri"`
	Errors   []*huma.ErrorDetail `json:"errors,omitempty"`
	Error    string              `json:"error,omitempty" enum:"invalid_request,invalid_grant,unsupported_grant_type" doc:"RFC 6749 section 5.2; absent when the framework refused the request before the handler ran"`
}

// oauthProblem is a problem document that also carries RFC 6749's error
// code, so that OAuth2 clients and problem-aware clients both understand it.
type oauthProblem struct {
	*huma.ErrorModel
	Code string `json:"error"`
}

func newOAuthProblem(status int, code, detail string, errs ...error) error {
	p := &oauthProblem{ErrorModel: &huma.ErrorModel{Status: status, Title: http.StatusText(status), Detail: detail}, Code: code}
	for _, e := range errs {
		p.Add(e)
	}
	if status == http.StatusUnauthorized {
		return huma.ErrorWithHeaders(p, http.Header{"WWW-Authenticate": {`Bearer realm="sports-service"`}})
	}
	return p
}

// registerSignIn adds POST /ch11/login/token (the OAuth2 password grant)
// and GET /ch11/login/me.
func registerSignIn(api huma.API, em errorMapper, a *AuthOptions, logger *slog.Logger) {
	tags := []string{"logins"}
	huma.Register(api, huma.Operation{
		OperationID: "sign-in", Method: http.MethodPost, Path: TokenPath,
		Summary: "Sign in: trade a username and password for an access token",
		Description: "The OAuth2 password grant (RFC 6749 section 4.3): a form with `grant_type=password`, " +
			"`username`, `password` and an optional `scope` (ignored: the login's role decides). " +
			"Wrong credentials answer 401 in the same time whether or not the username exists.",
		Tags:   tags,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusServiceUnavailable},
	}, func(ctx context.Context, in *tokenInput) (*tokenOutput, error) {
		if mt, _, err := mime.ParseMediaType(in.ContentType); err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, newOAuthProblem(http.StatusUnsupportedMediaType, "invalid_request",
				"send the form as application/x-www-form-urlencoded")
		}
		form, err := url.ParseQuery(string(in.RawBody))
		if err != nil {
			return nil, newOAuthProblem(http.StatusBadRequest, "invalid_request", "the body is not a valid form")
		}
		if gt := form.Get("grant_type"); gt != "password" {
			return nil, newOAuthProblem(http.StatusBadRequest, "unsupported_grant_type", "only the password grant is supported",
				&huma.ErrorDetail{Location: "body.grant_type", Message: "must be password", Value: gt})
		}
		var missing []error
		for _, f := range []string{"username", "password"} {
			if form.Get(f) == "" {
				missing = append(missing, &huma.ErrorDetail{Location: "body." + f, Message: "is required"})
			}
		}
		if len(missing) > 0 {
			return nil, newOAuthProblem(http.StatusBadRequest, "invalid_request", "username and password are required", missing...)
		}
		username := form.Get("username")
		login, err := a.Logins.VerifyLogin(ctx, username, form.Get("password"))
		if errors.Is(err, repository.ErrBadCredentials) {
			logger.InfoContext(ctx, "sign-in refused", "reason", "wrong username or password")
			return nil, newOAuthProblem(http.StatusUnauthorized, "invalid_grant", "wrong username or password")
		}
		if err != nil {
			return nil, em.problem(ctx, err)
		}
		token, err := a.Tokens.Issue(login.Username, login.Role)
		if err != nil {
			return nil, em.problem(ctx, err)
		}
		logger.InfoContext(ctx, "signed in", "login_id", login.LoginID, "role", login.Role)
		return &tokenOutput{CacheControl: "no-store", Pragma: "no-cache", Body: TokenResponse{
			AccessToken: token, TokenType: "bearer", ExpiresIn: int64(a.Tokens.TTL().Seconds()),
		}}, nil
	})
	// The form's fields, for the document: the framework only knows the raw body.
	if op := api.OpenAPI().Paths[TokenPath].Post; op != nil {
		schema := api.OpenAPI().Components.Schemas.Schema(reflect.TypeOf(OAuthProblem{}), true, "")
		for _, code := range []string{"400", "401", "415"} {
			if r := op.Responses[code]; r != nil {
				r.Content = map[string]*huma.MediaType{problemContentType: {Schema: schema}}
			}
		}
		op.RequestBody.Required = true
		op.RequestBody.Content["application/x-www-form-urlencoded"].Schema = &huma.Schema{
			Type: "object", Required: []string{"grant_type", "username", "password"},
			Properties: map[string]*huma.Schema{
				"grant_type": {Type: "string", Enum: []any{"password"}},
				"username":   {Type: "string"},
				"password":   {Type: "string", Format: "password", WriteOnly: true},
				"scope":      {Type: "string", Description: "ignored"},
			},
		}
	}

	huma.Register(api, huma.Operation{
		OperationID: "set-login-role", Method: http.MethodPatch, Path: "/ch11/login/role/{id}",
		Summary: "Change a login's role", Tags: tags,
		Description: "admin may change records and roles, viewer may only read. Refused with 409 for the last admin, " +
			"so that someone can always administer. Takes effect at the login's next sign-in (tokens carry the role).",
		Errors: append([]int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity}, commonErrors...),
	}, func(ctx context.Context, in *idBodyInput[RoleChange]) (*bodyOutput[models.Login], error) {
		l, err := a.Logins.SetLoginRole(ctx, in.ID, in.Body.Role)
		if err != nil {
			return nil, em.problem(ctx, err)
		}
		logger.InfoContext(ctx, "role changed", "login_id", l.LoginID, "role", l.Role)
		return &bodyOutput[models.Login]{Body: l}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "get-login-me", Method: http.MethodGet, Path: MePath,
		Summary: "The signed-in login", Tags: tags,
		Description: "The login whose token made the request (401 if it was deleted since; 404 for the API_TOKEN, which is no login).",
		Errors:      append([]int{http.StatusNotFound}, commonErrors...),
	}, func(ctx context.Context, _ *struct{}) (*bodyOutput[models.Login], error) {
		p, ok := PrincipalFrom(ctx)
		if !ok || p.Username == "" {
			return nil, huma.Error404NotFound("the caller is not a login (the API_TOKEN)")
		}
		l, err := a.Logins.LoginByUsername(ctx, p.Username)
		if errors.Is(err, repository.ErrNotFound) {
			return nil, huma.ErrorWithHeaders(huma.Error401Unauthorized("the token's login no longer exists"),
				http.Header{"WWW-Authenticate": {`Bearer realm="sports-service", error="invalid_token"`}})
		}
		if err != nil {
			return nil, em.problem(ctx, err)
		}
		return &bodyOutput[models.Login]{Body: l}, nil
	})
}
