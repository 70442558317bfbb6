package watch

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/zerosync/zerosync"
)

// fastPoll is the polling interval of these tests.
const fastPoll = 20 * time.Millisecond

// noInstance makes w's inotify instance fail to open as the kernel does
// when the user's limit is reached, every time, or only the first n times
// when n > 0.
func noInstance(n int) func(*watcher) {
	return func(w *watcher) {
		calls := 0
		w.open = func() (*fsnotify.Watcher, error) {
			calls++
			if n > 0 && calls > n {
				return fsnotify.NewWatcher()
			}
			return nil, fmt.Errorf("couldn't initialize inotify: %w", syscall.EMFILE)
		}
	}
}

// both applies setups in order.
func both(setups ...func(*watcher)) func(*watcher) {
	return func(w *watcher) {
		for _, s := range setups {
			s(w)
		}
	}
}

// checkWarnedOnce fails t unless exactly one warning says the watcher
// polls, naming the root, the sysctl of the limit and a command raising it.
func checkWarnedOnce(t *testing.T, rec *logRecorder, root, sysctl string) {
	t.Helper()
	warns := rec.find(slog.LevelWarn, "")
	if len(warns) != 1 {
		t.Fatalf("warnings %q; want one", warns)
	}
	w := warns[0]
	for _, want := range []string{"polling", "root=" + root, "limit=" + sysctl, "raise=sysctl -w " + sysctl + "="} {
		if !strings.Contains(w, want) {
			t.Errorf("warning %q does not contain %q", w, want)
		}
	}
}

// checkPollHints fails t unless every hint in hs has Reason "poll".
func checkPollHints(t *testing.T, hs []zerosync.Hint) {
	t.Helper()
	for _, h := range hs {
		if h.Reason != "poll" {
			t.Errorf("hint %+v; want Reason poll", h)
		}
	}
}

func TestRunPollsWithoutInstance(t *testing.T) {
	root := t.TempDir()
	write(t, root, "old/file", "before")
	write(t, root, "gone", "x")
	rec := &logRecorder{}
	echo := func(p string) bool { return p == "mine" }
	s := start(t, root, Options{Poll: fastPoll, Logger: slog.New(rec), Echo: echo}, noInstance(0))
	checkWarnedOnce(t, rec, root, "fs.inotify.max_user_instances")

	write(t, root, "new", "x")
	checkPollHints(t, s.until("new"))
	write(t, root, "old/file", "after!") // same size, new content
	mkdir(t, root, "d/e")
	write(t, root, "d/e/f", "deep")
	must(t, os.Remove(filepath.Join(root, "gone")))
	checkPollHints(t, s.until("old/file", "d", "d/e", "d/e/f", "gone"))

	write(t, root, "mine", "an own write")
	write(t, root, zerosync.StateDirName+"/state", "reserved")
	write(t, root, "after", "x") // written last: reported in the same poll or a later one
	hs := s.until("after")
	if n := count(hs, "mine"); n != 0 {
		t.Errorf("an echo was reported: %+v", hs)
	}
	for _, h := range hs {
		for _, p := range h.Paths {
			if zerosync.IsReserved(p) {
				t.Errorf("reserved path %q reported", p)
			}
		}
	}
	if n := inotifyFDs(t); n != 0 {
		t.Errorf("%d inotify instances open while polling; want 0", n)
	}
	if warns := rec.find(slog.LevelWarn, ""); len(warns) != 1 {
		t.Errorf("warnings %q; want one", warns)
	}
}

func TestRunPollsWhenFirstWatchesRefused(t *testing.T) {
	root := t.TempDir()
	mkdir(t, root, "a/b/c")
	rec := &logRecorder{}
	s := start(t, root, Options{Poll: fastPoll, Logger: slog.New(rec)}, failAfter(2, syscall.ENOSPC))
	checkWarnedOnce(t, rec, root, "fs.inotify.max_user_watches")
	write(t, root, "a/b/c/deep", "x")
	checkPollHints(t, s.until("a/b/c/deep"))
}

func TestRunPollsWhenLaterWatchRefused(t *testing.T) {
	root := t.TempDir()
	rec := &logRecorder{}
	s := start(t, root, Options{Poll: fastPoll, Logger: slog.New(rec)}, failAfter(1, syscall.ENOSPC))
	if len(rec.find(slog.LevelWarn, "")) != 0 {
		t.Fatal("warned before any watch was refused")
	}
	mkdir(t, root, "new") // its watch is refused
	for {
		hs := s.next()
		if slices.ContainsFunc(hs, func(h zerosync.Hint) bool { return h.Full && h.Reason == "poll" }) {
			break
		}
	}
	checkWarnedOnce(t, rec, root, "fs.inotify.max_user_watches")
	write(t, root, "new/file", "x")
	checkPollHints(t, s.until("new/file"))
}

func TestRunBackToInotify(t *testing.T) {
	root := t.TempDir()
	rec := &logRecorder{}
	retry := func(w *watcher) { w.retry = 50 * time.Millisecond }
	s := start(t, root, Options{Poll: fastPoll, Logger: slog.New(rec)}, both(noInstance(2), retry))
	write(t, root, "while-polling", "x")
	checkPollHints(t, s.until("while-polling"))
	// The first retry fails, the second works.
	rec.waitLog(t, slog.LevelInfo, "inotify available again")
	write(t, root, "watched", "x")
	for _, h := range s.until("watched") {
		if slices.Contains(h.Paths, "watched") && h.Reason != "watch" {
			t.Errorf("hint %+v after inotify came back; want Reason watch", h)
		}
	}
	if n := inotifyFDs(t); n != 1 {
		t.Errorf("%d inotify instances open; want 1", n)
	}
	if warns := rec.find(slog.LevelWarn, ""); len(warns) != 1 {
		t.Errorf("warnings %q; want one", warns)
	}
}

func TestRunPollingRootRemoved(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	write(t, root, "a/file", "x")
	s := start(t, root, Options{Poll: fastPoll}, noInstance(0))
	must(t, os.RemoveAll(root))
	if err := s.result(); !errors.Is(err, zerosync.ErrRootMissing) {
		t.Fatalf("Run returned %v; want an error wrapping ErrRootMissing", err)
	}
}

func TestStampsWalk(t *testing.T) {
	root := t.TempDir()
	write(t, root, "same", "x")
	write(t, root, "edit", "12345")
	write(t, root, "mode", "x")
	write(t, root, "d/inner", "x")
	write(t, root, "gone/a/b", "x")
	must(t, os.Symlink("same", filepath.Join(root, "link")))
	write(t, root, zerosync.StateDirName+"/db", "x")
	s := newStamps()
	walk := func() ([]string, bool) {
		t.Helper()
		changed, full, err := s.walk(t.Context(), root)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(changed)
		return changed, full
	}
	if changed, full := walk(); changed != nil || full {
		t.Fatalf("first walk = %q, %v; want nothing: it only records", changed, full)
	}

	// Same size, and the modification time put back: the change time tells.
	fi, err := os.Stat(filepath.Join(root, "edit"))
	must(t, err)
	write(t, root, "edit", "54321")
	must(t, os.Chtimes(filepath.Join(root, "edit"), fi.ModTime(), fi.ModTime()))
	must(t, os.Chmod(filepath.Join(root, "mode"), 0o600))
	must(t, os.RemoveAll(filepath.Join(root, "gone")))
	must(t, os.Remove(filepath.Join(root, "link")))
	must(t, os.Symlink("mode", filepath.Join(root, "link")))
	must(t, os.Chmod(filepath.Join(root, "d"), 0o700))
	write(t, root, "d/new", "x") // d's times move too, but d is named for its mode
	write(t, root, zerosync.StateDirName+"/db", "changed")
	changed, full := walk()
	wantPaths(t, changed, "d", "d/new", "edit", "gone", "gone/a", "gone/a/b", "link", "mode")
	if full {
		t.Error("full after a few changes")
	}
	if changed, full := walk(); changed != nil || full {
		t.Fatalf("walk without changes = %q, %v; want nothing", changed, full)
	}

	for i := range maxPollPaths + 1 {
		write(t, root, fmt.Sprintf("many/%d", i), "")
	}
	if changed, full := walk(); changed != nil || !full {
		t.Fatalf("walk after %d new paths = %d paths, full %v; want full", maxPollPaths+1, len(changed), full)
	}

	// A directory swapped in at the root's path is a full change.
	must(t, os.Rename(root, root+".old"))
	t.Cleanup(func() { os.RemoveAll(root + ".old") })
	mkdir(t, root, "")
	if _, full := walk(); !full {
		t.Fatal("a replaced root is not a full change")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkPollWalk measures one poll of an unchanged tree of 10,000 files
// in 100 directories: the cost polling adds every interval.
func BenchmarkPollWalk(b *testing.B) {
	root := b.TempDir()
	for d := range 100 {
		dir := filepath.Join(root, fmt.Sprint("d", d))
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range 100 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprint("f", f)), []byte("x"), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	s := newStamps()
	if _, _, err := s.walk(b.Context(), root); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		changed, full, err := s.walk(b.Context(), root)
		if err != nil || full || len(changed) != 0 {
			b.Fatalf("walk = %d paths, %v, %v", len(changed), full, err)
		}
	}
}
