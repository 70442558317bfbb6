package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
)

func TestRunReportsWrite(t *testing.T) {
	root := t.TempDir()
	mkdir(t, root, "sub/dir") // present at the start: watched by the initial walk
	s := start(t, root, Options{}, nil)

	write(t, root, "hello.txt", "hi")
	hs := s.until("hello.txt")
	for _, h := range hs {
		if h.Full || h.Reason != "watch" {
			t.Errorf("hint %+v; want Reason watch, not Full", h)
		}
		for _, p := range h.Paths {
			if err := zerosync.ValidPath(p); err != nil {
				t.Errorf("hint path: %v", err)
			}
		}
	}

	write(t, root, "sub/dir/deep.txt", "hi")
	s.until("sub/dir/deep.txt")

	if err := os.Remove(filepath.Join(root, "hello.txt")); err != nil {
		t.Fatal(err)
	}
	s.until("hello.txt")
}

func TestRunBurstGivesOneHint(t *testing.T) {
	root := t.TempDir()
	write(t, root, "burst.txt", "")
	// A long window, so that the burst fits in it however slow the machine;
	// the default window is covered with fake time in the batcher tests.
	s := start(t, root, Options{Debounce: 500 * time.Millisecond}, nil)

	// 100 appends through one descriptor: no truncation, so no write waits
	// for the disk.
	f, err := os.OpenFile(filepath.Join(root, "burst.txt"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if _, err := fmt.Fprintln(f, "line", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	write(t, root, "after.txt", "x") // reported after any hint for the burst
	hs := s.until("burst.txt", "after.txt")
	if n := count(hs, "burst.txt"); n != 1 {
		t.Fatalf("burst reported in %d hints; want 1: %+v", n, hs)
	}
}

func TestRunNewNestedDirectory(t *testing.T) {
	root := t.TempDir()
	s := start(t, root, Options{}, nil)

	// The file is written before the watcher can have added watches for b
	// and c: it must be found by listing them. Repeated to meet both orders.
	for i := range 20 {
		a := fmt.Sprintf("a%d", i)
		mkdir(t, root, a+"/b/c")
		write(t, root, a+"/b/c/f", "early")
		s.until(a, a+"/b", a+"/b/c", a+"/b/c/f")

		// c is watched now.
		write(t, root, a+"/b/c/g", "late")
		s.until(a + "/b/c/g")
	}
}

func TestRunMovedInDirectory(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	write(t, outside, "tree/x/y/f", "before")
	s := start(t, root, Options{}, nil)

	if err := os.Rename(filepath.Join(outside, "tree"), filepath.Join(root, "in")); err != nil {
		t.Fatal(err)
	}
	s.until("in", "in/x", "in/x/y", "in/x/y/f")
	write(t, root, "in/x/y/g", "after")
	s.until("in/x/y/g")
}

func TestRunRenamedDirectoryReportsNewPaths(t *testing.T) {
	root := t.TempDir()
	mkdir(t, root, "d/e")
	s := start(t, root, Options{}, nil)

	if err := os.Rename(filepath.Join(root, "d"), filepath.Join(root, "d2")); err != nil {
		t.Fatal(err)
	}
	hs := s.until("d", "d2", "d2/e")
	write(t, root, "d2/e/f", "x")
	hs = append(hs, s.until("d2/e/f")...)
	if n := count(hs, "d/e/f"); n != 0 {
		t.Errorf("a write to d2/e/f was reported under the old name d/e/f: %+v", hs)
	}
	if s.watched("d") || s.watched("d/e") {
		t.Errorf("old names still watched: %q", s.w.fs.WatchList())
	}
	if !s.watched("d2") || !s.watched("d2/e") {
		t.Errorf("new names not watched: %q", s.w.fs.WatchList())
	}
}

func TestRunDropsWatchesOfDirectoriesThatGo(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	mkdir(t, root, "out/sub")
	mkdir(t, root, "gone/sub")
	s := start(t, root, Options{}, nil)
	for _, d := range []string{"out", "out/sub", "gone", "gone/sub"} {
		if !s.watched(d) {
			t.Fatalf("%s not watched at the start: %q", d, s.w.fs.WatchList())
		}
	}

	moved := filepath.Join(outside, "out")
	if err := os.Rename(filepath.Join(root, "out"), moved); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(root, "gone")); err != nil {
		t.Fatal(err)
	}
	// Events are handled in order: once a later write is reported, the
	// rename and the removal have been handled.
	write(t, root, "sentinel", "1")
	hs := s.until("out", "gone", "sentinel")
	for _, d := range []string{"out", "out/sub", "gone", "gone/sub"} {
		if s.watched(d) {
			t.Errorf("%s still watched after it went: %q", d, s.w.fs.WatchList())
		}
	}

	// A write beneath the moved-out tree is not ours to report.
	write(t, moved, "sub/x", "elsewhere")
	write(t, root, "sentinel2", "2")
	hs = append(hs, s.until("sentinel2")...)
	for _, h := range hs {
		for _, p := range h.Paths {
			if strings.HasPrefix(p, "out/") {
				t.Errorf("reported %q after out was moved away", p)
			}
		}
	}
}

func TestRunIgnoresReservedNames(t *testing.T) {
	root := t.TempDir()
	mkdir(t, root, zerosync.StateDirName+"/db")
	mkdir(t, root, "x.zs-conflict-host-1/inner")
	s := start(t, root, Options{}, nil)
	if s.watched(zerosync.StateDirName) || s.watched(zerosync.StateDirName+"/db") || s.watched("x.zs-conflict-host-1") {
		t.Errorf("reserved directories watched: %q", s.w.fs.WatchList())
	}

	write(t, root, zerosync.StateDirName+"/db/state", "1")
	write(t, root, zerosync.TempPrefix+"123", "2")
	write(t, root, "notes.zs-conflict-host-1.txt", "3")
	write(t, root, "sub/"+zerosync.TempPrefix+"456", "4")
	write(t, root, "sub/"+zerosync.StateDirName+"/new/file", "5") // a reserved directory that appears
	write(t, root, "sub/"+zerosync.StateDirName+"/new/file2", "6")
	write(t, root, "after.txt", "7")
	hs := s.until("sub", "after.txt")
	for _, h := range hs {
		for _, p := range h.Paths {
			if zerosync.IsReserved(p) {
				t.Errorf("reserved path %q reported", p)
			}
		}
	}
	if s.watched("sub/" + zerosync.StateDirName) {
		t.Errorf("a reserved directory that appeared is watched: %q", s.w.fs.WatchList())
	}
}

func TestRunEchoDrops(t *testing.T) {
	root := t.TempDir()
	echoed := make(chan string, 100)
	echo := func(p string) bool {
		select {
		case echoed <- p:
		default:
		}
		return p == "mine.txt"
	}
	s := start(t, root, Options{Echo: echo}, nil)

	write(t, root, "mine.txt", "our own write")
	select {
	case p := <-echoed:
		if p != "mine.txt" {
			t.Fatalf("Echo asked about %q; want mine.txt", p)
		}
	case <-time.After(wait):
		t.Fatalf("Echo not called within %v", wait)
	}
	// mine.txt was ready and dropped before other.txt was written, so a
	// hint naming it would come before the one naming other.txt.
	write(t, root, "other.txt", "theirs")
	hs := s.until("other.txt")
	if n := count(hs, "mine.txt"); n != 0 {
		t.Fatalf("echoed path reported: %+v", hs)
	}
}

func TestRunRootRemoved(t *testing.T) {
	for _, how := range []string{"removed", "renamed"} {
		t.Run(how, func(t *testing.T) {
			parent := t.TempDir()
			root := filepath.Join(parent, "root")
			write(t, root, "a/b/file", "x")
			s := start(t, root, Options{}, nil)

			var err error
			if how == "removed" {
				err = os.RemoveAll(root)
			} else {
				err = os.Rename(root, filepath.Join(parent, "elsewhere"))
			}
			if err != nil {
				t.Fatal(err)
			}
			err = s.result()
			if !errors.Is(err, zerosync.ErrRootMissing) {
				t.Fatalf("Run returned %v; want an error wrapping ErrRootMissing", err)
			}
		})
	}
}

func TestRunRootReplaced(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	mkdir(t, root, "")
	h := newHold()
	s := start(t, root, Options{}, h.setup)

	// Hold the watcher inside notify while the root is swapped, so that it
	// sees the root's watch go only after a new directory took its place.
	write(t, root, "first", "1")
	h.wait(t)
	if err := os.Rename(root, filepath.Join(parent, "old")); err != nil {
		t.Fatal(err)
	}
	write(t, root, "new/file", "2")
	h.release()

	for {
		hs := s.next()
		if slices.ContainsFunc(hs, func(h zerosync.Hint) bool { return h.Full }) {
			break
		}
	}
	write(t, root, "new/file2", "3")
	s.until("new/file2")
}

func TestRunRootMissingAtStart(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	write(t, dir, "file", "x")
	for _, root := range []string{filepath.Join(dir, "missing"), file, ""} {
		err := Run(t.Context(), root, Options{}, func(zerosync.Hint) {})
		if !errors.Is(err, zerosync.ErrRootMissing) {
			t.Errorf("Run(%q) = %v; want an error wrapping ErrRootMissing", root, err)
		}
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	root := t.TempDir()
	if err := Run(t.Context(), root, Options{}, nil); err == nil {
		t.Error("Run with nil notify succeeded")
	}
	if err := Run(t.Context(), root, Options{Debounce: -1}, func(zerosync.Hint) {}); err == nil {
		t.Error("Run with negative debounce succeeded")
	}
}

func TestRunReturnsOnCancel(t *testing.T) {
	root := t.TempDir()
	mkdir(t, root, "a/b")
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, root, Options{Ready: func() { close(ready) }}, func(zerosync.Hint) {})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run stopped before it was ready: %v", err)
	case <-time.After(wait):
		t.Fatalf("Run not ready within %v", wait)
	}
	// Keep events coming while cancelling: Run must still stop.
	stopWriting := make(chan struct{})
	writing := make(chan struct{})
	go func() {
		defer close(writing)
		for i := 0; ; i++ {
			select {
			case <-stopWriting:
				return
			default:
			}
			os.WriteFile(filepath.Join(root, "a/b/f"), []byte(fmt.Sprint(i)), 0o644)
		}
	}()
	defer func() { close(stopWriting); <-writing }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v after cancellation; want context.Canceled", err)
		}
	case <-time.After(wait):
		t.Fatalf("Run still running %v after cancellation", wait)
	}
}

func TestRunCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := Run(ctx, t.TempDir(), Options{}, func(zerosync.Hint) {}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v; want context.Canceled", err)
	}
}

func TestRunOverflowAsksForFullScan(t *testing.T) {
	root := t.TempDir()
	write(t, root, "a", "")
	write(t, root, "b", "")
	h := newHold()
	s := start(t, root, Options{}, h.setup)

	// Hold the watcher in notify, then queue more events than inotify keeps.
	write(t, root, "trigger", "")
	h.wait(t)
	limit := queueLimit(t)
	// The watcher may read up to 4096 queued events into its own buffer, and
	// the kernel merges identical consecutive events, hence two files.
	for i := range limit + 8192 {
		name := filepath.Join(root, "ab"[i%2:i%2+1])
		if err := os.Chmod(name, os.FileMode(0o600|(i/2)%2*0o40)); err != nil {
			t.Fatal(err)
		}
	}
	h.release()

	for {
		hs := s.next()
		i := slices.IndexFunc(hs, func(h zerosync.Hint) bool { return h.Full })
		if i >= 0 {
			if hs[i].Reason != "overflow" || len(hs[i].Paths) != 0 {
				t.Fatalf("full hint %+v; want Reason overflow and no paths", hs[i])
			}
			break
		}
	}
	// Watching goes on after the watches are rebuilt.
	write(t, root, "after", "")
	s.until("after")
}

// hold stops a watcher inside its first notify call until released.
type hold struct {
	entered  chan struct{}
	released chan struct{}
	once     sync.Once
	unlock   sync.Once
}

func newHold() *hold {
	return &hold{entered: make(chan struct{}), released: make(chan struct{})}
}

// setup wraps w's notify; it is passed to start.
func (h *hold) setup(w *watcher) {
	notify := w.batch.notify
	w.batch.notify = func(hint zerosync.Hint) {
		h.once.Do(func() {
			close(h.entered)
			<-h.released
		})
		notify(hint)
	}
}

// wait returns once the watcher is held. It must be called after start: a
// test that fails early releases the watcher before it is stopped.
func (h *hold) wait(t *testing.T) {
	t.Helper()
	t.Cleanup(h.release)
	select {
	case <-h.entered:
	case <-time.After(wait):
		t.Fatalf("watcher did not call notify within %v", wait)
	}
}

// release lets the watcher go on.
func (h *hold) release() { h.unlock.Do(func() { close(h.released) }) }

// queueLimit returns the kernel's limit on queued inotify events.
func queueLimit(t *testing.T) int {
	b, err := os.ReadFile("/proc/sys/fs/inotify/max_queued_events")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if _, err := fmt.Sscan(string(b), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// failAfter makes w's add fail with err after n successful calls.
func failAfter(n int, err error) func(*watcher) {
	return func(w *watcher) {
		real := w.add
		calls := 0
		w.add = func(abs string) error {
			calls++
			if calls > n {
				return err
			}
			return real(abs)
		}
	}
}

func TestRunSkipsDirectoryItCannotWatch(t *testing.T) {
	root := t.TempDir()
	mkdir(t, root, "locked/inner")
	mkdir(t, root, "open")
	deny := func(w *watcher) {
		real := w.add
		w.add = func(abs string) error {
			if strings.Contains(abs, "locked") {
				return fmt.Errorf("add: %w", syscall.EACCES)
			}
			return real(abs)
		}
	}
	s := start(t, root, Options{}, deny)
	if s.watched("locked") || s.watched("locked/inner") || !s.watched("open") {
		t.Fatalf("watches %q; want open but not locked", s.w.fs.WatchList())
	}
	write(t, root, "open/f", "x")
	s.until("open/f")
	mkdir(t, root, "locked2") // a directory that appears and cannot be watched
	write(t, root, "open/g", "x")
	s.until("locked2", "open/g")
}

func TestRunSymlinksNotFollowed(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	mkdir(t, outside, "target")
	if err := os.Symlink(filepath.Join(outside, "target"), filepath.Join(root, "old-link")); err != nil {
		t.Fatal(err)
	}
	s := start(t, root, Options{}, nil)
	if err := os.Symlink(filepath.Join(outside, "target"), filepath.Join(root, "new-link")); err != nil {
		t.Fatal(err)
	}
	s.until("new-link")
	write(t, outside, "target/x", "outside")
	write(t, root, "sentinel", "")
	hs := s.until("sentinel")
	for _, h := range hs {
		for _, p := range h.Paths {
			if strings.Contains(p, "link/") {
				t.Errorf("reported %q through a symlink", p)
			}
		}
	}
	if s.watched("old-link") || s.watched("new-link") {
		t.Errorf("symlinks watched: %q", s.w.fs.WatchList())
	}
}

// BenchmarkWriteToNotify measures the latency from writing a new file to
// the notify call naming it, with the default window. p50-ms and p90-ms
// count from the start of the write; p50-after-write-ms from its return, so
// the cost of creating the file on the file system under test is left out.
func BenchmarkWriteToNotify(b *testing.B) {
	root := b.TempDir()
	got := make(chan string, 16)
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, root, Options{Ready: func() { close(ready) }}, func(h zerosync.Hint) {
			for _, p := range h.Paths {
				got <- p
			}
		})
	}()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			b.Errorf("Run: %v", err)
		}
	}()
	<-ready
	var fromStart, fromReturn []time.Duration
	data := []byte("payload\n")
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprint("f", i)
		t0 := time.Now()
		if err := os.WriteFile(filepath.Join(root, name), data, 0o644); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		for p := range got {
			if p == name {
				break
			}
		}
		now := time.Now()
		fromStart = append(fromStart, now.Sub(t0))
		fromReturn = append(fromReturn, now.Sub(t1))
	}
	b.ReportMetric(quantile(fromStart, 0.5), "p50-ms")
	b.ReportMetric(quantile(fromStart, 0.9), "p90-ms")
	b.ReportMetric(quantile(fromReturn, 0.5), "p50-after-write-ms")
}

// quantile returns the q-quantile of ds in milliseconds.
func quantile(ds []time.Duration, q float64) float64 {
	slices.Sort(ds)
	return float64(ds[int(float64(len(ds)-1)*q)]) / float64(time.Millisecond)
}
