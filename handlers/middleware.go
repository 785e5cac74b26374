package handlers

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/osms/sports-service/internal/clientip"
)

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-ID"

type requestIDKey struct{}

// RequestIDFrom returns the request id stored in ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	switch v := ctx.Value(requestIDKey{}).(type) {
	case *requestScope: // requestContext's
		return v.id
	case string: // context.WithValue(ctx, requestIDKey{}, id)
		return v
	}
	return ""
}

// LogHandler adds the request id of the record's context to every log line
// written while serving a request.
func LogHandler(next slog.Handler) slog.Handler { return requestIDLogHandler{next} }

type requestIDLogHandler struct{ slog.Handler }

func (h requestIDLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestIDFrom(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDLogHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDLogHandler) WithGroup(name string) slog.Handler {
	return requestIDLogHandler{h.Handler.WithGroup(name)}
}

// validRequestID accepts what gateways and tracing tools generate, and
// nothing that could forge a log line.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)) {
			return false
		}
	}
	return true
}

// requestContext accepts the caller's X-Request-ID or makes one, echoes it,
// and stores it in the request context together with the request's deadline
// (REQUEST_TIMEOUT; database calls also have their own): one copy of the
// request instead of one per value.
// The deadline's timer is armed only if something waits on it
// (requestScope).
func requestContext(timeout time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		// The canonical form of RequestIDHeader: Get and Set would
		// canonicalise it, allocating, on every request.
		id := ""
		if v := c.Request.Header[canonicalRequestIDHeader]; len(v) > 0 {
			id = v[0]
		}
		if !validRequestID(id) {
			id = "" // newRequestScope makes one
		}
		scope := newRequestScope(c.Request.Context(), id, timeout)
		defer scope.end()
		c.Writer.Header()[canonicalRequestIDHeader] = scope.idHeader[:]
		c.Request = c.Request.WithContext(scope)
		c.Next()
	}
}

// canonicalRequestIDHeader is RequestIDHeader as net/http stores it.
const canonicalRequestIDHeader = "X-Request-Id"

// routeOf is the route template of the request; unmatched paths share one
// name so they cannot blow up log or metric cardinality.
func routeOf(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	return "unmatched"
}

// accessLog writes one line per request. It logs the path without the query
// string, which may hold secrets.
func accessLog(log AccessLog) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		log.Log(c.Request.Context(), AccessRecord{
			Method:   c.Request.Method,
			Route:    routeOf(c),
			Path:     c.Request.URL.Path,
			Status:   c.Writer.Status(),
			Duration: time.Since(start),
			BytesIn:  max(c.Request.ContentLength, 0),
			BytesOut: max(c.Writer.Size(), 0),
			ClientIP: clientip.Of(c),
		})
	}
}

// recoverPanics turns a panic into a 500 problem and a log line with the
// stack. http.ErrAbortHandler is passed on: it is how a streaming handler
// aborts a response it can no longer complete.
func recoverPanics(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if err, ok := rec.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(rec)
			}
			logger.ErrorContext(c.Request.Context(), "panic", "panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
			if c.Writer.Written() {
				panic(http.ErrAbortHandler)
			}
			writeProblem(c, http.StatusInternalServerError, "internal error; the request id identifies it in the logs")
		}()
		c.Next()
	}
}

// limitBody refuses a declared length over limit before reading anything, and
// caps what an undeclared (chunked) body may send.
func limitBody(limit int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > limit {
			// The body stays unread; close the connection rather than drain it.
			c.Header("Connection", "close")
			writeProblem(c, http.StatusRequestEntityTooLarge, bodyTooLarge(limit))
			return
		}
		c.Next()
	}
}

// rejectSecretsInURL refuses any request whose query string names a password:
// passwords travel in JSON bodies only, so they never reach access logs,
// proxies or browser history.
func rejectSecretsInURL() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.URL.RawQuery == "" {
			c.Next()
			return
		}
		for key := range c.Request.URL.Query() {
			if strings.Contains(strings.ToLower(key), "password") {
				writeProblem(c, http.StatusBadRequest,
					"passwords are not accepted in the URL; send them in the JSON request body")
				return
			}
		}
		c.Next()
	}
}

// requireToken demands Authorization: Bearer <token> on paths under prefix,
// except those under the exempt prefixes.
func requireToken(token, prefix string, exempt ...string) gin.HandlerFunc {
	want := sha256.Sum256([]byte(token))
	return func(c *gin.Context) {
		path := c.Request.URL.Path
		if !strings.HasPrefix(path, prefix) || slices.ContainsFunc(exempt, func(e string) bool { return strings.HasPrefix(path, e) }) {
			c.Next()
			return
		}
		got, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
		// Comparing digests keeps the comparison constant-time whatever the
		// length of what was sent.
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			c.Header("WWW-Authenticate", `Bearer realm="sports-service"`)
			writeProblem(c, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		c.Next()
	}
}

// contentSecurityPolicy lets the Swagger UI and the admin site load their own
// scripts and styles and nothing from elsewhere. Swagger UI sets inline style
// attributes, hence 'unsafe-inline' for styles only.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; " +
	"base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

func securityHeaders() gin.HandlerFunc {
	// The values are shared by every response rather than allocated per
	// request; len == cap, so an Add on one of these headers copies the
	// slice instead of writing into the shared array.
	headers := map[string][]string{
		"X-Content-Type-Options":  {"nosniff"},
		"Content-Security-Policy": {contentSecurityPolicy},
		"Referrer-Policy":         {"no-referrer"},
		"X-Frame-Options":         {"DENY"},
	}
	return func(c *gin.Context) {
		h := c.Writer.Header()
		for k, v := range headers {
			h[k] = v
		}
		c.Next()
	}
}

// cors allows the listed origins; with none, no CORS header is ever sent.
func cors(origins []string) gin.HandlerFunc {
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if origin == "" || !slices.Contains(origins, origin) && !slices.Contains(origins, "*") {
			c.Next()
			return
		}
		h := c.Writer.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Expose-Headers", "X-Request-ID, X-Trace-Id")
		if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-ID, traceparent, tracestate, baggage")
			h.Set("Access-Control-Max-Age", strconv.Itoa(600))
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		c.Next()
	}
}
