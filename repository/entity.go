package repository

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"

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
	ctx, cancel := s.call(ctx)
	defer cancel()
	var d D
	err := e.coll.FindOne(ctx, bson.D{{Key: "_id", Value: docID(id)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		var zero M
		return zero, &NotFoundError{Kind: e.kind, ID: id}
	}
	if err != nil {
		var zero M
		return zero, unavailable("get "+e.kind, err)
	}
	return e.fromDoc(d), nil
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
	ctx, cancel := s.call(ctx)
	defer cancel()
	_, err := e.coll.InsertOne(ctx, e.toDoc(m))
	if err == nil {
		return nil
	}
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

func (e entity[M, D]) replace(ctx context.Context, s *Store, id int64, m M) error {
	ctx, cancel := s.call(ctx)
	defer cancel()
	res, err := e.coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: docID(id)}}, e.toDoc(m))
	if err != nil {
		return unavailable("update "+e.kind, err)
	}
	if res.MatchedCount == 0 {
		return &NotFoundError{Kind: e.kind, ID: id}
	}
	return nil
}

func (e entity[M, D]) delete(ctx context.Context, s *Store, id int64) error {
	ctx, cancel := s.call(ctx)
	defer cancel()
	res, err := e.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: docID(id)}})
	if err != nil {
		return unavailable("delete "+e.kind, err)
	}
	if res.DeletedCount == 0 {
		return &NotFoundError{Kind: e.kind, ID: id}
	}
	return nil
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
