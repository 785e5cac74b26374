package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestLogHandler(t *testing.T) {
	tp, _ := newRecordingProvider()
	spanCtx, span := tp.Tracer("test").Start(context.Background(), "op")
	defer span.End()
	sc := span.SpanContext()

	tests := []struct {
		name        string
		ctx         context.Context
		wantTraceID string
		wantSpanID  string
	}{
		{"context with span", spanCtx, sc.TraceID().String(), sc.SpanID().String()},
		{"context without span", context.Background(), "", ""},
		{"invalid span context", trace.ContextWithSpanContext(context.Background(), trace.SpanContext{}), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
			logger.InfoContext(tt.ctx, "hello", "n", 1)

			var record map[string]any
			if err := json.Unmarshal(buf.Bytes(), &record); err != nil {
				t.Fatalf("%v in %s", err, buf.String())
			}
			if record["component"] != "test" || record["msg"] != "hello" || record["n"] != 1.0 {
				t.Errorf("record lost its content: %s", buf.String())
			}
			traceID, _ := record[LogKeyTraceID].(string)
			spanID, _ := record[LogKeySpanID].(string)
			if traceID != tt.wantTraceID || spanID != tt.wantSpanID {
				t.Errorf("trace_id=%q span_id=%q, want %q %q", traceID, spanID, tt.wantTraceID, tt.wantSpanID)
			}
		})
	}
}

func TestLogHandlerRespectsLevel(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(LogHandler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})))
	logger.Info("dropped")
	if buf.Len() != 0 {
		t.Errorf("info logged at warn level: %s", buf.String())
	}
}
