// Package handlers is the HTTP layer: the routes file below maps the whole
// surface of the service; the rest decodes, validates and encodes in one
// place and maps the store's errors to problem documents.
package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humagin"
	"github.com/gin-gonic/gin"

	"github.com/osms/sports-service/models"
	"github.com/osms/sports-service/repository"
)

// Store is what the API needs of the database.
type Store interface {
	CreateLogin(context.Context, models.LoginCreate) (models.Login, error)
	GetLogin(context.Context, int64) (models.Login, error)
	ListLogins(context.Context, repository.ListQuery, func(models.Login) error) error
	DeleteLogin(context.Context, int64) error
	ChangePassword(context.Context, models.LoginUpdate) (models.Login, error)
	VerifyLogin(ctx context.Context, username, password string) (models.Login, error)

	CreateOfficial(context.Context, models.Official) (models.Official, error)
	GetOfficial(context.Context, int64) (models.Official, error)
	ListOfficials(context.Context, repository.ListQuery, func(models.Official) error) error
	UpdateOfficial(context.Context, int64, models.OfficialPatch) (models.Official, error)
	DeleteOfficial(context.Context, int64) error

	CreatePlayer(context.Context, models.Player) (models.Player, error)
	GetPlayer(context.Context, int64) (models.Player, error)
	ListPlayers(context.Context, repository.ListQuery, func(models.Player) error) error
	UpdatePlayer(context.Context, int64, models.PlayerPatch) (models.Player, error)
	DeletePlayer(context.Context, int64) error

	CreateGame(context.Context, models.Game) (models.Game, error)
	GetGame(context.Context, int64) (models.Game, error)
	ListGames(context.Context, repository.ListQuery, func(models.Game) error) error
	UpdateGame(context.Context, int64, models.GamePatch) (models.Game, error)
	DeleteGame(context.Context, int64) error
}

// Mount is a plain net/http application served under a path prefix, as the
// seed mounts its Flask and Django apps inside FastAPI.
type Mount struct {
	Prefix  string // e.g. "/ch11/flask"
	Handler http.Handler
	// OwnSignIn marks an application that signs its users in itself (the
	// admin site): the bearer-token check leaves it alone.
	OwnSignIn bool
}

// Options are the router's settings and dependencies.
type Options struct {
	Logger *slog.Logger
	// AccessLog writes the line of each request; nil writes it through
	// Logger (SlogAccessLog).
	AccessLog      AccessLog
	Store          Store
	Build          BuildInfo
	Health         []HealthCheck
	ReadyTimeout   time.Duration
	RequestTimeout time.Duration
	// ReadTimeout bounds the reading of a request body (the server's
	// READ_TIMEOUT); 0 means none.
	ReadTimeout time.Duration
	BodyLimit   int64
	APIToken    string
	CORSOrigins []string
	// Auth turns sign-in on (AUTH_ENABLED); nil leaves the API open, or
	// guarded by APIToken alone.
	Auth *AuthOptions

	// Observe installs the observability middleware (metrics, tracing) and
	// their routes (/metrics). They run after the request id is set and
	// before the access log, so that log lines carry trace ids.
	Observe []func(*gin.Engine)
	// Routes adds routes owned by other packages (e.g. /metrics).
	Routes []func(*gin.Engine)
	// Discovery answers /ch11/discovery/...; nil leaves those routes out.
	Discovery Discovery
	// Mounts are the legacy sub-applications.
	Mounts []Mount

	// Idempotency stores the answers to POST .../add sent with an
	// Idempotency-Key, for IdempotencyKeyTTL; nil ignores the header.
	Idempotency       IdempotencyStore
	IdempotencyKeyTTL time.Duration
	// RequireIfMatch answers 428 to updates and deletes without If-Match.
	RequireIfMatch bool
}

// apiPrefix is the API's path prefix; a bearer token, when configured,
// guards it.
const apiPrefix = "/ch11/"

// NewRouter returns the service's HTTP handler.
func NewRouter(o Options) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// A path with a trailing slash is a 404 problem naming the path without
	// it, not the router's 301 with an HTML body (which a POST would not
	// follow with its body anyway).
	r.RedirectTrailingSlash = false
	r.ContextWithFallback = true
	// Only the gateway's X-Forwarded-For is trusted, and only from loopback
	// and private networks, where the gateway runs.
	// gin's own list, canonical: ClientIP (gin-metrics calls it on every
	// request) looks each name up, and "X-Real-IP" was canonicalised, an
	// allocation, every time.
	r.RemoteIPHeaders = []string{"X-Forwarded-For", "X-Real-Ip"}
	_ = r.SetTrustedProxies([]string{"127.0.0.0/8", "::1", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"})

	// The request id and deadline, then the security headers, come first so
	// that every answer carries them, the password-in-URL refusal included,
	// which has to come before the observability middleware so that such a
	// URL is never recorded.
	r.Use(requestContext(o.RequestTimeout), securityHeaders(), rejectSecretsInURL())
	for _, install := range o.Observe {
		install(r)
	}
	access := o.AccessLog
	if access == nil {
		access = SlogAccessLog(o.Logger)
	}
	r.Use(accessLog(access), recoverPanics(o.Logger), cors(o.CORSOrigins),
		limitBody(o.BodyLimit))

	if guard := guardMiddleware(o); guard != nil {
		r.Use(guard)
	}
	r.Use(recordWrites(o)...) // Idempotency-Key, ETag, If-Match, If-None-Match

	r.NoRoute(func(c *gin.Context) { writeProblem(c, http.StatusNotFound, noRouteDetail(c.Request.URL.Path)) })
	r.NoMethod(func(c *gin.Context) {
		writeProblem(c, http.StatusMethodNotAllowed, c.Request.Method+" is not allowed on "+c.Request.URL.Path)
	})

	api := humagin.New(r, apiConfig(o))
	api.UseMiddleware(strictBody(api, o.BodyLimit)) // duplicated keys, nulls, 236687.0; one 413 text
	em := errorMapper{logger: o.Logger}
	s := o.Store

	// The API surface, in one place.
	registerResource(api, em, resource[models.LoginCreate, models.Login, struct{}]{
		name: "login", plural: "logins",
		add: s.CreateLogin, get: s.GetLogin, list: s.ListLogins, delete: s.DeleteLogin,
	})
	registerLoginExtras(api, em, s) // PATCH /ch11/login/update, POST /ch11/login/verify
	if o.Auth != nil {
		registerSignIn(api, em, o.Auth, o.Logger) // POST /ch11/login/token, GET /ch11/login/me
	}
	registerResource(api, em, resource[models.Official, models.Official, models.OfficialPatch]{
		name: "official", plural: "officials",
		add: s.CreateOfficial, get: s.GetOfficial, list: s.ListOfficials, update: s.UpdateOfficial, delete: s.DeleteOfficial,
	})
	registerResource(api, em, resource[models.Player, models.Player, models.PlayerPatch]{
		name: "player", plural: "players",
		add: s.CreatePlayer, get: s.GetPlayer, list: s.ListPlayers, update: s.UpdatePlayer, delete: s.DeletePlayer,
	})
	registerResource(api, em, resource[models.Game, models.Game, models.GamePatch]{
		name: "game", plural: "games",
		add: s.CreateGame, get: s.GetGame, list: s.ListGames, update: s.UpdateGame, delete: s.DeleteGame,
	})
	if o.Discovery != nil {
		registerDiscovery(api, o.Discovery) // /ch11/discovery/{app}, /ch11/discovery/{app}/info
	}
	registerHealth(api, o.Health, o.ReadyTimeout, o.Build) // /health, /health/live, /health/ready, /info
	registerDocs(r)                                        // / (302 to /docs), /docs; /openapi.json comes from apiConfig

	documentLegacy(api.OpenAPI(), o.Mounts, len(o.Observe) > 0, o.Auth != nil) // the flask schedule API and /metrics, in the document only
	for _, add := range o.Routes {
		add(r)
	}
	for _, m := range o.Mounts {
		h := gin.WrapH(problemErrors(m.Handler))
		r.Any(m.Prefix, h)
		r.Any(m.Prefix+"/*path", h)
	}
	return r
}

func apiConfig(o Options) huma.Config {
	cfg := huma.DefaultConfig("Sports service", o.Build.Version)
	cfg.Info.Description = "The online sports management system: logins, players, officials and games. " +
		"Errors are RFC 9457 problem documents (application/problem+json)."
	cfg.DocsPath = ""     // served by registerDocs from embedded assets
	cfg.CreateHooks = nil // no $schema field in bodies: clients of the original expect its exact JSON
	cfg.OpenAPIPath = "/openapi"
	cfg.Transformers = append(cfg.Transformers, scrubSecrets, boundErrors, tidyErrors)
	cfg.OnAddOperation = append(cfg.OnAddOperation, documentRecordWrites())
	// limitBody refuses a declared Content-Length over the limit; this
	// catches chunked bodies. The framework treats reaching its maximum as
	// too large, hence the extra byte.
	cfg.OnAddOperation = append(cfg.OnAddOperation, func(_ *huma.OpenAPI, op *huma.Operation) {
		op.MaxBodyBytes = o.BodyLimit + 1
		// The framework resets the connection's read deadline before it
		// reads a body, to its own 5 s unless told otherwise, which would
		// replace READ_TIMEOUT: a trickled body was cut at 5 s whatever
		// READ_TIMEOUT said. Give it READ_TIMEOUT (negative: no deadline).
		op.BodyReadTimeout = o.ReadTimeout
		if o.ReadTimeout <= 0 {
			op.BodyReadTimeout = -1
		}
	})
	cfg.OnAddOperation = append(cfg.OnAddOperation, setRequestExample(requestExamples()))
	if o.Auth != nil {
		// Per operation, from the same rule as the middleware, so that
		// Swagger UI sends the token where it is needed.
		cfg.Components.SecuritySchemes = authSchemes(o)
		cfg.OnAddOperation = append(cfg.OnAddOperation, func(_ *huma.OpenAPI, op *huma.Operation) {
			op.Security = securityOf(o, op)
			if r401 := op.Responses["401"]; r401 != nil && op.Responses["403"] == nil && len(op.Security) > 0 &&
				accessOf(op.Method, op.Path, nil) == accessWrite {
				op.Responses["403"] = &huma.Response{Description: "Forbidden: the token's role is not admin", Content: r401.Content}
			}
		})
		return cfg
	}
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "Needed on /ch11/* when the service runs with API_TOKEN set."},
	}
	// Optional: the empty requirement means "or no token".
	cfg.Security = []map[string][]string{{"bearer": {}}, {}}
	return cfg
}
