package control_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/control"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/memory"
)

// TestStatusFlushPauseResume: with Run active, status tells the engine's
// and the peer's state; an edit then a flush shows it applied in the
// flush's report; a paused engine refuses a flush, saying so and how to
// resume.
func TestStatusFlushPauseResume(t *testing.T) {
	d := startDaemon(t)
	st, err := d.c.Status(bg)
	require.NoError(t, err)
	assert.Equal(t, "ctl", st.Engine)
	assert.Equal(t, d.dirA, st.Root)
	assert.True(t, st.Running)
	assert.False(t, st.Paused)
	require.Len(t, st.Peers, 1)
	p := st.Peers[0]
	assert.Equal(t, "b", p.Name)
	assert.Equal(t, d.dirB, p.Location)
	assert.Equal(t, control.PeerConnected, p.State)
	assert.False(t, p.LastSync.IsZero())
	assert.Empty(t, p.Error)

	// The flush returns once the edit is synced (its report holds it
	// unless a watcher's cycle carried it first: TestFlushReportsTheEdit).
	writeFile(t, d.dirA, "notes/hello.txt", "hello")
	_, err = d.c.Flush(bg)
	require.NoError(t, err)
	assert.Equal(t, "hello", readFile(d.dirB, "notes/hello.txt"))

	st, err = d.c.Pause(bg)
	require.NoError(t, err)
	assert.True(t, st.Paused)
	_, err = d.c.Flush(bg)
	require.ErrorIs(t, err, zerosync.ErrPaused)
	var ce *control.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 409, ce.Status)
	assert.Equal(t, control.CodePaused, ce.Code)
	assert.Contains(t, ce.Advice, "ctl resume")

	st, err = d.c.Resume(bg)
	require.NoError(t, err)
	assert.False(t, st.Paused)
	_, err = d.c.Flush(bg)
	require.NoError(t, err)
}

// TestFlushReportsTheEdit: with no watcher to race it, the flush's report
// holds the edit made just before.
func TestFlushReportsTheEdit(t *testing.T) {
	d := startDaemon(t, engine.WithWatch(false))
	writeFile(t, d.dirA, "f.txt", "one")
	rep, err := d.c.Flush(bg)
	require.NoError(t, err)
	assert.Equal(t, []string{"theirs create f.txt"}, applied(rep))
	assert.Equal(t, int64(3), rep.Bytes)
	assert.Equal(t, "one", readFile(d.dirB, "f.txt"))
	require.Len(t, rep.Applied, 1)
	require.NotNil(t, rep.Applied[0].New)
	assert.Equal(t, "file", rep.Applied[0].New.Kind)
	assert.Equal(t, "0644", rep.Applied[0].New.Mode)
	assert.Equal(t, "b", rep.Applied[0].Peer, "the report names the pair of each change")
}

// TestPlan: the plan of a paused engine lists what a cycle would do,
// changing nothing.
func TestPlan(t *testing.T) {
	d := startDaemon(t)
	_, err := d.c.Pause(bg)
	require.NoError(t, err)
	writeFile(t, d.dirB, "new.txt", "from b")
	plan, err := d.c.Plan(bg)
	require.NoError(t, err)
	require.Len(t, plan.Peers, 1)
	pp := plan.Peers[0]
	assert.Equal(t, "b", pp.Peer)
	assert.Empty(t, pp.Error)
	require.Len(t, pp.Actions, 1)
	assert.Equal(t, control.Action{Op: "create", Path: "new.txt", Side: "ours", New: pp.Actions[0].New, Reason: pp.Actions[0].Reason, Peer: "b"}, pp.Actions[0])
	assert.Equal(t, "<absent>", readFile(d.dirA, "new.txt"), "a plan changes nothing")
	_, err = d.c.Resume(bg)
	require.NoError(t, err)
}

// TestConflicts: a conflict the chain keeps both ways is listed, shown with
// its versions and their diff, and applied through the API, which syncs it.
func TestConflicts(t *testing.T) {
	d := startDaemon(t, engine.WithWatch(false))
	writeFile(t, d.dirA, "doc.txt", "line 1\nline 2\n")
	_, err := d.c.Flush(bg)
	require.NoError(t, err)
	require.Equal(t, "line 1\nline 2\n", readFile(d.dirB, "doc.txt"))

	_, err = d.c.Pause(bg)
	require.NoError(t, err)
	writeFile(t, d.dirA, "doc.txt", "line 1 from a\nline 2\n")
	writeFile(t, d.dirB, "doc.txt", "line 1 from b\nline 2\n")
	_, err = d.c.Resume(bg)
	require.NoError(t, err)
	rep, err := d.c.Flush(bg)
	require.NoError(t, err)
	if len(rep.Conflicts) > 0 { // else a watcher's cycle met it first
		assert.True(t, rep.Conflicts[0].Review)
	}

	list, err := d.c.Conflicts(bg)
	require.NoError(t, err)
	require.Len(t, list, 1)
	it := list[0]
	assert.Equal(t, "b#1", it.ID)
	assert.Equal(t, control.Path("doc.txt"), it.Path)
	assert.Equal(t, "ours", it.Kept)
	assert.NotEmpty(t, it.CopyPath)

	st, err := d.c.Status(bg)
	require.NoError(t, err)
	assert.Equal(t, 1, st.Conflicts)
	assert.Equal(t, 1, st.Peers[0].Conflicts)

	det, err := d.c.Conflict(bg, "b", it.Number)
	require.NoError(t, err)
	assert.Equal(t, "line 1\nline 2\n", string(det.BaseText))
	assert.Equal(t, "line 1 from a\nline 2\n", string(det.CurrentText))
	assert.Equal(t, "line 1 from b\nline 2\n", string(det.OtherText))
	assert.Contains(t, det.Diff, "+line 1 from a")
	assert.Contains(t, det.Diff, "+line 1 from b")
	assert.Contains(t, det.Diff, "a (in the tree)")
	assert.Contains(t, det.Diff, "b (kept aside)")

	_, err = d.c.Conflict(bg, "b", 99)
	require.ErrorIs(t, err, fs.ErrNotExist)
	_, err = d.c.ApplyConflict(bg, "b", it.Number, control.ApplyRequest{Keep: "both"})
	var ce *control.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, control.CodeBadRequest, ce.Code)

	res, err := d.c.ApplyConflict(bg, "b", it.Number, control.ApplyRequest{Keep: "theirs"})
	require.NoError(t, err)
	assert.Equal(t, control.Path("doc.txt"), res.Path)
	assert.Empty(t, res.SyncError)
	require.NotNil(t, res.Synced)
	assert.Equal(t, "line 1 from b\nline 2\n", readFile(d.dirA, "doc.txt"))
	waitFor(t, "the copy removed everywhere", func() bool {
		return readFile(d.dirA, string(it.CopyPath)) == "<absent>" && readFile(d.dirB, string(it.CopyPath)) == "<absent>"
	})
	list, err = d.c.Conflicts(bg)
	require.NoError(t, err)
	assert.Empty(t, list)

	// A merged version, from a person.
	writeFile(t, d.dirA, "doc.txt", "a again\n")
	writeFile(t, d.dirB, "doc.txt", "b again\n")
	_, err = d.c.Flush(bg)
	require.NoError(t, err)
	list, err = d.c.Conflicts(bg)
	require.NoError(t, err)
	require.Len(t, list, 1)
	res, err = d.c.ApplyConflict(bg, list[0].Peer, list[0].Number, control.ApplyRequest{Merged: []byte("a and b\n")})
	require.NoError(t, err)
	require.NotNil(t, res.Synced)
	assert.Equal(t, "a and b\n", readFile(d.dirA, "doc.txt"))
	assert.Equal(t, "a and b\n", readFile(d.dirB, "doc.txt"))
}

// TestVersions: a version replaced by a sync is listed and restored
// through the API, and the restore reaches the peer.
func TestVersions(t *testing.T) {
	d := startDaemon(t, engine.WithWatch(false))
	writeFile(t, d.dirA, "cfg.txt", "v1")
	_, err := d.c.Flush(bg)
	require.NoError(t, err)
	writeFile(t, d.dirB, "cfg.txt", "v2")
	_, err = d.c.Flush(bg)
	require.NoError(t, err)
	require.Equal(t, "v2", readFile(d.dirA, "cfg.txt"))

	vs, err := d.c.Versions(bg, "cfg.txt")
	require.NoError(t, err)
	require.NotEmpty(t, vs)
	assert.Equal(t, control.Path("cfg.txt"), vs[0].Path)
	assert.Equal(t, int64(2), vs[0].Size)
	all, err := d.c.Versions(bg, "")
	require.NoError(t, err)
	assert.Len(t, all, len(vs))

	res, err := d.c.RestoreVersion(bg, "cfg.txt", vs[0].ID)
	require.NoError(t, err)
	require.NotNil(t, res.Version)
	assert.Equal(t, vs[0].ID, res.Version.ID)
	assert.Equal(t, "v1", readFile(d.dirA, "cfg.txt"))
	assert.Empty(t, res.SyncError)
	assert.Equal(t, "v1", readFile(d.dirB, "cfg.txt"), "the restore was synced")

	_, err = d.c.RestoreVersion(bg, "cfg.txt", "0000000000000000-0000000000000000")
	var ce *control.Error
	require.ErrorAs(t, err, &ce)
	assert.NotEqual(t, 500, ce.Status, "%v", err)
}

// TestAttachDetach: a peer attached through the API syncs without a
// restart, both ways, and stops syncing once detached; its state is kept.
func TestAttachDetach(t *testing.T) {
	d := startDaemon(t)
	writeFile(t, d.dirA, "shared.txt", "everyone")
	_, err := d.c.Flush(bg)
	require.NoError(t, err)
	dirC := filepath.Join(filepath.Dir(d.dirA), "c")
	require.NoError(t, os.Mkdir(dirC, 0o755))
	writeFile(t, dirC, "from-c.txt", "c was here")

	ps, err := d.c.Attach(bg, "c", dirC)
	require.NoError(t, err)
	assert.Equal(t, "c", ps.Name)
	assert.Equal(t, dirC, ps.Location)
	// No flush: the engine syncs the new peer by itself.
	waitFor(t, "the new peer synced", func() bool {
		return readFile(dirC, "shared.txt") == "everyone" && readFile(d.dirB, "from-c.txt") == "c was here"
	})
	waitFor(t, "the new peer's watcher", func() bool {
		st, err := d.c.Status(bg)
		return err == nil && len(st.Peers) == 2 && st.Peers[1].Watched && st.Peers[1].State == control.PeerConnected
	})
	writeFile(t, dirC, "later.txt", "watched")
	waitFor(t, "an edit on the new peer synced by its watcher", func() bool { return readFile(d.dirA, "later.txt") == "watched" })

	_, err = d.c.Attach(bg, "c", dirC)
	require.ErrorIs(t, err, engine.ErrPeerExists)
	require.NoError(t, os.Mkdir(filepath.Join(d.dirA, "sub"), 0o755))
	_, err = d.c.Attach(bg, "inside", filepath.Join(d.dirA, "sub"))
	var ce *control.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, control.CodeAttach, ce.Code)
	assert.Contains(t, ce.Message, "overlap")

	require.NoError(t, d.c.Detach(bg, "c"))
	st, err := d.c.Status(bg)
	require.NoError(t, err)
	require.Len(t, st.Peers, 1)
	writeFile(t, d.dirA, "after.txt", "not for c")
	_, err = d.c.Flush(bg)
	require.NoError(t, err)
	assert.Equal(t, "not for c", readFile(d.dirB, "after.txt"))
	assert.Equal(t, "<absent>", readFile(dirC, "after.txt"), "a detached peer is not synced")

	err = d.c.Detach(bg, "c")
	require.ErrorIs(t, err, fs.ErrNotExist)
	err = d.c.Detach(bg, "b")
	require.ErrorIs(t, err, engine.ErrLastPeer)
}

// TestEvents: the event stream carries a cycle's events as they happen.
func TestEvents(t *testing.T) {
	d := startDaemon(t, engine.WithWatch(false))
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	s, err := d.c.Events(ctx)
	require.NoError(t, err)
	defer s.Close()
	writeFile(t, d.dirA, "evt.txt", "event")
	_, err = d.c.Flush(bg)
	require.NoError(t, err)
	var kinds []string
	for {
		ev, err := s.Next()
		require.NoError(t, err)
		kinds = append(kinds, ev.Kind)
		if ev.Kind == control.EventPlanned {
			assert.Equal(t, "b", ev.Peer)
			assert.Len(t, ev.Planned, 1)
		}
		if ev.Kind == control.EventApplied {
			assert.Equal(t, "b", ev.Peer)
			assert.Equal(t, control.Path("evt.txt"), ev.Action.Path)
		}
		if ev.Kind == control.EventCycleEnd {
			require.NotNil(t, ev.Report)
			require.Len(t, ev.Report.Applied, 1)
			assert.Equal(t, "b", ev.Report.Applied[0].Peer, "the report names the pair of each change")
			break
		}
	}
	assert.Equal(t, []string{control.EventCycleStart, control.EventPlanned, control.EventApplied, control.EventCycleEnd}, kinds)
}

// TestEventsSlowReaderDropped: a reader that does not read is dropped
// while the engine goes on (its flushes return); it then reads what it
// got and a last event saying it was dropped.
func TestEventsSlowReaderDropped(t *testing.T) {
	a, b := memory.New(), memory.New()
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}},
		engine.WithName("ctl"), engine.WithVolatileState(), engine.WithWatch(false))
	require.NoError(t, err)
	defer e.Close()
	d := &daemon{e: e}
	d.serve(t, control.WithEventBuffer(4))
	s, err := d.c.Events(bg)
	require.NoError(t, err)
	defer s.Close()
	// Far more events than the socket's buffers hold, and the reader
	// reads none of them until the cycle is over.
	dir := strings.Repeat("x", 100)
	for i := range 3000 {
		require.NoError(t, a.WriteFile(fmt.Sprintf("%s/f%04d", dir, i), []byte("x"), 0o644))
	}
	_, err = d.c.Flush(bg)
	require.NoError(t, err, "the engine did not wait for the reader")
	var n int
	for {
		_, err := s.Next()
		if err != nil {
			require.ErrorIs(t, err, control.ErrDropped)
			break
		}
		n++
	}
	assert.Less(t, n, 3000)
	fams, err := d.c.Metrics(bg)
	require.NoError(t, err)
	assert.Equal(t, 1.0, counter(t, fams, "zerosync_event_readers_dropped_total", nil), "counted before the last event was written")
}

// TestAdoptAndConfirm: adopt names a peer the engine has; confirm is
// accepted.
func TestAdoptAndConfirm(t *testing.T) {
	d := startDaemon(t)
	require.NoError(t, d.c.Adopt(bg, "b"))
	require.NoError(t, d.c.Adopt(bg, ""))
	err := d.c.Adopt(bg, "nobody")
	require.ErrorIs(t, err, fs.ErrNotExist)
	var ce *control.Error
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, ce.Advice, "ctl status")
	require.NoError(t, d.c.ConfirmDeletions(bg))
	_, err = d.c.Flush(bg)
	require.NoError(t, err)
}

// TestStop: stop makes the daemon's Run return.
func TestStop(t *testing.T) {
	d := startDaemon(t)
	require.NoError(t, d.c.Stop(bg))
	select {
	case err := <-d.runDone:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after stop")
	}
	select {
	case <-d.srv.Stopped():
	default:
		t.Error("Stopped not closed")
	}
	d.runDone <- nil // for the cleanup
}

// TestRunningAndHello: Running tells whether a daemon answers.
func TestRunningAndHello(t *testing.T) {
	d := startDaemon(t)
	assert.True(t, control.Running(bg, "ctl"))
	assert.False(t, control.Running(bg, "other"))
	h, err := d.c.Hello(bg)
	require.NoError(t, err)
	assert.Equal(t, control.Hello{API: control.APIVersion, Engine: "ctl", PID: os.Getpid()}, h)
	_, err = control.Dial(bg, filepath.Join(filepath.Dir(d.path), "other.sock"))
	require.ErrorIs(t, err, control.ErrNotRunning)
}

// TestErrorsAreJSON: an unknown endpoint is a JSON error too.
func TestErrorsAreJSON(t *testing.T) {
	d := startDaemon(t, engine.WithWatch(false))
	conn, err := net.Dial("unix", d.path)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET /v1/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	require.NoError(t, err)
	b, err := io.ReadAll(conn)
	require.NoError(t, err)
	assert.Contains(t, string(b), "404 Not Found")
	assert.Contains(t, string(b), "application/json")
	assert.Contains(t, string(b), `"code":"not-found"`)
}

// TestNoAttacherNoStop: a server built without them refuses attach and
// stop, saying so.
func TestNoAttacherNoStop(t *testing.T) {
	a, b := memory.New(), memory.New()
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}}, engine.WithName("ctl"), engine.WithVolatileState())
	require.NoError(t, err)
	defer e.Close()
	srv, err := control.New(e)
	require.NoError(t, err)
	defer srv.Shutdown(bg)
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	path, err := control.SocketPath("ctl")
	require.NoError(t, err)
	l, err := control.Listen(path)
	require.NoError(t, err)
	go srv.Serve(l)
	c, err := control.Dial(bg, path)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Attach(bg, "c", t.TempDir())
	var ce *control.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, control.CodeUnsupported, ce.Code)
	err = c.Stop(bg)
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, control.CodeUnsupported, ce.Code)
	// Flush runs the cycle itself when Run is not active.
	require.NoError(t, a.WriteFile("f", []byte("f"), 0o644))
	rep, err := c.Flush(bg)
	require.NoError(t, err)
	assert.Len(t, rep.Applied, 1)
}

// TestServeRefusesTCP: only a UNIX socket is served.
func TestServeRefusesTCP(t *testing.T) {
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: memory.New()}, []engine.Peer{{Name: "b", Endpoint: memory.New()}}, engine.WithVolatileState())
	require.NoError(t, err)
	defer e.Close()
	srv, err := control.New(e)
	require.NoError(t, err)
	defer srv.Shutdown(bg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	err = srv.Serve(l)
	require.Error(t, err)
	assert.False(t, errors.Is(err, context.Canceled))
	assert.Contains(t, err.Error(), "UNIX socket")
}
