//go:build mutation_local_leases

package repository

import (
	"context"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
)

// A mutant for the multi-instance tests (TestInvariantsAcrossInstances
// builds the service with -tags mutation_local_leases and expects them to
// fail): the same lease algorithm with the leases kept in this process only,
// as if the cross-instance mechanism were removed. Never built otherwise.
func newLeaseTable(*mongo.Collection) leaseTable { return &memoryLeases{docs: map[string]leaseDoc{}} }

type memoryLeases struct {
	mu   sync.Mutex
	docs map[string]leaseDoc
}

func (m *memoryLeases) insert(_ context.Context, d leaseDoc) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.docs[d.ID]; ok {
		return errLeaseTaken
	}
	m.docs[d.ID] = d
	return nil
}

func (m *memoryLeases) find(_ context.Context, id string) (leaseDoc, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.docs[id]
	return d, ok, nil
}

func (m *memoryLeases) pinsOn(_ context.Context, target string) ([]leaseDoc, error) {
	return m.filter(func(d leaseDoc) bool { return d.Mode == modePin && d.Target == target }), nil
}

func (m *memoryLeases) remove(_ context.Context, id, owner string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d, ok := m.docs[id]; ok && d.Owner == owner {
		delete(m.docs, id)
	}
	return nil
}

func (m *memoryLeases) drop(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.docs, id)
	return nil
}

func (m *memoryLeases) olderThan(_ context.Context, t time.Time) ([]leaseDoc, error) {
	return m.filter(func(d leaseDoc) bool { return d.At.Before(t) }), nil
}

func (m *memoryLeases) filter(keep func(leaseDoc) bool) []leaseDoc {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []leaseDoc
	for _, d := range m.docs {
		if keep(d) {
			out = append(out, d)
		}
	}
	return out
}
