package remote

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/transport/local"
)

// countingEndpoint is a local endpoint that counts the scans asked of it;
// embedding keeps every ability of the endpoint beneath.
type countingEndpoint struct {
	*local.Endpoint
	scans, pathScans atomic.Int64
}

func (c *countingEndpoint) Scan(ctx context.Context) (zerosync.Snapshot, []zerosync.Problem, error) {
	c.scans.Add(1)
	return c.Endpoint.Scan(ctx)
}

func (c *countingEndpoint) ScanPaths(ctx context.Context, paths []string) (zerosync.Snapshot, []zerosync.Problem, error) {
	c.pathScans.Add(1)
	return c.Endpoint.ScanPaths(ctx, paths)
}

// openCounting returns an open function serving counting local endpoints,
// and the endpoint it opened last.
func openCounting(opts ...local.Option) (func(context.Context, string) (zerosync.Endpoint, error), func() *countingEndpoint) {
	var last atomic.Pointer[countingEndpoint]
	open := func(_ context.Context, root string) (zerosync.Endpoint, error) {
		ep, err := local.New(root, opts...)
		if err != nil {
			return nil, err
		}
		c := &countingEndpoint{Endpoint: ep}
		last.Store(c)
		return c, nil
	}
	return open, last.Load
}

// fillTree writes n small files into root, 100 to a folder.
func fillTree(t testing.TB, root string, n int) {
	t.Helper()
	for i := range n {
		writeFile(t, filepath.Join(root, fmt.Sprintf("d%03d/f%05d.txt", i/100, i)), fmt.Appendf(nil, "file %d\n", i), 0o644)
	}
}

// cutDown is the part of s at paths and beneath them.
func cutDown(s zerosync.Snapshot, paths ...string) zerosync.Snapshot {
	out := zerosync.Snapshot{}
	for p, e := range s {
		for _, q := range paths {
			if p == q || strings.HasPrefix(p, q+"/") {
				out[p] = e
			}
		}
	}
	return out
}

func expectSnap(t *testing.T, got, want zerosync.Snapshot) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d entries %v, want %d %v", len(got), slices.Sorted(maps.Keys(got)), len(want), slices.Sorted(maps.Keys(want)))
	}
	for p, e := range want {
		if g := got.Get(p); !e.Same(g) {
			t.Fatalf("%s: %v, want %v", p, g, &e)
		}
	}
}

// A path scan is served by the agent's endpoint's own ScanPaths: it
// touches only the paths named, and what crosses the wire does not grow
// with the tree. An agent or a client that does not speak path scans (an
// older version) gets the same answer from a whole-tree scan, cut down on
// the client.
func TestScanPaths(t *testing.T) {
	for _, c := range []struct {
		name         string
		sopts, copts []Option
		agreed       bool
	}{
		{"both-sides", nil, nil, true},
		{"old-agent", []Option{withoutCaps(capScanPaths)}, nil, false},
		{"old-client", nil, []Option{withoutCaps(capScanPaths)}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := newRoot(t)
			fillTree(t, root, 2000)
			open, served := openCounting()
			cn := connect(t, open, c.sopts, c.copts...)
			ep := cn.endpoint(t, root)
			if got := cn.c.Agent().PathScans; got != c.agreed {
				t.Fatalf("path scans agreed: %v, want %v", got, c.agreed)
			}
			ctx := t.Context()
			full, _, err := ep.Scan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(root, "d003/f00305.txt"), []byte("edited"), 0o644)
			writeFile(t, filepath.Join(root, "d005/new.txt"), []byte("new"), 0o644)
			paths := []string{"d003/f00305.txt", "d005", "gone", "d001/f00100.txt/under-a-file"}
			before := cn.c.Stats()
			got, probs, err := ep.ScanPaths(ctx, paths)
			if err != nil || len(probs) > 0 {
				t.Fatalf("ScanPaths: %v %v", err, probs)
			}
			moved := wire(cn.c, before)
			now := scanDir(t, root)
			expectSnap(t, got, cutDown(now, paths...))
			if got := cutDown(full, "d007"); len(got) != 101 {
				t.Fatalf("the whole tree holds %d entries in d007, want 101", len(got))
			}
			srv := served()
			if c.agreed {
				t.Logf("a path scan of a file and a folder of 101 files: %d bytes on the wire", moved)
				if srv.scans.Load() != 1 || srv.pathScans.Load() != 1 {
					t.Fatalf("the agent's endpoint saw %d scans and %d path scans, want 1 and 1", srv.scans.Load(), srv.pathScans.Load())
				}
				if moved > 16<<10 {
					t.Fatalf("a path scan moved %d bytes", moved)
				}
			} else if srv.scans.Load() != 2 || srv.pathScans.Load() != 0 {
				t.Fatalf("the agent's endpoint saw %d scans and %d path scans, want 2 and 0", srv.scans.Load(), srv.pathScans.Load())
			}
			// A whole-tree scan afterwards is still a diff against the
			// last whole-tree scan.
			before = cn.c.Stats()
			again, _, err := ep.Scan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			expectSnap(t, again, now)
			if moved := wire(cn.c, before); moved > 4<<10 {
				t.Fatalf("the scan after a path scan moved %d bytes", moved)
			}
		})
	}
}

// withoutCaps plays a side of an older version that does not offer caps.
func withoutCaps(caps uint64) Option {
	return func(c *config) error {
		c.withoutCaps |= caps
		return nil
	}
}

// More paths than one request carries travel in several.
func TestScanPathsMany(t *testing.T) {
	root := newRoot(t)
	fillTree(t, root, 5000)
	ep, cn, _ := remoteLocalAt(t, root)
	var paths []string
	for i := range 5000 {
		paths = append(paths, fmt.Sprintf("d%03d/f%05d.txt", i/100, i))
	}
	if n := len(splitPaths(paths)); n < 2 {
		t.Fatalf("%d paths in %d requests", len(paths), n)
	}
	before := cn.c.Stats()
	got, _, err := ep.ScanPaths(t.Context(), paths)
	if err != nil {
		t.Fatal(err)
	}
	expectSnap(t, got, cutDown(scanDir(t, root), paths...))
	if f := cn.c.Stats().FramesSent - before.FramesSent; f < 2 {
		t.Fatalf("%d frames sent", f)
	}
}

func remoteLocalAt(t *testing.T, root string) (*Endpoint, *conn, string) {
	cn := connect(t, openLocal, nil)
	return cn.endpoint(t, root), cn, root
}

// splitPaths keeps every request within its limits and loses no path.
func TestSplitPaths(t *testing.T) {
	long := strings.Repeat("x", maxWirePath)
	var paths []string
	for i := range 3 * maxScanPaths {
		if i%500 == 0 {
			paths = append(paths, long)
		} else {
			paths = append(paths, fmt.Sprintf("p%d", i))
		}
	}
	var all []string
	for _, b := range splitPaths(paths) {
		size := 0
		for _, p := range b {
			size += len(p)
		}
		if len(b) == 0 || len(b) > maxScanPaths || size > scanPathsBudget {
			t.Fatalf("a request of %d paths, %d bytes", len(b), size)
		}
		req := request{typ: tScanPaths, handle: 1, paths: b}
		if _, err := decodeRequest(tScanPaths, req.encode()); err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if !slices.Equal(all, paths) {
		t.Fatal("the requests do not carry the paths in order")
	}
}

// The client refuses a bad path before it is sent; the agent refuses one
// that comes anyway, naming it, and the connection carries on.
func TestScanPathsBadPaths(t *testing.T) {
	ep, cn, root := remoteLocal(t)
	writeFile(t, filepath.Join(root, "f"), []byte("f"), 0o644)
	ctx := t.Context()
	for _, c := range []struct {
		path string
		want error
		text string
	}{
		{"../x", zerosync.ErrInvalidPath, `".." component`},
		{"/etc", zerosync.ErrInvalidPath, "absolute"},
		{"a\x00b", zerosync.ErrInvalidPath, "NUL"},
		{"a//b", zerosync.ErrInvalidPath, ""},
		{".zerosync/state", zerosync.ErrReserved, ".zerosync"},
	} {
		_, _, err := ep.ScanPaths(ctx, []string{"f", c.path})
		expectErr(t, "ScanPaths", err, c.want, c.text)
		// Past the client's check, as a hostile or buggy client would.
		_, _, err = ep.scanPaths(ctx, []string{"f", c.path}, 100)
		expectErr(t, "a scan-paths request", err, c.want, c.text)
		if !strings.Contains(err.Error(), fmt.Sprintf("%q", c.path)) {
			t.Fatalf("the agent's error %q does not name %q", err, c.path)
		}
	}
	if !cn.c.m.alive() {
		t.Fatal("a refused path scan ended the connection")
	}
	if got, _, err := ep.ScanPaths(ctx, []string{"f"}); err != nil || got.Get("f") == nil {
		t.Fatalf("ScanPaths after refusals: %v, %v", got, err)
	}
}

// A client that did not agree to path scans and asks for one anyway breaks
// the protocol; an agent that answers a path scan with something else is
// refused.
func TestHostileScanPaths(t *testing.T) {
	t.Run("client-unagreed", func(t *testing.T) {
		sb := newSandbox(t)
		p, served := fakeClient(t, sb.root, capZstd)
		p.send(tScanPaths, 5, request{typ: tScanPaths, handle: 1, paths: []string{"existing"}}.encode())
		var err error
		select {
		case err = <-served:
		case <-time.After(30 * time.Second):
			t.Fatal("Serve did not end the connection")
		}
		const text = "scan-paths request, but path scans were not agreed"
		expectErr(t, "Serve", err, ErrProtocol, text)
		p.expectGoaway(text)
	})
	t.Run("client-bad-paths", func(t *testing.T) {
		sb := newSandbox(t)
		p, served := fakeClient(t, sb.root, capAll)
		id := uint64(10)
		for _, c := range []struct {
			path string
			want error
		}{
			{"../sentinel", zerosync.ErrInvalidPath},
			{sb.sentinel, zerosync.ErrInvalidPath},
			{"x/../../sentinel", zerosync.ErrInvalidPath},
			{".zerosync/archive", zerosync.ErrReserved},
		} {
			id++
			p.send(tScanPaths, id, request{typ: tScanPaths, handle: 1, paths: []string{"existing", c.path}}.encode())
			p.expectError(id, c.want, fmt.Sprintf("scan %q", c.path))
		}
		p.c.Close()
		if err := <-served; err != nil {
			t.Fatalf("Serve after refused path scans: %v", err)
		}
	})

	file := fileEntry([]byte("x"), 0o644)
	dir := &zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755}
	reply := func(chunks [][]byte, gen, base, count uint64) func(p *rawPeer) {
		return func(p *rawPeer) {
			f := p.next()
			if f.typ != tScanPaths {
				p.t.Errorf("%s request, want scan-paths", f.typ)
				return
			}
			for _, c := range chunks {
				p.send(tScanChunk, f.id, c)
			}
			p.send(tScanEnd, f.id, scanEnd{gen: gen, base: base, count: count}.encode())
		}
	}
	asked := []string{"a", "d", "e/f"}
	for _, c := range []struct {
		name    string
		changes []change
		want    error
		text    string
	}{
		{"not-asked", []change{{"b", file}}, zerosync.ErrInvalidPath, `"b" is not a path asked for`},
		{"beside-asked", []change{{"dd", file}}, zerosync.ErrInvalidPath, "not a path asked for"},
		{"dot-dot", []change{{"d/../x", file}}, zerosync.ErrInvalidPath, `".." component`},
		{"reserved", []change{{"d", dir}, {"d/.zerosync", dir}}, zerosync.ErrReserved, ".zerosync"},
		{"beneath-a-file", []change{{"d", file}, {"d/x", file}}, zerosync.ErrInvalidPath, `parent "d" is a file`},
		{"missing-parent", []change{{"d", dir}, {"d/x/y", file}}, zerosync.ErrInvalidPath, `parent "d/x" is missing`},
		{"asked-missing-parent", []change{{"d/x", file}}, zerosync.ErrInvalidPath, `parent "d" is missing`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, ep := fakeEndpoint(t, reply(encodeChanges(0, c.changes), 0, 0, uint64(len(c.changes))))
			_, _, err := ep.ScanPaths(t.Context(), asked)
			expectErr(t, "ScanPaths", err, c.want, c.text)
		})
	}
	for _, c := range []struct {
		name  string
		agent func(p *rawPeer)
		text  string
	}{
		{"removal", reply(encodeChanges(0, []change{{"a", nil}}), 0, 0, 1), `a path scan removes "a"`},
		{"diff", reply(encodeChanges(3, []change{{"a", file}}), 0, 0, 1), "a path scan is a diff against generation 3"},
		{"generation", reply(nil, 4, 0, 0), "a path scan names generation 4"},
		{"count-lies", reply(encodeChanges(0, []change{{"a", file}}), 0, 0, 2), "counts 2 entries, the chunks held 1"},
		{"wrong-frame", func(p *rawPeer) { p.send(tOpenOK, p.next().id, encodeOpenOK(3)) }, "open-ok frame in a path scan"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, ep := fakeEndpoint(t, c.agent)
			_, _, err := ep.ScanPaths(t.Context(), asked)
			expectErr(t, "ScanPaths", err, ErrProtocol, c.text)
		})
	}
	t.Run("too-many-entries", func(t *testing.T) {
		var cs []change
		for i := range 10 {
			cs = append(cs, change{fmt.Sprintf("a%d", i), file})
		}
		_, ep := fakeEndpoint(t, reply(encodeChanges(0, cs), 0, 0, 10), WithMaxEntries(5))
		_, _, err := ep.ScanPaths(t.Context(), asked)
		expectErr(t, "ScanPaths", err, ErrProtocol, "more than 5 entries")
	})
}

// The client's check of a path scan's answer never panics, and what it
// accepts holds only valid paths asked for or beneath one, each with its
// parent a directory unless it was asked for.
func FuzzPathScanAnswer(f *testing.F) {
	file := fileEntry([]byte("x"), 0o644)
	dir := &zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755}
	for _, cs := range [][]change{
		{{"a", file}, {"d", dir}, {"d/x", file}, {"d/y", sampleLink}},
		{{"b", file}},
		{{"d", file}, {"d/x", file}},
		{{"e/f", dir}, {"e/f/g", dir}, {"e/f/g/h", file}},
	} {
		f.Add(encodeChanges(0, cs)[0])
	}
	asked := []string{"a", "d", "e/f"}
	f.Fuzz(func(t *testing.T, b []byte) {
		dec := snapDecoder{max: 64}
		sub := zerosync.Snapshot{}
		if err := dec.decode(b, nil, func(c change) error { return addScanned(sub, c) }); err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error does not wrap ErrProtocol: %v", err)
			}
			return
		}
		if err := checkScanned(asked, sub); err != nil {
			if !errors.Is(err, zerosync.ErrInvalidPath) && !errors.Is(err, zerosync.ErrReserved) && !strings.Contains(err.Error(), "validate") {
				t.Fatalf("refusal %v names no bad path", err)
			}
			return
		}
		for p := range sub {
			if err := zerosync.CheckPath(p); err != nil {
				t.Fatalf("accepted %q: %v", p, err)
			}
			if !covered(map[string]bool{"a": true, "d": true, "e/f": true}, p) {
				t.Fatalf("accepted %q, which was not asked for", p)
			}
			if slices.Contains(asked, p) {
				continue
			}
			if e, ok := sub[zerosync.Parent(p)]; !ok || e.Kind != zerosync.KindDir {
				t.Fatalf("accepted %q without its folder", p)
			}
		}
	})
}

func FuzzPathScanEnd(f *testing.F) {
	fuzzDecoder(f, [][]byte{scanEnd{count: 3, problems: []zerosync.Problem{{Path: "p", Err: errors.New("e")}}}.encode(), scanEnd{gen: 1}.encode()},
		func(b []byte) (scanEnd, error) { return decodeEnd("path scan end", b, true) }, scanEnd.encode, func(a, b scanEnd) bool {
			return a.gen == b.gen && a.base == b.base && a.count == b.count && len(a.problems) == len(b.problems)
		})
}
