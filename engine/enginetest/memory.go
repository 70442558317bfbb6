package enginetest

import (
	"context"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/transport/memory"
)

// Memory is a [Replica] on a memory endpoint. The person's edits go through
// the endpoint's person-side methods, so they wake its watchers at once.
type Memory struct {
	*memory.Endpoint
}

var _ Replica = (*Memory)(nil)

// NewMemory returns a replica on an empty memory tree named name.
func NewMemory(name string) *Memory {
	return &Memory{memory.New(memory.WithName(name))}
}

// Archived returns the data of everything the endpoint archived, conflict
// copies included, oldest first.
func (m *Memory) Archived() [][]byte {
	var out [][]byte
	for _, a := range m.Archive() {
		out = append(out, a.Data)
	}
	return out
}

// Open returns a new handle on the tree ([memory.Endpoint.Handle]): what it
// applies wakes the watchers of the other handles.
func (m *Memory) Open(ctx context.Context) (zerosync.Endpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return m.Handle(), nil
}
