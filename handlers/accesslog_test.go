package handlers

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/osms/sports-service/telemetry"
)

// accessLogPair writes r through the service's slog JSON logger and through
// the JSON access log, at the same instant, and returns both outputs.
func accessLogPair(ctx context.Context, level slog.Level, r AccessRecord) (viaSlog, direct string) {
	at := time.Date(2026, 11, 26, 23, 4, 5, 123456789, time.FixedZone("CET", 3600))
	var a, b bytes.Buffer
	h := slog.NewJSONHandler(&a, &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, attr slog.Attr) slog.Attr {
		if attr.Key == slog.TimeKey && len(groups) == 0 {
			attr.Value = slog.TimeValue(at)
		}
		return attr
	}})
	SlogAccessLog(slog.New(LogHandler(telemetry.LogHandler(h)))).Log(ctx, r)
	fast := NewJSONAccessLog(&b, level, telemetry.SpanIDs).(*jsonAccessLog)
	fast.now = func() time.Time { return at }
	fast.Log(ctx, r)
	return a.String(), b.String()
}

func tracedContext(requestID string) context.Context {
	ctx := context.Background()
	if requestID != "" {
		ctx = context.WithValue(ctx, requestIDKey{}, requestID)
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	return trace.ContextWithSpanContext(ctx, sc)
}

// The JSON access log writes exactly the line slog writes for the same
// request: same keys, order, escaping, number formats and ids.
func TestJSONAccessLogMatchesSlog(t *testing.T) {
	plain := AccessRecord{Method: "GET", Route: "/ch11/player/get/:id", Path: "/ch11/player/get/7", Status: 200,
		Duration: 1234567 * time.Nanosecond, BytesIn: 0, BytesOut: 250, ClientIP: "203.0.113.7"}
	tests := []struct {
		name  string
		ctx   context.Context
		level slog.Level
		edit  func(*AccessRecord)
	}{
		{"plain, with request and trace ids", tracedContext("0af7651916cd43dd8448eb211c80319c"), slog.LevelInfo, nil},
		{"no ids", context.Background(), slog.LevelInfo, nil},
		{"request id only", context.WithValue(context.Background(), requestIDKey{}, "gw-17"), slog.LevelInfo, nil},
		{"server error at error level", tracedContext("r1"), slog.LevelInfo, func(r *AccessRecord) { r.Status = 503 }},
		{"info line under LOG_LEVEL=warn", tracedContext("r1"), slog.LevelWarn, nil},
		{"error line under LOG_LEVEL=warn", tracedContext("r1"), slog.LevelWarn, func(r *AccessRecord) { r.Status = 500 }},
		{"zero duration", tracedContext("r1"), slog.LevelInfo, func(r *AccessRecord) { r.Duration = 0 }},
		{"sub-millisecond and long durations", tracedContext("r1"), slog.LevelInfo, func(r *AccessRecord) { r.Duration = 7 * time.Microsecond }},
		{"hours", tracedContext("r1"), slog.LevelInfo, func(r *AccessRecord) { r.Duration = 3*time.Hour + time.Microsecond }},
		{"escapes", tracedContext("r1"), slog.LevelInfo, func(r *AccessRecord) {
			r.Method = "PURGE"
			r.Route = "unmatched"
			r.Path = "/a\"b\\c\n\r\t\x00\x1f<script>&amp;\u2028\u2029é€😀\xff\xfe/end"
			r.ClientIP = "2001:db8::1"
		}},
		{"body sizes", tracedContext("r1"), slog.LevelInfo, func(r *AccessRecord) { r.BytesIn, r.BytesOut = 1<<20, 1<<31-1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := plain
			if tt.edit != nil {
				tt.edit(&r)
			}
			viaSlog, direct := accessLogPair(tt.ctx, tt.level, r)
			if direct != viaSlog {
				t.Errorf("lines differ:\nslog:   %q\ndirect: %q", viaSlog, direct)
			}
			if wantLine := r.level() >= tt.level; (direct != "") != wantLine {
				t.Errorf("wrote %q; a line expected: %v", direct, wantLine)
			}
		})
	}
}

func FuzzJSONAccessLog(f *testing.F) {
	f.Add("GET", "/ch11/flask/*path", "/ch11/flask/index", "127.0.0.1", "req-1", 200, int64(1500))
	f.Add("P\"ST", "unmatched", "/\xff\u2028\x01", "::1", "", 599, int64(0))
	f.Fuzz(func(t *testing.T, method, route, path, clientIP, requestID string, status int, micros int64) {
		ctx := tracedContext(requestID)
		// Durations are non-negative and far below 1e21 ms, where the
		// float formats of encoding/json and strconv part.
		micros %= int64(1000 * time.Hour / time.Microsecond)
		if micros < 0 {
			micros = -micros
		}
		r := AccessRecord{Method: method, Route: route, Path: path, Status: status,
			Duration: time.Duration(micros) * time.Microsecond, BytesIn: 12, BytesOut: 34, ClientIP: clientIP}
		if viaSlog, direct := accessLogPair(ctx, slog.LevelInfo, r); direct != viaSlog {
			t.Errorf("lines differ:\nslog:   %q\ndirect: %q", viaSlog, direct)
		}
	})
}

func BenchmarkAccessLog(b *testing.B) {
	r := AccessRecord{Method: "GET", Route: "/ch11/flask/*path", Path: "/ch11/flask/index", Status: 200,
		Duration: 123 * time.Microsecond, BytesOut: 17, ClientIP: "127.0.0.1"}
	ctx := tracedContext("0af7651916cd43dd8448eb211c80319c")
	for _, l := range []struct {
		name string
		log  AccessLog
	}{
		{"slog", SlogAccessLog(slog.New(LogHandler(telemetry.LogHandler(slog.NewJSONHandler(discard{}, nil)))))},
		{"direct", NewJSONAccessLog(discard{}, slog.LevelInfo, telemetry.SpanIDs)},
	} {
		b.Run(l.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l.log.Log(ctx, r)
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestAccessLogTimeIsRFC3339Nano: the cached second and the per-line
// fraction give time.RFC3339Nano's text, across seconds, zones and
// fractions with and without trailing zeros, in the order the lines come.
func TestAccessLogTimeIsRFC3339Nano(t *testing.T) {
	base := time.Date(2026, 12, 7, 21, 23, 11, 0, time.UTC)
	plusOne := time.FixedZone("CET", 3600)
	minusHalf := time.FixedZone("NST", -(3*3600 + 1800))
	times := []time.Time{
		base,
		base.Add(1),
		base.Add(120 * time.Millisecond),
		base.Add(999999999),
		base.Add(time.Second + 5000),
		base.Add(time.Second + 5000).In(plusOne), // the same second, another zone
		base.Add(time.Second).In(minusHalf),
		time.Date(1, 1, 1, 0, 0, 0, 100, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 10, plusOne),
		base.Add(time.Hour).Local(),
	}
	l := &jsonAccessLog{}
	for _, at := range times {
		got := string(l.appendTime(nil, at))
		if want := at.Format(time.RFC3339Nano); got != want {
			t.Errorf("appendTime(%v) = %s, want %s", at, got, want)
		}
	}
}
