package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/osms/sports-service/config"
	"github.com/osms/sports-service/dbcopy"
	"github.com/osms/sports-service/embeddeddb"
	"github.com/osms/sports-service/repository"
)

// embedded names the embedded database (DATA_DIR) in migrate's --from and --to.
const embedded = "embedded"

const migrateUsage = "sports-service migrate --from embedded|URI --to URI|embedded [--overwrite]"

// migratedCollections are the collections the service owns, in the order
// migrate copies them. The leases (_version_claims) are not among them: a
// stopped service's leases are released or stale (docs/concurrency.md), so a
// copy would only hand the target dead leases to take over; with
// --overwrite the target's are dropped, since they refer to documents that
// are replaced.
var migratedCollections = []string{
	repository.LoginCollection, repository.OfficialCollection, repository.GameCollection,
	repository.PlayerCollection, repository.IdempotencyCollection,
}

// migrate copies the service's collections between the embedded database and
// a MongoDB URI (or two URIs), then creates the service's indexes on the
// target. The database name is MONGODB_DATABASE on both sides.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "source: embedded (the data directory DATA_DIR) or a mongodb:// URI")
	to := fs.String("to", "", "target: a mongodb:// URI or embedded (DATA_DIR)")
	overwrite := fs.Bool("overwrite", false, "drop the target's collections (documents and indexes) and replace them; without it a target collection that holds documents stops the copy before anything is written")
	batch := fs.Int("batch", 1000, "documents per batch read and written")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s\n\nCopies the collections %s from one database to the other, keeping every document as it is; stop the service first (docs/deployment.md).\n\n",
			migrateUsage, strings.Join(migratedCollections, ", "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("migrate: %w (usage: %s)", err, migrateUsage)
	}
	if err := checkEndpoints(*from, *to, fs.NArg()); err != nil {
		return fmt.Errorf("migrate: %w (usage: %s)", err, migrateUsage)
	}
	cfg, err := commandConfiguration(getenv)
	if err != nil {
		return err
	}
	// Any message may quote a URI: its passwords are never printed.
	secrets := uriPasswords(*from, *to)
	err = copyDatabase(ctx, cfg, *from, *to, dbcopy.Options{
		Collections: migratedCollections, Discard: []string{repository.VersionClaimCollection},
		Overwrite: *overwrite, BatchDocuments: *batch, CallTimeout: max(12*cfg.DBTimeout, time.Minute),
	}, redactingWriter{stdout, secrets}, stderr)
	if err == nil {
		return nil
	}
	if msg := "migrate: " + err.Error(); redact(msg, secrets) != msg {
		return errors.New(redact(msg, secrets))
	}
	return fmt.Errorf("migrate: %w", err)
}

// checkEndpoints: one side at least is a URI; the two differ.
func checkEndpoints(from, to string, extra int) error {
	switch {
	case extra > 0:
		return errors.New("unexpected arguments")
	case from == "" || to == "":
		return errors.New("--from and --to are required")
	case from == to:
		return errors.New("--from and --to are the same")
	}
	for _, side := range []string{from, to} {
		if side != embedded && !strings.HasPrefix(side, "mongodb://") && !strings.HasPrefix(side, "mongodb+srv://") {
			return fmt.Errorf("%q is neither embedded nor a mongodb:// URI", redactURI(side))
		}
	}
	return nil
}

// copyDatabase opens both sides, copies, and ensures the indexes.
func copyDatabase(ctx context.Context, cfg config.Config, from, to string, opts dbcopy.Options, stdout, stderr io.Writer) error {
	start := time.Now()
	src, closeSrc, err := openSide(ctx, cfg, from, "source", stderr)
	if err != nil {
		return err
	}
	defer closeSrc()
	dst, closeDst, err := openSide(ctx, cfg, to, "target", stderr)
	if err != nil {
		return err
	}
	defer closeDst()
	fmt.Fprintf(stdout, "copying database %s from %s to %s\n", cfg.Database, src.describe, dst.describe)
	var total int64
	opts.Copied = func(c dbcopy.Count) {
		total += c.Documents
		fmt.Fprintf(stdout, "%s: %d documents\n", c.Collection, c.Documents)
	}
	lastProgress := time.Now()
	opts.Progress = func(c dbcopy.Count) {
		if time.Since(lastProgress) >= progressEvery {
			lastProgress = time.Now()
			fmt.Fprintf(stdout, "%s: %d documents so far\n", c.Collection, c.Documents)
		}
	}
	db := func(s *side) *mongo.Database { return s.store.Client().Database(cfg.Database) }
	if _, err := dbcopy.Copy(ctx, db(src), db(dst), opts); err != nil {
		if errors.Is(err, dbcopy.ErrTargetNotEmpty) {
			return fmt.Errorf("%w in %s: nothing was copied; --overwrite drops and replaces the target's collections", err, dst.describe)
		}
		return err
	}
	if err := dst.store.EnsureIndexes(ctx); err != nil {
		return fmt.Errorf("create the service's indexes on the target: %w", err)
	}
	fmt.Fprintf(stdout, "%s: not copied (leases of a stopped service)\n", repository.VersionClaimCollection)
	fmt.Fprintf(stdout, "copied %d documents in %d collections, indexes ensured, in %s\n",
		total, len(opts.Collections), time.Since(start).Round(time.Millisecond))
	return nil
}

// progressEvery is how often a long copy reports how far it got.
const progressEvery = 10 * time.Second

// side is one end of the copy.
type side struct {
	store    *repository.Store
	describe string
}

// openSide opens embedded (taking DATA_DIR's lock, as the service does) or a
// URI, and checks that it answers within DB_TIMEOUT.
func openSide(ctx context.Context, cfg config.Config, endpoint, role string, stderr io.Writer) (*side, func(), error) {
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	uri, describe := endpoint, redactURI(endpoint)
	opts := repository.Options{Database: cfg.Database, Timeout: cfg.DBTimeout}
	if endpoint == embedded {
		describe = "the embedded database in " + cfg.DataDir
		if !embeddeddb.Available {
			return nil, nil, fmt.Errorf("%s: this binary was built without the embedded database (tag noembed): run migrate from one built without it (go build .)", role)
		}
		if role == "source" {
			if _, err := os.Stat(cfg.DataDir); err != nil {
				return nil, nil, fmt.Errorf("source: data directory: %w", err)
			}
		}
		unlock, err := lockDataDir(cfg.DataDir)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", role, err)
		}
		stops = append(stops, func() { _ = unlock() })
		db, err := embeddeddb.Start(cfg.DataDir, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError})))
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("%s: %w", role, err)
		}
		stops = append(stops, func() { _ = db.Stop(context.WithoutCancel(ctx)) })
		// The service's own SQLite indexes, which EnsureIndexes creates too.
		lookups, err := embeddeddb.OpenLookups(cfg.DataDir, cfg.Database)
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("%s: %w", role, err)
		}
		stops = append(stops, func() { _ = lookups.Close() })
		opts.Lookups = lookups
		uri = db.URI()
	}
	store, err := repository.Open(uri, opts, nil)
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("%s %s: %w", role, describe, err)
	}
	stops = append(stops, func() { _ = store.Close(context.WithoutCancel(ctx)) })
	pctx, cancel := context.WithTimeout(ctx, cfg.DBTimeout)
	defer cancel()
	if err := store.Ping(pctx); err != nil {
		stop()
		return nil, nil, fmt.Errorf("%s %s did not answer within DB_TIMEOUT (%s): %w", role, describe, cfg.DBTimeout, err)
	}
	return &side{store: store, describe: describe}, stop, nil
}

// uriPasswords are the passwords in the URIs given.
func uriPasswords(uris ...string) []string {
	var out []string
	for _, s := range uris {
		u, err := url.Parse(s)
		if err != nil {
			// Unparsable: all between the scheme and the last @ may be secret.
			if _, rest, ok := strings.Cut(s, "://"); ok {
				if i := strings.LastIndex(rest, "@"); i > 0 {
					out = append(out, rest[:i])
				}
			}
			continue
		}
		if p, ok := u.User.Password(); ok && p != "" {
			out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
		}
	}
	return out
}

// redact replaces every secret in s.
func redact(s string, secrets []string) string {
	for _, secret := range secrets {
		s = strings.ReplaceAll(s, secret, "xxxxx")
	}
	return s
}

// redactingWriter writes lines with every secret replaced (each write is
// one whole line).
type redactingWriter struct {
	w       io.Writer
	secrets []string
}

func (r redactingWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(r.w, redact(string(p), r.secrets)); err != nil {
		return 0, err
	}
	return len(p), nil
}
