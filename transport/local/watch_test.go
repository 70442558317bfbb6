//go:build linux

package local

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
)

// watchLog runs Watch and keeps every path it reports.
type watchLog struct {
	mu      sync.Mutex
	paths   []string
	reasons map[string]string // the Reason of the last hint naming each path
	full    int
	ready   chan struct{} // closed at the "ready" hint
	done    chan struct{} // closed when Watch returned
	err     error         // what Watch returned, set before done is closed
	stop    func()        // cancels Watch and checks its result; idempotent
}

// runWatch starts Watch on e; it is stopped when the test ends, if it was
// not before.
func runWatch(t *testing.T, e *Endpoint) *watchLog {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	w := &watchLog{done: make(chan struct{}), ready: make(chan struct{}), reasons: map[string]string{}}
	go func() {
		defer close(w.done)
		w.err = e.Watch(ctx, func(h zerosync.Hint) {
			w.mu.Lock()
			w.paths = append(w.paths, h.Paths...)
			for _, p := range h.Paths {
				w.reasons[p] = h.Reason
			}
			if h.Full {
				w.full++
			}
			select {
			case <-w.ready:
			default:
				if h.Reason == "ready" {
					close(w.ready)
				}
			}
			w.mu.Unlock()
		})
	}()
	var once sync.Once
	w.stop = func() {
		once.Do(func() {
			cancel()
			<-w.done
			if !errors.Is(w.err, context.Canceled) {
				t.Errorf("Watch returned %v, want context.Canceled", w.err)
			}
		})
	}
	t.Cleanup(w.stop)
	return w
}

// waitReady waits for the ready hint, for at most 10 s.
func (w *watchLog) waitReady(t *testing.T) {
	t.Helper()
	select {
	case <-w.ready:
	case <-w.done:
		t.Fatalf("Watch returned %v before it was ready", w.err)
	case <-time.After(10 * time.Second):
		t.Fatal("no ready hint within 10s")
	}
}

// reason returns the Reason of the last hint naming p.
func (w *watchLog) reason(p string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reasons[p]
}

func startWatch(t *testing.T, e *Endpoint, root string) *watchLog {
	t.Helper()
	w := runWatch(t, e)
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

func TestWatchCallsShareOneInstance(t *testing.T) {
	// The agent runs one Watch per watch stream, up to 128 of them, which is
	// the kernel's default limit of inotify instances per user.
	e, root := newEndpoint(t)
	before := inotifyFDs(t)
	ws := make([]*watchLog, 128)
	for i := range ws {
		ws[i] = runWatch(t, e)
	}
	for _, w := range ws {
		w.waitReady(t)
	}
	if n := inotifyFDs(t) - before; n != 1 {
		t.Fatalf("%d inotify instances for %d Watch calls on one endpoint; want 1", n, len(ws))
	}

	// Every call hears a person's edit; none hears the engine's own write.
	data := []byte("written by the engine")
	must(t, e.Apply(t.Context(), zerosync.Op{Path: "mine", New: fileEntry(data, 0o644)}, bytes.NewReader(data)))
	for _, w := range ws {
		w.barrier(t, root, "theirs")
		if w.seen("mine") {
			t.Fatal("the engine's own write was reported")
		}
	}

	for _, w := range ws[1:] {
		w.stop()
	}
	if n := inotifyFDs(t) - before; n != 1 {
		t.Errorf("%d inotify instances with one Watch call left; want 1", n)
	}
	ws[0].barrier(t, root, "last")
	ws[0].stop()
	if n := inotifyFDs(t) - before; n != 0 {
		t.Errorf("%d inotify instances after every Watch call returned; want 0", n)
	}
}

// pollChildEnv, when set, holds the root that [TestWatchPollsHelper]
// watches in the child process [TestWatchPollsWhenInstancesRunOut] starts.
const pollChildEnv = "ZEROSYNC_TEST_POLL_CHILD_ROOT"

// TestWatchPollsWhenInstancesRunOut checks that Watch polls when the user
// has no inotify instance left. The limit is per user and shared by all of
// the user's processes, so filling it for the user running the tests would
// break every other watcher of that user on the machine. The test runs
// [TestWatchPollsHelper] in a child process of this test binary as a user
// of its own instead (uid chosen from the process ID, so that concurrent
// runs of this test do not share one), which fills that user's limit and
// watches.
func TestWatchPollsWhenInstancesRunOut(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test must run as root, to start a process as another user")
	}
	uid := uint32(3_000_000_000 + os.Getpid()%1_000_000)
	dir, err := os.MkdirTemp("", "zerosync-poll-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	must(t, os.Chmod(dir, 0o755)) // the test binary in it must be reachable
	self, err := os.Executable()
	must(t, err)
	bin := filepath.Join(dir, "watch.test")
	copyFile(t, self, bin)
	root := filepath.Join(dir, "root")
	writeFile(t, filepath.Join(root, "old/file"), []byte("x"), 0o644)
	for _, p := range []string{root, filepath.Join(root, "old"), filepath.Join(root, "old/file")} {
		must(t, os.Lchown(p, int(uid), int(uid)))
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run=^TestWatchPollsHelper$", "-test.count=1", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), pollChildEnv+"="+root)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the child watching as uid %d failed: %v\n%s", uid, err, out)
	}
	if !strings.Contains(string(out), "polling reported the change") {
		t.Fatalf("the child did not run the helper:\n%s", out)
	}
	t.Logf("child as uid %d:\n%s", uid, out)
}

// TestWatchPollsHelper is the child of [TestWatchPollsWhenInstancesRunOut];
// on its own (without [pollChildEnv]) it does nothing.
func TestWatchPollsHelper(t *testing.T) {
	root := os.Getenv(pollChildEnv)
	if root == "" {
		return
	}
	if os.Geteuid() == 0 {
		t.Fatal("the child runs as root: it would fill root's inotify limit")
	}
	// Take every inotify instance this user may have.
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for {
		fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
		if err != nil {
			if !errors.Is(err, unix.EMFILE) {
				t.Fatalf("inotify_init1: %v", err)
			}
			break
		}
		fds = append(fds, fd)
		if len(fds) > 1<<16 {
			t.Fatal("no inotify limit after 65536 instances")
		}
	}
	// EMFILE is also the open-file limit: make sure it is inotify's.
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatalf("after %d inotify instances no file opens either: %v", len(fds), err)
	}
	f.Close()
	t.Logf("took %d inotify instances; the next one was refused", len(fds))

	var logs lockedBuffer
	e, err := New(root, WithPollInterval(50*time.Millisecond), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	must(t, err)
	defer e.Close()
	w := runWatch(t, e)
	w.waitReady(t)
	for _, want := range []string{"level=WARN", "polling", root, "fs.inotify.max_user_instances", "sysctl -w fs.inotify.max_user_instances="} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log %q does not contain %q", logs.String(), want)
		}
	}

	data := []byte("written by the engine")
	must(t, e.Apply(t.Context(), zerosync.Op{Path: "mine", New: fileEntry(data, 0o644)}, bytes.NewReader(data)))
	writeFile(t, filepath.Join(root, "old/file"), []byte("edited"), 0o644)
	if !w.waitFor("old/file", 30*time.Second) {
		t.Fatal("a change was not reported within 30s of polling")
	}
	if r := w.reason("old/file"); r != "poll" {
		t.Errorf("the change came in a hint with Reason %q; want poll", r)
	}
	w.barrier(t, root, "after")
	if w.seen("mine") {
		t.Error("the engine's own write was reported while polling")
	}
	w.stop()
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings; want one:\n%s", n, logs.String())
	}
	t.Log("polling reported the change")
}

// lockedBuffer is a bytes.Buffer safe for concurrent use, for logs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// copyFile copies the executable src to dst.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	must(t, err)
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	must(t, err)
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatal(err)
	}
	must(t, out.Close())
}

// inotifyFDs counts this process's open inotify instances.
func inotifyFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	must(t, err)
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && l == "anon_inode:inotify" {
			n++
		}
	}
	return n
}
