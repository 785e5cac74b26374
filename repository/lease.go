package repository

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Leases are how instances that share one database coordinate the writes
// whose rules span several documents (docs/concurrency.md lists them). The
// embedded FerretDB has no transactions and evaluates every filter but _id
// equality in Go, between a read and a write that are not atomic together;
// what it does make atomic is a unique _id (SQLite's primary key). MongoDB
// makes it atomic too, with or without a replica set. So every lease is a
// document with a chosen _id in VersionClaimCollection, and one mechanism
// serves both databases:
//
//   - an exclusive lease: of several inserts of the same _id exactly one
//     succeeds. Version claims ("player:5:<version>", see claim) and the
//     last-admin lock ("lock:admins") are exclusive;
//   - a pin: a shared lease with a unique _id and a target ("game:3"). A
//     writer that stores a reference to the target pins it, then reads the
//     target, the claim on its version and the target again
//     (Store.checkReferenced); a delete claims the target, then waits until
//     it sees no pins. Each side writes before it reads what the other
//     wrote, so at least one of them sees the other and steps back: a
//     reference is never stored to a record being deleted.
//
// A lease carries the time its holder took it and a random owner. A lease
// older than LeaseStale belongs to a holder that died (or lost its
// connection after the database stored the insert); it is taken over. The
// takeover is made atomic with one more unique insert, a "breaker"
// ("break:<lease id>@<owner>"): of several instances that find the same dead
// lease, only the one whose breaker insert succeeds deletes it. A holder
// never writes under a lease older than half of LeaseStale (it fails with
// ErrBusy instead), and does not release such a lease, which may already have
// been taken over: the margin covers one bounded database call and clock skew
// between instances of up to a quarter of LeaseStale (at least 0.5 s).

// leaseDoc is a lease as stored.
type leaseDoc struct {
	ID     string    `bson:"_id"`
	At     time.Time `bson:"at"`
	Owner  string    `bson:"owner,omitempty"`
	Mode   string    `bson:"mode,omitempty"`
	Target string    `bson:"target,omitempty"`
}

// Lease modes.
const (
	modeWrite  = "write"  // a version claim of an update
	modeDelete = "delete" // a version claim of a delete that pins must respect
	modePin    = "pin"    // a shared lease on a referenced record
	modeLock   = "lock"   // a named exclusive lock
	modeBreak  = "break"  // the takeover of a dead lease
)

// ErrBusy says other writers held what a write needed for longer than the
// write may wait. It also matches ErrUnavailable: the answer is 503, with
// Retry-After.
var ErrBusy = errors.New("busy: other writers hold the record")

// BusyError names what was busy.
type BusyError struct {
	What string // "player 5"
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("%s is being written by other requests; retry shortly", e.What)
}
func (e *BusyError) Is(target error) bool { return target == ErrBusy || target == ErrUnavailable }

// leaseTable stores leases. Its one implementation outside a mutation test
// is the database's collection (leaseCollection); the mutation test swaps in
// a process-local map to show that the multi-instance tests catch it.
type leaseTable interface {
	// insert stores d; errLeaseTaken if its _id exists.
	insert(ctx context.Context, d leaseDoc) error
	find(ctx context.Context, id string) (leaseDoc, bool, error)
	// pinsOn lists the pins whose target is target.
	pinsOn(ctx context.Context, target string) ([]leaseDoc, error)
	// remove deletes the lease id held by owner.
	remove(ctx context.Context, id, owner string) error
	// drop deletes the lease id, whoever holds it.
	drop(ctx context.Context, id string) error
	// olderThan lists leases taken before t, for the sweep.
	olderThan(ctx context.Context, t time.Time) ([]leaseDoc, error)
}

var errLeaseTaken = errors.New("lease taken")

// leaseCollection is the leaseTable in the database.
type leaseCollection struct{ coll *mongo.Collection }

func (c leaseCollection) insert(ctx context.Context, d leaseDoc) error {
	_, err := c.coll.InsertOne(ctx, d)
	if mongo.IsDuplicateKeyError(err) {
		return errLeaseTaken
	}
	return err
}

func (c leaseCollection) find(ctx context.Context, id string) (leaseDoc, bool, error) {
	var d leaseDoc
	err := c.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return leaseDoc{}, false, nil
	}
	return d, err == nil, err
}

func (c leaseCollection) pinsOn(ctx context.Context, target string) ([]leaseDoc, error) {
	return c.all(ctx, bson.D{{Key: "target", Value: target}, {Key: "mode", Value: modePin}})
}

func (c leaseCollection) remove(ctx context.Context, id, owner string) error {
	// Filtered on the owner, so that a holder whose lease was taken over
	// (and taken again by another) cannot delete its successor's. A claim
	// stored before owners existed has none (null matches a missing field).
	var who any = owner
	if owner == "" {
		who = nil
	}
	_, err := c.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "owner", Value: who}})
	return err
}

// drop filters on _id alone, which FerretDB looks up by its primary key
// (any other filter scans the collection): the release of a holder's own
// lease, which nobody else can have taken over (heldLease.release), and of a
// pin, whose _id is its own.
func (c leaseCollection) drop(ctx context.Context, id string) error {
	_, err := c.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	return err
}

func (c leaseCollection) olderThan(ctx context.Context, t time.Time) ([]leaseDoc, error) {
	return c.all(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: t.UTC()}}}})
}

func (c leaseCollection) all(ctx context.Context, filter bson.D) ([]leaseDoc, error) {
	cur, err := c.coll.Find(ctx, filter)
	if err != nil {
		return nil, err
	}
	var out []leaseDoc
	err = cur.All(ctx, &out)
	return out, err
}

// leases takes, keeps and gives back leases for one store.
type leases struct {
	table leaseTable
	stale time.Duration // a lease older than this is a dead holder's
	call  func(context.Context) (context.Context, context.CancelFunc)
	// local serializes, inside this process, the writers of one record:
	// they queue on a channel instead of polling the database. An
	// optimisation only; the leases are the guarantee.
	local localLocks
}

// heldLease is a lease this process holds.
type heldLease struct {
	doc   leaseDoc
	taken time.Time // monotonic
	l     *leases
}

// fresh reports whether the holder may still write under the lease: until
// half of the stale age, so that no other instance can have taken it over.
func (h *heldLease) fresh(what string) error {
	if time.Since(h.taken) < h.l.stale/2 {
		return nil
	}
	return &BusyError{What: what}
}

// release gives the lease back, even when ctx is cancelled. A lease held for
// too long is left for the takeover: it may no longer be ours. One held for
// less than half the stale age is ours: nobody takes a lease over before it
// is stale, so the delete needs no filter on the owner.
func (h *heldLease) release(ctx context.Context) {
	if h == nil || time.Since(h.taken) >= h.l.stale/2 {
		return
	}
	rctx, cancel := h.l.call(context.WithoutCancel(ctx))
	defer cancel()
	_ = h.l.table.drop(rctx, h.doc.ID)
}

func newOwner() string { return strconv.FormatUint(rand.Uint64(), 36) }

// tryAcquire inserts the exclusive lease id. When a live holder has it, it
// returns that holder's lease and no error; a dead holder's lease is taken
// over.
func (l *leases) tryAcquire(ctx context.Context, id, mode, target string) (*heldLease, *leaseDoc, error) {
	for attempt := 0; attempt < 4; attempt++ {
		d := leaseDoc{ID: id, At: time.Now().UTC(), Owner: newOwner(), Mode: mode, Target: target}
		taken := time.Now()
		cctx, cancel := l.call(ctx)
		err := l.table.insert(cctx, d)
		cancel()
		if err == nil {
			return &heldLease{doc: d, taken: taken, l: l}, nil, nil
		}
		if !errors.Is(err, errLeaseTaken) {
			return nil, nil, unavailable("take lease "+id, err)
		}
		held, found, err := l.findLease(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		if !found {
			continue // released meanwhile
		}
		if !l.isStale(held) {
			return nil, &held, nil
		}
		if err := l.breakLease(ctx, held, 0); err != nil {
			return nil, nil, err
		}
	}
	// Taken, taken over by another, taken again: someone else is busy.
	return nil, &leaseDoc{ID: id}, nil
}

func (l *leases) findLease(ctx context.Context, id string) (leaseDoc, bool, error) {
	fctx, cancel := l.call(ctx)
	defer cancel()
	d, found, err := l.table.find(fctx, id)
	if err != nil {
		return leaseDoc{}, false, unavailable("read lease "+id, err)
	}
	return d, found, nil
}

func (l *leases) isStale(d leaseDoc) bool { return time.Since(d.At) > l.stale }

// maxBreakDepth bounds breakers of breakers: each level means one more
// instance died in the middle of a takeover.
const maxBreakDepth = 3

// breakLease deletes the dead lease d, if this caller wins its breaker.
func (l *leases) breakLease(ctx context.Context, d leaseDoc, depth int) error {
	who := d.Owner
	if who == "" { // a claim stored before owners existed
		who = strconv.FormatInt(d.At.UnixMilli(), 10)
	}
	_, err := l.takeOver(ctx, d.ID+"@"+who, func(ctx context.Context) error {
		return l.table.remove(ctx, d.ID, d.Owner)
	}, depth)
	return err
}

// takeOver runs remove, which deletes one incarnation of a document left
// by a holder that died (named by name: the document's _id and its owner or
// creation time), in at most one of the instances that call it: the one
// whose insert of the breaker "break:<name>" succeeds. A breaker stays (the
// sweep removes it later): deleting it at once would let a caller that read
// the dead document before the delete remove its successor.
func (l *leases) takeOver(ctx context.Context, name string, remove func(context.Context) error, depth int) (won bool, err error) {
	if depth >= maxBreakDepth {
		return false, nil // leave it to the sweep
	}
	br := leaseDoc{ID: "break:" + name, At: time.Now().UTC(), Owner: newOwner(), Mode: modeBreak, Target: name}
	cctx, cancel := l.call(ctx)
	err = l.table.insert(cctx, br)
	cancel()
	switch {
	case err == nil:
		rctx, cancel := l.call(ctx)
		defer cancel()
		if err := remove(rctx); err != nil {
			return false, unavailable("take over "+name, err)
		}
		return true, nil
	case errors.Is(err, errLeaseTaken):
		// Another caller takes it over; unless it died doing so.
		other, found, err := l.findLease(ctx, br.ID)
		if err != nil || !found || !l.isStale(other) {
			return false, err
		}
		return false, l.breakLease(ctx, other, depth+1)
	default:
		return false, unavailable("take over "+name, err)
	}
}

// backoff waits before attempt number n, longer each time, with jitter so
// that instances polling the same lease do not move in step.
func backoff(ctx context.Context, n int) error {
	d := time.Duration(1+min(n, 15)) * time.Millisecond
	d += time.Duration(rand.Int64N(int64(d)))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// acquireLock takes the named exclusive lock (no version), waiting for it
// until deadline; then ErrBusy. release gives it back.
func (l *leases) acquireLock(ctx context.Context, name string, deadline time.Time) (lock *heldLease, release func(), err error) {
	unlock, err := l.local.lock(ctx, "lock:"+name, deadline)
	if err != nil {
		return nil, nil, err
	}
	for n := 0; ; n++ {
		h, holder, err := l.tryAcquire(ctx, "lock:"+name, modeLock, "")
		if err != nil {
			unlock()
			return nil, nil, err
		}
		if holder == nil {
			return h, func() { h.release(ctx); unlock() }, nil
		}
		if time.Now().After(deadline) {
			unlock()
			return nil, nil, &BusyError{What: "the " + name}
		}
		if err := backoff(ctx, n); err != nil {
			unlock()
			return nil, nil, unavailable("wait for the "+name, err)
		}
	}
}

// pinned is a set of pins this process holds.
type pinned struct {
	docs  []leaseDoc
	taken time.Time
	l     *leases
}

// pin stores one pin per target.
func (l *leases) pin(ctx context.Context, targets []string) (*pinned, error) {
	p := &pinned{l: l, taken: time.Now()}
	for _, t := range targets {
		d := leaseDoc{ID: "pin:" + t + ":" + newOwner(), At: time.Now().UTC(), Mode: modePin, Target: t}
		d.Owner = d.ID
		cctx, cancel := l.call(ctx)
		err := l.table.insert(cctx, d)
		cancel()
		if err != nil {
			p.release(ctx)
			return nil, unavailable("pin "+t, err)
		}
		p.docs = append(p.docs, d)
	}
	return p, nil
}

// fresh is heldLease.fresh for pins.
func (p *pinned) fresh(what string) error {
	if p == nil || time.Since(p.taken) < p.l.stale/2 {
		return nil
	}
	return &BusyError{What: what}
}

func (p *pinned) release(ctx context.Context) {
	if p == nil {
		return
	}
	for _, d := range p.docs {
		rctx, cancel := p.l.call(context.WithoutCancel(ctx))
		_ = p.l.table.drop(rctx, d.ID)
		cancel()
	}
	p.docs = nil
}

// waitUnpinned waits until target has no live pins, or deadline.
func (l *leases) waitUnpinned(ctx context.Context, target, what string, deadline time.Time) error {
	for n := 0; ; n++ {
		fctx, cancel := l.call(ctx)
		pins, err := l.table.pinsOn(fctx, target)
		cancel()
		if err != nil {
			return unavailable("read pins of "+what, err)
		}
		live := 0
		for _, p := range pins {
			if !l.isStale(p) {
				live++
			}
		}
		if live == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return &BusyError{What: what}
		}
		if err := backoff(ctx, n); err != nil {
			return unavailable("wait for pins of "+what, err)
		}
	}
}

// sweep removes the leases of dead holders (through their breakers, as a
// takeover would) and breakers old enough that no takeover can still be
// using them. It returns how many went.
func (l *leases) sweep(ctx context.Context) (int, error) {
	fctx, cancel := l.call(ctx)
	old, err := l.table.olderThan(fctx, time.Now().Add(-l.stale))
	cancel()
	if err != nil {
		return 0, unavailable("sweep leases", err)
	}
	n := 0
	for _, d := range old {
		if d.Mode == modeBreak {
			if time.Since(d.At) > 2*l.stale {
				rctx, cancel := l.call(ctx)
				err := l.table.remove(rctx, d.ID, d.Owner)
				cancel()
				if err != nil {
					return n, unavailable("sweep leases", err)
				}
				n++
			}
			continue
		}
		if err := l.breakLease(ctx, d, 0); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// localLocks is a lock per key inside this process.
type localLocks struct {
	mu    sync.Mutex
	held  map[string]chan struct{}
	users map[string]int
}

// lock waits for key until deadline (then ErrBusy) or ctx's end.
func (ll *localLocks) lock(ctx context.Context, key string, deadline time.Time) (func(), error) {
	ll.mu.Lock()
	if ll.held == nil {
		ll.held, ll.users = map[string]chan struct{}{}, map[string]int{}
	}
	ch, ok := ll.held[key]
	if !ok {
		ch = make(chan struct{}, 1)
		ll.held[key] = ch
	}
	ll.users[key]++
	ll.mu.Unlock()
	done := func() {
		ll.mu.Lock()
		if ll.users[key]--; ll.users[key] == 0 {
			delete(ll.held, key)
			delete(ll.users, key)
		}
		ll.mu.Unlock()
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case ch <- struct{}{}:
		return func() { <-ch; done() }, nil
	case <-timer.C:
		done()
		return nil, &BusyError{What: key}
	case <-ctx.Done():
		done()
		return nil, unavailable("wait for "+key, ctx.Err())
	}
}
