package discovery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ArthurHlt/go-eureka-client/eureka"
)

// ErrDisabled is returned by lookups and calls when no Eureka is configured.
var ErrDisabled = errors.New("eureka discovery is disabled")

// ErrAppNotFound means the registry cache has no instance of the app.
var ErrAppNotFound = errors.New("application not found in eureka registry")

// ErrNoInstanceUp means the app is known but none of its instances is UP.
var ErrNoInstanceUp = errors.New("no instance is UP")

// Instance is one registered instance as the registry cache knows it.
type Instance struct {
	InstanceID     string            `json:"instanceId"`
	App            string            `json:"app"`
	HostName       string            `json:"hostName"`
	IPAddr         string            `json:"ipAddr"`
	Port           int               `json:"port"`
	Status         string            `json:"status"`
	HomePageURL    string            `json:"homePageUrl,omitempty"`
	StatusPageURL  string            `json:"statusPageUrl,omitempty"`
	HealthCheckURL string            `json:"healthCheckUrl,omitempty"`
	Metadata       map[string]string `json:"metadata,omitempty"`
}

// address is host:port to call the instance at.
func (i Instance) address(preferIP bool) string {
	host := i.HostName
	if preferIP || host == "" {
		host = i.IPAddr
	}
	return net.JoinHostPort(host, strconv.Itoa(i.Port))
}

// AppInstances answers a lookup, with the age of the cache it came from so
// that a caller can tell how current it is.
type AppInstances struct {
	App             string     `json:"app"`
	Instances       []Instance `json:"instances"`
	FetchedAt       time.Time  `json:"fetchedAt,omitzero"`
	CacheAgeSeconds float64    `json:"cacheAgeSeconds"`
	// Stale is true when the last refresh failed and this is older data.
	Stale bool `json:"stale"`
}

// CacheStatus is the registry cache's part of the /health report.
type CacheStatus struct {
	Enabled             bool      `json:"enabled"`
	FetchedAt           time.Time `json:"fetchedAt,omitzero"`
	CacheAgeSeconds     float64   `json:"cacheAgeSeconds"`
	Stale               bool      `json:"stale"`
	Applications        int       `json:"applications"`
	Instances           int       `json:"instances"`
	LastError           string    `json:"lastError,omitempty"`
	LastErrorAt         time.Time `json:"lastErrorAt,omitzero"`
	ConsecutiveFailures int       `json:"consecutiveFailures"`
}

// Registry is a client-side cache of Eureka's registry, refreshed every
// RegistryFetchInterval by Run. When Eureka is unreachable the last good
// copy is kept and served, marked stale, so that calls between services
// survive a registry outage.
type Registry struct {
	cfg     Config
	log     *slog.Logger
	servers *eurekaServers

	// refreshing serialises fetches; a caller that finds the cache empty
	// refreshes it itself instead of waiting for Run's next tick.
	refreshing sync.Mutex

	mu                  sync.RWMutex
	apps                map[string][]Instance // by upper-case app name
	fetchedAt           time.Time
	lastErr             error
	lastErrAt           time.Time
	consecutiveFailures int
}

// NewRegistry returns a registry cache for cfg; call Run to keep it fresh.
func NewRegistry(cfg Config, logger *slog.Logger) *Registry {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Registry{cfg: cfg, log: logger.With("component", "eureka-registry")}
	if cfg.Enabled() {
		r.servers = newEurekaServers(cfg.ServerURLs, cfg.RequestTimeout)
	}
	return r
}

// Run refreshes the cache now and then every RegistryFetchInterval until ctx
// ends. With discovery disabled it returns at once.
func (r *Registry) Run(ctx context.Context) {
	if !r.cfg.Enabled() {
		return
	}
	ticker := time.NewTicker(r.cfg.RegistryFetchInterval)
	defer ticker.Stop()
	for {
		// Errors are recorded and logged by Refresh; the loop goes on.
		_ = r.Refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// Refresh fetches the whole registry. On failure the cached copy stays.
func (r *Registry) Refresh(ctx context.Context) error {
	if !r.cfg.Enabled() {
		return ErrDisabled
	}
	r.refreshing.Lock()
	defer r.refreshing.Unlock()

	apps, err := r.servers.applications(ctx)
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.lastErr, r.lastErrAt = err, now
		r.consecutiveFailures++
		age := "never fetched"
		if !r.fetchedAt.IsZero() {
			age = now.Sub(r.fetchedAt).Round(time.Second).String()
		}
		r.log.Warn("eureka registry fetch failed; serving the cached registry", "error", err,
			"cache_age", age, "attempt", r.consecutiveFailures)
		return fmt.Errorf("refresh registry: %w", err)
	}
	if r.consecutiveFailures > 0 {
		r.log.Info("eureka registry fetch recovered", "failed_attempts", r.consecutiveFailures)
	}
	r.apps = convertApplications(apps)
	r.fetchedAt = now
	r.consecutiveFailures = 0
	return nil
}

func convertApplications(apps *eureka.Applications) map[string][]Instance {
	out := make(map[string][]Instance, len(apps.Applications))
	for _, app := range apps.Applications {
		name := normalizeApp(app.Name)
		for _, info := range app.Instances {
			inst := Instance{
				InstanceID:     info.InstanceID,
				App:            name,
				HostName:       info.HostName,
				IPAddr:         info.IpAddr,
				Status:         info.Status,
				HomePageURL:    info.HomePageUrl,
				StatusPageURL:  info.StatusPageUrl,
				HealthCheckURL: info.HealthCheckUrl,
			}
			if info.Port != nil && info.Port.Enabled {
				inst.Port = info.Port.Port
			}
			if info.Metadata != nil && len(info.Metadata.Map) > 0 {
				inst.Metadata = info.Metadata.Map
			}
			out[name] = append(out[name], inst)
		}
		// A stable order makes round-robin fair across refreshes.
		slices.SortFunc(out[name], func(a, b Instance) int {
			return cmp.Compare(a.InstanceID, b.InstanceID)
		})
	}
	return out
}

// Instances returns every cached instance of app, whatever its status, with
// the cache's age. It does not call Eureka.
func (r *Registry) Instances(app string) (AppInstances, error) {
	if !r.cfg.Enabled() {
		return AppInstances{}, ErrDisabled
	}
	name := normalizeApp(app)
	r.mu.RLock()
	defer r.mu.RUnlock()
	res := AppInstances{
		App:       name,
		Instances: slices.Clone(r.apps[name]),
		FetchedAt: r.fetchedAt,
		Stale:     r.staleLocked(),
	}
	if !r.fetchedAt.IsZero() {
		res.CacheAgeSeconds = time.Since(r.fetchedAt).Seconds()
	}
	if len(res.Instances) == 0 {
		return res, fmt.Errorf("%s: %w", name, ErrAppNotFound)
	}
	return res, nil
}

// upInstances returns the UP instances of app, fetching the registry first
// if it was never fetched (a call right after start-up).
func (r *Registry) upInstances(ctx context.Context, app string) ([]Instance, error) {
	if !r.cfg.Enabled() {
		return nil, ErrDisabled
	}
	r.mu.RLock()
	never := r.fetchedAt.IsZero()
	r.mu.RUnlock()
	if never {
		if err := r.Refresh(ctx); err != nil {
			return nil, err
		}
	}
	all, err := r.Instances(app)
	if err != nil {
		return nil, err
	}
	up := slices.DeleteFunc(all.Instances, func(i Instance) bool { return i.Status != StatusUp || i.Port == 0 })
	if len(up) == 0 {
		return nil, fmt.Errorf("%s: %w (%d registered)", all.App, ErrNoInstanceUp, len(all.Instances))
	}
	return up, nil
}

func (r *Registry) staleLocked() bool {
	return r.fetchedAt.IsZero() || r.consecutiveFailures > 0
}

// Status reports the cache's state for /health.
func (r *Registry) Status() CacheStatus {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := CacheStatus{
		Enabled:             r.cfg.Enabled(),
		FetchedAt:           r.fetchedAt,
		Stale:               r.cfg.Enabled() && r.staleLocked(),
		Applications:        len(r.apps),
		LastErrorAt:         r.lastErrAt,
		ConsecutiveFailures: r.consecutiveFailures,
	}
	for _, insts := range r.apps {
		s.Instances += len(insts)
	}
	if !r.fetchedAt.IsZero() {
		s.CacheAgeSeconds = time.Since(r.fetchedAt).Seconds()
	}
	if r.lastErr != nil {
		s.LastError = r.lastErr.Error()
	}
	return s
}
