package repository

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// MaxPageSize bounds ListQuery.Limit.
const MaxPageSize = 1000

// ListQuery selects a keyset page of records ordered by id.
type ListQuery struct {
	After  int64  // only ids greater than this
	Limit  int    // at most this many; 0 means all
	Search string // case-insensitive substring of the names (or username)
}

// docID is the _id of the record with the client's integer id. It is the
// decimal string rather than the integer because the embedded FerretDB
// (SQLite) only pushes _id equality down to its index for string and ObjectID
// values: with an integer _id every get-by-id would scan the collection.
func docID(id int64) string { return strconv.FormatInt(id, 10) }

// entity holds what is generic about one collection: M is the API model, D
// its stored document.
type entity[M, D any] struct {
	coll         *mongo.Collection
	kind         string // "player", for messages
	idField      string // "player_id"
	searchFields []string
	toDoc        func(M) D
	fromDoc      func(D) M
}

func (e entity[M, D]) get(ctx context.Context, s *Store, id int64) (M, error) {
	m, v, err := e.getVersioned(ctx, s, id)
	if err == nil {
		reportVersion(ctx, v)
	}
	return m, err
}

// getVersioned returns the record with its version.
func (e entity[M, D]) getVersioned(ctx context.Context, s *Store, id int64) (M, int64, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	var zero M
	raw, err := e.coll.FindOne(ctx, bson.D{{Key: "_id", Value: docID(id)}}).Raw()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return zero, 0, &NotFoundError{Kind: e.kind, ID: id}
	}
	if err != nil {
		return zero, 0, unavailable("get "+e.kind, err)
	}
	var d D
	if err := bson.Unmarshal(raw, &d); err != nil {
		return zero, 0, fmt.Errorf("decode %s: %w", e.kind, err)
	}
	return e.fromDoc(d), versionOf(raw), nil
}

func (e entity[M, D]) exists(ctx context.Context, s *Store, id int64) (bool, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	n, err := e.coll.CountDocuments(ctx, bson.D{{Key: "_id", Value: docID(id)}}, options.Count().SetLimit(1))
	if err != nil {
		return false, unavailable("find "+e.kind, err)
	}
	return n > 0, nil
}

// insert stores m; a duplicate key becomes a *ConflictError naming the field.
func (e entity[M, D]) insert(ctx context.Context, s *Store, id int64, m M, uniqueFields map[string]any) error {
	v := newVersion()
	doc, err := withVersion(e.toDoc(m), v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", e.kind, err)
	}
	ictx, cancel := s.call(ctx)
	defer cancel()
	_, err = e.coll.InsertOne(ictx, doc)
	if err == nil {
		reportVersion(ctx, v)
		return nil
	}
	ctx = ictx
	if mongo.IsDuplicateKeyError(err) {
		// Error texts differ between MongoDB and FerretDB (FerretDB does not
		// name the index), so ask which value is taken: the id, or else
		// one of the other unique fields.
		if taken, xerr := e.exists(ctx, s, id); xerr == nil && !taken {
			for field, value := range uniqueFields {
				return &ConflictError{Kind: e.kind, Field: field, Value: value}
			}
		}
		return &ConflictError{Kind: e.kind, Field: e.idField, Value: id}
	}
	return unavailable("insert "+e.kind, err)
}

// update replaces the record with what apply makes of it, and moves its
// version on by one. apply runs under the record's claim, after the check of
// ctx's If-Match (WithIfMatch), so no other writer, in this instance or
// another, writes in between. It may take more leases (pins on the records
// the result refers to, the admins' lock): done, when not nil, releases them
// after the write.
func (e entity[M, D]) update(ctx context.Context, s *Store, id int64, apply func(ctx context.Context, cur M) (next M, done func(), err error)) (M, error) {
	var out M
	err := e.conditional(ctx, s, id, modeWrite, func(ctx context.Context, cur M, v int64, claim *heldLease) error {
		next, done, err := apply(ctx, cur)
		if done != nil {
			defer done()
		}
		if err != nil {
			return err
		}
		doc, err := withVersion(e.toDoc(next), v+1)
		if err != nil {
			return fmt.Errorf("encode %s: %w", e.kind, err)
		}
		if err := claim.fresh(e.name(id)); err != nil {
			return err
		}
		wctx, cancel := s.call(ctx)
		defer cancel()
		res, err := e.coll.ReplaceOne(wctx, bson.D{{Key: "_id", Value: docID(id)}}, doc)
		if err != nil {
			return unavailable("update "+e.kind, err)
		}
		if res.MatchedCount == 0 {
			return &NotFoundError{Kind: e.kind, ID: id}
		}
		out = next
		reportVersion(ctx, v+1)
		return nil
	})
	return out, err
}

// delete removes the record, under the same claim and check as update. check,
// when not nil, runs under the claim first and may refuse the delete (a
// record still referred to); done, when it returns one, runs after the
// delete. The claim is a delete's (modeDelete): pinReferenced respects it.
func (e entity[M, D]) delete(ctx context.Context, s *Store, id int64, check func(ctx context.Context, cur M) (done func(), err error)) error {
	return e.conditional(ctx, s, id, modeDelete, func(ctx context.Context, cur M, v int64, claim *heldLease) error {
		if check != nil {
			done, err := check(ctx, cur)
			if done != nil {
				defer done()
			}
			if err != nil {
				return err
			}
		}
		if err := claim.fresh(e.name(id)); err != nil {
			return err
		}
		dctx, cancel := s.call(ctx)
		defer cancel()
		res, err := e.coll.DeleteOne(dctx, bson.D{{Key: "_id", Value: docID(id)}})
		if err != nil {
			return unavailable("delete "+e.kind, err)
		}
		if res.DeletedCount == 0 {
			return &NotFoundError{Kind: e.kind, ID: id}
		}
		return nil
	})
}

// name is "player 5", for messages.
func (e entity[M, D]) name(id int64) string { return e.kind + " " + strconv.FormatInt(id, 10) }

// conditional runs write holding the claim on the record's current version,
// which it passes with the record. With an If-Match in ctx, a record at any
// other version (before or after waiting for the writers ahead of it) fails
// with *PreconditionFailedError. A write waits for other writers of the
// record at most the store's wait limit, then fails with *BusyError.
func (e entity[M, D]) conditional(ctx context.Context, s *Store, id int64, mode string, write func(ctx context.Context, cur M, v int64, claim *heldLease) error) error {
	want, conditional := ifMatch(ctx)
	// Once begun, the claim, the write and the release run to the end even
	// if the client hangs up (each call still bounded by the store's
	// timeout): a driver call cancelled half-way may have inserted a claim
	// it never learns about, which would block the record's writers until
	// the claim goes stale.
	ctx = context.WithoutCancel(ctx)
	deadline := time.Now().Add(s.waitLimit())
	unlock, err := s.leases.local.lock(ctx, recordKey(e.kind, id), deadline)
	if err != nil {
		return err
	}
	defer unlock()
	for n := 0; ; n++ {
		first, v, err := e.getVersioned(ctx, s, id)
		if conditional && errors.Is(err, ErrNotFound) {
			// RFC 9110 §13.1.1: no current representation, so no tag matches.
			return &PreconditionFailedError{Kind: e.kind, ID: id, Gone: true}
		}
		if err != nil {
			return err
		}
		if conditional && !slices.Contains(want, v) {
			return &PreconditionFailedError{Kind: e.kind, ID: id, Current: v}
		}
		claim, _, err := s.claim(ctx, e.kind, id, v, mode)
		if err != nil {
			return err
		}
		if claim != nil {
			// Read again under the claim: a writer may have moved the
			// record on between the first read and the claim. Not when
			// this process is the database's only writer: every writer of
			// the record then holds the local lock taken above.
			cur, now, err := first, v, error(nil)
			if !s.exclusive {
				cur, now, err = e.getVersioned(ctx, s, id)
			}
			if err == nil && now == v {
				err = write(ctx, cur, v, claim)
				claim.release(ctx)
				return err
			}
			claim.release(ctx)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			// Moved on or deleted meanwhile: the next round reads it
			// again and decides (412, 404 or another try).
			continue
		}
		// Another writer holds the claim: wait for it to finish.
		if time.Now().After(deadline) {
			return &BusyError{What: e.name(id)}
		}
		if err := backoff(ctx, n); err != nil {
			return unavailable("wait for "+e.name(id), err)
		}
	}
}

// listBatch is how many documents one round trip brings: small enough that
// memory stays flat while a large collection streams out.
const listBatch = 100

// list calls fn for each record of the page in id order, streaming from the
// cursor. Each round trip to the database runs under the store's timeout; an
// error from fn stops the iteration and is returned as is.
func (e entity[M, D]) list(ctx context.Context, s *Store, q ListQuery, fn func(M) error) error {
	if q.Limit < 0 || q.Limit > MaxPageSize {
		return fmt.Errorf("limit %d outside 0..%d", q.Limit, MaxPageSize)
	}
	if s.lookups != nil && q.Search == "" {
		if q.Limit == 0 {
			if err := e.checkListAll(ctx, s); err != nil {
				return err
			}
		} else if ok, err := e.listByLookup(ctx, s, q, fn); ok {
			return err
		}
	}
	filter := bson.D{}
	if q.After > 0 {
		filter = append(filter, bson.E{Key: e.idField, Value: bson.D{{Key: "$gt", Value: q.After}}})
	}
	if q.Search != "" && len(e.searchFields) > 0 {
		pattern := bson.Regex{Pattern: regexp.QuoteMeta(q.Search), Options: "i"}
		or := bson.A{}
		for _, f := range e.searchFields {
			or = append(or, bson.D{{Key: f, Value: pattern}})
		}
		filter = append(filter, bson.E{Key: "$or", Value: or})
	}
	opts := options.Find().SetSort(bson.D{{Key: e.idField, Value: 1}}).SetBatchSize(listBatch)
	if q.Limit > 0 {
		opts.SetLimit(int64(q.Limit))
	}
	findCtx, cancel := s.call(ctx)
	cur, err := e.coll.Find(findCtx, filter, opts)
	cancel()
	if err != nil {
		return unavailable("list "+e.kind, err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for {
		// Only a call that needs a new batch goes to the database; give
		// that one the timeout.
		nextCtx, cancel := ctx, context.CancelFunc(func() {})
		if cur.RemainingBatchLength() == 0 {
			nextCtx, cancel = s.call(ctx)
		}
		ok := cur.Next(nextCtx)
		cancel()
		if !ok {
			break
		}
		var d D
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("decode %s: %w", e.kind, err)
		}
		if err := fn(e.fromDoc(d)); err != nil {
			return err
		}
	}
	return unavailable("list "+e.kind, cur.Err())
}
