package engine

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/state"
	"github.com/zerosync/zerosync/transport/memory"
)

// TestCommitterGroupsInOrder: changes queued while a commit is under way
// go out together in the next transaction, in the order queued, and wait
// returns only once those queued before it are finished.
func TestCommitterGroupsInOrder(t *testing.T) {
	db, err := state.Open(filepath.Join(t.TempDir(), "state.db"))
	require.NoError(t, err)
	defer db.Close()
	release, entered := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var batches [][]string
	c := newCommitter(func(ctx context.Context, cs []state.PairChange) []error {
		mu.Lock()
		var paths []string
		for _, pc := range cs {
			for p := range pc.Change.Base {
				paths = append(paths, pc.Pair.ID()+":"+p)
			}
		}
		batches = append(batches, paths)
		first := len(batches) == 1
		mu.Unlock()
		if first {
			close(entered)
			<-release // hold the first transaction while more queue
		}
		return db.CommitAll(ctx, cs)
	}, nil)
	p, q := db.Pair("p"), db.Pair("q")
	change := func(path, content string) commit {
		return commit{Base: map[string]*zerosync.Entry{path: {Kind: zerosync.KindFile, Mode: 0o644, Size: int64(len(content))}}}
	}
	require.NoError(t, c.add(p, change("one", "1")))
	<-entered
	require.NoError(t, c.add(q, change("two", "22")))
	require.NoError(t, c.add(p, change("one", "333")))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, c.wait(ctx), context.DeadlineExceeded, "wait returned while the first commit was held")
	close(release)
	require.NoError(t, c.wait(context.Background()))
	assert.Equal(t, [][]string{{"p:one"}, {"q:two", "p:one"}}, batches)
	base, err := p.Base(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int64(3), base["one"].Size, "the later change of p went over the earlier one")
	require.NoError(t, c.close())
	assert.ErrorIs(t, c.add(p, change("x", "")), state.ErrClosed)
}

// TestCommitFailureReportedAndRecovered: a change that fails to commit
// behind its cycle wakes the engine; the pair's next cycle reports it and
// reloads its common state; nothing is lost, no conflict comes of it, and
// the next commit that succeeds brings the database up to date.
func TestCommitFailureReportedAndRecovered(t *testing.T) {
	a, b := memory.New(memory.WithName("a")), memory.New(memory.WithName("b"))
	statePath := filepath.Join(t.TempDir(), "state.db")
	e, err := New(Peer{Name: "a", Endpoint: a}, []Peer{{Name: "b", Endpoint: b}}, WithStatePath(statePath))
	require.NoError(t, err)
	require.NoError(t, a.WriteFile("notes.txt", []byte("one\n"), 0o644))
	_, err = e.SyncOnce(context.Background())
	require.NoError(t, err)

	bs := e.pairs[0].store.(*behindStore)
	require.NoError(t, bs.c.wait(context.Background()))
	real := bs.c.commitAll
	disk := errors.New("no space left on device")
	bs.c.commitAll = func(ctx context.Context, cs []state.PairChange) []error {
		errs := make([]error, len(cs))
		for i := range errs {
			errs[i] = disk
		}
		return errs
	}
	require.NoError(t, a.WriteFile("notes.txt", []byte("two\n"), 0o644))
	rep, err := e.SyncOnce(context.Background())
	require.NoError(t, err, "the cycle ends before its change is committed")
	require.Len(t, rep.Applied, 1)
	require.NoError(t, bs.c.wait(context.Background()))
	select {
	case <-e.wake:
	default:
		t.Fatal("the failed commit did not wake the engine")
	}

	bs.c.commitAll = real
	rep, err = e.SyncOnce(context.Background())
	require.ErrorIs(t, err, disk, "the next cycle reports the failure")
	assert.ErrorContains(t, err, "save state")
	assert.Nil(t, e.pairs[0].base, "the common state is read again")

	rep, err = e.SyncOnce(context.Background())
	require.NoError(t, err)
	assert.Empty(t, rep.Conflicts)
	assert.Empty(t, rep.Applied, "both trees already agree")
	require.NoError(t, e.Close())

	db, err := state.Open(statePath)
	require.NoError(t, err)
	defer db.Close()
	base, err := db.Pair("b").Base(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int64(len("two\n")), base["notes.txt"].Size, "the database caught up")
}

// TestCloseReportsCommitFailure: a change that failed behind the last
// cycle is returned by Close when no cycle came after it; the next engine
// on the same state finds both trees in agreement.
func TestCloseReportsCommitFailure(t *testing.T) {
	a, b := memory.New(memory.WithName("a")), memory.New(memory.WithName("b"))
	statePath := filepath.Join(t.TempDir(), "state.db")
	open := func() *Engine {
		e, err := New(Peer{Name: "a", Endpoint: a}, []Peer{{Name: "b", Endpoint: b}}, WithStatePath(statePath))
		require.NoError(t, err)
		return e
	}
	e := open()
	require.NoError(t, a.WriteFile("notes.txt", []byte("one\n"), 0o644))
	_, err := e.SyncOnce(context.Background())
	require.NoError(t, err)
	bs := e.pairs[0].store.(*behindStore)
	require.NoError(t, bs.c.wait(context.Background()))
	disk := errors.New("input/output error")
	bs.c.commitAll = func(ctx context.Context, cs []state.PairChange) []error {
		return []error{disk}
	}
	require.NoError(t, b.WriteFile("notes.txt", []byte("theirs\n"), 0o644))
	_, err = e.SyncOnce(context.Background())
	require.NoError(t, err)
	err = e.Close()
	require.ErrorIs(t, err, disk)
	assert.ErrorContains(t, err, "save state of peer b")

	e = open()
	defer e.Close()
	rep, err := e.SyncOnce(context.Background())
	require.NoError(t, err)
	assert.Empty(t, rep.Conflicts, "the older common state only makes both sides look changed alike")
	assert.Empty(t, rep.Applied)
	got, err := a.ReadFile("notes.txt")
	require.NoError(t, err)
	assert.Equal(t, "theirs\n", string(got))
}
