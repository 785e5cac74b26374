package repository

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
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
	// Owner tells this run of the key from a later one, after a takeover.
	Owner string `bson:"owner,omitempty"`
}

// incarnationName names this run of the key in a takeover's breaker.
func (a IdempotentAnswer) incarnationName() string {
	if a.Owner != "" {
		return "idempotency:" + a.Key + "@" + a.Owner
	}
	return "idempotency:" + a.Key + "@" + strconv.FormatInt(a.Created.UnixMilli(), 10)
}

// ErrIdempotencyKeyTaken is BeginIdempotent's answer when key is in use: the
// returned answer says by what.
var ErrIdempotencyKeyTaken = errors.New("idempotency key already used")

// BeginIdempotent records that the request with key and fingerprint starts,
// to be forgotten at expires. When key is already recorded and not expired it
// returns that record and ErrIdempotencyKeyTaken. The insert of the unique
// _id is what makes only one of several concurrent first requests run.
// A record still not done abandonAfter after it was created is taken over;
// so is an expired one, through a breaker (see leases.takeOver), so that of
// several instances taking over the same record only one deletes it.
// The returned record is the one to pass to FinishIdempotent or
// ForgetIdempotent.
func (s *Store) BeginIdempotent(ctx context.Context, key, fingerprint string, expires time.Time, abandonAfter time.Duration) (IdempotentAnswer, error) {
	for attempt := 0; attempt < 3; attempt++ {
		now := time.Now().UTC()
		rec := IdempotentAnswer{Key: key, Fingerprint: fingerprint, Created: now, Expires: expires.UTC(), Owner: newOwner()}
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
		cancel()
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			continue // forgotten meanwhile
		case err != nil:
			return IdempotentAnswer{}, unavailable("find idempotency key", err)
		case held.Expires.Before(now), !held.Done && now.Sub(held.Created) > abandonAfter:
			// Expired but not swept yet, or abandoned by an instance that
			// died while running it: the key may be used again.
			if _, err := s.leases.takeOver(ctx, held.incarnationName(), func(ctx context.Context) error {
				return s.forget(ctx, key)
			}, 0); err != nil {
				return IdempotentAnswer{}, err
			}
			continue
		}
		return held, ErrIdempotencyKeyTaken
	}
	return IdempotentAnswer{}, fmt.Errorf("idempotency key %q: %w", key, ErrIdempotencyKeyTaken)
}

// FinishIdempotent stores the answer a of the request begun by
// BeginIdempotent: a is the record that returned, with the answer's status,
// header and body set.
func (s *Store) FinishIdempotent(ctx context.Context, a IdempotentAnswer) error {
	ctx, cancel := s.call(ctx)
	defer cancel()
	_, err := s.idempotency.UpdateOne(ctx, bson.D{{Key: "_id", Value: a.Key}}, bson.D{{Key: "$set", Value: bson.D{
		{Key: "done", Value: true}, {Key: "status", Value: a.Status}, {Key: "header", Value: a.Header}, {Key: "body", Value: a.Body},
	}}})
	return unavailable("store idempotent answer", err)
}

// ForgetIdempotent removes the key begun as begun, so that a retry runs the
// request again (its first run failed in a way worth retrying).
//
// It and FinishIdempotent name the record by its _id alone: FerretDB pushes
// a filter down to its primary key only when _id is all it holds, and a
// filter on the owner too would scan the whole collection on every request.
// A later run of the key can exist only after a takeover, which needs the
// first run to be abandonAfter old (2 x REQUEST_TIMEOUT + 1 min), far past
// the request's own deadline.
func (s *Store) ForgetIdempotent(ctx context.Context, begun IdempotentAnswer) error {
	return unavailable("forget idempotency key", s.forget(ctx, begun.Key))
}

func (s *Store) forget(ctx context.Context, key string) error {
	ctx, cancel := s.call(ctx)
	defer cancel()
	_, err := s.idempotency.DeleteOne(ctx, bson.D{{Key: "_id", Value: key}})
	return err
}

// SweepIdempotent deletes the keys expired before now, and the leases
// abandoned by writers that died; it returns how many keys went.
//
// The embedded FerretDB refuses TTL indexes ("Index option
// \"expireAfterSeconds\" is not implemented yet", FerretDB v1.24
// msg_createindexes.go), so the service sweeps on every database; BeginIdempotent
// also treats an expired key as free, so expiry is exact whenever the sweep runs.
// Each expired key goes through a breaker, as a takeover would: a bulk
// delete (a read, then deletes by _id, on FerretDB) could remove the record
// of a request that took the expired key over in between.
func (s *Store) SweepIdempotent(ctx context.Context, now time.Time) (int64, error) {
	fctx, cancel := s.call(ctx)
	cur, err := s.idempotency.Find(fctx, bson.D{{Key: "expires", Value: bson.D{{Key: "$lt", Value: now.UTC()}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "owner", Value: 1}, {Key: "created", Value: 1}}))
	var expired []IdempotentAnswer
	if err == nil {
		err = cur.All(fctx, &expired)
	}
	cancel()
	if err != nil {
		return 0, unavailable("sweep idempotency keys", err)
	}
	var n int64
	for _, a := range expired {
		// The breaker's winner deletes by _id: no one else deletes this
		// run of the key (see ForgetIdempotent).
		won, err := s.leases.takeOver(ctx, a.incarnationName(), func(ctx context.Context) error {
			return s.forget(ctx, a.Key)
		}, 0)
		if err != nil {
			return n, err
		}
		if won {
			n++
		}
	}
	if _, err := s.leases.sweep(ctx); err != nil {
		return n, err
	}
	return n, nil
}

// IdempotencyRecordSize is the stored size in bytes of a (BSON) record.
func IdempotencyRecordSize(a IdempotentAnswer) (int, error) {
	b, err := bson.Marshal(a)
	return len(b), err
}
