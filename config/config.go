// Package config reads the service's settings from the environment (and an
// optional .env file) and rejects invalid values with one line that names the
// variable and what is wrong with it.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/compose-spec/compose-go/v2/dotenv"
)

// Config is everything the core service needs to start. Adding a setting is
// adding a field: its tags name the variable, its default, its one-line help
// (for .env.example and docs/configuration.md) and its rule (load.go lists
// the tags).
type Config struct {
	ListenAddr       string     `env:"LISTEN_ADDR" envDefault:":8000" validate:"hostport" help:"HTTP listen address"`
	MongoURI         string     `env:"MONGODB_URI" help:"MongoDB connection string; empty starts the embedded FerretDB (SQLite) in DATA_DIR"`
	Database         string     `env:"MONGODB_DATABASE" envDefault:"osms" validate:"required" help:"database name"`
	DataDir          string     `env:"DATA_DIR" envDefault:"./data" validate:"required" help:"directory of the embedded database"`
	MongoMaxPoolSize uint64     `env:"MONGODB_MAX_POOL_SIZE" envDefault:"100" validate:"min=1,max=10000" help:"maximum connections in the driver's pool (1..10000)"`
	LogLevel         slog.Level `env:"LOG_LEVEL" envDefault:"info" help:"debug, info, warn or error"`
	LogFormat        Lower      `env:"LOG_FORMAT" envDefault:"json" validate:"oneof=json text" help:"json or text"`
	// LogFlushInterval batches log lines: they reach stdout at most this
	// late (0: each line at once).
	LogFlushInterval time.Duration `env:"LOG_FLUSH_INTERVAL" envDefault:"100ms" validate:"gte=0s" help:"log lines are written in batches at least this often (0s: each line at once); SIGTERM flushes, a crash loses at most this much"`

	RequestTimeout  time.Duration `env:"REQUEST_TIMEOUT" envDefault:"30s" validate:"gt=0s" help:"deadline of one API request"`
	DBTimeout       time.Duration `env:"DB_TIMEOUT" envDefault:"5s" validate:"gt=0s" help:"deadline of one database call (and of server selection); a write waits this long at most for other writers of its records, and a dead instance's leases are taken over after 4 times it (at least 2s)"`
	ReadyTimeout    time.Duration `env:"READY_TIMEOUT" envDefault:"2s" validate:"gt=0s" help:"deadline of the readiness ping"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"15s" validate:"gt=0s" help:"time allowed to drain in-flight requests on SIGTERM, after SHUTDOWN_DELAY"`
	// ShutdownDelay is how long the service keeps serving after SIGTERM,
	// answering /health/ready with 503 and OUT_OF_SERVICE in Eureka, so
	// that callers working from cached registry copies stop sending before
	// it closes its listener (0: drain at once). Beyond minutes is a typo
	// (90m for 90s) that would outlast any orchestrator's grace period.
	ShutdownDelay     time.Duration `env:"SHUTDOWN_DELAY" envDefault:"0s" validate:"gte=0s,lte=10m" help:"on SIGTERM, keep serving this long while /health/ready answers 503 and Eureka lists the instance OUT_OF_SERVICE, before draining (a second signal ends it); size it to the callers' registry caches (docs/deployment.md)"`
	ReadHeaderTimeout time.Duration `env:"READ_HEADER_TIMEOUT" envDefault:"5s" validate:"gt=0s" help:"time allowed to read request headers"`
	ReadTimeout       time.Duration `env:"READ_TIMEOUT" envDefault:"30s" validate:"gt=0s" help:"time allowed to read a whole request"`
	WriteTimeout      time.Duration `env:"WRITE_TIMEOUT" envDefault:"0s" validate:"gte=0s" help:"time allowed to write a response (0: none, list/all streams)"`
	IdleTimeout       time.Duration `env:"IDLE_TIMEOUT" envDefault:"120s" validate:"gt=0s" help:"keep-alive idle timeout"`

	BodyLimit   int64    `env:"BODY_LIMIT" envDefault:"1048576" validate:"min=1024,max=1073741824" help:"largest request body in bytes"`
	APIToken    string   `env:"API_TOKEN" secret:"true" help:"AUTH_ENABLED=false: when set, /ch11/* (except the legacy mounts) needs Authorization: Bearer <token>; AUTH_ENABLED=true: also accepted, as an admin, for machine clients"`
	CORSOrigins []string `env:"CORS_ALLOWED_ORIGINS" help:"comma-separated origins allowed by CORS; empty disables CORS"`
	SessionKey  string   `env:"SESSION_KEY" secret:"true" validate:"omitempty,min=32" help:"secret that signs admin-site sessions (at least 32 bytes); empty: random per process"`

	// IdempotencyKeyTTL is how long the answer to a POST .../add sent with
	// an Idempotency-Key is kept for replay (docs/concurrency.md).
	IdempotencyKeyTTL time.Duration `env:"IDEMPOTENCY_KEY_TTL" envDefault:"24h" validate:"gt=0s" help:"how long the answer to a POST .../add with an Idempotency-Key is replayed; after it the key may be reused"`
	RequireIfMatch    bool          `env:"REQUIRE_IF_MATCH" envDefault:"false" help:"true: PATCH update and DELETE without If-Match answer 428 Precondition Required"`

	// Sign-in (docs/security.md). JWTSigningKeys is the raw
	// "kid:base64secret,..." list, parsed by auth.ParseKeys; the first signs.
	// AdminUsername and AdminPassword create the first admin at start-up
	// when no admin exists; both or neither (checked in Load).
	AuthEnabled    bool          `env:"AUTH_ENABLED" envDefault:"false" help:"true: /ch11 reads need a bearer token from POST /ch11/login/token, writes need the admin role (docs/security.md)"`
	JWTSigningKeys string        `env:"JWT_SIGNING_KEYS" secret:"true" help:"kid:base64secret[,kid:base64secret...], secrets of at least 32 bytes; the first signs, the others are still accepted (rotation); required when AUTH_ENABLED=true"`
	AccessTokenTTL time.Duration `env:"ACCESS_TOKEN_TTL" envDefault:"30m" validate:"gte=1m,lte=24h" help:"lifetime of an access token (1m..24h)"`
	AdminUsername  string        `env:"ADMIN_USERNAME" help:"with ADMIN_PASSWORD: the first admin, created at start-up only when no admin exists"`
	AdminPassword  string        `env:"ADMIN_PASSWORD" secret:"true" validate:"omitempty,min=8,max=128" help:"password of ADMIN_USERNAME (8..128 characters); ignored once an admin exists"`
}

// crossCheck holds the rules that span variables, worded as Parse words
// the others; no message shows a secret.
func (c Config) crossCheck() Problems {
	var ps Problems
	if c.AuthEnabled && c.JWTSigningKeys == "" {
		ps = append(ps, &Problem{"JWT_SIGNING_KEYS", "", "must be set when AUTH_ENABLED=true (e.g. k1:$(openssl rand -base64 32))"})
	}
	if (c.AdminUsername == "") != (c.AdminPassword == "") {
		ps = append(ps, &Problem{"ADMIN_USERNAME", c.AdminUsername, "and ADMIN_PASSWORD must be set together"})
	}
	return ps
}

// MaxShutdownDelay bounds SHUTDOWN_DELAY (its lte rule).
const MaxShutdownDelay = 10 * time.Minute

// Variables lists every variable Load reads, with its default.
func Variables() []Variable { return VariablesOf[Config]() }

// Load reads the configuration through getenv; a blank or missing variable
// takes its default.
func Load(getenv func(string) string) (Config, error) {
	c, err := Parse[Config](getenv)
	if err != nil {
		return Config{}, err
	}
	if ps := c.crossCheck(); len(ps) > 0 {
		return Config{}, ps
	}
	return c, nil
}

// WithDotEnv returns a getenv that answers from the process environment first
// and then from the .env file at path (see ReadDotEnv). A missing file is
// not an error: the .env file is optional.
func WithDotEnv(getenv func(string) string, path string) (func(string) string, error) {
	values, err := ReadDotEnv(getenv, path)
	if err != nil {
		return nil, err
	}
	return Overlay(getenv, values), nil
}

// ReadDotEnv parses the .env file at path with compose-go's dotenv, the
// parser `docker compose` uses on the same file: quotes, escapes, export,
// comments, multi-line values and ${VAR}/${VAR:-default} (looked up through
// getenv first, then in the lines above) mean the same to `go run .` as to
// compose. A missing file gives no values and no error.
func ReadDotEnv(getenv func(string) string, path string) (map[string]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	values, err := dotenv.ParseWithLookup(f, func(name string) (string, bool) {
		v := getenv(name)
		return v, v != ""
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return values, nil
}

// Overlay returns a getenv that answers from getenv first and then from
// values.
func Overlay(getenv func(string) string, values map[string]string) func(string) string {
	if len(values) == 0 {
		return getenv
	}
	return func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return values[name]
	}
}

// ExportToProcess sets, in the process environment, each of values whose
// name export accepts and that the environment does not already set, and
// returns the names it set. It is for libraries that read only the process
// environment (the OpenTelemetry SDK), so that a .env file reaches them too.
func ExportToProcess(values map[string]string, export func(name string) bool) ([]string, error) {
	var set []string
	for _, name := range slices.Sorted(maps.Keys(values)) {
		if v := values[name]; v == "" || !export(name) || os.Getenv(name) != "" {
			continue
		}
		if err := os.Setenv(name, values[name]); err != nil {
			return set, fmt.Errorf("set %s from the .env file: %w", name, err)
		}
		set = append(set, name)
	}
	return set, nil
}
