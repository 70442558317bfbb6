package watch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
)

// caller is one Watch call on a Shared, running for a test.
type caller struct {
	t      *testing.T
	cancel context.CancelFunc
	done   chan error
	ready  chan struct{} // closed at the first hint, which must be "ready"

	mu    sync.Mutex
	hints []zerosync.Hint
	// hold, when set, is called by notify before it records a hint.
	hold func()
}

// watchShared starts a Watch call on s. It does not wait for the ready
// hint; see waitReady. The call is stopped when the test ends, if it has
// not been before.
func watchShared(t *testing.T, s *Shared, hold func()) *caller {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	c := &caller{t: t, cancel: cancel, done: make(chan error, 1), ready: make(chan struct{}), hold: hold}
	go func() { c.done <- s.Watch(ctx, c.notify) }()
	t.Cleanup(func() { c.stop() })
	return c
}

func (c *caller) notify(h zerosync.Hint) {
	if c.hold != nil {
		c.hold()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.hints) == 0 {
		if !h.Full || h.Reason != "ready" {
			c.t.Errorf("first hint %+v; want Full with Reason ready", h)
		}
		close(c.ready)
	}
	c.hints = append(c.hints, h)
}

func (c *caller) waitReady() {
	c.t.Helper()
	select {
	case <-c.ready:
	case err := <-c.done:
		c.t.Fatalf("Watch returned %v before it was ready", err)
	case <-time.After(wait):
		c.t.Fatalf("no ready hint within %v", wait)
	}
}

// seen reports whether a hint named p.
func (c *caller) seen(p string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.ContainsFunc(c.hints, func(h zerosync.Hint) bool { return slices.Contains(h.Paths, p) })
}

// waitFor waits up to [wait] for a hint naming p.
func (c *caller) waitFor(p string) {
	c.t.Helper()
	deadline := time.Now().Add(wait)
	for !c.seen(p) {
		if time.Now().After(deadline) {
			c.t.Fatalf("%s not reported within %v", p, wait)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// stop cancels the call and checks that it returns context.Canceled. It
// does nothing the second time.
func (c *caller) stop() {
	c.t.Helper()
	if c.cancel == nil {
		return
	}
	c.cancel()
	c.cancel = nil
	select {
	case err := <-c.done:
		if !errors.Is(err, context.Canceled) {
			c.t.Errorf("Watch returned %v; want context.Canceled", err)
		}
	case <-time.After(wait):
		c.t.Errorf("Watch still running %v after cancellation", wait)
	}
}

// result waits for the call to return by itself.
func (c *caller) result() error {
	c.t.Helper()
	select {
	case err := <-c.done:
		c.cancel = nil
		return err
	case <-time.After(wait):
		c.t.Fatalf("Watch still running after %v", wait)
		return nil
	}
}

func TestSharedOneInstanceForAll(t *testing.T) {
	root := t.TempDir()
	mkdir(t, root, "a/b")
	var asked atomic.Int32
	echo := func(p string) bool {
		if p == "mine" {
			asked.Add(1)
			return true
		}
		return false
	}
	s, err := NewShared(root, Options{Echo: echo})
	if err != nil {
		t.Fatal(err)
	}
	before := inotifyFDs(t)
	var cs []*caller
	for range 50 {
		cs = append(cs, watchShared(t, s, nil))
	}
	for _, c := range cs {
		c.waitReady()
	}
	if n := inotifyFDs(t); n != before+1 {
		t.Fatalf("%d inotify instances for 50 watch calls; want 1", n-before)
	}

	write(t, root, "mine", "an own write")
	write(t, root, "a/b/theirs", "x")
	for _, c := range cs {
		c.waitFor("a/b/theirs")
	}
	// A late caller gets its own ready hint, then what follows.
	late := watchShared(t, s, nil)
	late.waitReady()
	write(t, root, "later", "x")
	late.waitFor("later")

	for _, c := range cs[:25] {
		c.stop()
	}
	write(t, root, "fewer", "x")
	for _, c := range append(cs[25:], late) {
		c.waitFor("fewer")
		if c.seen("mine") {
			t.Error("an echo was reported")
		}
	}
	// Once per batch of events (once, unless the machine is so slow that
	// the file's creation and its write fall in two windows), never once
	// per caller.
	if n := asked.Load(); n == 0 || n >= int32(len(cs)) {
		t.Errorf("Echo asked %d times about one path for %d callers; want it asked per event batch", n, len(cs))
	}
	if n := inotifyFDs(t); n != before+1 {
		t.Errorf("%d inotify instances after some calls returned; want 1", n-before)
	}
	for _, c := range append(cs[25:], late) {
		c.stop()
	}
	// The last call returns only after the instance is released.
	if n := inotifyFDs(t); n != before {
		t.Errorf("%d inotify instances after every call returned; want 0", n-before)
	}

	// A new call starts a new watcher.
	again := watchShared(t, s, nil)
	again.waitReady()
	write(t, root, "again", "x")
	again.waitFor("again")
}

func TestSharedSlowCallerDelaysNoOne(t *testing.T) {
	root := t.TempDir()
	s, err := NewShared(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	var calls atomic.Int32
	slow := watchShared(t, s, func() {
		if calls.Add(1) == 2 { // held in the first hint after ready
			<-release
		}
	})
	fast := watchShared(t, s, nil)
	slow.waitReady()
	fast.waitReady()
	for _, p := range []string{"one", "two", "three"} {
		write(t, root, p, "x")
		fast.waitFor(p)
	}
	once.Do(func() { close(release) })
	for _, p := range []string{"one", "two", "three"} {
		slow.waitFor(p)
	}
}

func TestSharedWatcherError(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	mkdir(t, root, "")
	s, err := NewShared(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := watchShared(t, s, nil), watchShared(t, s, nil)
	a.waitReady()
	b.waitReady()
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*caller{a, b} {
		if err := c.result(); !errors.Is(err, zerosync.ErrRootMissing) {
			t.Fatalf("Watch returned %v; want an error wrapping ErrRootMissing", err)
		}
	}
	mkdir(t, root, "")
	c := watchShared(t, s, nil)
	c.waitReady()
	write(t, root, "back", "x")
	c.waitFor("back")
}

func TestNewSharedRejectsBadOptions(t *testing.T) {
	for _, opts := range []Options{{Ready: func() {}}, {Poll: -1}, {Debounce: -1}} {
		if _, err := NewShared(t.TempDir(), opts); err == nil {
			t.Errorf("NewShared(%+v) succeeded", opts)
		}
	}
	s, err := NewShared(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Watch(t.Context(), nil); err == nil {
		t.Error("Watch with nil notify succeeded")
	}
}
