package main

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/osms/sports-service/handlers"
)

// setup is the start-up work the instance must finish before it reports
// ready: the indexes (the unique ones are what keep ids and usernames
// unique) and the first admin of ADMIN_USERNAME, so that a client that waits
// for readiness can sign in as that admin at once. Both run in the
// background, retried until the database answers.
type setup struct {
	mu      sync.Mutex
	pending []string
}

// begin records that task started; the returned done records its end.
func (s *setup) begin(task string) (done func()) {
	s.mu.Lock()
	s.pending = append(s.pending, task)
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if i := slices.Index(s.pending, task); i >= 0 {
				s.pending = slices.Delete(s.pending, i, i+1)
			}
		})
	}
}

// errSetupPending is Ready's answer while a task still runs.
var errSetupPending = errors.New("start-up tasks still running")

// Ready is nil once every task has ended.
func (s *setup) Ready(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) > 0 {
		return errSetupPending
	}
	return nil
}

// Check is the "setup" health component.
func (s *setup) Check(context.Context) handlers.Component {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) == 0 {
		return handlers.Component{Status: handlers.StatusUp, Details: map[string]any{"state": "done"}}
	}
	return handlers.Component{Status: handlers.StatusDown, Details: map[string]any{
		"state": "running", "pending": slices.Clone(s.pending),
	}}
}
