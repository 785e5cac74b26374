package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/osms/sports-service/embeddeddb"
)

// runCommand runs the binary's run with args (after the program name) and
// the environment env, as main would, and returns its stdout.
func runCommand(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	vars := map[string]string{"ENV_FILE": "/dev/null"}
	for k, v := range env {
		vars[k] = v
	}
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	err := run(ctx, append([]string{"sports-service"}, args...), func(k string) string { return vars[k] }, &stdout, &stderr)
	if stderr.Len() > 0 {
		t.Logf("stderr of %v: %s", args, stderr.String())
	}
	return stdout.String(), err
}

// dump is every document of every collection of a database, raw, each
// collection sorted by _id.
type dump map[string][]bson.Raw

func dumpDatabase(t *testing.T, uri string) dump {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Disconnect(ctx) }()
	db := client.Database("osms")
	names, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	d := dump{}
	for _, name := range names {
		cur, err := db.Collection(name).Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
		if err != nil {
			t.Fatal(err)
		}
		var docs []bson.Raw
		for cur.Next(ctx) {
			docs = append(docs, slices.Clone(cur.Current))
		}
		if err := cur.Err(); err != nil {
			t.Fatal(err)
		}
		if len(docs) > 0 {
			d[name] = docs
		}
	}
	return d
}

// withEmbedded serves dir on an embedded FerretDB while f runs.
func withEmbedded(t *testing.T, dir string, f func(uri string)) {
	t.Helper()
	db, err := embeddeddb.Start(dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Stop(context.Background()) }()
	f(db.URI())
}

func dumpEmbedded(t *testing.T, dir string) (d dump) {
	t.Helper()
	withEmbedded(t, dir, func(uri string) { d = dumpDatabase(t, uri) })
	return d
}

// sameDocuments fails the test unless got holds exactly want's documents,
// byte for byte, leaving out the collections in except.
func sameDocuments(t *testing.T, what string, want, got dump, except ...string) {
	t.Helper()
	for name, docs := range want {
		if slices.Contains(except, name) {
			continue
		}
		if len(got[name]) != len(docs) {
			t.Errorf("%s: collection %s has %d documents, want %d", what, name, len(got[name]), len(docs))
			continue
		}
		for i, doc := range docs {
			if !bytes.Equal(doc, got[name][i]) {
				t.Errorf("%s: collection %s, document %d differs:\n got %s\nwant %s", what, name, i, got[name][i], doc)
			}
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok || slices.Contains(except, name) {
			t.Errorf("%s: collection %s (%d documents) was not in the source", what, name, len(got[name]))
		}
	}
}

// seedEveryKind fills dir, through the API, with records of every kind:
// logins with hashed passwords, officials, a game with officials, players
// (one updated, so its version moved), an idempotency key; and leaves a
// stale lease in _version_claims, as a killed instance would.
func seedEveryKind(t *testing.T, dir string) {
	t.Helper()
	env := authEnv()
	env["DATA_DIR"] = dir
	s := startService(t, env)
	s.awaitReady(t)
	auth := []string{"Authorization", "Bearer " + env["API_TOKEN"]}
	expect(t, s.do(t, "POST", "/ch11/login/add", map[string]any{"login_id": 7, "username": "coach", "password": "coach-password-1"}, auth...), 201)
	expect(t, s.do(t, "POST", "/ch11/official/add", officialBody(1), auth...), 201)
	expect(t, s.do(t, "POST", "/ch11/official/add", officialBody(2), auth...), 201)
	expect(t, s.do(t, "POST", "/ch11/game/add", gameBody(1, 1, 2), auth...), 201)
	for id := range int64(3) {
		p := playerBody(id + 1)
		p["game_id"] = 1
		expect(t, s.do(t, "POST", "/ch11/player/add", p, append(auth, "Idempotency-Key", "seed-"+string(rune('a'+id)))...), 201)
	}
	expect(t, s.do(t, "PATCH", "/ch11/player/update/2", map[string]any{"lname": "Leigh"}, auth...), 200)
	s.Stop(t)
	withEmbedded(t, dir, func(uri string) {
		client, err := mongo.Connect(options.Client().ApplyURI(uri))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = client.Disconnect(context.Background()) }()
		_, err = client.Database("osms").Collection("_version_claims").InsertOne(context.Background(),
			bson.D{{Key: "_id", Value: "game:1:1700000000000"}, {Key: "mode", Value: "write"}, {Key: "at", Value: time.Unix(1700000000, 0)}})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestMigrateRoundTrip copies an embedded data dir with records of every
// kind to a separate FerretDB process and back into a fresh data dir: every
// document of every collection the service owns arrives byte for byte, the
// leases do not, the indexes exist, and the service signs in with a copied
// password. A second copy into the now non-empty target is refused and
// writes nothing; with --overwrite it replaces what the target held.
func TestMigrateRoundTrip(t *testing.T) {
	src, back := t.TempDir(), t.TempDir()
	seedEveryKind(t, src)
	source := dumpEmbedded(t, src)
	for _, name := range migratedCollections {
		if len(source[name]) == 0 {
			t.Fatalf("the seed left collection %s empty: %v", name, source)
		}
	}
	for name := range source {
		if !slices.Contains(migratedCollections, name) && name != "_version_claims" {
			t.Errorf("collection %s is the service's but migrate does not copy it", name)
		}
	}
	target := startFerretDBProcess(t)

	out, err := runCommand(t, map[string]string{"DATA_DIR": src}, "migrate", "--from", "embedded", "--to", target)
	if err != nil {
		t.Fatalf("migrate to FerretDB: %v\n%s", err, out)
	}
	for _, name := range migratedCollections {
		if want := name + ": " + itoa(len(source[name])) + " documents\n"; !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("migrate to FerretDB:\n%s", out)
	sameDocuments(t, "FerretDB process", source, dumpDatabase(t, target), "_version_claims")

	out, err = runCommand(t, map[string]string{"DATA_DIR": back}, "migrate", "--from", target, "--to", "embedded")
	if err != nil {
		t.Fatalf("migrate back: %v\n%s", err, out)
	}
	sameDocuments(t, "embedded after the round trip", source, dumpEmbedded(t, back), "_version_claims")
	for _, uri := range []string{target} {
		assertServiceIndexes(t, uri)
	}
	withEmbedded(t, back, func(uri string) { assertServiceIndexes(t, uri) })
	if want, got := lookupIndexes(t, src), lookupIndexes(t, back); len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("the service's SQLite indexes after the import: %v, want those of the source: %v", got, want)
	}

	env := authEnv()
	env["DATA_DIR"] = back
	s := startService(t, env)
	s.awaitReady(t)
	expect(t, s.signIn(t, "coach", "coach-password-1"), 200)
	expect(t, s.signIn(t, "coach", "wrong-password-1"), 401)
	s.Stop(t)

	t.Run("non-empty target refused", func(t *testing.T) {
		before := dumpDatabase(t, target)
		out, err := runCommand(t, map[string]string{"DATA_DIR": src}, "migrate", "--from", "embedded", "--to", target)
		if err == nil || !strings.Contains(err.Error(), "collection login") || !strings.Contains(err.Error(), "not empty") {
			t.Fatalf("got %v, want a refusal naming collection login\n%s", err, out)
		}
		sameDocuments(t, "refused target", before, dumpDatabase(t, target))
	})

	t.Run("overwrite replaces", func(t *testing.T) {
		withClient(t, target, func(db *mongo.Database) {
			ctx := context.Background()
			if _, err := db.Collection("player").DeleteOne(ctx, bson.D{{Key: "_id", Value: 1}}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Collection("player").InsertOne(ctx, bson.D{{Key: "_id", Value: 99}, {Key: "stray", Value: true}}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Collection("_version_claims").InsertOne(ctx, bson.D{{Key: "_id", Value: "player:1:1"}}); err != nil {
				t.Fatal(err)
			}
		})
		out, err := runCommand(t, map[string]string{"DATA_DIR": src}, "migrate", "--from", "embedded", "--to", target, "--overwrite")
		if err != nil {
			t.Fatalf("migrate --overwrite: %v\n%s", err, out)
		}
		sameDocuments(t, "overwritten target", source, dumpDatabase(t, target), "_version_claims")
		assertServiceIndexes(t, target)
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

func withClient(t *testing.T, uri string, f func(*mongo.Database)) {
	t.Helper()
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	f(client.Database("osms"))
}

// assertServiceIndexes: the target has the indexes of
// repository.Store.EnsureIndexes.
func assertServiceIndexes(t *testing.T, uri string) {
	t.Helper()
	withClient(t, uri, func(db *mongo.Database) {
		for coll, want := range map[string][]string{
			"login": {"login_id_1", "username_1"}, "official": {"official_id_1"},
			"player": {"player_id_1", "game_id_1"}, "game": {"game_id_1", "officials_1"},
		} {
			specs, err := db.Collection(coll).Indexes().ListSpecifications(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range specs {
				names = append(names, s.Name)
			}
			for _, w := range want {
				if !slices.Contains(names, w) {
					t.Errorf("%s: collection %s has indexes %v, lacks %s", uri, coll, names, w)
				}
			}
		}
	})
}

// lookupIndexes are the names of the service's own SQLite indexes
// (embeddeddb.Lookups.Index) in dir.
func lookupIndexes(t *testing.T, dir string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "osms.sqlite")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'sports_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// TestMigrateRefusesLockedDataDir: while a process holds DATA_DIR's lock (a
// running service), migrate neither reads from it nor writes into it.
func TestMigrateRefusesLockedDataDir(t *testing.T) {
	target := startFerretDBProcess(t)
	for _, tt := range []struct{ name, from, to string }{
		{"from embedded", "embedded", target},
		{"to embedded", target, "embedded"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			unlock, err := lockDataDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = unlock() }()
			out, err := runCommand(t, map[string]string{"DATA_DIR": dir}, "migrate", "--from", tt.from, "--to", tt.to)
			if !errors.Is(err, errDataDirInUse) {
				t.Fatalf("got %v, want %v\n%s", err, errDataDirInUse, out)
			}
		})
	}
}

// TestMigrateDatabaseDown: a side where nothing listens ends the command
// with an error naming that side within about DB_TIMEOUT, and the URI's
// password appears nowhere.
func TestMigrateDatabaseDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const password = "pa55:Secret/w0rd@"
	down := (&url.URL{Scheme: "mongodb", User: url.UserPassword("sports", password), Host: ln.Addr().String(), Path: "/", RawQuery: "authSource=admin"}).String()
	ln.Close()
	src := t.TempDir()
	seed, err := lockDataDir(src) // creates the directory, as a service would have
	if err != nil {
		t.Fatal(err)
	}
	_ = seed()
	for _, tt := range []struct{ name, from, to, want string }{
		{"target down", "embedded", down, "target mongodb://sports:xxxxx@"},
		{"source down", down, "embedded", "source mongodb://sports:xxxxx@"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			out, err := runCommand(t, map[string]string{"DATA_DIR": src, "DB_TIMEOUT": "1s"}, "migrate", "--from", tt.from, "--to", tt.to)
			took := time.Since(start)
			t.Logf("failed after %s: %v", took.Round(time.Millisecond), err)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "did not answer") {
				t.Fatalf("got %v, want an error naming %q", err, tt.want)
			}
			if all := err.Error() + out; strings.Contains(all, password) || strings.Contains(all, url.QueryEscape(password)) || strings.Contains(all, "Secret") {
				t.Errorf("the password appears in the output or the error: %v\n%s", err, out)
			}
			// Not a timing assertion: a bound far above DB_TIMEOUT that
			// only a hang reaches.
			if took > 30*time.Second {
				t.Errorf("took %s with DB_TIMEOUT=1s", took)
			}
		})
	}
}

// TestHelp: help, -h and --help list every command of the binary, one line
// each, and each listed command is one that command() knows; an unknown
// command points to help.
func TestHelp(t *testing.T) {
	for _, arg := range []string{"help", "-h", "--help"} {
		out, err := runCommand(t, nil, arg)
		if err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		for _, c := range commands {
			if n := strings.Count(out, "\n  "+c[0]+" "); n != 1 {
				t.Errorf("%s: command %s is on %d lines:\n%s", arg, c[0], n, out)
			}
		}
		if lines := strings.Count(out, "\n"); lines != len(commands)+1 {
			t.Errorf("%s: %d lines, want a heading and one a command:\n%s", arg, lines, out)
		}
	}
	for _, c := range commands[1:] {
		_, err := runCommand(t, map[string]string{"LISTEN_ADDR": "127.0.0.1:1"}, c[0])
		if err != nil && strings.Contains(err.Error(), "unknown command") {
			t.Errorf("help lists %s, which is an unknown command", c[0])
		}
	}
	_, err := runCommand(t, nil, "serve-forever")
	if err == nil || !strings.Contains(err.Error(), `unknown command "serve-forever"`) || !strings.Contains(err.Error(), "sports-service help") {
		t.Errorf("unknown command: %v, want it named and pointing to help", err)
	}
}
