package handlers

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// AccessRecord is what the access log says of one request. Path has no
// query string, which may hold secrets.
type AccessRecord struct {
	Method   string
	Route    string // the route template, or "unmatched"
	Path     string
	Status   int
	Duration time.Duration
	BytesIn  int64
	BytesOut int
	ClientIP string
}

// level is info, or error for a server error.
func (r AccessRecord) level() slog.Level {
	if r.Status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}

// durationMS is the duration in milliseconds at microsecond precision.
func (r AccessRecord) durationMS() float64 { return float64(r.Duration.Microseconds()) / 1000 }

// AccessLog writes one line per request.
type AccessLog interface {
	Log(ctx context.Context, r AccessRecord)
}

// SlogAccessLog writes each request as a "request" record through logger,
// whose handlers add the request and trace ids.
func SlogAccessLog(logger *slog.Logger) AccessLog { return slogAccessLog{logger} }

type slogAccessLog struct{ logger *slog.Logger }

func (l slogAccessLog) Log(ctx context.Context, r AccessRecord) {
	l.logger.LogAttrs(ctx, r.level(), "request",
		slog.String("method", r.Method),
		slog.String("route", r.Route),
		slog.String("path", r.Path),
		slog.Int("status", r.Status),
		slog.Float64("duration_ms", r.durationMS()),
		slog.Int64("bytes_in", r.BytesIn),
		slog.Int("bytes_out", r.BytesOut),
		slog.String("client_ip", r.ClientIP),
	)
}

// SpanIDs reports the trace and span ids of the span in ctx, if any.
type SpanIDs func(ctx context.Context) (traceID [16]byte, spanID [8]byte, ok bool)

// NewJSONAccessLog writes each request as the very line that the service's
// JSON logger (slog's JSONHandler under LogHandler and the tracing log
// handler) writes for SlogAccessLog, byte for byte, at about a tenth of the
// cost: slog encodes every attribute generically, and floats through
// encoding/json, which made the access log the largest part of a trivial
// request's CPU. w must be the logger's writer, serialised with it, so that
// lines never interleave.
func NewJSONAccessLog(w io.Writer, level slog.Leveler, spanIDs SpanIDs) AccessLog {
	return &jsonAccessLog{w: w, level: level, spanIDs: spanIDs, now: time.Now}
}

type jsonAccessLog struct {
	w       io.Writer
	level   slog.Leveler
	spanIDs SpanIDs
	now     func() time.Time
	buffers sync.Pool
	// second is the formatted second of the latest line (timeStamp).
	second atomic.Pointer[formattedSecond]
}

// formattedSecond is one second of RFC 3339 time, split around the
// fraction: "2026-12-07T21:23:11" and "Z" (or "+01:00").
type formattedSecond struct {
	unix           int64
	zoneOffset     int
	upToSeconds    []byte
	zoneDesignator []byte
}

// appendTime appends t as t.AppendFormat(b, time.RFC3339Nano) does.
// Formatting the date, the time of day and the zone cost more than the rest
// of the line; they change once a second, so they are formatted once a
// second, and only the fraction per line.
func (l *jsonAccessLog) appendTime(b []byte, t time.Time) []byte {
	_, offset := t.Zone()
	sec := l.second.Load()
	if sec == nil || sec.unix != t.Unix() || sec.zoneOffset != offset {
		sec = &formattedSecond{unix: t.Unix(), zoneOffset: offset,
			upToSeconds:    t.AppendFormat(nil, "2006-01-02T15:04:05"),
			zoneDesignator: t.AppendFormat(nil, "Z07:00")}
		l.second.Store(sec)
	}
	b = append(b, sec.upToSeconds...)
	if ns := t.Nanosecond(); ns != 0 {
		// Nine digits, then the trailing zeros dropped, as the ".999999999"
		// of RFC3339Nano does.
		var digits [10]byte
		digits[0] = '.'
		for i := 9; i > 0; i-- {
			digits[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for digits[n-1] == '0' {
			n--
		}
		b = append(b, digits[:n]...)
	}
	return append(b, sec.zoneDesignator...)
}

func (l *jsonAccessLog) Log(ctx context.Context, r AccessRecord) {
	level := r.level()
	if level < l.level.Level() {
		return
	}
	bp, _ := l.buffers.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	b := l.appendLine(ctx, (*bp)[:0], level, r)
	_, _ = l.w.Write(b)
	if cap(b) <= 4<<10 { // an odd huge line does not stay pooled
		*bp = b
		l.buffers.Put(bp)
	}
}

func (l *jsonAccessLog) appendLine(ctx context.Context, b []byte, level slog.Level, r AccessRecord) []byte {
	b = append(b, `{"time":"`...)
	b = l.appendTime(b, l.now())
	b = append(b, `","level":"`...)
	b = append(b, level.String()...)
	b = append(b, `","msg":"request","method":`...)
	b = appendJSONString(b, r.Method)
	b = append(b, `,"route":`...)
	b = appendJSONString(b, r.Route)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, r.Path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, `,"duration_ms":`...)
	// encoding/json's format for these magnitudes (1e-6 <= |f| < 1e21, or 0).
	b = strconv.AppendFloat(b, r.durationMS(), 'f', -1, 64)
	b = append(b, `,"bytes_in":`...)
	b = strconv.AppendInt(b, r.BytesIn, 10)
	b = append(b, `,"bytes_out":`...)
	b = strconv.AppendInt(b, int64(r.BytesOut), 10)
	b = append(b, `,"client_ip":`...)
	b = appendJSONString(b, r.ClientIP)
	if id := RequestIDFrom(ctx); id != "" {
		b = append(b, `,"request_id":`...)
		b = appendJSONString(b, id)
	}
	if traceID, spanID, ok := l.spanIDs(ctx); ok {
		b = append(b, `,"trace_id":"`...)
		b = hex.AppendEncode(b, traceID[:])
		b = append(b, `","span_id":"`...)
		b = hex.AppendEncode(b, spanID[:])
		b = append(b, '"')
	}
	return append(b, "}\n"...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as slog's JSONHandler quotes strings:
// encoding/json's escapes without the HTML ones, invalid UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			// JSON allows them; JavaScript string literals did not.
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
