package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
)

// wantPaths fails t unless got holds exactly want, in order.
func wantPaths(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("paths = %q; want %q", got, want)
	}
}

// wait is how long a test waits for something the watcher should do; it is
// generous because a loaded machine may be slow, and it is never reached
// when the watcher works.
const wait = 5 * time.Second

// session is a watcher running in the background for a test.
type session struct {
	t    *testing.T
	root string
	w    *watcher
	stop context.CancelFunc
	done chan struct{} // closed when run returns
	err  error         // run's result, set before done is closed
	// expectErr is set by result: the test checks the error itself.
	expectErr bool

	mu      sync.Mutex
	hints   []zerosync.Hint
	changed chan struct{} // signalled after each hint
	seen    int           // hints already returned by next
}

// start runs a watcher on root until the test ends, as [Run] does. setup,
// when not nil, is called before the watcher adds its first watch (to
// replace its inotify seams). start returns once the initial watches are in
// place.
func start(t *testing.T, root string, opts Options, setup func(*watcher)) *session {
	t.Helper()
	s := &session{t: t, root: root, done: make(chan struct{}), changed: make(chan struct{}, 1)}
	ready := make(chan struct{})
	opts.Ready = func() { close(ready) }
	w, err := newWatcher(root, opts, s.notify)
	if err != nil {
		t.Fatalf("newWatcher: %v", err)
	}
	s.w = w
	if setup != nil {
		setup(w)
	}
	ctx, cancel := context.WithCancel(t.Context())
	s.stop = cancel
	go func() {
		defer close(s.done)
		defer w.close()
		s.err = w.run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
			if !s.expectErr && !errors.Is(s.err, context.Canceled) {
				t.Errorf("watcher returned %v; want context.Canceled", s.err)
			}
		case <-time.After(wait):
			t.Errorf("watcher still running %v after cancellation", wait)
		}
	})
	select {
	case <-ready:
	case <-s.done:
		t.Fatalf("watcher stopped before it was ready: %v", s.err)
	case <-time.After(wait):
		t.Fatalf("watcher not ready after %v", wait)
	}
	return s
}

func (s *session) notify(h zerosync.Hint) {
	s.mu.Lock()
	s.hints = append(s.hints, h)
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// next returns the hints delivered since the last call, waiting up to
// [wait] for at least one. It fails the test when none comes.
func (s *session) next() []zerosync.Hint {
	s.t.Helper()
	deadline := time.After(wait)
	for {
		s.mu.Lock()
		hs := s.hints[s.seen:]
		s.seen = len(s.hints)
		s.mu.Unlock()
		if len(hs) > 0 {
			return hs
		}
		select {
		case <-s.changed:
		case <-s.done:
			s.t.Fatalf("watcher stopped: %v", s.err)
		case <-deadline:
			s.t.Fatalf("no hint within %v", wait)
		}
	}
}

// until collects hints until every path in want has been reported, and
// returns all hints collected. It fails the test when that takes longer
// than [wait].
func (s *session) until(want ...string) []zerosync.Hint {
	s.t.Helper()
	missing := make(map[string]bool)
	for _, p := range want {
		missing[p] = true
	}
	var all []zerosync.Hint
	deadline := time.Now().Add(wait)
	for len(missing) > 0 {
		if time.Now().After(deadline) {
			s.t.Fatalf("paths %v not reported within %v; hints: %+v", slices.Sorted(maps.Keys(missing)), wait, all)
		}
		hs := s.next()
		all = append(all, hs...)
		for _, h := range hs {
			for _, p := range h.Paths {
				delete(missing, p)
			}
		}
	}
	return all
}

// result waits for the watcher to stop by itself and returns its error.
func (s *session) result() error {
	s.t.Helper()
	s.expectErr = true
	select {
	case <-s.done:
		return s.err
	case <-time.After(wait):
		s.t.Fatalf("watcher still running after %v", wait)
		return nil
	}
}

// count returns how many of hints name path.
func count(hints []zerosync.Hint, path string) int {
	n := 0
	for _, h := range hints {
		if slices.Contains(h.Paths, path) {
			n++
		}
	}
	return n
}

// watched reports whether the inotify instance watches rel.
func (s *session) watched(rel string) bool {
	return slices.Contains(s.w.fs.WatchList(), s.w.abs(rel))
}

// write writes content to rel beneath dir, creating its parents.
func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// mkdir creates rel beneath dir with its parents.
func mkdir(t *testing.T, dir, rel string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(rel)), 0o755); err != nil {
		t.Fatal(err)
	}
}

// logRecorder is a [slog.Handler] that keeps every record, with the
// attributes of the logger that made it, for tests of what is logged.
type logRecorder struct {
	mu      sync.Mutex
	records []string // level, message and attributes of each record
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) Handle(ctx context.Context, rec slog.Record) error {
	return recordWith{r, nil}.Handle(ctx, rec)
}
func (r *logRecorder) WithAttrs(as []slog.Attr) slog.Handler { return recordWith{r, as} }
func (r *logRecorder) WithGroup(string) slog.Handler         { return r }

// recordWith is a logRecorder's handler for a logger with attributes.
type recordWith struct {
	r     *logRecorder
	attrs []slog.Attr
}

func (h recordWith) Enabled(context.Context, slog.Level) bool { return true }
func (h recordWith) WithGroup(string) slog.Handler            { return h }
func (h recordWith) WithAttrs(as []slog.Attr) slog.Handler {
	return recordWith{h.r, append(slices.Clip(h.attrs), as...)}
}

func (h recordWith) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", rec.Level, rec.Message)
	add := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	rec.Attrs(add)
	h.r.mu.Lock()
	h.r.records = append(h.r.records, b.String())
	h.r.mu.Unlock()
	return nil
}

// find returns the records at level whose message contains msg, each as
// its level, message and attributes.
func (r *logRecorder) find(level slog.Level, msg string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.records {
		lv, rest, _ := strings.Cut(rec, " ")
		if lv == level.String() && strings.Contains(rest, msg) {
			out = append(out, rest)
		}
	}
	return out
}

// waitLog waits up to [wait] for a record at level whose message contains
// msg.
func (r *logRecorder) waitLog(t *testing.T, level slog.Level, msg string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for len(r.find(level, msg)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no %v record %q within %v", level, msg, wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// inotifyFDs counts this process's open inotify instances.
func inotifyFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && l == "anon_inode:inotify" {
			n++
		}
	}
	return n
}
