package repository

import (
	"context"
	"sync"
	"time"
)

// memoryLeases keeps the leases in this process. It is the whole guarantee
// only where no other process can write the database: the embedded one,
// whose data directory the service holds locked (Options.Exclusive). There
// the leases cost map operations instead of an insert and a delete in
// SQLite around every write. The multi-instance tests also build it in
// everywhere (leasetable_mutant.go) and expect to fail.
func newMemoryLeases() *memoryLeases { return &memoryLeases{docs: map[string]leaseDoc{}} }

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
