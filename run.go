package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/osms/sports-service/config"
	"github.com/osms/sports-service/embeddeddb"
	"github.com/osms/sports-service/handlers"
	"github.com/osms/sports-service/internal/logbuf"
	"github.com/osms/sports-service/metrics"
	"github.com/osms/sports-service/password"
	"github.com/osms/sports-service/repository"
	"github.com/osms/sports-service/telemetry"
)

// run starts the service and blocks until ctx is cancelled (SIGINT/SIGTERM)
// and the shutdown has finished. Tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 1 {
		switch args[1] {
		case "healthcheck":
			return healthcheck(ctx, getenv, stdout)
		case "version", "-version", "--version":
			fmt.Fprintln(stdout, buildInfo().Version)
			return nil
		default:
			return fmt.Errorf("unknown command %q (want no argument, healthcheck or version)", args[1])
		}
	}

	getenv, err := config.WithDotEnv(getenv, envFile(getenv))
	if err != nil {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	tcfg, err := telemetry.LoadConfig(getenv)
	if err != nil {
		return err
	}
	mcfg, err := metrics.LoadConfig(getenv)
	if err != nil {
		return err
	}
	// Everything the process writes to stdout goes through one batching
	// writer: lines never interleave, and a request does not pay a system
	// call for its access line. Flushed last, after the "stopped" line.
	logOut := logbuf.New(stdout, cfg.LogFlushInterval)
	defer logOut.Close()
	stdout = logOut
	logger, accessLog := newLoggers(cfg, stdout)
	info := buildInfo()

	tracing, err := telemetry.New(ctx, tcfg, info.Version, stdout)
	if err != nil {
		return err
	}
	// Deferred closes run within the shutdown timeout each, so that an
	// unreachable dependency cannot hang the exit.
	closeWithin := func(what string, close func(context.Context) error) {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := close(ctx); err != nil {
			logger.Error(what, "error", err)
		}
	}
	// Last, after the server and the database: flush the spans they made.
	defer closeWithin("flush spans", tracing.Shutdown)
	monitor, err := metrics.New(mcfg)
	if err != nil {
		return err
	}

	// The database: an external MongoDB, or the embedded FerretDB.
	mongoURI := cfg.MongoURI
	info.Database = "mongodb " + redactURI(mongoURI)
	if mongoURI == "" {
		if !embeddeddb.Available {
			return embeddeddb.ErrNotBuiltIn
		}
		// FerretDB logs every closed session at warn level: keep its errors.
		ferretLogger := slog.New(handlers.LogHandler(slog.NewJSONHandler(stdout,
			&slog.HandlerOptions{Level: slog.LevelError}))).With("component", "ferretdb")
		db, err := embeddeddb.Start(cfg.DataDir, ferretLogger)
		if err != nil {
			return err
		}
		defer closeWithin("stop embedded database", db.Stop)
		mongoURI = db.URI()
		info.Database = "embedded FerretDB (SQLite) in " + cfg.DataDir
	}
	logger.Info("database", "database", info.Database, "name", cfg.Database)

	hasher, err := password.NewHasher(password.DefaultParams())
	if err != nil {
		return err
	}
	store, err := repository.Open(mongoURI, repository.Options{
		Database: cfg.Database, Timeout: cfg.DBTimeout, MaxPoolSize: cfg.MongoMaxPoolSize,
		CommandMonitor: telemetry.CombineCommandMonitors(
			tracing.CommandMonitor(), monitor.CommandMonitor()),
		PoolMonitor: monitor.PoolMonitor(),
	}, hasher)
	if err != nil {
		return err
	}
	defer closeWithin("close database client", store.Close)

	// Indexes are created in the background, retried until the database
	// answers: the service starts (and reports not-ready) while it is down.
	indexCtx, stopIndexing := context.WithCancel(ctx)
	defer stopIndexing()
	go ensureIndexes(indexCtx, store, logger)

	signIn, err := startSignIn(indexCtx, cfg, store, logger)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.ListenAddr, err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	hostname, _ := os.Hostname()
	info.Instance = net.JoinHostPort(hostname, strconv.Itoa(port))

	readiness := func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, cfg.ReadyTimeout)
		defer cancel()
		return store.Ping(ctx)
	}
	state := &lifecycle{}
	agent, err := newDiscovery(getenv, port, logger, readiness, info.Version)
	if err != nil {
		return err
	}
	agentCtx, stopAgent := context.WithCancel(context.WithoutCancel(ctx))
	defer stopAgent()
	if agent.Enabled() {
		go agent.Run(agentCtx)
	}

	mounts, err := legacyMounts(cfg, store, logger)
	if err != nil {
		return err
	}

	router := handlers.NewRouter(handlers.Options{
		Mounts: mounts,
		Observe: []func(*gin.Engine){
			monitor.Use, // first: /metrics is neither traced nor access-logged
			func(e *gin.Engine) { e.Use(telemetry.Middleware(tcfg.ServiceName, tracing)...) },
		},
		Logger:         logger,
		AccessLog:      accessLog,
		Store:          store,
		Build:          info,
		ReadyTimeout:   cfg.ReadyTimeout,
		RequestTimeout: cfg.RequestTimeout,
		ReadTimeout:    cfg.ReadTimeout,
		BodyLimit:      cfg.BodyLimit,
		APIToken:       cfg.APIToken,
		Auth:           signIn,
		CORSOrigins:    cfg.CORSOrigins,
		Discovery:      discoveryRoutes(agent),
		Health: []handlers.HealthCheck{
			{Name: "lifecycle", Ready: true, Check: state.Check},
			{Name: "database", Ready: true, Check: databaseCheck(store, info.Database)},
			{Name: "discovery", Ready: false, Check: agent.HealthCheck},
		},
	})

	srv := &http.Server{
		Handler:           router,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	logger.Info("listening", "addr", ln.Addr().String(), "version", info.Version)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	signalled := time.Now()

	var hurry chan os.Signal
	if cfg.ShutdownDelay > 0 {
		// The first SIGTERM/SIGINT cancelled ctx; one more ends the delay
		// (Ctrl-C twice). Only now, so that the first is not counted.
		hurry = make(chan os.Signal, 1)
		signal.Notify(hurry, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(hurry)
	}
	err = drain{
		Delay: cfg.ShutdownDelay, Timeout: cfg.ShutdownTimeout, Hurry: hurry, Log: logger,
		StopReady: state.startDraining, MarkOutOfService: agent.MarkOutOfService, Deregister: agent.Deregister,
		Server: srv,
	}.run(signalled)
	if err != nil {
		return err
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}

func envFile(getenv func(string) string) string {
	if f := getenv("ENV_FILE"); f != "" {
		return f
	}
	return ".env"
}

// newLoggers returns the service's logger and its access log, both writing
// to w.
func newLoggers(cfg config.Config, w io.Writer) (*slog.Logger, handlers.AccessLog) {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	// Every line written while serving a request carries its request id
	// and its trace and span ids, so logs and traces join.
	logger := slog.New(handlers.LogHandler(telemetry.LogHandler(h)))
	if cfg.LogFormat == "text" {
		return logger, handlers.SlogAccessLog(logger)
	}
	// The same lines as SlogAccessLog would write, at a fraction of the cost.
	return logger, handlers.NewJSONAccessLog(w, cfg.LogLevel, telemetry.SpanIDs)
}

// buildInfo reports what -ldflags set, falling back to the VCS stamp that
// `go build` records.
func buildInfo() handlers.BuildInfo {
	info := handlers.BuildInfo{App: "sports-service", Version: version, Commit: commit, BuildTime: buildTime, StartTime: time.Now().UTC()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && info.Commit == "":
				info.Commit = s.Value
			case s.Key == "vcs.time" && info.BuildTime == "":
				info.BuildTime = s.Value
			}
		}
	}
	return info
}

// redactURI hides the password of a connection string.
func redactURI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "(unparsable URI)"
	}
	return u.Redacted()
}

// pinger is what the readiness check needs of the store.
type pinger interface {
	Ping(ctx context.Context) error
}

func databaseCheck(db pinger, describe string) func(context.Context) handlers.Component {
	return func(ctx context.Context) handlers.Component {
		start := time.Now()
		err := db.Ping(ctx)
		details := map[string]any{"database": describe, "latency_ms": time.Since(start).Milliseconds()}
		if err != nil {
			details["error"] = "database did not answer the ping in time"
			return handlers.Component{Status: handlers.StatusDown, Details: details}
		}
		return handlers.Component{Status: handlers.StatusUp, Details: details}
	}
}

// discoveryRoutes is what serves /ch11/discovery: nothing when discovery is
// off, so those routes are absent (404) rather than a permanent 503, which
// would tell clients to retry what can never succeed.
func discoveryRoutes(agent *discoveryAgent) handlers.Discovery {
	if !agent.Enabled() {
		return nil
	}
	return agent
}

type indexer interface {
	EnsureIndexes(ctx context.Context) error
}

// ensureIndexes retries with capped exponential backoff until it succeeds.
func ensureIndexes(ctx context.Context, db indexer, logger *slog.Logger) {
	delay := 250 * time.Millisecond
	for {
		err := db.EnsureIndexes(ctx)
		if err == nil {
			logger.Debug("indexes ready")
			return
		}
		logger.Warn("could not create indexes; retrying", "error", err, "retry_in", delay.String())
		jitter := time.Duration(rand.Int64N(int64(delay) / 2))
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay + jitter):
		}
		delay = min(delay*2, 30*time.Second)
	}
}

// healthcheck asks the local service whether it is ready: the container
// image has no curl, so the binary checks itself.
func healthcheck(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	getenv, err := config.WithDotEnv(getenv, envFile(getenv))
	if err != nil {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(cfg.ListenAddr)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+"/health/ready", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /health/ready answered %s", resp.Status)
	}
	fmt.Fprintln(stdout, "ready")
	return nil
}
