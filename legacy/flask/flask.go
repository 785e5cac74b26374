// Package flask is the Go counterpart of the book's Flask sub-application
// mounted at /ch11/flask: a small JSON service, here for game scheduling
// (round-robin tournaments, package schedule). It is a plain http.Handler;
// mount it with legacy.Mount so that it sees paths without its prefix.
package flask

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/osms/sports-service/internal/httpstatus"
	"github.com/osms/sports-service/legacy"
	"github.com/osms/sports-service/models"
	"github.com/osms/sports-service/repository"
)

// Store is what the scheduler reads; *repository.Store satisfies it.
type Store interface {
	GetPlayer(ctx context.Context, id int64) (models.Player, error)
	GetOfficial(ctx context.Context, id int64) (models.Official, error)
	GetGame(ctx context.Context, id int64) (models.Game, error)
	ListPlayers(ctx context.Context, q repository.ListQuery, fn func(models.Player) error) error
}

// MaxBodyBytes bounds a schedule request: 256 team names of 100 characters
// and 1000 skipped dates fit many times over.
const MaxBodyBytes = 1 << 20

// App serves the flask-style endpoints.
type App struct {
	store  Store
	logger *slog.Logger
	mux    *http.ServeMux
}

// New returns the application. It serves, below its mount point:
//
//	GET  /index                     "flask integration" (the seed's endpoint)
//	GET  /                          a JSON index of the endpoints below
//	POST /schedule                  a round robin of named teams or stored players/officials
//	GET  /schedule/games/{game_id}  a round robin of the players of a stored game
func New(store Store, logger *slog.Logger) *App {
	a := &App{store: store, logger: logger, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /index", a.index)
	a.mux.HandleFunc("GET /{$}", a.root)
	a.mux.HandleFunc("POST /schedule", a.scheduleTeams)
	a.mux.HandleFunc("GET /schedule/games/{game_id}", a.scheduleGame)
	return a
}

// ServeHTTP implements http.Handler.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mux.ServeHTTP(w, r)
}

func (a *App) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "flask integration")
}

// root lists the endpoints with the client-visible prefix, so a client
// behind the gateway can follow them as given.
func (a *App) root(w http.ResponseWriter, r *http.Request) {
	p := legacy.PrefixFrom(r.Context())
	writeJSON(w, http.StatusOK, "application/json", map[string]string{
		"index":          p.App("/index"),
		"schedule":       p.App("/schedule"),
		"game_schedules": p.App("/schedule/games/{game_id}"),
	})
}

// storeFailure answers a repository error that is not about the input.
func (a *App) storeFailure(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, repository.ErrUnavailable) {
		if httpstatus.ClientGone(r.Context()) {
			// Nobody reads it: the status is for the logs and metrics.
			w.WriteHeader(httpstatus.ClientClosedRequest)
			return
		}
		w.Header().Set("Retry-After", "5")
		writeProblem(w, http.StatusServiceUnavailable, "the database is unavailable; try again shortly")
		return
	}
	a.logger.ErrorContext(r.Context(), "flask: store call failed", "path", r.URL.Path, "err", err)
	writeProblem(w, http.StatusInternalServerError, "internal error")
}

// teamName is how a stored person appears in a schedule: the id keeps two
// people of the same name apart.
func teamName(first, last string, id int64) string {
	return fmt.Sprintf("%s %s (#%d)", first, last, id)
}
