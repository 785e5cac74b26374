package repository

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Lookups finds the `_id`s of documents by a field, for a database whose
// own query engine would read the whole collection to do it: the embedded
// FerretDB (embeddeddb.Lookups, which reads its SQLite files). On MongoDB
// it is nil and the indexes of EnsureIndexes serve the same queries.
//
// Only `_id`s come from it: the store still reads and writes every document
// through the driver, so the rules of docs/concurrency.md are unchanged. A
// failed lookup falls back to the driver's query, which gives the same
// answer, slower.
type Lookups interface {
	// Index makes the lookups below on fields of collection, and `_id`
	// equality through the driver, index searches.
	Index(ctx context.Context, collection string, fields ...string) error
	// IndexArray makes Contains on an array field an index search.
	IndexArray(ctx context.Context, collection, field string) error
	// Equal: up to limit documents whose field equals value.
	Equal(ctx context.Context, collection, field string, value any, limit int) ([]string, error)
	// Contains: up to limit documents whose array field holds value.
	Contains(ctx context.Context, collection, field string, value any, limit int) ([]string, error)
	// After: up to limit documents whose field is above after, in its order.
	After(ctx context.Context, collection, field string, after int64, limit int) ([]string, error)
	// Count: how many documents collection holds.
	Count(ctx context.Context, collection string) (int64, error)
}

// lookedUp are the fields of a collection looked up by something other
// than `_id` (which every collection's index covers): plain values, and
// arrays searched for an element.
type lookedUp struct{ fields, arrays []string }

func (s *Store) lookupFields() map[*mongo.Collection]lookedUp {
	return map[*mongo.Collection]lookedUp{
		s.logins:      {fields: []string{"login_id", "username", "role"}},
		s.officials:   {fields: []string{"official_id"}},
		s.players:     {fields: []string{"player_id", "game_id"}},
		s.games:       {fields: []string{"game_id"}, arrays: []string{"officials"}},
		s.claims:      {},
		s.idempotency: {},
	}
}

// indexLookups creates the lookups' indexes, creating first the collections
// that do not exist yet (the leases' and the idempotency keys' are created
// by their first insert otherwise, without the index).
func (s *Store) indexLookups(ctx context.Context) error {
	for coll, fields := range s.lookupFields() {
		err := s.db.CreateCollection(ctx, coll.Name())
		var ce mongo.CommandError
		if err != nil && !(errors.As(err, &ce) && ce.HasErrorCode(namespaceExists)) {
			return unavailable("create collection "+coll.Name(), err)
		}
		if err := s.lookups.Index(ctx, coll.Name(), fields.fields...); err != nil {
			return fmt.Errorf("index lookups of %s: %w", coll.Name(), err)
		}
		for _, array := range fields.arrays {
			if err := s.lookups.IndexArray(ctx, coll.Name(), array); err != nil {
				return fmt.Errorf("index lookups of %s.%s: %w", coll.Name(), array, err)
			}
		}
	}
	return nil
}

// namespaceExists is the server's code for a collection that exists.
const namespaceExists = 48

// idsOfDocIDs turns lookups' `_id`s (docID strings) into record ids.
func idsOfDocIDs(docIDs []string) []int64 {
	ids := make([]int64, 0, len(docIDs))
	for _, d := range docIDs {
		if id, err := strconv.ParseInt(d, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// MaxEmbeddedListAll is the largest collection that list/all (a list with
// no limit) reads on the embedded database: FerretDB sorts the whole
// collection in memory before it answers, about 1.2 s at 10,000 records and
// 12 s at 100,000, past DB_TIMEOUT. Above it the list is refused at once
// (*TooManyError); keyset pages serve any size.
const MaxEmbeddedListAll = 10_000

// TooManyError refuses a list/all over a collection larger than
// MaxEmbeddedListAll on the embedded database.
type TooManyError struct {
	Kind  string
	Count int64
	Max   int64
}

func (e *TooManyError) Error() string {
	return fmt.Sprintf("%d %ss are more than a list without a limit returns on the embedded database (%d); read them in keyset pages: ?limit=%d&after=<the last id of the previous page>",
		e.Count, e.Kind, e.Max, MaxPageSize)
}

// listByLookup is list for a page (q.Limit > 0, no search) when the store
// has lookups: the ids of the page from them, then each record by `_id`.
// ok is false when the lookup failed and list must use the driver's query.
func (e entity[M, D]) listByLookup(ctx context.Context, s *Store, q ListQuery, fn func(M) error) (ok bool, err error) {
	after := q.After
	if after <= 0 {
		after = math.MinInt64
	}
	lctx, cancel := s.call(ctx)
	ids, err := s.lookups.After(lctx, e.coll.Name(), e.idField, after, q.Limit)
	cancel()
	if err != nil {
		return false, nil
	}
	// One after the other: reading a page's records at once was slower
	// (FerretDB's work per read is CPU, and the cores are few).
	for _, id := range idsOfDocIDs(ids) {
		m, _, err := e.getVersioned(ctx, s, id)
		var nf *NotFoundError
		if errors.As(err, &nf) {
			continue // deleted since the lookup
		}
		if err != nil {
			return true, err
		}
		if err := fn(m); err != nil {
			return true, err
		}
	}
	return true, nil
}

// checkListAll refuses a list/all of a collection too large for the
// embedded database (see MaxEmbeddedListAll).
func (e entity[M, D]) checkListAll(ctx context.Context, s *Store) error {
	ctx, cancel := s.call(ctx)
	defer cancel()
	n, err := s.lookups.Count(ctx, e.coll.Name())
	if err != nil {
		return nil // the list itself will tell
	}
	if n > MaxEmbeddedListAll {
		return &TooManyError{Kind: e.kind, Count: n, Max: MaxEmbeddedListAll}
	}
	return nil
}
