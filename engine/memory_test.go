package engine

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/transport/memory"
)

// TestShareKeepsEntries: after share, the keys both maps hold are the
// strings of the second map, and no entry of either changed.
func TestShareKeepsEntries(t *testing.T) {
	path := func(s string) string { return strings.Clone(s) }
	s := zerosync.Snapshot{
		path("a"):     {Kind: zerosync.KindDir, Mode: 0o755},
		path("a/one"): {Kind: zerosync.KindFile, Mode: 0o644, Size: 1, Digest: zerosync.Digest{1}},
		path("only"):  {Kind: zerosync.KindSymlink, Target: "x"},
	}
	like := zerosync.Snapshot{
		path("a"):     {Kind: zerosync.KindDir, Mode: 0o700},
		path("a/one"): {Kind: zerosync.KindFile, Mode: 0o600, Size: 2, Digest: zerosync.Digest{2}},
		path("b"):     {Kind: zerosync.KindDir, Mode: 0o755},
	}
	wantS, wantLike := zerosync.Snapshot{}, zerosync.Snapshot{}
	for p, en := range s {
		wantS[p] = en
	}
	for p, en := range like {
		wantLike[p] = en
	}
	share(s, like)
	assert.Equal(t, wantS, s)
	assert.Equal(t, wantLike, like)
	for p := range s {
		for q := range like {
			if p == q {
				assert.Same(t, unsafe.StringData(q), unsafe.StringData(p), "key %q not shared", p)
			}
		}
	}
	share(nil, like) // nothing to do
	share(s, nil)
}

// TestRunReleasesAfterFullCycle: Run gives memory back after a cycle that
// scanned a tree in full, and SyncOnce, a one-shot cycle, does not.
func TestRunReleasesAfterFullCycle(t *testing.T) {
	a, b := memory.New(), memory.New()
	require.NoError(t, a.WriteFile("f.txt", []byte("hello"), 0o644))
	e, err := New(Peer{Name: "a", Endpoint: a}, []Peer{{Name: "b", Endpoint: b}}, WithVolatileState())
	require.NoError(t, err)
	defer e.Close()
	var released atomic.Int32
	e.mem.release = func() { released.Add(1) }

	_, err = e.SyncOnce(t.Context())
	require.NoError(t, err)
	assert.Zero(t, released.Load(), "SyncOnce released memory")

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	deadline := time.Now().Add(10 * time.Second)
	for released.Load() == 0 {
		require.True(t, time.Now().Before(deadline), "Run did not release memory after its first, full, cycle")
		time.Sleep(5 * time.Millisecond)
	}
}
