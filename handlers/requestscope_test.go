package handlers

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestCanonicalRequestIDHeader(t *testing.T) {
	if got := http.CanonicalHeaderKey(RequestIDHeader); got != canonicalRequestIDHeader {
		t.Fatalf("canonical form of %s is %s, the constant says %s", RequestIDHeader, got, canonicalRequestIDHeader)
	}
}

// TestRequestScopeIsWithTimeout checks that the lazily armed scope behaves
// as context.WithTimeout(context.WithValue(parent, id), timeout) with its
// cancel deferred to the end of the request.
func TestRequestScopeIsWithTimeout(t *testing.T) {
	type parentKey struct{}
	cases := []struct {
		name    string
		timeout time.Duration
		// run does what the request does with the scope; cancelParent
		// cancels the connection's context.
		run     func(s *requestScope, cancelParent func())
		wantErr error
	}{
		{"running, nobody waited", time.Hour, func(*requestScope, func()) {}, nil},
		{"ended before anybody waited", time.Hour, func(s *requestScope, _ func()) { s.end() }, context.Canceled},
		{"ended after somebody waited", time.Hour, func(s *requestScope, _ func()) { _ = s.Done(); s.end() }, context.Canceled},
		{"deadline passed, nobody waited", time.Nanosecond, func(*requestScope, func()) { time.Sleep(time.Millisecond) }, context.DeadlineExceeded},
		{"deadline passed while waiting", 10 * time.Millisecond, func(s *requestScope, _ func()) { <-s.Done() }, context.DeadlineExceeded},
		{"connection closed", time.Hour, func(_ *requestScope, cancel func()) { cancel() }, context.Canceled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent, cancel := context.WithCancel(context.WithValue(context.Background(), parentKey{}, "conn"))
			defer cancel()
			s := newRequestScope(parent, "req-1", c.timeout)
			c.run(s, cancel)
			if err := s.Err(); !errors.Is(err, c.wantErr) || (c.wantErr == nil) != (err == nil) {
				t.Fatalf("Err() = %v, want %v", err, c.wantErr)
			}
			select {
			case <-s.Done():
				if c.wantErr == nil {
					t.Fatal("Done is closed, Err is nil")
				}
			default:
				if c.wantErr != nil {
					t.Fatal("Err is set, Done is open")
				}
			}
			if got := RequestIDFrom(s); got != "req-1" {
				t.Errorf("request id %q", got)
			}
			if got := s.Value(parentKey{}); got != "conn" {
				t.Errorf("the parent's value: %v", got)
			}
		})
	}
}

func TestRequestScopeDeadline(t *testing.T) {
	soon, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	parentDeadline, _ := soon.Deadline()
	cases := []struct {
		name    string
		parent  context.Context
		timeout time.Duration
		want    func(ours time.Time) time.Time
	}{
		{"ours is earlier", soon, time.Second, func(ours time.Time) time.Time { return ours }},
		{"the parent's is earlier", soon, time.Hour, func(time.Time) time.Time { return parentDeadline }},
		{"the parent has none", context.Background(), time.Hour, func(ours time.Time) time.Time { return ours }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newRequestScope(c.parent, "x", c.timeout)
			got, ok := s.Deadline()
			if want := c.want(s.deadline); !ok || !got.Equal(want) {
				t.Fatalf("Deadline() = %v, %v; want %v", got, ok, want)
			}
			// The armed context agrees.
			armed, _ := s.arm().Deadline()
			if !armed.Equal(got) {
				t.Fatalf("armed deadline %v, Deadline() %v", armed, got)
			}
		})
	}
}

// A context derived from the scope is cancelled with it, and finds the
// scope's cancellation cause.
func TestRequestScopeDerived(t *testing.T) {
	s := newRequestScope(context.Background(), "x", time.Hour)
	child, cancel := context.WithCancel(context.WithValue(s, struct{}{}, 1))
	defer cancel()
	s.end()
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the derived context was not cancelled with the scope")
	}
	if err := context.Cause(child); !errors.Is(err, context.Canceled) {
		t.Fatalf("cause %v", err)
	}
}

func TestRequestScopeGeneratesIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s := newRequestScope(context.Background(), "", time.Hour)
		if !validRequestID(s.id) || len(s.id) != 32 {
			t.Fatalf("generated id %q", s.id)
		}
		if seen[s.id] {
			t.Fatalf("id %q made twice", s.id)
		}
		seen[s.id] = true
		if s.idHeader[0] != s.id {
			t.Fatalf("header value %q, id %q", s.idHeader[0], s.id)
		}
	}
}
