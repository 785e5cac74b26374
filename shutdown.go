package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/osms/sports-service/handlers"
)

// lifecycle is the serving state that readiness reports: serving until the
// shutdown starts, then draining. It is a health component that decides
// readiness, so /health/ready answers 503 while the instance drains and
// /health/live stays 200.
type lifecycle struct {
	drainingSince atomic.Pointer[time.Time]
}

// startDraining makes readiness fail from now on.
func (l *lifecycle) startDraining() {
	now := time.Now()
	l.drainingSince.CompareAndSwap(nil, &now)
}

// Check is the "lifecycle" health component.
func (l *lifecycle) Check(context.Context) handlers.Component {
	since := l.drainingSince.Load()
	if since == nil {
		return handlers.Component{Status: handlers.StatusUp, Details: map[string]any{"state": "serving"}}
	}
	return handlers.Component{Status: handlers.StatusOutOfService, Details: map[string]any{
		"state": "draining", "since": since.UTC().Format(time.RFC3339Nano),
	}}
}

// drain is the order in which the service stops on SIGTERM, so that no
// caller fails:
//
//  1. readiness fails (/health/ready 503): gateways and orchestrators that
//     probe it stop sending;
//  2. the registry is told OUT_OF_SERVICE (only with a delay: without one
//     nobody has time to notice, and the DELETE below says it);
//  3. the service goes on serving for Delay, counted from the signal, while
//     callers' registry copies catch up; a signal on Hurry ends it early;
//  4. it leaves the registry (DELETE), then
//  5. closes its listener and waits for in-flight requests, both within
//     Timeout.
type drain struct {
	Delay   time.Duration
	Timeout time.Duration
	// Hurry receives a second SIGTERM/SIGINT; nil: none is awaited.
	Hurry <-chan os.Signal
	Log   *slog.Logger

	StopReady        func()
	MarkOutOfService func(context.Context) error
	Deregister       func(context.Context) error
	Server           interface {
		Shutdown(context.Context) error
		Close() error
	}
}

// run performs the steps; signalled is when the first signal came.
func (d drain) run(signalled time.Time) error {
	d.StopReady()
	d.Log.Info("shutting down", "delay", d.Delay.String(), "timeout", d.Timeout.String())
	if d.Delay > 0 {
		delayCtx, cancel := context.WithDeadline(context.Background(), signalled.Add(d.Delay))
		defer cancel()
		go func() {
			select {
			case <-d.Hurry:
				d.Log.Info("second signal: ending the shutdown delay now")
				cancel()
			case <-delayCtx.Done():
			}
		}()
		// Bounded by the delay: a registry that hangs must not lengthen it.
		if err := d.MarkOutOfService(delayCtx); err != nil {
			d.Log.Warn("could not mark the instance OUT_OF_SERVICE in the registry; readiness still fails", "error", err)
		}
		<-delayCtx.Done()
		d.Log.Info("shutdown delay over; draining", "after", time.Since(signalled).Round(time.Millisecond).String())
	}

	ctx, cancel := context.WithTimeout(context.Background(), d.Timeout)
	defer cancel()
	// Leave the registry before the listener closes, so that no caller
	// that refreshes now picks an instance that refuses connections.
	if err := d.Deregister(ctx); err != nil {
		d.Log.Warn("deregister from the registry failed; the lease will expire", "error", err)
	}
	if err := d.Server.Shutdown(ctx); err != nil {
		d.Log.Error("shutdown did not finish in time; closing connections", "error", err)
		if err := d.Server.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	return nil
}
