package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// requestScope is the context of one request as requestContext makes it:
// the request id and the request's deadline in one node.
//
// context.WithTimeout would arm a runtime timer and register the request
// with the connection's context on every request, and the trivial routes
// (and every answer served from memory) never ask whether the deadline has
// passed: the standard library has no lazy form, and no maintained library
// offers one, hence this type. The deadline is the same absolute time as
// WithTimeout's; the timer is armed (context.WithDeadline) only when
// something first asks for Done or Err, or derives a cancellable context
// (which asks for Done). Deadline answers without arming.
type requestScope struct {
	parent   context.Context
	id       string
	deadline time.Time
	// idHeader is the response header's value slice, and generated the
	// made-up id's bytes: both live in this one allocation instead of two
	// more per request.
	idHeader  [1]string
	generated [32]byte

	// timed is the armed context.WithDeadline(parent, deadline); once set
	// it answers Done, Err and every Value but the request id, so that
	// contexts derived from it find its cancelCtx (context.Cause, and no
	// watcher goroutine per derived context).
	timed  atomic.Pointer[timedContext]
	mu     sync.Mutex // serialises arming and ending
	cancel context.CancelFunc
	ended  bool
}

type timedContext struct{ context.Context }

// newRequestScope makes the scope of a request whose X-Request-ID is id;
// an empty id makes a new random one.
func newRequestScope(parent context.Context, id string, timeout time.Duration) *requestScope {
	s := &requestScope{parent: parent, id: id, deadline: time.Now().Add(timeout)}
	if id == "" {
		var random [16]byte
		_, _ = rand.Read(random[:])
		hex.Encode(s.generated[:], random[:])
		// The bytes are never written again, and the string keeps s
		// alive, so it is as immutable as any string.
		s.id = unsafe.String(&s.generated[0], len(s.generated))
	}
	s.idHeader[0] = s.id
	return s
}

// arm returns the deadline's context, making it on first use. After end it
// is made already cancelled, as WithTimeout's would be after its cancel.
func (s *requestScope) arm() context.Context {
	if t := s.timed.Load(); t != nil {
		return t.Context
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.timed.Load(); t != nil {
		return t.Context
	}
	ctx, cancel := context.WithDeadline(s.parent, s.deadline)
	if s.ended {
		cancel()
	}
	s.cancel = cancel
	s.timed.Store(&timedContext{ctx})
	return ctx
}

// end releases the timer, if one was armed, when the request is done.
func (s *requestScope) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = true
	if s.cancel != nil {
		s.cancel()
	}
}

// Deadline is WithDeadline's: the earlier of the parent's and ours.
func (s *requestScope) Deadline() (time.Time, bool) {
	if d, ok := s.parent.Deadline(); ok && d.Before(s.deadline) {
		return d, true
	}
	return s.deadline, true
}

func (s *requestScope) Done() <-chan struct{} { return s.arm().Done() }

func (s *requestScope) Err() error { return s.arm().Err() }

func (s *requestScope) Value(key any) any {
	if _, ok := key.(requestIDKey); ok {
		return s // not s.id: a string would be boxed on every lookup
	}
	if t := s.timed.Load(); t != nil {
		return t.Value(key)
	}
	return s.parent.Value(key)
}

func (s *requestScope) String() string { return "handlers.requestScope" }
