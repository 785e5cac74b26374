package repository

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
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

// claimStale is how old a claim must be before another writer may take it
// over: its writer died between claim and release, or the driver gave up on
// the insert after the database had done it. A claim is held for three
// database calls of at most the store's timeout each.
func (s *Store) claimStale() time.Duration { return max(4*s.timeout, 2*time.Second) }

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
// from version from, in every instance sharing the database.
//
// Why not a filter on version in the update itself: the embedded FerretDB
// (SQLite backend) evaluates every filter but _id equality in Go, between a
// SELECT and an UPDATE that run in separate transactions, so two updates
// filtered on the same version both match and both write (a lost update;
// the concurrency test shows it). Its unique _id, however, is SQLite's
// primary key: of several inserts of the same _id exactly one succeeds.
// A claim is such an insert. Holding it, the writer reads, checks and
// writes; release deletes it. With MongoDB the claim is redundant with the
// filtered update but harmless.
//
// It answers false when another writer holds the claim from the same
// version: that writer will move the record on, so the caller's version is
// as good as stale.
func (s *Store) claim(ctx context.Context, kind string, id, from int64) (release func(), ok bool, err error) {
	key := kind + ":" + strconv.FormatInt(id, 10) + ":" + strconv.FormatInt(from, 10)
	for attempt := 0; attempt < 2; attempt++ {
		cctx, cancel := s.call(ctx)
		_, err = s.claims.InsertOne(cctx, bson.D{{Key: "_id", Value: key}, {Key: "at", Value: time.Now().UTC()}})
		cancel()
		if err == nil {
			return func() {
				// The write is done (or failed): the claim must go even
				// when the request was cancelled meanwhile.
				dctx, cancel := s.call(context.WithoutCancel(ctx))
				defer cancel()
				_, _ = s.claims.DeleteOne(dctx, bson.D{{Key: "_id", Value: key}})
			}, true, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return nil, false, unavailable("claim "+kind, err)
		}
		// Taken. Take it over only if its writer is long gone.
		var held struct {
			At time.Time `bson:"at"`
		}
		fctx, cancel := s.call(ctx)
		ferr := s.claims.FindOne(fctx, bson.D{{Key: "_id", Value: key}}).Decode(&held)
		if ferr == nil && time.Since(held.At) > s.claimStale() {
			_, ferr = s.claims.DeleteOne(fctx, bson.D{{Key: "_id", Value: key}, {Key: "at", Value: held.At}})
			cancel()
			if ferr == nil {
				continue
			}
		}
		cancel()
		if ferr != nil && !errors.Is(ferr, mongo.ErrNoDocuments) {
			return nil, false, unavailable("claim "+kind, ferr)
		}
		if errors.Is(ferr, mongo.ErrNoDocuments) {
			continue // released meanwhile: try again
		}
		return nil, false, nil
	}
	return nil, false, nil
}
