package engine

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/state"
)

// store is the engine's view of one pair's durable state. The default is
// backed by the embedded database in internal/state; memStore keeps it in
// memory for tests and examples.
type store interface {
	Base(ctx context.Context) (zerosync.Snapshot, error)
	Commit(ctx context.Context, c commit) error
	Body(ctx context.Context, d zerosync.Digest) ([]byte, bool, error)
	AddReview(ctx context.Context, it ReviewItem) (uint64, error)
	Reviews(ctx context.Context) ([]ReviewItem, error)
	RemoveReview(ctx context.Context, id uint64) error
	Journal(ctx context.Context, after uint64, limit int) ([]Record, error)
	// Meta and SetMeta keep small named values of the pair (its binding
	// to its roots); an empty value reads as absent.
	Meta(ctx context.Context, key string) (string, bool, error)
	SetMeta(ctx context.Context, key, value string) error
	// ResetBase forgets the common state, keeping journal and reviews.
	ResetBase(ctx context.Context) error
}

// commit is one durable step of a pair's state.
type commit = state.Change

// Record is one journal entry: a change the engine applied.
type Record = zerosync.Record

// ReviewItem is a conflict waiting for a person.
type ReviewItem = zerosync.ReviewItem

type memStore struct {
	mu      sync.Mutex
	base    zerosync.Snapshot
	bodies  map[zerosync.Digest][]byte
	journal []Record
	reviews []ReviewItem
	nextID  uint64
	meta    map[string]string
}

func newMemStore() *memStore {
	return &memStore{base: zerosync.Snapshot{}, bodies: map[zerosync.Digest][]byte{}, meta: map[string]string{}}
}

func (m *memStore) Meta(ctx context.Context, key string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.meta[key]
	return v, ok, nil
}

func (m *memStore) SetMeta(ctx context.Context, key, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.meta[key] = value
	return nil
}

func (m *memStore) ResetBase(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.base, m.bodies = zerosync.Snapshot{}, map[zerosync.Digest][]byte{}
	return nil
}

func (m *memStore) Base(ctx context.Context) (zerosync.Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.base), nil
}

func (m *memStore) Commit(ctx context.Context, c commit) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for p, e := range c.Base {
		if e == nil {
			delete(m.base, p)
		} else {
			m.base[p] = *e
		}
	}
	maps.Copy(m.bodies, c.Bodies)
	used := map[zerosync.Digest]bool{}
	for _, e := range m.base {
		used[e.Digest] = true
	}
	maps.DeleteFunc(m.bodies, func(d zerosync.Digest, _ []byte) bool { return !used[d] })
	for _, r := range c.Journal {
		r.Seq = uint64(len(m.journal) + 1)
		m.journal = append(m.journal, r)
	}
	return nil
}

func (m *memStore) Body(ctx context.Context, d zerosync.Digest) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.bodies[d]
	return b, ok, nil
}

func (m *memStore) AddReview(ctx context.Context, it ReviewItem) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	it.ID = m.nextID
	m.reviews = append(m.reviews, it)
	return it.ID, nil
}

func (m *memStore) Reviews(ctx context.Context) ([]ReviewItem, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.reviews), nil
}

func (m *memStore) RemoveReview(ctx context.Context, id uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reviews = slices.DeleteFunc(m.reviews, func(it ReviewItem) bool { return it.ID == id })
	return nil
}

func (m *memStore) Journal(ctx context.Context, after uint64, limit int) ([]Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Record
	for _, r := range m.journal {
		if r.Seq > after && (limit <= 0 || len(out) < limit) {
			out = append(out, r)
		}
	}
	return out, nil
}
