package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/osms/sports-service/auth"
	"github.com/osms/sports-service/config"
	"github.com/osms/sports-service/handlers"
	"github.com/osms/sports-service/repository"
)

// signInStore is what sign-in needs of the database.
type signInStore interface {
	handlers.LoginDirectory
	EnsureIndexes(ctx context.Context) error
	EnsureAdmin(ctx context.Context, username, password string) (bool, error)
}

// startSignIn warns once when sign-in is off, starts creating the first
// admin (ADMIN_USERNAME/ADMIN_PASSWORD) in the background, since the
// database may not answer yet (the instance is not ready until it exists:
// tasks), and returns the router's sign-in options: nil when AUTH_ENABLED is
// off.
func startSignIn(ctx context.Context, cfg config.Config, store signInStore, tasks *setup, logger *slog.Logger) (*handlers.AuthOptions, error) {
	switch {
	case !cfg.AuthEnabled && cfg.APIToken == "":
		logger.Warn("AUTH_ENABLED is false and API_TOKEN is not set: the /ch11 API is open to anyone who can reach it")
	case !cfg.AuthEnabled:
		logger.Warn("AUTH_ENABLED is false: /ch11 is guarded by the shared API_TOKEN only, without logins or roles")
	}
	if cfg.AdminUsername != "" {
		go ensureFirstAdmin(ctx, store, cfg.AdminUsername, cfg.AdminPassword, logger, tasks.begin("first admin"))
	}
	if !cfg.AuthEnabled {
		return nil, nil
	}
	keys, err := auth.ParseKeys(cfg.JWTSigningKeys)
	if err != nil {
		return nil, err
	}
	tokens, err := auth.New(auth.Config{Keys: keys, TTL: cfg.AccessTokenTTL})
	if err != nil {
		return nil, err
	}
	logger.Info("sign-in enabled", "signing_kid", keys[0].ID, "accepted_kids", len(keys), "token_ttl", cfg.AccessTokenTTL.String())
	return &handlers.AuthOptions{Tokens: tokens, Logins: store}, nil
}

// ensureFirstAdmin retries until the database answers, then calls done
// (also when ADMIN_USERNAME names a viewer: no admin will come of waiting).
// The unique index on username is made first; the admins' lock
// (Store.EnsureAdmin) makes instances starting together create one admin.
func ensureFirstAdmin(ctx context.Context, store signInStore, username, password string, logger *slog.Logger, done func()) {
	defer done()
	delay := 250 * time.Millisecond
	for {
		err := store.EnsureIndexes(ctx)
		if err == nil {
			var created bool
			created, err = store.EnsureAdmin(ctx, username, password)
			switch {
			case err == nil && created:
				logger.Info("created the first admin from ADMIN_USERNAME", "username", username)
				return
			case err == nil:
				logger.Debug("an admin exists: ADMIN_USERNAME and ADMIN_PASSWORD are ignored")
				return
			case errors.Is(err, repository.ErrUsernameTaken):
				logger.Error("ADMIN_USERNAME names a login that is not an admin: no admin created; choose another name", "username", username)
				return
			}
		}
		logger.Warn("could not create the first admin yet; retrying", "error", err, "retry_in", delay.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, 30*time.Second)
	}
}
