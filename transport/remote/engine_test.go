package remote

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/local"
)

// scanDir scans a directory on this host.
func scanDir(t testing.TB, root string) zerosync.Snapshot {
	t.Helper()
	ep, err := local.New(root)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	s, _, err := ep.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sameTrees(t testing.TB, a, b string) {
	t.Helper()
	sa, sb := scanDir(t, a), scanDir(t, b)
	if len(sa) != len(sb) {
		t.Fatalf("%d entries against %d", len(sa), len(sb))
	}
	for p, e := range sa {
		if o := sb.Get(p); !e.Same(o) {
			t.Fatalf("%s: %v against %v", p, &e, o)
		}
	}
}

// An engine syncs a directory with one behind an agent: both ways, then a
// cycle with nothing to do costs a few bytes, and an edit of a large file
// travels as a delta.
func TestEngineOverRemote(t *testing.T) {
	mine, theirs := newRoot(t), newRoot(t)
	for i := range 50 {
		writeFile(t, filepath.Join(mine, fmt.Sprintf("mine/f%d.txt", i)), fmt.Appendf(nil, "mine %d\n", i), 0o644)
		writeFile(t, filepath.Join(theirs, fmt.Sprintf("theirs/f%d.txt", i)), fmt.Appendf(nil, "theirs %d\n", i), 0o600)
	}
	big := pattern(8<<20, 11)
	writeFile(t, filepath.Join(theirs, "big.bin"), big, 0o644)
	os.Symlink("theirs/f1.txt", filepath.Join(theirs, "link"))

	cn := connect(t, openLocal, nil)
	rep := cn.endpoint(t, theirs)
	lep, err := local.New(mine)
	if err != nil {
		t.Fatal(err)
	}
	defer lep.Close()
	e, err := engine.New(engine.Peer{Name: "here", Endpoint: lep}, []engine.Peer{{Name: "there", Endpoint: rep}}, engine.WithVolatileState())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := t.Context()
	if _, err := e.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	sameTrees(t, mine, theirs)
	// The next scan brings what the first cycle wrote there; then the tree
	// rests.
	if _, err := e.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}

	before := cn.c.Stats()
	r, err := e.SyncOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	noop := wire(cn.c, before)
	t.Logf("a cycle with nothing to do: %d bytes on the wire", noop)
	if r.Changed() || noop > 1024 {
		t.Fatalf("a cycle with nothing to do changed %v and moved %d bytes", r.Changed(), noop)
	}

	// An edit of the large file here goes there as a delta.
	edited := bytes.Clone(big)
	copy(edited[4<<20:], "an edit in the middle")
	writeFile(t, filepath.Join(mine, "big.bin"), edited, 0o644)
	before = cn.c.Stats()
	if _, err := e.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	moved := wire(cn.c, before)
	t.Logf("an edit of an 8 MiB file: %d bytes on the wire", moved)
	if cn.c.Stats().DeltaFiles != before.DeltaFiles+1 || moved > 256<<10 {
		t.Fatalf("the edit moved %d bytes, %d as deltas", moved, cn.c.Stats().DeltaFiles-before.DeltaFiles)
	}
	sameTrees(t, mine, theirs)
}
