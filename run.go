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
//
// It reads as the start-up's table of contents: each step is a function
// below, in this order, and returns what stops it, deferred here so that
// everything stops in reverse order (the spans last, then the log lines).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 1 {
		return command(ctx, args[1:], getenv, stdout, stderr)
	}
	getenv, cfg, err := loadConfiguration(getenv)
	if err != nil {
		return err
	}
	out, flushLogs := startLogging(cfg.service, stdout)
	defer flushLogs()
	obs, stopTelemetry, err := startTelemetry(ctx, cfg, out)
	if err != nil {
		return err
	}
	defer stopTelemetry()
	// Listening comes before the database, so that a second instance on
	// the same address fails at once with "address already in use".
	ln, err := listen(cfg.service, out)
	if err != nil {
		return err
	}
	defer ln.Close()
	tasks := &setup{}
	db, closeDatabase, err := openDatabase(ctx, cfg.service, out, obs, tasks)
	if err != nil {
		return err
	}
	defer closeDatabase()
	agent, stopRegistration, err := startRegistration(ctx, getenv, cfg.service, ln, db, tasks, out, obs)
	if err != nil {
		return err
	}
	defer stopRegistration()
	srv, serveErr, err := startServer(ctx, cfg, ln, db, agent, tasks, out, obs)
	if err != nil {
		return err
	}
	signalled, err := wait(ctx, serveErr)
	if err != nil {
		return err
	}
	return shutdown(cfg.service, signalled, srv, serveErr, agent, out)
}

// commands are the binary's, each with its one line of help.
var commands = [][2]string{
	{"(none)", "serve the API (configured by the environment and .env)"},
	{"healthcheck", "ask the local service whether it is ready (the image's HEALTHCHECK)"},
	{"version", "print the version"},
	{"migrate", "copy the service's data between the embedded database and MongoDB: " + migrateUsage},
	{"help", "list these commands (also -h, --help)"},
}

// command runs the sub-command named in args[0], with the rest as its
// arguments.
func command(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	switch args[0] {
	case "healthcheck":
		return healthcheck(ctx, getenv, stdout)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, buildInfo().Version)
		return nil
	case "migrate":
		return migrate(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, "usage: sports-service [command]")
		for _, c := range commands {
			fmt.Fprintf(stdout, "  %-12s %s\n", c[0], c[1])
		}
		return nil
	}
	return fmt.Errorf("unknown command %q: `sports-service help` lists the commands", args[0])
}

// settings are the configurations of the packages that read the
// environment (discovery's is read at registration, once the port is known).
type settings struct {
	service config.Config
	tracing telemetry.Config
	metrics metrics.Config
}

// loadConfiguration reads .env under the environment and every package's
// settings; the first invalid one stops the start-up.
func loadConfiguration(getenv func(string) string) (func(string) string, settings, error) {
	dotenv, err := config.ReadDotEnv(getenv, envFile(getenv))
	if err != nil {
		return nil, settings{}, err
	}
	getenv = config.Overlay(getenv, dotenv)
	// The OpenTelemetry SDK reads OTEL_* from the process environment only.
	if _, err := config.ExportToProcess(dotenv, telemetry.IsSDKVariable); err != nil {
		return nil, settings{}, err
	}
	var s settings
	if s.service, err = config.Load(getenv); err != nil {
		return nil, settings{}, err
	}
	if s.tracing, err = telemetry.LoadConfig(getenv); err != nil {
		return nil, settings{}, err
	}
	if s.metrics, err = metrics.LoadConfig(getenv); err != nil {
		return nil, settings{}, err
	}
	return getenv, s, nil
}

// output is where the service writes: its loggers, the batching stdout
// under them, and what it knows about its own build.
type output struct {
	stdout    io.Writer
	logger    *slog.Logger
	accessLog handlers.AccessLog
	info      *handlers.BuildInfo
	// closeTimeout bounds each stop step, so that an unreachable
	// dependency cannot hang the exit.
	closeTimeout time.Duration
}

// closeWithin runs close within the shutdown timeout and logs its error.
func (o output) closeWithin(what string, close func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), o.closeTimeout)
	defer cancel()
	if err := close(ctx); err != nil {
		o.logger.Error(what, "error", err)
	}
}

// startLogging puts everything the process writes to stdout through one
// batching writer: lines never interleave, and a request does not pay a
// system call for its access line. The returned flush runs last, after the
// "stopped" line.
func startLogging(cfg config.Config, stdout io.Writer) (output, func()) {
	logOut := logbuf.New(stdout, cfg.LogFlushInterval)
	logger, accessLog := newLoggers(cfg, logOut)
	info := buildInfo()
	return output{stdout: logOut, logger: logger, accessLog: accessLog, info: &info, closeTimeout: cfg.ShutdownTimeout},
		func() { logOut.Close() }
}

// observability is what the telemetry step gives the later ones.
type observability struct {
	tracing *telemetry.Provider
	monitor *metrics.Metrics
}

// startTelemetry starts the span exporter and the metrics; the returned stop
// flushes the spans, last of the dependencies, after the server and the
// database made theirs.
func startTelemetry(ctx context.Context, cfg settings, out output) (observability, func(), error) {
	tracing, err := telemetry.New(ctx, cfg.tracing, out.info.Version, out.stdout)
	if err != nil {
		return observability{}, nil, err
	}
	stop := func() { out.closeWithin("flush spans", tracing.Shutdown) }
	monitor, err := metrics.New(cfg.metrics)
	if err != nil {
		stop()
		return observability{}, nil, err
	}
	return observability{tracing: tracing, monitor: monitor}, stop, nil
}

// openDatabase starts the embedded FerretDB when no MongoDB is configured,
// connects the store and creates the indexes in the background, retried
// until the database answers: the service starts (and reports not-ready,
// through tasks, until they exist) while it is down.
func openDatabase(ctx context.Context, cfg config.Config, out output, obs observability, tasks *setup) (*repository.Store, func(), error) {
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	mongoURI := cfg.MongoURI
	// The embedded database's fast lookups (repository.Lookups); none on
	// MongoDB, whose indexes serve the same queries.
	var lookups repository.Lookups
	out.info.Database = "mongodb " + redactURI(mongoURI)
	if mongoURI == "" {
		if !embeddeddb.Available {
			return nil, nil, embeddeddb.ErrNotBuiltIn
		}
		// FerretDB logs every closed session at warn level: keep its errors.
		ferretLogger := slog.New(handlers.LogHandler(slog.NewJSONHandler(out.stdout,
			&slog.HandlerOptions{Level: slog.LevelError}))).With("component", "ferretdb")
		unlock, err := lockDataDir(cfg.DataDir)
		if err != nil {
			return nil, nil, err
		}
		stops = append(stops, func() { _ = unlock() })
		db, err := embeddeddb.Start(cfg.DataDir, ferretLogger)
		if err != nil {
			stop()
			return nil, nil, err
		}
		stops = append(stops, func() { out.closeWithin("stop embedded database", db.Stop) })
		// Closed after the store (stops run in reverse), which uses it.
		sqlite, err := embeddeddb.OpenLookups(cfg.DataDir, cfg.Database)
		if err != nil {
			stop()
			return nil, nil, err
		}
		stops = append(stops, func() { _ = sqlite.Close() })
		lookups = sqlite
		mongoURI = db.URI()
		out.info.Database = "embedded FerretDB (SQLite) in " + cfg.DataDir
	}
	out.logger.Info("database", "database", out.info.Database, "name", cfg.Database)

	hasher, err := password.NewHasher(password.DefaultParams())
	if err != nil {
		stop()
		return nil, nil, err
	}
	store, err := repository.Open(mongoURI, repository.Options{
		Database: cfg.Database, Timeout: cfg.DBTimeout, MaxPoolSize: cfg.MongoMaxPoolSize,
		CommandMonitor: telemetry.CombineCommandMonitors(
			obs.tracing.CommandMonitor(), obs.monitor.CommandMonitor()),
		PoolMonitor: obs.monitor.PoolMonitor(),
		Lookups:     lookups,
		// The data-directory lock makes this process the embedded
		// database's only writer: its leases can stay in memory.
		Exclusive: lookups != nil,
	}, hasher)
	if err != nil {
		stop()
		return nil, nil, err
	}
	stops = append(stops, func() { out.closeWithin("close database client", store.Close) })

	indexCtx, stopIndexing := context.WithCancel(ctx)
	stops = append(stops, stopIndexing)
	go ensureIndexes(indexCtx, store, out.logger, tasks.begin("indexes"))
	go sweepIdempotencyKeys(indexCtx, store, cfg.IdempotencyKeyTTL, out.logger)
	return store, stop, nil
}

// listen opens the listener before the database (see run) and before
// registration, which needs its port.
func listen(cfg config.Config, out output) (net.Listener, error) {
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.ListenAddr, err)
	}
	hostname, _ := os.Hostname()
	out.info.Instance = net.JoinHostPort(hostname, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	return ln, nil
}

// startRegistration registers the instance in Eureka (when EUREKA_URL is
// set) and keeps its UP/DOWN status current from readiness; the returned
// stop ends the agent's loop. The agent outlives ctx, so that the shutdown
// can still mark it OUT_OF_SERVICE and deregister it.
func startRegistration(ctx context.Context, getenv func(string) string, cfg config.Config, ln net.Listener, db pinger, tasks *setup, out output, obs observability) (*discoveryAgent, func(), error) {
	readiness := func(ctx context.Context) error {
		if err := tasks.Ready(ctx); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, cfg.ReadyTimeout)
		defer cancel()
		return db.Ping(ctx)
	}
	agent, err := newDiscovery(getenv, ln.Addr().(*net.TCPAddr).Port, out.logger, readiness, out.info.Version)
	if err != nil {
		return nil, nil, err
	}
	if err := registerHealthMetrics(obs.monitor, readiness, agent); err != nil {
		return nil, nil, err
	}
	agentCtx, stopAgent := context.WithCancel(context.WithoutCancel(ctx))
	if agent.Enabled() {
		go agent.Run(agentCtx)
	}
	return agent, stopAgent, nil
}

// server is the HTTP server and the serving state its readiness reports.
type server struct {
	*http.Server
	state *lifecycle
}

// startServer builds the router (API, legacy mounts, health, metrics,
// tracing) and serves ln in the background; its result arrives on the
// returned channel. The shutdown step stops it.
func startServer(ctx context.Context, cfg settings, ln net.Listener, store *repository.Store, agent *discoveryAgent,
	tasks *setup, out output, obs observability) (server, <-chan error, error) {
	signIn, err := startSignIn(ctx, cfg.service, store, tasks, out.logger)
	if err != nil {
		return server{}, nil, err
	}
	mounts, err := legacyMounts(cfg.service, store, out.logger)
	if err != nil {
		return server{}, nil, err
	}
	state := &lifecycle{}
	router := handlers.NewRouter(handlers.Options{
		Mounts: mounts,
		Observe: []func(*gin.Engine){
			obs.monitor.Use, // first: /metrics is neither traced nor access-logged
			func(e *gin.Engine) { e.Use(telemetry.Middleware(obs.tracing.ServiceName(), obs.tracing)...) },
		},
		Logger:         out.logger,
		AccessLog:      out.accessLog,
		Store:          store,
		Build:          *out.info,
		ReadyTimeout:   cfg.service.ReadyTimeout,
		RequestTimeout: cfg.service.RequestTimeout,
		ReadTimeout:    cfg.service.ReadTimeout,
		BodyLimit:      cfg.service.BodyLimit,
		APIToken:       cfg.service.APIToken,
		Auth:           signIn,
		CORSOrigins:    cfg.service.CORSOrigins,
		Discovery:      discoveryRoutes(agent),

		Idempotency:       store,
		IdempotencyKeyTTL: cfg.service.IdempotencyKeyTTL,
		RequireIfMatch:    cfg.service.RequireIfMatch,
		Health: []handlers.HealthCheck{
			{Name: "lifecycle", Ready: true, Check: state.Check},
			{Name: "setup", Ready: true, Check: tasks.Check},
			{Name: "database", Ready: true, Check: databaseCheck(store, out.info.Database)},
			{Name: "discovery", Ready: false, Check: agent.HealthCheck},
		},
	})
	srv := &http.Server{
		Handler:           router,
		ReadHeaderTimeout: cfg.service.ReadHeaderTimeout,
		ReadTimeout:       cfg.service.ReadTimeout,
		WriteTimeout:      cfg.service.WriteTimeout,
		IdleTimeout:       cfg.service.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(out.logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	out.logger.Info("listening", "addr", ln.Addr().String(), "version", out.info.Version)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	return server{Server: srv, state: state}, serveErr, nil
}

// wait blocks until the first SIGTERM/SIGINT (ctx) or a serving error, and
// reports when the signal came.
func wait(ctx context.Context, serveErr <-chan error) (time.Time, error) {
	select {
	case err := <-serveErr:
		return time.Time{}, fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		return time.Now(), nil
	}
}

// shutdown drains in the order drain documents: readiness fails and the
// instance is OUT_OF_SERVICE for SHUTDOWN_DELAY (a second signal ends it),
// then it deregisters and the server finishes in-flight requests.
func shutdown(cfg config.Config, signalled time.Time, srv server, serveErr <-chan error, agent *discoveryAgent, out output) error {
	var hurry chan os.Signal
	if cfg.ShutdownDelay > 0 {
		// The first signal cancelled ctx; one more ends the delay (Ctrl-C
		// twice). Only now, so that the first is not counted.
		hurry = make(chan os.Signal, 1)
		signal.Notify(hurry, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(hurry)
	}
	err := drain{
		Delay: cfg.ShutdownDelay, Timeout: cfg.ShutdownTimeout, Hurry: hurry, Log: out.logger,
		StopReady: srv.state.startDraining, MarkOutOfService: agent.MarkOutOfService, Deregister: agent.Deregister,
		Server: srv.Server,
	}.run(signalled)
	if err != nil {
		return err
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	out.logger.Info("stopped")
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

// ensureIndexes retries with capped exponential backoff until it succeeds,
// then calls done.
func ensureIndexes(ctx context.Context, db indexer, logger *slog.Logger, done func()) {
	delay := 250 * time.Millisecond
	for {
		err := db.EnsureIndexes(ctx)
		if err == nil {
			logger.Debug("indexes ready")
			done()
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

// commandConfiguration is the service's configuration, for a command: the
// environment over .env.
func commandConfiguration(getenv func(string) string) (config.Config, error) {
	getenv, err := config.WithDotEnv(getenv, envFile(getenv))
	if err != nil {
		return config.Config{}, err
	}
	return config.Load(getenv)
}

// healthcheck asks the local service whether it is ready: the container
// image has no curl, so the binary checks itself.
func healthcheck(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := commandConfiguration(getenv)
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
