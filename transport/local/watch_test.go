//go:build linux

package local

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
)

// watchLog runs Watch and keeps every path it reports.
type watchLog struct {
	mu    sync.Mutex
	paths []string
	full  int
	done  chan error
}

func startWatch(t *testing.T, e *Endpoint, root string) *watchLog {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	w := &watchLog{done: make(chan error, 1)}
	go func() {
		w.done <- e.Watch(ctx, func(h zerosync.Hint) {
			w.mu.Lock()
			w.paths = append(w.paths, h.Paths...)
			if h.Full {
				w.full++
			}
			w.mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-w.done; !errors.Is(err, context.Canceled) {
			t.Errorf("Watch returned %v, want context.Canceled", err)
		}
	})
	// The watcher is ready once a probe written now is reported.
	for i := 0; ; i++ {
		probe := "probe" + strconv.Itoa(i)
		writeFile(t, filepath.Join(root, probe), nil, 0o644)
		if w.waitFor(probe, 200*time.Millisecond) {
			return w
		}
		if i == 50 {
			t.Fatal("the watcher reports nothing")
		}
	}
}

// waitFor waits until p has been reported, for at most d.
func (w *watchLog) waitFor(p string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if w.seen(p) {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return w.seen(p)
}

func (w *watchLog) seen(p string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Contains(w.paths, p)
}

// barrier makes a person's edit and waits until it is reported: every
// event before it has then been delivered (or dropped as an echo).
func (w *watchLog) barrier(t *testing.T, root, name string) {
	t.Helper()
	writeFile(t, filepath.Join(root, name), []byte(name), 0o644)
	if !w.waitFor(name, 10*time.Second) {
		t.Fatalf("the person's edit of %s was never reported", name)
	}
}

func TestWatchSuppressesOwnWrites(t *testing.T) {
	e, root := newEndpoint(t)
	writeFile(t, filepath.Join(root, "gone"), nil, 0o644)
	w := startWatch(t, e, root)
	ctx := t.Context()

	data := []byte("written by the engine")
	mine := fileEntry(data, 0o644)
	must(t, e.Apply(ctx, zerosync.Op{Path: "mine", New: mine}, bytes.NewReader(data)))
	must(t, e.Apply(ctx, zerosync.Op{Path: "dir", New: &zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o750}}, nil))
	must(t, e.Apply(ctx, zerosync.Op{Path: "dir/link", New: &zerosync.Entry{Kind: zerosync.KindSymlink, Target: "../mine"}}, nil))
	must(t, e.Apply(ctx, zerosync.Op{Path: "gone", Old: fileEntry(nil, 0o644)}, nil))
	w.barrier(t, root, "theirs1")
	for _, p := range []string{"mine", "dir", "dir/link", "gone"} {
		if w.seen(p) {
			t.Errorf("the engine's own write of %s was reported", p)
		}
	}

	// A person's edit after an own write is reported.
	writeFile(t, filepath.Join(root, "mine"), []byte("edited by a person"), 0o644)
	if !w.waitFor("mine", 10*time.Second) {
		t.Fatal("a person's edit of a path the engine wrote was not reported")
	}
}

func TestWatchReportsPersonsEdits(t *testing.T) {
	e, root := newEndpoint(t)
	w := startWatch(t, e, root)
	must(t, os.Mkdir(filepath.Join(root, "d"), 0o755))
	writeFile(t, filepath.Join(root, "d", "new"), []byte("x"), 0o644)
	for _, p := range []string{"d", "d/new"} {
		if !w.waitFor(p, 10*time.Second) {
			t.Fatalf("%s was not reported", p)
		}
	}
	writeFile(t, filepath.Join(root, ".zerosync", "state"), []byte("x"), 0o644)
	w.barrier(t, root, "after")
	if w.seen(".zerosync") || w.seen(".zerosync/state") {
		t.Fatal("a reserved path was reported")
	}
}

func TestEchoNeedsAWatcher(t *testing.T) {
	// Without a running watcher nothing is remembered, so nothing grows.
	e, _ := newEndpoint(t)
	data := []byte("x")
	for i := range 100 {
		p := "f" + strconv.Itoa(i)
		must(t, e.Apply(t.Context(), zerosync.Op{Path: p, New: fileEntry(data, 0o644)}, bytes.NewReader(data)))
	}
	e.mu.Lock()
	n := len(e.echoes)
	e.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d echoes remembered without a watcher", n)
	}
}
