package watch

import (
	"context"
	"fmt"
	"testing"

	"github.com/zerosync/zerosync"
)

func TestQueueMerges(t *testing.T) {
	q := newQueue()
	ctx := t.Context()
	q.put(zerosync.Hint{Paths: []string{"b", "a"}, Reason: "watch"})
	q.put(zerosync.Hint{Paths: []string{"a", "c"}, Reason: "poll"})
	h, ok := q.take(ctx, nil)
	if !ok || h.Full || h.Reason != "watch" {
		t.Fatalf("take = %+v, %v; want the paths of both, Reason watch", h, ok)
	}
	wantPaths(t, h.Paths, "b", "a", "c")

	q.put(zerosync.Hint{Full: true, Reason: "ready"})
	q.put(zerosync.Hint{Paths: []string{"x"}, Reason: "watch"})
	q.put(zerosync.Hint{Full: true, Reason: "overflow"})
	if h, _ := q.take(ctx, nil); !h.Full || h.Reason != "ready" || h.Paths != nil {
		t.Fatalf("take = %+v; want the ready hint, which covers what followed it", h)
	}

	q.put(zerosync.Hint{Paths: []string{"x"}, Reason: "watch"})
	q.put(zerosync.Hint{Full: true, Reason: "overflow"})
	if h, _ := q.take(ctx, nil); !h.Full || h.Reason != "overflow" || h.Paths != nil {
		t.Fatalf("take = %+v; want a full hint with Reason overflow", h)
	}

	for i := range maxQueuedPaths + 1 {
		q.put(zerosync.Hint{Paths: []string{fmt.Sprint(i)}, Reason: "watch"})
	}
	if h, _ := q.take(ctx, nil); !h.Full || h.Reason != "overflow" || h.Paths != nil {
		t.Fatalf("take after %d paths = %d paths, %+v; want a full hint", maxQueuedPaths+1, len(h.Paths), h)
	}
}

func TestQueueTakeStops(t *testing.T) {
	q := newQueue()
	stop := make(chan struct{})
	close(stop)
	q.put(zerosync.Hint{Paths: []string{"last"}, Reason: "watch"})
	if h, ok := q.take(t.Context(), stop); !ok || len(h.Paths) != 1 {
		t.Fatalf("take after stop = %+v, %v; want what was put before it", h, ok)
	}
	if _, ok := q.take(t.Context(), stop); ok {
		t.Fatal("take after stop with nothing pending returned a hint")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, ok := q.take(ctx, nil); ok {
		t.Fatal("take with a done context returned a hint")
	}
}
