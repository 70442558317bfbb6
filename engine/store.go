package engine

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

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
	// Stage, Staged, StagedContent and Unstage keep the staging area of a
	// staged peer, as [state.Pair] documents them.
	Stage(ctx context.Context, it state.StagedItem, content []byte) (uint64, error)
	Staged(ctx context.Context) ([]state.StagedItem, error)
	StagedContent(ctx context.Context, path string, id uint64) ([]byte, bool, error)
	Unstage(ctx context.Context, path string, id uint64) error
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
	staged  map[string]stagedMem
	// stagedIDs numbers staged items; the stores of one engine share it,
	// so that IDs are unique among its peers.
	stagedIDs *atomic.Uint64
}

type stagedMem struct {
	it      state.StagedItem
	content []byte
}

func newMemStore(ids *atomic.Uint64) *memStore {
	return &memStore{base: zerosync.Snapshot{}, bodies: map[zerosync.Digest][]byte{}, meta: map[string]string{},
		staged: map[string]stagedMem{}, stagedIDs: ids}
}

func (m *memStore) Stage(ctx context.Context, it state.StagedItem, content []byte) (uint64, error) {
	if err := zerosync.ValidPath(it.Path); err != nil {
		return 0, err
	}
	it.Held = content != nil
	if it.Held && (it.Theirs == nil || it.Theirs.Kind != zerosync.KindFile || int64(len(content)) != it.Theirs.Size) {
		return 0, fmt.Errorf("content given for %s of %d bytes", it.Theirs, len(content))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	it.ID = m.stagedIDs.Add(1)
	m.staged[it.Path] = stagedMem{it: it, content: bytes.Clone(content)}
	return it.ID, nil
}

func (m *memStore) Staged(ctx context.Context) ([]state.StagedItem, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []state.StagedItem
	for _, p := range slices.Sorted(maps.Keys(m.staged)) {
		out = append(out, m.staged[p].it)
	}
	return out, nil
}

func (m *memStore) StagedContent(ctx context.Context, path string, id uint64) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.staged[path]
	if !ok || s.it.ID != id || !s.it.Held {
		return nil, false, nil
	}
	return append([]byte{}, s.content...), true, nil
}

func (m *memStore) Unstage(ctx context.Context, path string, id uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.staged[path]; ok && s.it.ID == id {
		delete(m.staged, path)
	}
	return nil
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
	maps.Copy(m.base, c.Set)
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
