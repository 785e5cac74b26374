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
