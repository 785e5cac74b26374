package repository

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"
)

// Errors the store returns, to be tested with errors.Is. The HTTP layer maps
// them to status codes; this package knows nothing of HTTP.
var (
	ErrNotFound       = errors.New("not found")
	ErrConflict       = errors.New("already exists")
	ErrInUse          = errors.New("still referenced")
	ErrBadCredentials = errors.New("wrong username or password")
	ErrUnavailable    = errors.New("database unavailable")
)

// NotFoundError names the missing record.
type NotFoundError struct {
	Kind string
	ID   int64
}

func (e *NotFoundError) Error() string        { return fmt.Sprintf("%s %d not found", e.Kind, e.ID) }
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// ConflictError names the field whose value is already taken.
type ConflictError struct {
	Kind  string
	Field string
	Value any
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("a %s with %s %v already exists", e.Kind, e.Field, e.Value)
}
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// InUseError names the records that still refer to the one being deleted.
type InUseError struct {
	Kind      string
	ID        int64
	Referrers []string
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("%s %d is still referenced by %s", e.Kind, e.ID, strings.Join(e.Referrers, ", "))
}
func (e *InUseError) Is(target error) bool { return target == ErrInUse }

// unavailable wraps err with ErrUnavailable when it means the database could
// not be reached in time, so callers can answer 503 rather than 500.
func unavailable(op string, err error) error {
	if err == nil {
		return nil
	}
	var sel topology.ServerSelectionError
	// A cleared pool means another operation on the same server just
	// failed on the network: the driver answers the calls waiting for a
	// connection with it, carrying neither a network label nor the cause.
	var cleared driver.RetryablePoolError
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		mongo.IsTimeout(err) || mongo.IsNetworkError(err) || errors.As(err, &sel) ||
		errors.Is(err, mongo.ErrClientDisconnected) || errors.As(err, &cleared) && cleared.Retryable() {
		return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
