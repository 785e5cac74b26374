package repository_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/osms/sports-service/repository"
)

// TestIdempotencyKeysExpireAndAreSwept: a running key is reported taken and
// not done; an expired one is free; the sweep deletes expired keys only; an
// abandoned running key is taken over.
func TestIdempotencyKeysExpireAndAreSwept(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	now := time.Now()
	if _, err := s.BeginIdempotent(ctx, "live", "fp", now.Add(time.Hour), time.Hour); err != nil {
		t.Fatal(err)
	}
	held, err := s.BeginIdempotent(ctx, "live", "fp", now.Add(time.Hour), time.Hour)
	if !errors.Is(err, repository.ErrIdempotencyKeyTaken) || held.Done || held.Fingerprint != "fp" {
		t.Fatalf("second begin: %+v, %v; want taken, running", held, err)
	}
	if held, err = s.BeginIdempotent(ctx, "live", "fp", now.Add(time.Hour), 0); err != nil || held.Done {
		t.Fatalf("abandoned running key not taken over: %+v, %v", held, err)
	}
	if _, err := s.BeginIdempotent(ctx, "old", "fp", now.Add(-time.Second), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BeginIdempotent(ctx, "old", "other", now.Add(time.Hour), time.Hour); err != nil {
		t.Fatalf("expired key not free: %v", err)
	}
	if _, err := s.BeginIdempotent(ctx, "gone", "fp", now.Add(-time.Second), time.Hour); err != nil {
		t.Fatal(err)
	}
	n, err := s.SweepIdempotent(ctx, now)
	if err != nil || n != 1 {
		t.Fatalf("sweep deleted %d (%v), want 1: only the expired key", n, err)
	}
	if _, err := s.BeginIdempotent(ctx, "old", "third", now.Add(time.Hour), time.Hour); !errors.Is(err, repository.ErrIdempotencyKeyTaken) {
		t.Fatalf("the sweep deleted a live key: %v", err)
	}
}
