package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/osms/sports-service/repository"
)

// sweepInterval is how often expired idempotency keys are deleted: a tenth
// of their lifetime, between a second and an hour. A key is free again the
// moment it expires whatever the sweep (BeginIdempotent checks); the sweep
// only keeps the collection from growing.
func sweepInterval(ttl time.Duration) time.Duration {
	return min(max(ttl/10, time.Second), time.Hour)
}

// sweepIdempotencyKeys deletes expired idempotency keys until ctx ends. The
// embedded FerretDB has no TTL indexes (see repository.SweepIdempotent).
func sweepIdempotencyKeys(ctx context.Context, store *repository.Store, ttl time.Duration, logger *slog.Logger) {
	t := time.NewTicker(sweepInterval(ttl))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n, err := store.SweepIdempotent(ctx, now)
			if err != nil {
				logger.WarnContext(ctx, "sweep idempotency keys", "error", err)
				continue
			}
			if n > 0 {
				logger.DebugContext(ctx, "swept expired idempotency keys", "count", n)
			}
		}
	}
}
