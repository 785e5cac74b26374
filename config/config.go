// Package config reads the service's settings from the environment (and an
// optional .env file) and rejects invalid values with one line that names the
// variable and what is wrong with it.
package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is everything the core service needs to start.
type Config struct {
	// ListenAddr is the HTTP listen address, e.g. ":8000" (the seed's port).
	ListenAddr string
	// MongoURI selects an external MongoDB; empty means the embedded FerretDB.
	MongoURI string
	// Database is the MongoDB database name ("osms", the seed's).
	Database string
	// DataDir holds the embedded database's files.
	DataDir string
	// MongoMaxPoolSize bounds the driver's connection pool.
	MongoMaxPoolSize uint64

	LogLevel  slog.Level
	LogFormat string // "json" or "text"
	// LogFlushInterval batches log lines: they reach stdout at most this
	// late (0: each line at once).
	LogFlushInterval time.Duration

	RequestTimeout  time.Duration
	DBTimeout       time.Duration
	ReadyTimeout    time.Duration
	ShutdownTimeout time.Duration
	// ShutdownDelay is how long the service keeps serving after SIGTERM,
	// answering /health/ready with 503 and OUT_OF_SERVICE in Eureka, so
	// that callers working from cached registry copies stop sending before
	// it closes its listener (0: drain at once).
	ShutdownDelay     time.Duration
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration

	// BodyLimit is the largest request body accepted, in bytes.
	BodyLimit int64
	// APIToken, when set, is required as a bearer token on /ch11/* (except the legacy mounts).
	APIToken string
	// CORSOrigins lists the origins allowed by CORS; empty disables CORS.
	CORSOrigins []string
	// SessionKey signs the admin site's session cookies; empty means a random per-process key.
	SessionKey string

	// AuthEnabled turns sign-in on: /ch11 reads need a token, writes an
	// admin's (docs/security.md).
	AuthEnabled bool
	// JWTSigningKeys is the raw JWT_SIGNING_KEYS ("kid:base64secret,..."),
	// checked here and parsed by auth.ParseKeys; the first key signs.
	JWTSigningKeys string
	// AccessTokenTTL is the lifetime of an access token.
	AccessTokenTTL time.Duration
	// AdminUsername and AdminPassword create the first admin at start-up
	// when no admin exists; both or neither.
	AdminUsername string
	AdminPassword string
}

// Variable documents one environment variable: the .env.example file and the
// README's configuration table are checked against this list in tests.
type Variable struct {
	Name    string
	Default string
	Help    string
}

// Variables lists every variable Load reads, with its default.
func Variables() []Variable {
	return []Variable{
		{"LISTEN_ADDR", ":8000", "HTTP listen address"},
		{"MONGODB_URI", "", "MongoDB connection string; empty starts the embedded FerretDB (SQLite) in DATA_DIR"},
		{"MONGODB_DATABASE", "osms", "database name"},
		{"DATA_DIR", "./data", "directory of the embedded database"},
		{"MONGODB_MAX_POOL_SIZE", "100", "maximum connections in the driver's pool (1..10000)"},
		{"LOG_LEVEL", "info", "debug, info, warn or error"},
		{"LOG_FORMAT", "json", "json or text"},
		{"LOG_FLUSH_INTERVAL", "100ms", "log lines are written in batches at least this often (0s: each line at once); SIGTERM flushes, a crash loses at most this much"},
		{"REQUEST_TIMEOUT", "30s", "deadline of one API request"},
		{"DB_TIMEOUT", "5s", "deadline of one database call (and of server selection)"},
		{"READY_TIMEOUT", "2s", "deadline of the readiness ping"},
		{"SHUTDOWN_DELAY", "0s", "on SIGTERM, keep serving this long while /health/ready answers 503 and Eureka lists the instance OUT_OF_SERVICE, before draining (a second signal ends it); size it to the callers' registry caches (docs/deployment.md)"},
		{"SHUTDOWN_TIMEOUT", "15s", "time allowed to drain in-flight requests on SIGTERM, after SHUTDOWN_DELAY"},
		{"READ_HEADER_TIMEOUT", "5s", "time allowed to read request headers"},
		{"READ_TIMEOUT", "30s", "time allowed to read a whole request"},
		{"WRITE_TIMEOUT", "0s", "time allowed to write a response (0: none, list/all streams)"},
		{"IDLE_TIMEOUT", "120s", "keep-alive idle timeout"},
		{"BODY_LIMIT", "1048576", "largest request body in bytes"},
		{"API_TOKEN", "", "AUTH_ENABLED=false: when set, /ch11/* (except the legacy mounts) needs Authorization: Bearer <token>; AUTH_ENABLED=true: also accepted, as an admin, for machine clients"},
		{"CORS_ALLOWED_ORIGINS", "", "comma-separated origins allowed by CORS; empty disables CORS"},
		{"SESSION_KEY", "", "secret that signs admin-site sessions (at least 32 bytes); empty: random per process"},
		{"AUTH_ENABLED", "false", "true: /ch11 reads need a bearer token from POST /ch11/login/token, writes need the admin role (docs/security.md)"},
		{"JWT_SIGNING_KEYS", "", "kid:base64secret[,kid:base64secret...], secrets of at least 32 bytes; the first signs, the others are still accepted (rotation); required when AUTH_ENABLED=true"},
		{"ACCESS_TOKEN_TTL", "30m", "lifetime of an access token (1m..24h)"},
		{"ADMIN_USERNAME", "", "with ADMIN_PASSWORD: the first admin, created at start-up only when no admin exists"},
		{"ADMIN_PASSWORD", "", "password of ADMIN_USERNAME (8..128 characters); ignored once an admin exists"},
	}
}

// Load reads the configuration through getenv. A missing variable takes its
// default from Variables.
func Load(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	c := Config{
		ListenAddr:        r.str("LISTEN_ADDR"),
		MongoURI:          r.str("MONGODB_URI"),
		Database:          r.str("MONGODB_DATABASE"),
		DataDir:           r.str("DATA_DIR"),
		MongoMaxPoolSize:  uint64(r.intRange("MONGODB_MAX_POOL_SIZE", 1, 10000)),
		LogLevel:          r.level("LOG_LEVEL"),
		LogFormat:         r.oneOf("LOG_FORMAT", "json", "text"),
		LogFlushInterval:  r.duration("LOG_FLUSH_INTERVAL", false),
		RequestTimeout:    r.duration("REQUEST_TIMEOUT", true),
		DBTimeout:         r.duration("DB_TIMEOUT", true),
		ReadyTimeout:      r.duration("READY_TIMEOUT", true),
		ShutdownTimeout:   r.duration("SHUTDOWN_TIMEOUT", true),
		ShutdownDelay:     r.duration("SHUTDOWN_DELAY", false),
		ReadHeaderTimeout: r.duration("READ_HEADER_TIMEOUT", true),
		ReadTimeout:       r.duration("READ_TIMEOUT", true),
		WriteTimeout:      r.duration("WRITE_TIMEOUT", false),
		IdleTimeout:       r.duration("IDLE_TIMEOUT", true),
		BodyLimit:         int64(r.intRange("BODY_LIMIT", 1024, 1<<30)),
		APIToken:          r.str("API_TOKEN"),
		CORSOrigins:       r.list("CORS_ALLOWED_ORIGINS"),
		SessionKey:        r.str("SESSION_KEY"),
		AuthEnabled:       r.boolean("AUTH_ENABLED"),
		JWTSigningKeys:    r.str("JWT_SIGNING_KEYS"),
		AccessTokenTTL:    r.duration("ACCESS_TOKEN_TTL", true),
		AdminUsername:     r.str("ADMIN_USERNAME"),
		AdminPassword:     r.str("ADMIN_PASSWORD"),
	}
	if r.err == nil {
		if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
			r.fail("LISTEN_ADDR", c.ListenAddr, "must be host:port, e.g. :8000")
		}
	}
	// A delay beyond minutes is a typo (90 instead of 90s is refused by
	// the parser, 90m is not), and would outlast any orchestrator's grace.
	if r.err == nil && c.ShutdownDelay > MaxShutdownDelay {
		r.fail("SHUTDOWN_DELAY", c.ShutdownDelay.String(), "must be at most "+MaxShutdownDelay.String())
	}
	if r.err == nil && c.Database == "" {
		r.fail("MONGODB_DATABASE", "", "must not be empty")
	}
	if r.err == nil && c.MongoURI == "" && c.DataDir == "" {
		r.fail("DATA_DIR", "", "must not be empty when MONGODB_URI is unset")
	}
	if r.err == nil && c.SessionKey != "" && len(c.SessionKey) < 32 {
		r.fail("SESSION_KEY", "(hidden)", "must be at least 32 bytes")
	}
	r.checkAuth(c)
	if r.err != nil {
		return Config{}, r.err
	}
	return c, nil
}

// checkAuth checks the sign-in settings; no message shows a secret.
func (r *reader) checkAuth(c Config) {
	if r.err != nil {
		return
	}
	if c.AccessTokenTTL < time.Minute || c.AccessTokenTTL > 24*time.Hour {
		r.fail("ACCESS_TOKEN_TTL", c.AccessTokenTTL.String(), "must be from 1m to 24h")
		return
	}
	if c.AuthEnabled && c.JWTSigningKeys == "" {
		r.fail("JWT_SIGNING_KEYS", "", "must be set when AUTH_ENABLED=true (e.g. k1:$(openssl rand -base64 32))")
		return
	}
	if (c.AdminUsername == "") != (c.AdminPassword == "") {
		r.fail("ADMIN_USERNAME", c.AdminUsername, "and ADMIN_PASSWORD must be set together")
		return
	}
	if c.AdminPassword != "" && (len(c.AdminPassword) < 8 || len(c.AdminPassword) > 128) {
		r.fail("ADMIN_PASSWORD", "(hidden)", "must have 8 to 128 characters")
	}
}

func (r *reader) boolean(name string) bool {
	s := r.str(name)
	b, err := strconv.ParseBool(s)
	if err != nil {
		r.fail(name, s, "must be true or false")
	}
	return b
}

// MaxShutdownDelay bounds SHUTDOWN_DELAY.
const MaxShutdownDelay = 10 * time.Minute

// ErrInvalid is wrapped by every error Load returns.
var ErrInvalid = errors.New("invalid configuration")

type reader struct {
	getenv func(string) string
	err    error
}

func defaultOf(name string) string {
	for _, v := range Variables() {
		if v.Name == name {
			return v.Default
		}
	}
	panic("config: undocumented variable " + name)
}

func (r *reader) fail(name, value, rule string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s=%q %s", ErrInvalid, name, value, rule)
	}
}

func (r *reader) str(name string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return defaultOf(name)
}

func (r *reader) list(name string) []string {
	var out []string
	for _, s := range strings.Split(r.str(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (r *reader) intRange(name string, lo, hi int64) int64 {
	s := r.str(name)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		r.fail(name, s, fmt.Sprintf("must be an integer from %d to %d", lo, hi))
		return lo
	}
	return n
}

func (r *reader) duration(name string, positive bool) time.Duration {
	s := r.str(name)
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		r.fail(name, s, "must be a duration such as 5s or 250ms")
	case positive && d <= 0:
		r.fail(name, s, "must be a positive duration")
	case d < 0:
		r.fail(name, s, "must not be negative")
	}
	return d
}

func (r *reader) level(name string) slog.Level {
	s := r.str(name)
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		r.fail(name, s, "must be debug, info, warn or error")
	}
	return l
}

func (r *reader) oneOf(name string, allowed ...string) string {
	s := strings.ToLower(r.str(name))
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	r.fail(name, s, "must be one of "+strings.Join(allowed, ", "))
	return allowed[0]
}

// WithDotEnv returns a getenv that answers from the process environment first
// and then from the KEY=VALUE lines of the file at path. A missing file is not
// an error: the .env file is optional.
func WithDotEnv(getenv func(string) string, path string) (func(string) string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return getenv, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	values, err := ParseDotEnv(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return values[name]
	}, nil
}

// ParseDotEnv reads KEY=VALUE lines; blank lines and # comments are skipped,
// and a value may be wrapped in single or double quotes.
func ParseDotEnv(r io.Reader) (map[string]string, error) {
	values := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, value, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("line %d: expected KEY=VALUE", n)
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		values[key] = value
	}
	return values, sc.Err()
}
