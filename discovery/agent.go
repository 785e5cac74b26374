package discovery

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
)

// Status is the discovery component of the service's /health report.
type Status struct {
	Enabled      bool               `json:"enabled"`
	Registration RegistrationStatus `json:"registration"`
	// Aliases are the registrations under the alias app names.
	Aliases  []RegistrationStatus `json:"aliases,omitempty"`
	Registry CacheStatus          `json:"registry"`
}

// Agent bundles what a service needs from Eureka: its registrations (the
// app name and its aliases), the registry cache and a client that calls
// other apps by name.
type Agent struct {
	cfg        Config
	registrars []*Registrar // cfg.Registrations() in order: the primary first
	registry   *Registry
	client     *Client
}

// New builds an Agent; see NewRegistrar for ready and version. With cfg
// disabled every method is a cheap no-op or returns ErrDisabled. logger
// should not carry a "component" attribute: each part adds its own.
func New(cfg Config, logger *slog.Logger, ready func(ctx context.Context) error, version string) (*Agent, error) {
	a := &Agent{cfg: cfg}
	regs := cfg.Registrations()
	if !cfg.Enabled() {
		regs = regs[:1] // nothing to register; one no-op registrar answers Status
	}
	for _, rc := range regs {
		registrar, err := NewRegistrar(rc, logger, ready, version)
		if err != nil {
			return nil, err
		}
		a.registrars = append(a.registrars, registrar)
	}
	a.registry = NewRegistry(cfg, logger)
	a.client = NewClient(a.registry, nil)
	return a, nil
}

// Run registers the instance and keeps the registry cache fresh until ctx
// ends (the registration part ends earlier, on Deregister). It blocks.
func (a *Agent) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, r := range a.registrars {
		wg.Go(func() { r.Run(ctx) })
	}
	wg.Go(func() { a.registry.Run(ctx) })
	wg.Wait()
}

// MarkOutOfService sets every registration OUT_OF_SERVICE, concurrently;
// see Registrar.MarkOutOfService.
func (a *Agent) MarkOutOfService(ctx context.Context) error {
	return a.each(func(r *Registrar) error { return r.MarkOutOfService(ctx) })
}

// Deregister removes every registration of this instance from Eureka,
// concurrently; see Registrar.Deregister.
func (a *Agent) Deregister(ctx context.Context) error {
	return a.each(func(r *Registrar) error { return r.Deregister(ctx) })
}

func (a *Agent) each(f func(*Registrar) error) error {
	errs := make([]error, len(a.registrars))
	var wg sync.WaitGroup
	for i, r := range a.registrars {
		wg.Go(func() { errs[i] = f(r) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Status reports registration and cache state for /health.
func (a *Agent) Status() Status {
	st := Status{
		Enabled:      a.cfg.Enabled(),
		Registration: a.registrars[0].Status(),
		Registry:     a.registry.Status(),
	}
	for _, r := range a.registrars[1:] {
		st.Aliases = append(st.Aliases, r.Status())
	}
	return st
}

// Instances returns the cached instances of app; see Registry.Instances.
func (a *Agent) Instances(app string) (AppInstances, error) { return a.registry.Instances(app) }

// Do calls app by name; see Client.Do.
func (a *Agent) Do(ctx context.Context, app, method, path string, body []byte) (*http.Response, error) {
	return a.client.Do(ctx, app, method, path, body)
}

// StatusPage GETs the registered status page of one UP instance of app;
// see Transport.StatusPage.
func (a *Agent) StatusPage(ctx context.Context, app string) (*http.Response, Instance, error) {
	return a.client.StatusPage(ctx, app)
}

// HTTPClient returns a client for http://APPNAME/... URLs.
func (a *Agent) HTTPClient() *http.Client { return a.client.HTTPClient() }

// Registrar returns the registrar of the primary app name.
func (a *Agent) Registrar() *Registrar { return a.registrars[0] }

// Registry returns the registry cache.
func (a *Agent) Registry() *Registry { return a.registry }

// Client returns the by-name HTTP client.
func (a *Agent) Client() *Client { return a.client }
