package repository

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Every stored record carries a version in the field "version" that changes
// on every write. A record created by this service starts at the creation
// time in nanoseconds, so that a record deleted and created again under the
// same id does not take up its predecessor's versions (an old ETag must not
// match a new record); each update adds one. A record stored before versions
// existed has no such field and is version 0 until its first write.
const versionField = "version"

// VersionClaimCollection holds one document per write in progress. See claim.
const VersionClaimCollection = "_version_claims"

// LeaseStale is how old a lease (a claim, a pin, the admins' lock) must be
// before another instance may take it over: its holder died, or the driver
// gave up on the insert after the database had done it. A holder writes only
// during the first half of it, within a few database calls of at most the
// store's timeout each.
func LeaseStale(dbTimeout time.Duration) time.Duration { return max(4*dbTimeout, 2*time.Second) }

// waitLimit bounds how long a write waits for other writers of the same
// records before it gives up with ErrBusy (503 with Retry-After).
func (s *Store) waitLimit() time.Duration { return s.timeout }

// PreconditionFailedError says the record is no longer at the version the
// writer read: someone else changed or deleted it in between.
type PreconditionFailedError struct {
	Kind    string
	ID      int64
	Current int64 // the stored version (0: never written with versions)
	Gone    bool  // there is no such record (any more)
}

// ErrPreconditionFailed is what *PreconditionFailedError matches.
var ErrPreconditionFailed = errors.New("version does not match")

func (e *PreconditionFailedError) Error() string {
	if e.Gone {
		return fmt.Sprintf("%s %d no longer exists", e.Kind, e.ID)
	}
	return fmt.Sprintf("%s %d is at version %d, not the one given: it changed since it was read", e.Kind, e.ID, e.Current)
}
func (e *PreconditionFailedError) Is(target error) bool { return target == ErrPreconditionFailed }

type ifMatchKey struct{}
type versionSinkKey struct{}

// WithIfMatch makes the store's updates and deletes of a record in ctx
// conditional: they change nothing, and return *PreconditionFailedError, unless
// the record is at one of versions (none: never). Passed through the context rather than as an
// argument so that every caller of the Store (API, admin site, schedule)
// keeps its signatures; a call without it writes unconditionally, as before.
func WithIfMatch(ctx context.Context, versions ...int64) context.Context {
	return context.WithValue(ctx, ifMatchKey{}, append([]int64{}, versions...))
}

func ifMatch(ctx context.Context) ([]int64, bool) {
	v, ok := ctx.Value(ifMatchKey{}).([]int64)
	return v, ok
}

// Version receives the version of the record a store call read or wrote.
type Version struct {
	Value int64
	Set   bool
}

// WithVersionSink returns a context in which get, create and update calls
// report the record's version into the returned *Version.
func WithVersionSink(ctx context.Context) (context.Context, *Version) {
	v := &Version{}
	return context.WithValue(ctx, versionSinkKey{}, v), v
}

func reportVersion(ctx context.Context, v int64) {
	if sink, ok := ctx.Value(versionSinkKey{}).(*Version); ok {
		sink.Value, sink.Set = v, true
	}
}

// FormatVersion is a version as the API shows it (the ETag's opaque part).
func FormatVersion(v int64) string { return strconv.FormatInt(v, 10) }

// newVersion is the version of a record being created.
func newVersion() int64 { return time.Now().UnixNano() }

// withVersion is doc's BSON with the version field set to v.
func withVersion(doc any, v int64) (bson.D, error) {
	raw, err := bson.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	var d bson.D
	if err := bson.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return append(d, bson.E{Key: versionField, Value: v}), nil
}

// versionOf reads the version of a stored document; a document without one
// is version 0.
func versionOf(raw bson.Raw) int64 {
	val, err := raw.LookupErr(versionField)
	if err != nil {
		return 0
	}
	if v, ok := val.AsInt64OK(); ok {
		return v
	}
	return 0
}

// claim makes the caller the only writer that may move record kind/id away
// from version from, in every instance sharing the database: an exclusive
// lease (lease.go) with the _id "<kind>:<id>:<version>". mode is modeWrite
// or modeDelete; a delete's claim also stops new references to the record
// (pinReferenced).
//
// Why not a filter on version in the update itself: the embedded FerretDB
// (SQLite backend) evaluates every filter but _id equality in Go, between a
// SELECT and an UPDATE that run in separate transactions, so two updates
// filtered on the same version both match and both write (a lost update;
// the concurrency test shows it). Its unique _id, however, is SQLite's
// primary key: of several inserts of the same _id exactly one succeeds.
// The writes under a claim are filtered on _id alone: FerretDB pushes a
// filter down to SQLite's primary key only when _id is all it holds (with
// the version too, every write would scan the collection), and the claim is
// the guarantee (lease.go: a holder writes only within half the stale age).
//
// It returns the holder's lease, without error, when another writer holds
// the claim.
func (s *Store) claim(ctx context.Context, kind string, id, from int64, mode string) (*heldLease, *leaseDoc, error) {
	return s.leases.tryAcquire(ctx, claimID(kind, id, from), mode, recordKey(kind, id))
}

// claimID is the _id of the claim on kind/id at version v.
func claimID(kind string, id, v int64) string {
	return kind + ":" + strconv.FormatInt(id, 10) + ":" + strconv.FormatInt(v, 10)
}

// recordKey names a record in leases: "game:3".
func recordKey(kind string, id int64) string { return kind + ":" + strconv.FormatInt(id, 10) }
