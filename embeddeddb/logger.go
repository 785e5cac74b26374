//go:build !noembed

package embeddeddb

import (
	"context"
	"log/slog"
	"slices"
)

// deferredAttrs applies WithAttrs and WithGroup to its handler only when a
// record is actually handled. FerretDB derives a logger for every query
// (logger.With in its SQL layer) and, at the level the service runs it, logs
// almost nothing; slog's JSON handler, however, formats the attributes of
// each With eagerly, which cost the embedded database's queries about 2 % of
// the process's CPU and garbage for the collector.
type deferredAttrs struct {
	handler slog.Handler
	derive  []func(slog.Handler) slog.Handler
}

func (h deferredAttrs) Enabled(ctx context.Context, level slog.Level) bool {
	return h.handler.Enabled(ctx, level)
}

func (h deferredAttrs) Handle(ctx context.Context, r slog.Record) error {
	derived := h.handler
	for _, d := range h.derive {
		derived = d(derived)
	}
	return derived.Handle(ctx, r)
}

func (h deferredAttrs) WithAttrs(attrs []slog.Attr) slog.Handler {
	return h.then(func(x slog.Handler) slog.Handler { return x.WithAttrs(attrs) })
}

func (h deferredAttrs) WithGroup(name string) slog.Handler {
	return h.then(func(x slog.Handler) slog.Handler { return x.WithGroup(name) })
}

func (h deferredAttrs) then(d func(slog.Handler) slog.Handler) slog.Handler {
	// Clip: siblings derived from the same logger must not share the tail.
	return deferredAttrs{handler: h.handler, derive: append(slices.Clip(h.derive), d)}
}
