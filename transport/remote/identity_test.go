package remote

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/local"
	"github.com/zerosync/zerosync/transport/memory"
)

// The identity of a root on the agent's host travels both ways: unmarked,
// then marked by the agent's own endpoint, and the same on the next ask.
func TestRootIdentity(t *testing.T) {
	root := newRoot(t)
	cn := connect(t, openLocal, nil, WithName("server1"), WithHost("me@server1"))
	ep := cn.endpoint(t, root)
	if got := ep.Location(); got != (zerosync.Location{Host: "me@server1", Path: root}) {
		t.Fatalf("location %+v", got)
	}
	before, err := ep.RootID(t.Context())
	if err != nil || before.Replica != "" || before.Filesystem == "" {
		t.Fatalf("identity of an unmarked root: %+v, %v", before, err)
	}
	marked, err := ep.MarkRoot(t.Context())
	if err != nil || zerosync.CheckReplicaID(marked.Replica) != nil || marked.Filesystem != before.Filesystem {
		t.Fatalf("marked: %+v, %v", marked, err)
	}
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(zerosync.MarkerPath)))
	if err != nil || strings.TrimSpace(string(b)) != marked.Replica {
		t.Fatalf("marker on the agent's host: %q, %v", b, err)
	}
	again, err := ep.MarkRoot(t.Context())
	if err != nil || again != marked {
		t.Fatalf("marked again: %+v, %v; want %+v", again, err, marked)
	}
	if got, err := ep.RootID(t.Context()); err != nil || got != marked {
		t.Fatalf("identity: %+v, %v; want %+v", got, err, marked)
	}
	// The default host is the connection's name.
	other := connect(t, openLocal, nil, WithName("server2")).endpoint(t, root)
	if got := other.Location(); got != (zerosync.Location{Host: "server2", Path: root}) {
		t.Fatalf("default location %+v", got)
	}
	// A missing root says so across the wire.
	if err := os.Rename(root, root+".gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := ep.RootID(t.Context()); !errors.Is(err, zerosync.ErrRootMissing) && !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("identity of a missing root: %v", err)
	}
}

// plainEndpoint hides every optional ability of its endpoint.
type plainEndpoint struct{ zerosync.Endpoint }

// An endpoint that cannot tell its identity, or an agent that does not
// know the requests, is reported as unsupported, so the engine goes on
// without identity checks.
func TestRootIdentityUnsupported(t *testing.T) {
	t.Run("endpoint", func(t *testing.T) {
		cn := connect(t, func(context.Context, string) (zerosync.Endpoint, error) {
			return plainEndpoint{memory.New()}, nil
		}, nil, WithName("server1"))
		ep := cn.endpoint(t, "/mem")
		_, err := ep.RootID(t.Context())
		expectErr(t, "RootID", err, errors.ErrUnsupported, "identify server1:.: the agent cannot tell the identity of its root")
		_, err = ep.MarkRoot(t.Context())
		expectErr(t, "MarkRoot", err, errors.ErrUnsupported, "mark server1:.")
	})
	t.Run("older-agent", func(t *testing.T) {
		// The agent answers a scan; the identity requests must not reach
		// it first.
		first := make(chan ftype, 1)
		_, ep := fakeEndpoint(t, func(p *rawPeer) {
			f := p.next()
			first <- f.typ
			p.send(tScanEnd, f.id, scanEnd{gen: 1, count: 0}.encode())
		})
		ep.c.caps &^= capIdentity // as an agent that does not offer it
		_, err := ep.RootID(t.Context())
		expectErr(t, "RootID", err, errors.ErrUnsupported, "cannot tell")
		_, err = ep.MarkRoot(t.Context())
		expectErr(t, "MarkRoot", err, errors.ErrUnsupported, "cannot tell")
		if _, _, err := ep.Scan(t.Context()); err != nil {
			t.Fatal(err)
		}
		if typ := <-first; typ != tScan {
			t.Fatalf("the agent was asked %s first", typ)
		}
	})
	t.Run("agent-answers", func(t *testing.T) {
		// A client that asks all the same gets an error frame, and the
		// connection carries on.
		p, served := fakeClientOf(t, func(context.Context, string) (zerosync.Endpoint, error) {
			return plainEndpoint{memory.New()}, nil
		}, "/mem", capAll)
		p.send(tRootID, 5, request{typ: tRootID, handle: 1}.encode())
		p.expectError(5, errors.ErrUnsupported, "root identity")
		p.send(tMarkRoot, 7, request{typ: tMarkRoot, handle: 1}.encode())
		p.expectError(7, errors.ErrUnsupported, "root identity")
		p.send(tRootID, 9, request{typ: tRootID, handle: 99}.encode())
		p.expectError(9, nil, "no open root has handle 99")
		p.c.Close()
		if err := <-served; err != nil {
			t.Fatalf("Serve: %v", err)
		}
	})
}

// A hostile agent's identities are refused before anyone uses them.
func TestHostileAgentIdentity(t *testing.T) {
	for _, c := range []struct {
		name  string
		reply []byte
		mark  bool
		text  string
	}{
		{"bad-replica", encodeRootIDRaw("../../etc", "fs"), false, `replica ID "../../etc" has a character outside`},
		{"long-replica", encodeRootIDRaw(strings.Repeat("a", 65), "fs"), false, "replica: length 65 exceeds the limit of 64"},
		{"control-in-filesystem", encodeRootIDRaw("abc", "fs\x1b[2J"), false, "not printable ASCII at byte 2"},
		{"long-filesystem", encodeRootIDRaw("abc", strings.Repeat("f", 300)), false, "file system: length 300 exceeds the limit of 256"},
		{"trailing-bytes", append(encodeRootIDRaw("abc", "fs"), 0), false, "root identity"},
		{"marked-without-replica", encodeRootIDRaw("", "fs"), true, "marked its root but sent no replica ID"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl, ep := fakeEndpoint(t, func(p *rawPeer) { p.send(tResult, p.next().id, c.reply) })
			var err error
			if c.mark {
				_, err = ep.MarkRoot(t.Context())
			} else {
				_, err = ep.RootID(t.Context())
			}
			expectErr(t, "identity", err, ErrProtocol, c.text)
			<-cl.Done()
		})
	}
}

// encodeRootIDRaw encodes an identity without checking it.
func encodeRootIDRaw(replica, fs string) []byte {
	var e encoder
	e.Str(replica)
	e.Str(fs)
	return e.B
}

// An engine binds a pair to the root behind the agent: the marker is made
// there, and a root replaced by a fresh directory halts the pair with the
// peer's files untouched.
func TestEngineRootReplaced(t *testing.T) {
	mine, theirs := newRoot(t), newRoot(t)
	for _, p := range []string{"a.txt", "b.txt", "dir/c.txt"} {
		writeFile(t, filepath.Join(mine, p), []byte("content of "+p), 0o644)
	}
	state := filepath.Join(t.TempDir(), "state.db")
	lep, err := local.New(mine)
	if err != nil {
		t.Fatal(err)
	}
	defer lep.Close()
	// newEngine connects to a new agent, as after a restart.
	newEngine := func() *engine.Engine {
		rep := connect(t, openLocal, nil, WithName("server1")).endpoint(t, theirs)
		e, err := engine.New(engine.Peer{Name: "here", Endpoint: lep}, []engine.Peer{{Name: "there", Endpoint: rep}}, engine.WithStatePath(state))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	ctx := t.Context()
	e := newEngine()
	for range 2 {
		if rep, err := e.SyncOnce(ctx); err != nil || len(rep.Problems) > 0 {
			t.Fatalf("sync: %v %v", err, rep.Problems)
		}
	}
	e.Close()
	sameTrees(t, mine, theirs)
	if _, err := os.Stat(filepath.Join(theirs, filepath.FromSlash(zerosync.MarkerPath))); err != nil {
		t.Fatalf("no marker behind the agent: %v", err)
	}
	// A fresh file system mounted there: only lost+found.
	if err := os.Rename(theirs, theirs+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(theirs, "lost+found"), 0o700); err != nil {
		t.Fatal(err)
	}
	before := scanDir(t, mine)
	e = newEngine()
	defer e.Close()
	_, err = e.SyncOnce(ctx)
	if !errors.Is(err, zerosync.ErrRootChanged) || !strings.Contains(err.Error(), "server1:"+theirs) {
		t.Fatalf("sync against a replaced root: %v; want ErrRootChanged naming server1:%s", err, theirs)
	}
	t.Logf("halted: %v", err)
	after := scanDir(t, mine)
	if len(after) != len(before) {
		t.Fatalf("this side changed: %d entries, was %d", len(after), len(before))
	}
}
