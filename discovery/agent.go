package discovery

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
)

// Status is the discovery component of the service's /health report.
type Status struct {
	Enabled      bool               `json:"enabled"`
	Registration RegistrationStatus `json:"registration"`
	Registry     CacheStatus        `json:"registry"`
}

// Agent bundles what a service needs from Eureka: its own registration, the
// registry cache and a client that calls other apps by name.
type Agent struct {
	cfg       Config
	registrar *Registrar
	registry  *Registry
	client    *Client
}

// New builds an Agent; see NewRegistrar for ready and version. With cfg
// disabled every method is a cheap no-op or returns ErrDisabled.
func New(cfg Config, logger *slog.Logger, ready func(ctx context.Context) error, version string) (*Agent, error) {
	registrar, err := NewRegistrar(cfg, logger, ready, version)
	if err != nil {
		return nil, err
	}
	registry := NewRegistry(cfg, logger)
	return &Agent{
		cfg:       cfg,
		registrar: registrar,
		registry:  registry,
		client:    NewClient(registry, nil),
	}, nil
}

// Run registers the instance and keeps the registry cache fresh until ctx
// ends (the registration part ends earlier, on Deregister). It blocks.
func (a *Agent) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { a.registrar.Run(ctx) })
	wg.Go(func() { a.registry.Run(ctx) })
	wg.Wait()
}

// Deregister removes this instance from Eureka; see Registrar.Deregister.
func (a *Agent) Deregister(ctx context.Context) error { return a.registrar.Deregister(ctx) }

// Status reports registration and cache state for /health.
func (a *Agent) Status() Status {
	return Status{
		Enabled:      a.cfg.Enabled(),
		Registration: a.registrar.Status(),
		Registry:     a.registry.Status(),
	}
}

// Instances returns the cached instances of app; see Registry.Instances.
func (a *Agent) Instances(app string) (AppInstances, error) { return a.registry.Instances(app) }

// Do calls app by name; see Client.Do.
func (a *Agent) Do(ctx context.Context, app, method, path string, body []byte) (*http.Response, error) {
	return a.client.Do(ctx, app, method, path, body)
}

// HTTPClient returns a client for http://APPNAME/... URLs.
func (a *Agent) HTTPClient() *http.Client { return a.client.HTTPClient() }

// Registrar, Registry and Client give access to the parts.
func (a *Agent) Registrar() *Registrar { return a.registrar }

// Registry returns the registry cache.
func (a *Agent) Registry() *Registry { return a.registry }

// Client returns the by-name HTTP client.
func (a *Agent) Client() *Client { return a.client }
