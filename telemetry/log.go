package telemetry

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// Log attribute keys added by LogHandler.
const (
	LogKeyTraceID = "trace_id"
	LogKeySpanID  = "span_id"
)

// LogHandler wraps next so that every record logged with a context holding
// a valid span (logger.InfoContext(ctx, ...)) carries trace_id and span_id,
// which lead from a log line to its trace in Jaeger and back.
//
// The attributes are added to the record, so on a logger made with
// WithGroup they land inside that group.
func LogHandler(next slog.Handler) slog.Handler {
	return traceLogHandler{next: next}
}

type traceLogHandler struct {
	next slog.Handler
}

func (h traceLogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h traceLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		// Clone: the record's attribute storage may be shared with the
		// caller's copy.
		r = r.Clone()
		r.AddAttrs(slog.String(LogKeyTraceID, sc.TraceID().String()), slog.String(LogKeySpanID, sc.SpanID().String()))
	}
	return h.next.Handle(ctx, r)
}

func (h traceLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceLogHandler{next: h.next.WithAttrs(attrs)}
}

func (h traceLogHandler) WithGroup(name string) slog.Handler {
	return traceLogHandler{next: h.next.WithGroup(name)}
}

// SpanIDs returns the trace and span ids that LogHandler adds for ctx, and
// whether it adds them.
func SpanIDs(ctx context.Context) (traceID [16]byte, spanID [8]byte, ok bool) {
	sc := trace.SpanContextFromContext(ctx)
	return sc.TraceID(), sc.SpanID(), sc.IsValid()
}
