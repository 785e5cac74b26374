//go:build noembed

// Package embeddeddb is empty in binaries built with the noembed tag (the
// container image, which always runs against a real MongoDB).
package embeddeddb

import (
	"context"
	"log/slog"
)

// Available reports whether this binary was built with the embedded database.
const Available = false

// DB is never created in a noembed build.
type DB struct{}

// Start always fails in a noembed build.
func Start(string, *slog.Logger) (*DB, error) { return nil, ErrNotBuiltIn }

// StartAt always fails in a noembed build.
func StartAt(string, string, *slog.Logger) (*DB, error) { return nil, ErrNotBuiltIn }

// URI is empty.
func (*DB) URI() string { return "" }

// Stop does nothing.
func (*DB) Stop(context.Context) error { return nil }

// Lookups is never created in a noembed build.
type Lookups struct{}

// OpenLookups always fails in a noembed build.
func OpenLookups(string, string) (*Lookups, error) { return nil, ErrNotBuiltIn }

// Close does nothing.
func (*Lookups) Close() error { return nil }

// Index fails in a noembed build.
func (*Lookups) Index(context.Context, string, ...string) error { return ErrNotBuiltIn }

// IndexArray fails in a noembed build.
func (*Lookups) IndexArray(context.Context, string, string) error { return ErrNotBuiltIn }

// Equal fails in a noembed build.
func (*Lookups) Equal(context.Context, string, string, any, int) ([]string, error) {
	return nil, ErrNotBuiltIn
}

// Contains fails in a noembed build.
func (*Lookups) Contains(context.Context, string, string, any, int) ([]string, error) {
	return nil, ErrNotBuiltIn
}

// After fails in a noembed build.
func (*Lookups) After(context.Context, string, string, int64, int) ([]string, error) {
	return nil, ErrNotBuiltIn
}

// Count fails in a noembed build.
func (*Lookups) Count(context.Context, string) (int64, error) { return 0, ErrNotBuiltIn }
