// Package mount is the only Gin code of the legacy sub-applications: it
// registers them on the service's router at the seed's paths. The
// applications themselves (legacy/flask, legacy/django) are net/http only.
package mount

import (
	"fmt"
	"log/slog"

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
}

// Register mounts, for every method:
//
//	/ch11/flask and /ch11/flask/*   the scheduling application
//	/ch11/django and /ch11/django/* the admin site (and the seed's index view)
//	GET, HEAD /static/*             the admin's CSS, JavaScript and icon
//
// The exact prefixes are routed too, so that Gin's trailing-slash redirect,
// which knows nothing of X-Forwarded-Prefix, never answers for them.
func Register(r gin.IRoutes, cfg Config) error {
	if cfg.Store == nil || cfg.Logger == nil {
		return fmt.Errorf("mount legacy apps: Store and Logger are required")
	}
	admin, err := django.New(django.Config{Store: cfg.Store, Logger: cfg.Logger.With("app", "django"), SessionKey: cfg.SessionKey})
	if err != nil {
		return fmt.Errorf("mount legacy apps: %w", err)
	}
	apps := []struct {
		prefix string
		h      gin.HandlerFunc
	}{
		{FlaskPrefix, gin.WrapH(legacy.Mount(FlaskPrefix, flask.New(cfg.Store, cfg.Logger.With("app", "flask"))))},
		{DjangoPrefix, gin.WrapH(legacy.Mount(DjangoPrefix, admin))},
	}
	for _, app := range apps {
		r.Any(app.prefix, app.h)
		r.Any(app.prefix+"/*path", app.h)
	}
	static := gin.WrapH(admin.Static())
	r.GET(StaticPrefix+"/*filepath", static)
	r.HEAD(StaticPrefix+"/*filepath", static)
	return nil
}
