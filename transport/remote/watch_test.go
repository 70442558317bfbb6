package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/transport/memory"
)

// The agent's watcher reports edits on its host; cancelling the watch
// returns ctx.Err().
func TestWatch(t *testing.T) {
	ep, _, root := remoteLocal(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	hints := make(chan zerosync.Hint, 1000)
	done := make(chan error, 1)
	go func() { done <- ep.Watch(ctx, func(h zerosync.Hint) { hints <- h }) }()
	// The watcher starts on the agent in the background: edit until it
	// reports the edited path.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for seen := false; !seen; {
		select {
		case <-tick.C:
			writeFile(t, filepath.Join(root, "watched.txt"), []byte(time.Now().String()), 0o644)
		case h := <-hints:
			seen = h.Full || slices.Contains(h.Paths, "watched.txt")
		case err := <-done:
			t.Fatalf("Watch ended: %v", err)
		case <-deadline:
			t.Fatal("no hint for an edited file within 30s")
		}
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Watch after cancel: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Watch did not return after cancel")
	}
}

// bare has the Endpoint methods only: no optional ability.
type bare struct{ zerosync.Endpoint }

// Optional abilities the agent's endpoint lacks fail with
// errors.ErrUnsupported, without a round trip.
func TestUnsupported(t *testing.T) {
	tree := memory.New()
	tree.WriteFile("f", []byte("x"), 0o644)
	cn := connect(t, func(context.Context, string) (zerosync.Endpoint, error) { return bare{tree}, nil }, nil)
	ep := cn.endpoint(t, "/mem")
	before := cn.c.Stats()
	data := []byte("y")
	if err := ep.Watch(t.Context(), func(zerosync.Hint) {}); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Watch: %v", err)
	}
	if err := ep.Copy(t.Context(), "f", zerosync.Op{Path: "g", New: fileEntry([]byte("x"), 0o644)}); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Copy: %v", err)
	}
	if _, err := ep.KeepConflict(t.Context(), "f", *fileEntry(data, 0o644), newBytes(data), "n"); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("KeepConflict: %v", err)
	}
	if after := cn.c.Stats(); after.FramesSent != before.FramesSent {
		t.Fatalf("unsupported calls sent %d frames", after.FramesSent-before.FramesSent)
	}
}

// The memory endpoint works behind the agent too, watch included.
func TestMemoryEndpoint(t *testing.T) {
	tree := memory.New()
	cn := connect(t, func(context.Context, string) (zerosync.Endpoint, error) { return tree, nil }, nil)
	ep := cn.endpoint(t, "/mem")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	hints := make(chan zerosync.Hint, 100)
	go ep.Watch(ctx, func(h zerosync.Hint) { hints <- h })
	data := []byte("hello")
	if err := ep.Apply(ctx, zerosync.Op{Path: "a", New: fileEntry(data, 0o600)}, newBytes(data)); err != nil {
		t.Fatal(err)
	}
	rc, err := ep.Open(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(got) != "hello" {
		t.Fatalf("read %q, %v", got, err)
	}
	deadline := time.After(30 * time.Second)
	for i := 0; ; i++ {
		tree.WriteFile(fmt.Sprintf("p%d", i), []byte("person"), 0o644)
		select {
		case h := <-hints:
			if len(h.Paths) == 0 && !h.Full {
				t.Fatalf("empty hint %+v", h)
			}
			return
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("no hint from the memory endpoint")
		}
	}
}

func TestHintQueue(t *testing.T) {
	q := newHintQueue()
	q.put(zerosync.Hint{Paths: []string{"a", "b"}, Reason: "watch"})
	q.put(zerosync.Hint{Paths: []string{"b", "c"}, Reason: "watch"})
	h, ok := q.take(context.Background())
	if !ok || !slices.Equal(h.Paths, []string{"a", "b", "c"}) || h.Full {
		t.Fatalf("merged hint %+v", h)
	}
	for i := range maxPendingPaths + 1 {
		q.put(zerosync.Hint{Paths: []string{fmt.Sprint(i)}})
	}
	if h, _ := q.take(context.Background()); !h.Full || h.Paths != nil || h.Reason != "overflow" {
		t.Fatalf("overflowing hint %+v", h)
	}
	q.put(zerosync.Hint{Full: true, Reason: "schedule"})
	q.put(zerosync.Hint{Paths: []string{"x"}})
	if h, _ := q.take(context.Background()); !h.Full || h.Paths != nil {
		t.Fatalf("a full hint absorbs paths: %+v", h)
	}
	q.close()
	if _, ok := q.take(context.Background()); ok {
		t.Fatal("take on a closed, empty queue")
	}
	paths := make([]string, 3*maxHintPaths+5)
	for i := range paths {
		paths[i] = fmt.Sprintf("dir/file%06d", i)
	}
	parts := splitHint(zerosync.Hint{Paths: paths, Reason: "watch"})
	var joined []string
	for _, p := range parts {
		if len(p.Paths) > maxHintPaths || len(encodeHint(p)) > hintBudget+maxWirePath+64 {
			t.Fatalf("a part of %d paths, %d bytes", len(p.Paths), len(encodeHint(p)))
		}
		joined = append(joined, p.Paths...)
	}
	if !slices.Equal(joined, paths) || len(parts) < 4 {
		t.Fatalf("split into %d parts that do not rejoin", len(parts))
	}
}
