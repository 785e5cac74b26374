package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// initialRetryDelay is the first delay of the registration backoff.
const initialRetryDelay = time.Second

// RegistrationStatus is the registrar's part of the service's /health
// report. It is informational: readiness must not depend on Eureka.
type RegistrationStatus struct {
	Enabled    bool   `json:"enabled"`
	Registered bool   `json:"registered"`
	App        string `json:"app,omitempty"`
	InstanceID string `json:"instanceId,omitempty"`
	// Status is the status Eureka last accepted from us (UP, DOWN).
	Status string `json:"status,omitempty"`
	// Server is the Eureka service URL that answered last.
	Server              string    `json:"server,omitempty"`
	RegisteredAt        time.Time `json:"registeredAt,omitzero"`
	LastHeartbeat       time.Time `json:"lastHeartbeat,omitzero"`
	LastError           string    `json:"lastError,omitempty"`
	LastErrorAt         time.Time `json:"lastErrorAt,omitzero"`
	ConsecutiveFailures int       `json:"consecutiveFailures"`
	Deregistered        bool      `json:"deregistered,omitempty"`
}

// Registrar keeps this instance registered in Eureka for as long as Run
// runs: it registers (retrying with backoff while no server answers), sends
// heartbeats, registers again when Eureka forgot the instance, and keeps the
// instance's status in step with the service's readiness.
type Registrar struct {
	cfg       Config
	log       *slog.Logger
	ready     func(ctx context.Context) error
	version   string
	startedAt time.Time
	servers   *eurekaServers

	// turn serialises the calls of Run's loop, MarkOutOfService and
	// Deregister, so that no heartbeat or registration from the loop can
	// follow the DELETE. It is a channel so that a caller can give up
	// waiting when its ctx ends. Whoever holds it owns loop.
	turn chan struct{}
	loop registrarLoop
	// stop is closed by Deregister to end Run.
	stop     chan struct{}
	stopOnce sync.Once

	mu    sync.Mutex
	state RegistrationStatus
}

// NewRegistrar returns a registrar for cfg. ready reports the service's
// readiness (nil error: UP, else DOWN); a nil ready means always ready.
// version is published in the instance metadata.
func NewRegistrar(cfg Config, logger *slog.Logger, ready func(ctx context.Context) error, version string) (*Registrar, error) {
	if cfg.Enabled() {
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if ready == nil {
		ready = func(context.Context) error { return nil }
	}
	r := &Registrar{
		cfg:       cfg,
		log:       logger.With("component", "eureka-registrar", "app", cfg.AppName),
		ready:     ready,
		version:   version,
		startedAt: time.Now(),
		turn:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		loop:      registrarLoop{backoff: newBackoff(initialRetryDelay, cfg.RetryMaxBackoff)},
		state:     RegistrationStatus{Enabled: cfg.Enabled(), App: cfg.AppName},
	}
	if cfg.Enabled() {
		r.servers = newEurekaServers(cfg.ServerURLs, cfg.RequestTimeout)
		// Only an enabled config knows its address: disabled, the id
		// would start with an empty host (":sports-service:8000").
		r.state.InstanceID = cfg.InstanceID()
	}
	return r, nil
}

// Run keeps the instance registered until ctx ends or Deregister is called.
// It never fails: while Eureka is unreachable it keeps trying. With
// discovery disabled it returns at once. Call it in its own goroutine.
func (r *Registrar) Run(ctx context.Context) {
	if !r.cfg.Enabled() {
		r.log.Info("eureka discovery disabled", "env", EnvURL)
		return
	}
	r.log.Info("eureka registrar starting", "servers", r.cfg.ServerURLs, "instance", r.cfg.InstanceID(),
		"vip", r.cfg.VIP(), "renewal", r.cfg.RenewalInterval.String(), "lease", r.cfg.LeaseDuration.String())
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.stop:
			return
		case <-timer.C:
		}
		wait, ok := r.step(ctx)
		if !ok {
			return
		}
		timer.Reset(wait)
	}
}

// registrarLoop is the registration's state, used by whoever holds turn.
type registrarLoop struct {
	backoff       *backoff
	registered    bool
	status        string
	nextHeartbeat time.Time
	// pinned, when set (OUT_OF_SERVICE on shutdown), is the status to
	// keep instead of the one readiness gives.
	pinned string
	// overridden says that status was set as an override (setStatus),
	// not by the registration.
	overridden bool
}

// step does what is due now and returns how long to wait before the next
// step; ok is false once Deregister has taken over.
func (r *Registrar) step(ctx context.Context) (wait time.Duration, ok bool) {
	select {
	case r.turn <- struct{}{}:
	case <-ctx.Done():
		return 0, false
	case <-r.stop:
		return 0, false
	}
	defer func() { <-r.turn }()
	select {
	case <-r.stop:
		return 0, false
	default:
	}

	loop := &r.loop
	desired := loop.pinned
	if desired == "" {
		desired = r.readinessStatus(ctx)
	}
	// An instance registered with a status of its own other than UP (it
	// was not ready when it registered) goes UP by registering again, as
	// Spring Cloud's client does when its status changes: Eureka keeps an
	// instance's own DOWN over the removal of an override
	// (AbstractInstanceRegistry.deleteStatusOverride changes nothing when no
	// override exists).
	if !loop.registered || desired == StatusUp && loop.status != StatusUp && !loop.overridden {
		server, err := r.servers.register(ctx, instanceInfo(r.cfg, r.version, r.startedAt, desired))
		if err != nil {
			delay := loop.backoff.next()
			failures := r.recordFailure(err)
			r.log.Warn("eureka registration failed; will retry", "error", err, "attempt", failures, "retry_in", delay.Round(time.Millisecond).String())
			return delay, true
		}
		loop.backoff.reset()
		loop.registered, loop.status, loop.overridden = true, desired, false
		now := time.Now()
		loop.nextHeartbeat = now.Add(r.cfg.RenewalInterval)
		r.update(func(s *RegistrationStatus) {
			s.Registered, s.Status, s.Server, s.RegisteredAt, s.ConsecutiveFailures = true, desired, server, now, 0
		})
		r.log.Info("registered in eureka", "server", server, "instance", r.cfg.InstanceID(), "status", desired)
		return r.untilNext(loop), true
	}

	if desired != loop.status {
		if err := r.setStatus(ctx, loop, desired); errors.Is(err, ErrInstanceNotFound) {
			return 0, true
		}
	}

	if !time.Now().Before(loop.nextHeartbeat) {
		server, err := r.servers.heartbeat(ctx, r.cfg.AppName, r.cfg.InstanceID())
		now := time.Now()
		// Keep the renewal cadence even on failure: when Eureka comes
		// back, the next heartbeat's 404 brings a re-registration, so we
		// are back within one renewal interval.
		loop.nextHeartbeat = now.Add(r.cfg.RenewalInterval)
		switch {
		case errors.Is(err, ErrInstanceNotFound):
			return r.forgotten(loop, err), true
		case err != nil:
			failures := r.recordFailure(err)
			r.log.Warn("eureka heartbeat failed", "error", err, "attempt", failures, "retry_in", r.cfg.RenewalInterval.String())
		default:
			r.update(func(s *RegistrationStatus) { s.LastHeartbeat, s.Server, s.ConsecutiveFailures = now, server, 0 })
		}
	}
	return r.untilNext(loop), true
}

// setStatus changes the registered instance's status in Eureka and
// records the outcome. On ErrInstanceNotFound the instance is marked
// forgotten, to register again at once; on another error the next step
// retries (desired still differs from loop.status).
func (r *Registrar) setStatus(ctx context.Context, loop *registrarLoop, status string) error {
	err := r.servers.setStatus(ctx, r.cfg.AppName, r.cfg.InstanceID(), status)
	switch {
	case errors.Is(err, ErrInstanceNotFound):
		r.forgotten(loop, err)
	case err != nil:
		failures := r.recordFailure(err)
		r.log.Warn("eureka status update failed; will retry", "status", status, "error", err, "attempt", failures)
	default:
		loop.status, loop.overridden = status, status != StatusUp
		r.update(func(s *RegistrationStatus) { s.Status, s.ConsecutiveFailures = status, 0 })
		r.log.Info("eureka status changed", "status", status)
	}
	return err
}

// forgotten handles Eureka not knowing the instance (it restarted or evicted
// us): register again at once.
func (r *Registrar) forgotten(loop *registrarLoop, err error) time.Duration {
	r.log.Info("eureka does not know this instance; registering again", "reason", err)
	loop.registered = false
	r.update(func(s *RegistrationStatus) { s.Registered = false })
	return 0
}

func (r *Registrar) untilNext(loop *registrarLoop) time.Duration {
	return max(0, min(time.Until(loop.nextHeartbeat), r.cfg.StatusCheckInterval))
}

// readinessStatus maps the readiness check to a Eureka status. The check
// gets its own deadline so that a hanging dependency cannot stall heartbeats.
func (r *Registrar) readinessStatus(ctx context.Context) string {
	checkCtx, cancel := context.WithTimeout(ctx, r.cfg.RequestTimeout)
	defer cancel()
	if err := r.ready(checkCtx); err != nil {
		return StatusDown
	}
	return StatusUp
}

// MarkOutOfService sets the instance OUT_OF_SERVICE in Eureka and keeps it
// so, whatever readiness says, while Run goes on renewing the lease: callers
// that refresh their registry copy stop picking the instance, which still
// answers those that have not. The first step of a graceful shutdown, before
// Deregister. An instance not registered yet registers OUT_OF_SERVICE.
// Safe to call more than once and when discovery is disabled.
func (r *Registrar) MarkOutOfService(ctx context.Context) error {
	if !r.cfg.Enabled() {
		return nil
	}
	select {
	case r.turn <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("eureka status %s: waiting for the registrar: %w", StatusOutOfService, ctx.Err())
	}
	defer func() { <-r.turn }()
	select {
	case <-r.stop:
		return nil // deregistered already
	default:
	}
	loop := &r.loop
	loop.pinned = StatusOutOfService
	if !loop.registered || loop.status == StatusOutOfService {
		return nil
	}
	err := r.setStatus(ctx, loop, StatusOutOfService)
	if errors.Is(err, ErrInstanceNotFound) {
		return nil // Run registers it again, OUT_OF_SERVICE (pinned)
	}
	return err
}

// Deregister removes the instance from Eureka and stops Run. Call it first
// on shutdown, before draining HTTP, so that callers stop picking this
// instance while it still answers. It is safe to call more than once and
// when discovery is disabled.
//
// It first waits for a request of Run's loop that is under way (so that no
// late heartbeat or registration can follow the DELETE); with Eureka hanging
// that is up to RequestTimeout per server, so give ctx a few seconds more.
func (r *Registrar) Deregister(ctx context.Context) error {
	if !r.cfg.Enabled() {
		return nil
	}
	r.stopOnce.Do(func() { close(r.stop) })
	select {
	case r.turn <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("eureka deregister: waiting for the registrar: %w", ctx.Err())
	}
	defer func() { <-r.turn }()

	// DELETE even if we never saw a registration succeed: the answer may
	// have been lost after Eureka stored it. 404 counts as done.
	err := r.servers.deregister(ctx, r.cfg.AppName, r.cfg.InstanceID())
	if err != nil {
		r.recordFailure(err)
		r.log.Warn("eureka deregistration failed; the lease will expire", "error", err, "lease", r.cfg.LeaseDuration.String())
		return err
	}
	r.update(func(s *RegistrationStatus) { s.Registered, s.Deregistered, s.Status = false, true, "" })
	r.log.Info("deregistered from eureka", "instance", r.cfg.InstanceID())
	return nil
}

// Status reports the registration state for /health.
func (r *Registrar) Status() RegistrationStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

func (r *Registrar) update(f func(*RegistrationStatus)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.state)
}

// recordFailure notes err and returns the number of failures in a row.
func (r *Registrar) recordFailure(err error) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state.LastError = err.Error()
	r.state.LastErrorAt = time.Now()
	r.state.ConsecutiveFailures++
	return r.state.ConsecutiveFailures
}
