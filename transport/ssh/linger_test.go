package ssh

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
	"github.com/zerosync/zerosync/transport/remote"
)

// lingerRound opens the tree at root through a new transport with opts,
// writes name through it, checks it arrived, and closes everything. It
// returns the transport's counters.
func lingerRound(t *testing.T, f *fixture, root, name string, opts ...Option) Stats {
	t.Helper()
	ctx := context.Background()
	tr := f.transport(t, opts...)
	ep, err := tr.Endpoint(ctx, f.target(), root)
	if err != nil {
		t.Fatal(err)
	}
	content := "written through the agent: " + name
	op := zerosync.Op{Path: name, New: &zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: int64(len(content)), Digest: digest.Sum([]byte(content))}}
	if err := ep.Apply(ctx, op, strings.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(root, name)); err != nil || string(got) != content {
		t.Fatalf("%s on the host: %q, %v", name, got, err)
	}
	if err := ep.Close(); err != nil {
		t.Fatal(err)
	}
	st := tr.Stats()
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestAgentLingers: an agent asked to linger serves the next connection,
// of another transport, through its socket, with no agent started; one
// killed leaves its socket behind, and the next connection starts a new
// agent that takes the socket over; once no session is left, a lingering
// agent ends after its time and removes its socket.
func TestAgentLingers(t *testing.T) {
	f := newFixture(t)
	t.Cleanup(func() { f.killAgents(t) })
	root := newDir(t, "root")
	memo := t.TempDir()
	sock := filepath.Join(f.cache, remote.AgentSocket)

	st := lingerRound(t, f, root, "first", WithAgentLinger(time.Minute, memo), WithLingeringAgents())
	if st.Agents != 1 || st.Lingering != 0 {
		t.Fatalf("first connection: %+v, want one agent started", st)
	}
	if fi, err := os.Lstat(sock); err != nil || fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the agent's socket: %v, %v", fi, err)
	}
	pids := f.agentPIDs(t)
	if len(pids) != 1 {
		t.Fatalf("%d agents run after the first session ended, want the one that lingers", len(pids))
	}

	st = lingerRound(t, f, root, "second", WithAgentLinger(time.Minute, memo), WithLingeringAgents())
	if st.Agents != 0 || st.Lingering != 1 {
		t.Fatalf("second connection: %+v, want the lingering agent", st)
	}
	if now := f.agentPIDs(t); len(now) != 1 || now[0] != pids[0] {
		t.Fatalf("agents %v after the second session, want %v", now, pids)
	}

	// A transport that does not reach lingering agents (a running
	// engine's) starts its own, which leaves the one that lingers alone.
	st = lingerRound(t, f, root, "own", WithAgentLinger(time.Minute, memo))
	if st.Agents != 1 || st.Lingering != 0 {
		t.Fatalf("connection that does not reach lingering agents: %+v", st)
	}
	if now := f.agentPIDs(t); len(now) != 1 || now[0] != pids[0] {
		t.Fatalf("agents %v after a session of its own, want %v", now, pids)
	}

	// A transport that does not ask for lingering starts its own agent,
	// which ends with its session.
	st = lingerRound(t, f, root, "plain")
	if st.Agents != 1 || st.Lingering != 0 {
		t.Fatalf("connection without lingering: %+v", st)
	}

	// Killed, the agent leaves its socket; nothing accepts on it.
	f.killAgents(t)
	waitFor(t, "the agent to end", func() bool { return len(f.agentPIDs(t)) == 0 })
	if _, err := os.Lstat(sock); err != nil {
		t.Fatalf("the killed agent's socket: %v", err)
	}
	st = lingerRound(t, f, root, "third", WithAgentLinger(time.Minute, memo), WithLingeringAgents())
	if st.Agents != 1 || st.Lingering != 0 {
		t.Fatalf("connection after the agent was killed: %+v, want a new agent", st)
	}
	st = lingerRound(t, f, root, "fourth", WithAgentLinger(time.Minute, memo), WithLingeringAgents())
	if st.Agents != 0 || st.Lingering != 1 {
		t.Fatalf("connection to the new agent: %+v, want it lingering", st)
	}

	// One asked to linger for a second is gone after that, and its socket
	// with it.
	f.killAgents(t)
	waitFor(t, "the agent to end", func() bool { return len(f.agentPIDs(t)) == 0 })
	if st := lingerRound(t, f, root, "fifth", WithAgentLinger(time.Second, memo), WithLingeringAgents()); st.Agents != 1 {
		t.Fatalf("fifth connection: %+v, want a new agent", st)
	}
	waitFor(t, "the lingering agent to end", func() bool { return len(f.agentPIDs(t)) == 0 })
	if _, err := os.Lstat(sock); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the socket of an agent that ended: %v", err)
	}
}

// TestSocketMemo: socket paths said by hosts are kept for the next
// process, and a memo file that holds anything else is not believed.
func TestSocketMemo(t *testing.T) {
	dir := t.TempDir()
	good := "/home/u/.cache/zerosync/" + remote.AgentSocket
	m := &socketMemo{dir: dir}
	m.set("u@a:22", good)
	if got := (&socketMemo{dir: dir}).get("u@a:22"); got != good {
		t.Fatalf("remembered %q, want %q", got, good)
	}
	if got := (&socketMemo{}).get("u@a:22"); got != "" {
		t.Fatalf("a memo without a folder remembered %q", got)
	}
	m.set("u@a:22", "")
	if got := (&socketMemo{dir: dir}).get("u@a:22"); got != "" {
		t.Fatalf("forgotten, still %q", got)
	}
	bad := `{"u@a:22": "/tmp/other.sock", "u@b:22": "relative/` + remote.AgentSocket + `", "u@c:22": "/x/../` + remote.AgentSocket + `", "u@d:22": "` + good + `"}`
	if err := os.WriteFile(filepath.Join(dir, memoFile), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	m = &socketMemo{dir: dir}
	for _, k := range []string{"u@a:22", "u@b:22", "u@c:22"} {
		if got := m.get(k); got != "" {
			t.Errorf("%s: believed %q", k, got)
		}
	}
	if got := m.get("u@d:22"); got != good {
		t.Errorf("u@d:22: %q, want %q", got, good)
	}
	if err := os.WriteFile(filepath.Join(dir, memoFile), []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := (&socketMemo{dir: dir}).get("u@d:22"); got != "" {
		t.Errorf("a broken memo file gave %q", got)
	}
}

// FuzzValidSocket: a socket path a host says is believed only when it is
// an absolute, clean path of a socket name this version uses, short enough
// for a socket address, with no control character a log line could carry.
func FuzzValidSocket(f *testing.F) {
	for _, s := range []string{"/home/u/.cache/zerosync/" + remote.AgentSocket, "/" + remote.AgentSocket, "", "relative/" + remote.AgentSocket,
		"/a/../" + remote.AgentSocket, "/a//" + remote.AgentSocket, "/a/" + remote.AgentSocket + "/", "/a\n/" + remote.AgentSocket, "/tmp/other.sock"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if !validSocket(p) {
			return
		}
		if !filepath.IsAbs(p) || filepath.Clean(p) != p || filepath.Base(p) != remote.AgentSocket || len(p) > remote.AgentSocketMax || strings.ContainsAny(p, "\x00\r\n") {
			t.Fatalf("believed %q", p)
		}
	})
}
