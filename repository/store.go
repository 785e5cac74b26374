// Package repository stores the sports records in MongoDB (or the embedded
// FerretDB, which speaks the same wire protocol) and enforces what the
// database alone cannot: references between records, password hashing, and
// validation of merged partial updates.
package repository

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

// Collection names are the seed's.
const (
	LoginCollection    = "login"
	OfficialCollection = "official"
	PlayerCollection   = "player"
	GameCollection     = "game"
)

// Options tune the connection.
type Options struct {
	Database       string
	Timeout        time.Duration // deadline of one database call, and of server selection
	MaxPoolSize    uint64
	CommandMonitor *event.CommandMonitor
	PoolMonitor    *event.PoolMonitor
	// Lookups serves the queries by a field other than `_id` on the
	// embedded database (lookups.go); nil on MongoDB.
	Lookups Lookups
	// Exclusive says that no other process writes the database: the
	// embedded one, whose data directory this process holds locked. The
	// leases (lease.go) are then kept in memory; otherwise in the database,
	// where every instance sees them.
	Exclusive bool
}

// PasswordHasher is what the store needs of password hashing.
type PasswordHasher interface {
	Hash(password string) (string, error)
	Verify(password, hash string) (bool, error)
}

// Store is the sports database.
type Store struct {
	client  *mongo.Client
	db      *mongo.Database
	timeout time.Duration
	hasher  PasswordHasher

	logins    *mongo.Collection
	officials *mongo.Collection
	players   *mongo.Collection
	games     *mongo.Collection
	claims    *mongo.Collection // the leases: see lease.go
	// idempotency keeps the answers to requests sent with an Idempotency-Key.
	idempotency *mongo.Collection

	// leases coordinate the writes whose rules span several documents
	// (references, the last admin) across every instance sharing the
	// database: lease.go, docs/concurrency.md.
	leases *leases
	// lookups: see Options.Lookups.
	lookups Lookups
	// exclusive: see Options.Exclusive.
	exclusive bool
}

// Open connects to uri. It does not wait for the server: the first call, or
// Ping, does, within the timeout.
func Open(uri string, opts Options, hasher PasswordHasher) (*Store, error) {
	co := options.Client().ApplyURI(uri).
		SetServerSelectionTimeout(opts.Timeout).
		SetConnectTimeout(opts.Timeout).
		SetAppName("sports-service").
		// Without it the pool keeps every connection a burst opened, and
		// the goroutines that serve them, for the life of the process.
		SetMaxConnIdleTime(time.Minute)
	if opts.MaxPoolSize > 0 {
		co.SetMaxPoolSize(opts.MaxPoolSize)
	}
	if opts.CommandMonitor != nil {
		co.SetMonitor(opts.CommandMonitor)
	}
	if opts.PoolMonitor != nil {
		co.SetPoolMonitor(opts.PoolMonitor)
	}
	client, err := mongo.Connect(co)
	if err != nil {
		return nil, fmt.Errorf("connect to MongoDB: %w", err)
	}
	db := client.Database(opts.Database)
	s := &Store{
		client:      client,
		db:          db,
		timeout:     opts.Timeout,
		hasher:      hasher,
		logins:      db.Collection(LoginCollection),
		officials:   db.Collection(OfficialCollection),
		players:     db.Collection(PlayerCollection),
		games:       db.Collection(GameCollection),
		claims:      db.Collection(VersionClaimCollection),
		idempotency: db.Collection(IdempotencyCollection),
		lookups:     opts.Lookups,
		exclusive:   opts.Exclusive,
	}
	s.leases = &leases{table: newLeaseTable(s.claims, opts.Exclusive), stale: LeaseStale(opts.Timeout), call: s.call}
	return s, nil
}

// Close disconnects from the database.
func (s *Store) Close(ctx context.Context) error {
	return s.client.Disconnect(ctx)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return unavailable("ping", s.client.Ping(ctx, readpref.Primary()))
}

// Client exposes the driver client, for benchmarks that compare the store
// with plain driver calls against the same database.
func (s *Store) Client() *mongo.Client { return s.client }

// EnsureIndexes creates the unique indexes on every id and on username, and
// the indexes behind reference checks; with Lookups, theirs too. It is
// idempotent.
func (s *Store) EnsureIndexes(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 4*s.timeout)
	defer cancel()
	unique := func(key string) mongo.IndexModel {
		return mongo.IndexModel{Keys: bson.D{{Key: key, Value: 1}}, Options: options.Index().SetUnique(true)}
	}
	plain := func(key string) mongo.IndexModel {
		return mongo.IndexModel{Keys: bson.D{{Key: key, Value: 1}}}
	}
	for coll, models := range map[*mongo.Collection][]mongo.IndexModel{
		s.logins:    {unique("login_id"), unique("username")},
		s.officials: {unique("official_id")},
		s.players:   {unique("player_id"), plain("game_id")},
		s.games:     {unique("game_id"), plain("officials")},
	} {
		// One call per index: FerretDB v1 panics on a createIndexes
		// command that names several indexes of which some already exist.
		for _, m := range models {
			if _, err := coll.Indexes().CreateOne(ctx, m); err != nil {
				return unavailable("create indexes on "+coll.Name(), err)
			}
		}
	}
	if s.lookups != nil {
		return s.indexLookups(ctx)
	}
	return nil
}

// call runs one database operation under the store's timeout.
func (s *Store) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}
