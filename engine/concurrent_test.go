package engine_test

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/memory"
)

// fanout is a hub and n memory spokes, synced once.
func fanout(t *testing.T, n int, wrap func(i int, ep zerosync.Endpoint) zerosync.Endpoint, opts ...engine.Option) (*engine.Engine, *memory.Endpoint, []*memory.Endpoint) {
	t.Helper()
	hub := memory.New(memory.WithName("hub"))
	var spokes []*memory.Endpoint
	var peers []engine.Peer
	for i := range n {
		s := memory.New(memory.WithName(fmt.Sprint("s", i)))
		spokes = append(spokes, s)
		var ep zerosync.Endpoint = s
		if wrap != nil {
			ep = wrap(i, s)
		}
		peers = append(peers, engine.Peer{Name: fmt.Sprint("s", i), Endpoint: ep})
	}
	e, err := engine.New(engine.Peer{Name: "hub", Endpoint: hub}, peers, append([]engine.Option{engine.WithVolatileState()}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	require.NoError(t, hub.WriteFile("start", []byte("0\n"), 0o644))
	syncOK(t, e)
	return e, hub, spokes
}

// has reports whether ep holds path with content.
func has(ep *memory.Endpoint, path, content string) bool {
	got, err := ep.ReadFile(path)
	return err == nil && string(got) == content
}

func TestFanoutSpokeEditReachesAllInOneCycle(t *testing.T) {
	for _, limit := range []int{1, 3, 16} {
		t.Run(fmt.Sprint("pairs=", limit), func(t *testing.T) {
			e, hub, spokes := fanout(t, 8, nil, engine.WithConcurrentPairs(limit))
			require.NoError(t, spokes[5].WriteFile("d/from-s5", []byte("five\n"), 0o644))
			require.NoError(t, hub.WriteFile("from-hub", []byte("hub\n"), 0o644))
			syncOK(t, e)
			assert.True(t, has(hub, "d/from-s5", "five\n"), "the hub has the spoke's edit")
			for i, s := range spokes {
				assert.True(t, has(s, "d/from-s5", "five\n"), "spoke %d has the edit of spoke 5 after one cycle", i)
				assert.True(t, has(s, "from-hub", "hub\n"), "spoke %d has the hub's edit after one cycle", i)
			}
			rep := syncOK(t, e)
			assert.False(t, rep.Changed(), "nothing left for a second cycle: %v", rep.Applied)
		})
	}
}

func TestFanoutEditsOnEverySpokeConverge(t *testing.T) {
	e, hub, spokes := fanout(t, 8, nil)
	for i, s := range spokes {
		require.NoError(t, s.WriteFile(fmt.Sprintf("own/%d", i), []byte(fmt.Sprintln(i)), 0o644))
		// The same path changed on every spoke: conflicts settled one
		// at a time in our tree, every version kept.
		require.NoError(t, s.WriteFile("shared", []byte(fmt.Sprintln("spoke", i)), 0o644))
	}
	for range 3 {
		syncOK(t, e)
	}
	want := hub.Contents()
	for i, s := range spokes {
		assert.Equal(t, want, s.Contents(), "spoke %d", i)
		assert.True(t, has(hub, fmt.Sprintf("own/%d", i), fmt.Sprintln(i)))
	}
	// Every spoke's version of the shared file is still somewhere: a
	// tree or an archive (conflict copies included).
	seen := map[string]bool{}
	for _, ep := range append([]*memory.Endpoint{hub}, spokes...) {
		for _, content := range ep.Contents() {
			seen[content] = true
		}
		for _, a := range ep.Archive() {
			seen[string(a.Data)] = true
		}
	}
	for i := range spokes {
		assert.True(t, seen[fmt.Sprintln("spoke", i)], "the version of spoke %d survives", i)
	}
	rev, err := e.Reviews(context.Background())
	require.NoError(t, err)
	n := 0
	for _, items := range rev {
		n += len(items)
	}
	assert.Equal(t, len(spokes)-1, n, "every spoke's version but the first kept waits for review")
}

// blocking is an endpoint whose Apply or Open waits, once armed, until
// released or until its context ends.
type blocking struct {
	zerosync.Endpoint
	mu      sync.Mutex
	armed   string        // "apply" or "open"; "" when disarmed
	entered chan struct{} // closed when a call blocks
	release chan struct{}
}

func (b *blocking) Unwrap() zerosync.Endpoint { return b.Endpoint }

// arm makes the next call of method wait.
func (b *blocking) arm(method string) {
	b.mu.Lock()
	b.armed, b.entered, b.release = method, make(chan struct{}), make(chan struct{})
	b.mu.Unlock()
}

func (b *blocking) wait(ctx context.Context, method string) error {
	b.mu.Lock()
	armed := b.armed == method
	entered, release := b.entered, b.release
	if armed {
		b.armed = ""
	}
	b.mu.Unlock()
	if !armed {
		return nil
	}
	close(entered)
	select {
	case <-release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *blocking) Apply(ctx context.Context, op zerosync.Op, content io.Reader) error {
	if err := b.wait(ctx, "apply"); err != nil {
		return err
	}
	return b.Endpoint.Apply(ctx, op, content)
}

func (b *blocking) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	if err := b.wait(ctx, "open"); err != nil {
		return nil, err
	}
	return b.Endpoint.Open(ctx, p)
}

// await waits, at most a minute, for cond; what names what it waited for.
func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after a minute for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestFanoutBlockedPeerDelaysNoOther(t *testing.T) {
	slow := &blocking{}
	e, hub, spokes := fanout(t, 8, func(i int, ep zerosync.Endpoint) zerosync.Endpoint {
		if i == 0 {
			slow.Endpoint = ep
			return slow
		}
		return ep
	})
	slow.arm("apply")
	// One edit on the hub, one on a spoke: spoke 0 blocks while the hub's
	// reaches it; the others get both.
	require.NoError(t, hub.WriteFile("from-hub", []byte("hub\n"), 0o644))
	require.NoError(t, spokes[3].WriteFile("from-s3", []byte("three\n"), 0o644))
	type result struct {
		rep zerosync.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := e.SyncOnce(context.Background())
		done <- result{rep, err}
	}()
	<-slow.entered
	await(t, "the other spokes to get both edits while spoke 0 is blocked", func() bool {
		for _, s := range spokes[1:] {
			if !has(s, "from-hub", "hub\n") || !has(s, "from-s3", "three\n") {
				return false
			}
		}
		return has(hub, "from-s3", "three\n")
	})
	select {
	case r := <-done:
		t.Fatalf("the cycle ended while spoke 0 was blocked: %v", r.err)
	default:
	}
	assert.False(t, has(spokes[0], "from-hub", "hub\n") && has(spokes[0], "from-s3", "three\n"), "spoke 0 is still blocked")
	close(slow.release)
	r := <-done
	require.NoError(t, r.err)
	require.Empty(t, r.rep.Problems)
	assert.True(t, has(spokes[0], "from-hub", "hub\n"))
	assert.True(t, has(spokes[0], "from-s3", "three\n"), "the blocked spoke gets the other spoke's edit in the same cycle")
}

func TestFanoutFailingPeerDelaysNoOther(t *testing.T) {
	e, hub, spokes := fanout(t, 8, nil)
	spokes[2].SetMissing(true)
	require.NoError(t, hub.WriteFile("from-hub", []byte("hub\n"), 0o644))
	rep, err := e.SyncOnce(context.Background())
	require.ErrorIs(t, err, zerosync.ErrRootMissing)
	assert.ErrorContains(t, err, "peer s2")
	assert.Empty(t, rep.Problems)
	for i, s := range spokes {
		if i != 2 {
			assert.True(t, has(s, "from-hub", "hub\n"), "spoke %d", i)
		}
	}
	peers, err := e.Peers(context.Background())
	require.NoError(t, err)
	for _, p := range peers {
		if p.Name == "s2" {
			assert.ErrorIs(t, p.Err, zerosync.ErrRootMissing)
		} else {
			assert.NoError(t, p.Err, p.Name)
		}
	}
}

func TestWithConcurrentPairsValidates(t *testing.T) {
	_, err := engine.New(engine.Peer{Endpoint: memory.New()}, []engine.Peer{{Endpoint: memory.New()}},
		engine.WithVolatileState(), engine.WithConcurrentPairs(0))
	assert.ErrorContains(t, err, "concurrent pairs 0 out of range")
}

// TestFanoutBlockedWriterDelaysNoOther: a spoke whose pass writes our tree
// (it has an edit of its own) and then blocks, reading its edit or
// receiving ours, keeps no other spoke from either edit.
func TestFanoutBlockedWriterDelaysNoOther(t *testing.T) {
	for _, c := range []struct {
		method   string
		conflict bool // spoke 0's edit conflicts with the hub's
	}{{"open", false}, {"apply", false}, {"open", true}} {
		method := c.method
		t.Run(fmt.Sprintf("blocks=%s/conflict=%v", method, c.conflict), func(t *testing.T) {
			slow := &blocking{}
			e, hub, spokes := fanout(t, 8, func(i int, ep zerosync.Endpoint) zerosync.Endpoint {
				if i == 0 {
					slow.Endpoint = ep
					return slow
				}
				return ep
			})
			require.NoError(t, hub.WriteFile("from-hub", []byte("hub\n"), 0o644))
			own := "from-s0"
			if c.conflict {
				own = "from-hub"
			}
			require.NoError(t, spokes[0].WriteFile(own, []byte("zero\n"), 0o644))
			require.NoError(t, spokes[3].WriteFile("from-s3", []byte("three\n"), 0o644))
			slow.arm(method)
			done := make(chan error, 1)
			go func() {
				rep, err := e.SyncOnce(context.Background())
				if err == nil && len(rep.Problems) > 0 {
					err = fmt.Errorf("problems: %v", rep.Problems)
				}
				done <- err
			}()
			<-slow.entered
			want := map[string]string{"from-hub": "hub\n", "from-s3": "three\n"}
			if method == "apply" {
				// It wrote its edit into our tree before it blocked.
				want["from-s0"] = "zero\n"
			}
			await(t, "the other spokes to get the edits while spoke 0 is blocked", func() bool {
				for _, s := range spokes[1:] {
					for p, c := range want {
						if !has(s, p, c) {
							return false
						}
					}
				}
				return true
			})
			select {
			case err := <-done:
				t.Fatalf("the cycle ended while spoke 0 was blocked: %v", err)
			default:
			}
			close(slow.release)
			require.NoError(t, <-done)
			final := map[string]string{"from-hub": "hub\n", "from-s0": "zero\n", "from-s3": "three\n"}
			if c.conflict {
				delete(final, "from-s0") // kept as a conflict copy on the hub
				rev, err := e.Reviews(context.Background())
				require.NoError(t, err)
				require.Len(t, rev["s0"], 1)
				assert.Equal(t, "from-hub", rev["s0"][0].Path)
			}
			for i, s := range append([]*memory.Endpoint{hub}, spokes...) {
				for p, c := range final {
					assert.True(t, has(s, p, c), "tree %d has %s after the cycle", i, p)
				}
			}
		})
	}
}
