package repository

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// IdempotencyCollection holds the answers to requests sent with an
// Idempotency-Key, so that every instance sharing the database can replay them.
const IdempotencyCollection = "_idempotency_keys"

// IdempotentAnswer is what is kept of a request sent with an Idempotency-Key.
type IdempotentAnswer struct {
	Key         string            `bson:"_id"`
	Fingerprint string            `bson:"fingerprint"`
	Done        bool              `bson:"done"` // false while the first request runs
	Status      int               `bson:"status,omitempty"`
	Header      map[string]string `bson:"header,omitempty"`
	Body        []byte            `bson:"body,omitempty"`
	Created     time.Time         `bson:"created"`
	Expires     time.Time         `bson:"expires"`
}

// ErrIdempotencyKeyTaken is BeginIdempotent's answer when key is in use: the
// returned answer says by what.
var ErrIdempotencyKeyTaken = errors.New("idempotency key already used")

// BeginIdempotent records that the request with key and fingerprint starts,
// to be forgotten at expires. When key is already recorded and not expired it
// returns that record and ErrIdempotencyKeyTaken. The insert of the unique
// _id is what makes only one of several concurrent first requests run.
// A record still not done abandonAfter after it was created is taken over.
func (s *Store) BeginIdempotent(ctx context.Context, key, fingerprint string, expires time.Time, abandonAfter time.Duration) (IdempotentAnswer, error) {
	now := time.Now().UTC()
	rec := IdempotentAnswer{Key: key, Fingerprint: fingerprint, Created: now, Expires: expires.UTC()}
	for attempt := 0; attempt < 2; attempt++ {
		ictx, cancel := s.call(ctx)
		_, err := s.idempotency.InsertOne(ictx, rec)
		cancel()
		if err == nil {
			return rec, nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return IdempotentAnswer{}, unavailable("record idempotency key", err)
		}
		var held IdempotentAnswer
		fctx, cancel := s.call(ctx)
		err = s.idempotency.FindOne(fctx, bson.D{{Key: "_id", Value: key}}).Decode(&held)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			cancel()
			continue // forgotten meanwhile
		case err != nil:
			cancel()
			return IdempotentAnswer{}, unavailable("find idempotency key", err)
		case held.Expires.Before(now), !held.Done && now.Sub(held.Created) > abandonAfter:
			// Expired but not swept yet, or abandoned by an instance that
			// died while running it: the key may be used again.
			_, err = s.idempotency.DeleteOne(fctx, bson.D{{Key: "_id", Value: key}, {Key: "expires", Value: held.Expires}})
			cancel()
			if err != nil {
				return IdempotentAnswer{}, unavailable("forget idempotency key", err)
			}
			continue
		}
		cancel()
		return held, ErrIdempotencyKeyTaken
	}
	return IdempotentAnswer{}, fmt.Errorf("idempotency key %q: %w", key, ErrIdempotencyKeyTaken)
}

// FinishIdempotent stores the answer of the request begun with key.
func (s *Store) FinishIdempotent(ctx context.Context, a IdempotentAnswer) error {
	ctx, cancel := s.call(ctx)
	defer cancel()
	_, err := s.idempotency.UpdateOne(ctx, bson.D{{Key: "_id", Value: a.Key}}, bson.D{{Key: "$set", Value: bson.D{
		{Key: "done", Value: true}, {Key: "status", Value: a.Status}, {Key: "header", Value: a.Header}, {Key: "body", Value: a.Body},
	}}})
	return unavailable("store idempotent answer", err)
}

// ForgetIdempotent removes key, so that a retry runs the request again (its
// first run failed in a way worth retrying).
func (s *Store) ForgetIdempotent(ctx context.Context, key string) error {
	ctx, cancel := s.call(ctx)
	defer cancel()
	_, err := s.idempotency.DeleteOne(ctx, bson.D{{Key: "_id", Value: key}})
	return unavailable("forget idempotency key", err)
}

// SweepIdempotent deletes the keys expired before now and the version claims
// abandoned by writers that died; it returns how many keys went.
//
// The embedded FerretDB refuses TTL indexes ("Index option
// \"expireAfterSeconds\" is not implemented yet", FerretDB v1.24
// msg_createindexes.go), so the service sweeps on every database; BeginIdempotent
// also treats an expired key as free, so expiry is exact whenever the sweep runs.
func (s *Store) SweepIdempotent(ctx context.Context, now time.Time) (int64, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	res, err := s.idempotency.DeleteMany(ctx, bson.D{{Key: "expires", Value: bson.D{{Key: "$lt", Value: now.UTC()}}}})
	if err != nil {
		return 0, unavailable("sweep idempotency keys", err)
	}
	if _, err := s.claims.DeleteMany(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: now.Add(-s.claimStale()).UTC()}}}}); err != nil {
		return res.DeletedCount, unavailable("sweep version claims", err)
	}
	return res.DeletedCount, nil
}

// IdempotencyRecordSize is the stored size in bytes of a (BSON) record.
func IdempotencyRecordSize(a IdempotentAnswer) (int, error) {
	b, err := bson.Marshal(a)
	return len(b), err
}
