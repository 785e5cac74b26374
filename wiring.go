package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/osms/sports-service/config"
	"github.com/osms/sports-service/discovery"
	"github.com/osms/sports-service/handlers"
	"github.com/osms/sports-service/legacy/django"
	"github.com/osms/sports-service/legacy/mount"
)

// legacyMounts builds the Flask- and Django-style sub-applications (and the
// admin's /static assets) on the service's store.
func legacyMounts(cfg config.Config, store mount.Store, logger *slog.Logger) ([]handlers.Mount, error) {
	key, err := django.SessionKeyFrom(cfg.SessionKey)
	if err != nil {
		return nil, err
	}
	if cfg.SessionKey == "" {
		logger.Warn("SESSION_KEY is not set: admin sessions use a random per-process key " +
			"and end when the process restarts; set it (the same on every instance) behind a gateway")
	}
	apps, err := mount.Apps(mount.Config{Store: store, Logger: logger.With("component", "legacy"), SessionKey: key,
		EnforceRoles: cfg.AuthEnabled})
	if err != nil {
		return nil, err
	}
	mounts := make([]handlers.Mount, 0, len(apps))
	for _, a := range apps {
		// The admin site signs its users in with the same logins (and
		// roles) through its own session; the token check leaves it alone.
		mounts = append(mounts, handlers.Mount{Prefix: a.Prefix, Handler: a.Handler, OwnSignIn: a.Prefix == mount.DjangoPrefix})
	}
	return mounts, nil
}

// discoveryAgent adapts the Eureka agent to the service: a no-op when
// EUREKA_URL is unset, and a health component that never decides readiness.
type discoveryAgent struct {
	*discovery.Agent
	enabled bool
}

func newDiscovery(getenv func(string) string, port int, logger *slog.Logger,
	ready func(context.Context) error, version string) (*discoveryAgent, error) {
	cfg, err := discovery.LoadConfig(getenv, port)
	if err != nil {
		return nil, err
	}
	// The agent's parts name themselves (eureka-registrar, eureka-registry);
	// a "component" added here too would repeat the key in their lines.
	agent, err := discovery.New(cfg, logger, ready, version)
	if err != nil {
		return nil, err
	}
	if cfg.Enabled() {
		logger := logger.With("component", "discovery")
		// go-eureka-client reports every failed request through logrus's
		// global logger, in another format; our registrar logs each failure
		// once per backoff step instead.
		logrus.SetOutput(io.Discard)
		logger.Info("registering with Eureka", "servers", cfg.ServerURLs, "instance", cfg.InstanceID(),
			"app", cfg.AppName, "vip", cfg.VIP(), "aliases", cfg.Aliases)
		if strings.Contains(cfg.VIP(), "_") {
			logger.Warn("the vipAddress holds '_', which a host name cannot: Spring Cloud clients will not be able to call this service by it",
				"vip", cfg.VIP(), "env", discovery.EnvAppName+", "+discovery.EnvVipAddress)
		}
	}
	return &discoveryAgent{Agent: agent, enabled: cfg.Enabled()}, nil
}

// Enabled reports whether a Eureka URL is configured.
func (d *discoveryAgent) Enabled() bool { return d.enabled }

// HealthCheck reports registration and cache state.
func (d *discoveryAgent) HealthCheck(context.Context) handlers.Component {
	st := d.Status()
	status := "UNKNOWN"
	switch {
	case !st.Enabled:
	case st.Registration.Registered:
		status = handlers.StatusUp
	default:
		status = handlers.StatusDown
	}
	var details map[string]any
	if raw, err := json.Marshal(st); err == nil {
		_ = json.Unmarshal(raw, &details)
	}
	return handlers.Component{Status: status, Details: details}
}
