// Package httpstatus holds what the HTTP layers (the API and the legacy
// mounts) share about status codes beyond net/http's.
package httpstatus

import (
	"context"
	"errors"
)

// ClientClosedRequest is nginx's 499: the client went away before the
// answer was ready. Nobody receives it; it is logged and counted like any
// status, so that a client giving up (wrk stopping, a browser navigating
// away) is neither a server error in error-ratio alerts nor mistaken for the
// database's 503.
const ClientClosedRequest = 499

// ClientGone reports whether the request's context was cancelled because the
// client left: then a database call that failed to get an answer is
// answered ClientClosedRequest, not 503. The driver's error alone cannot
// tell: a call cut short by the client often surfaces as a network error of
// the connection it abandoned.
func ClientGone(ctx context.Context) bool {
	return errors.Is(ctx.Err(), context.Canceled)
}
