// Package mount builds the legacy sub-applications with their mount points
// (Apps, net/http only) and holds their only Gin code (Register). The
// applications themselves (legacy/flask, legacy/django) import no Gin.
package mount

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/osms/sports-service/legacy"
	"github.com/osms/sports-service/legacy/django"
	"github.com/osms/sports-service/legacy/flask"
)

// The seed's mount points.
const (
	FlaskPrefix  = "/ch11/flask"
	DjangoPrefix = "/ch11/django"
	StaticPrefix = "/static" // the admin's assets, at the site root as in the seed
)

// Store is what the two applications read and write; *repository.Store
// satisfies it.
type Store interface {
	flask.Store
	django.Store
}

// Config is what Register needs.
type Config struct {
	Store  Store
	Logger *slog.Logger
	// SessionKey signs the admin's session cookies (django.SessionKeyFrom
	// turns config.Config.SessionKey into one).
	SessionKey []byte
	// EnforceRoles lets only admins change records in the admin site
	// (AUTH_ENABLED); viewers see them.
	EnforceRoles bool
}

// App is one handler and the path prefix it answers below; Handler expects
// the full request path (it strips Prefix itself). It has the shape of
// handlers.Mount, so the service's router can take it as it is.
type App struct {
	Prefix  string
	Handler http.Handler
}

// Apps builds the sub-applications:
//
//	/ch11/flask and /ch11/flask/*   the scheduling application, any method
//	/ch11/django and /ch11/django/* the admin site and the seed's index view, any method
//	/static/*                       the admin's CSS, JavaScript and icon (GET, HEAD; else 405)
//
// Route both the exact prefix and everything below it to each handler, so
// that the router's own trailing-slash redirect, which knows nothing of
// X-Forwarded-Prefix, never answers for them.
func Apps(cfg Config) ([]App, error) {
	if cfg.Store == nil || cfg.Logger == nil {
		return nil, fmt.Errorf("legacy apps: Store and Logger are required")
	}
	admin, err := django.New(django.Config{Store: cfg.Store, Logger: cfg.Logger.With("app", "django"), SessionKey: cfg.SessionKey, EnforceRoles: cfg.EnforceRoles})
	if err != nil {
		return nil, fmt.Errorf("legacy apps: %w", err)
	}
	return []App{
		{FlaskPrefix, legacy.Mount(FlaskPrefix, flask.New(cfg.Store, cfg.Logger.With("app", "flask")))},
		{DjangoPrefix, legacy.Mount(DjangoPrefix, admin)},
		{StaticPrefix, admin.Static()},
	}, nil
}

// Register routes the Apps on r, for a router that has no mount support of
// its own.
func Register(r gin.IRoutes, cfg Config) error {
	apps, err := Apps(cfg)
	if err != nil {
		return err
	}
	for _, app := range apps {
		h := gin.WrapH(app.Handler)
		r.Any(app.Prefix, h)
		r.Any(app.Prefix+"/*path", h)
	}
	return nil
}
