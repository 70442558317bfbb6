package remote

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/chunk"
	"github.com/zerosync/zerosync/transport/local"
)

// makeTree writes n small files in directories of 100 beneath root.
func makeTree(t testing.TB, root string, n int) {
	t.Helper()
	for i := range n {
		writeFile(t, filepath.Join(root, fmt.Sprintf("d%03d/f%05d.txt", i/100, i)), fmt.Appendf(nil, "content of file %d\n", i), 0o644)
	}
}

// expectSnapshot checks that got is what the agent's own endpoint scans.
func expectSnapshot(t testing.TB, root string, got zerosync.Snapshot) {
	t.Helper()
	ep, err := local.New(root)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	want, _, err := ep.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := diffSnap(want, got); len(d) != 0 {
		t.Fatalf("the client's snapshot differs from the agent's tree at %d paths, first %q", len(d), d[0].path)
	}
}

// A scan that finds nothing new moves a few dozen bytes, whatever the size
// of the tree; changes move as a diff. So too when the agent keeps the
// last scan's sums in a file between scans ([WithSpill]).
func TestIncrementalScan(t *testing.T) {
	t.Run("memory", func(t *testing.T) { testIncrementalScan(t, nil, nil) })
	t.Run("spill", func(t *testing.T) {
		sdir, cdir := t.TempDir(), t.TempDir()
		testIncrementalScan(t, []Option{WithSpill(sdir)}, []Option{WithSpill(cdir)})
		for _, dir := range []string{sdir, cdir} {
			left, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Empty(t, left, "a spilled file has no name")
		}
	})
}

func testIncrementalScan(t *testing.T, sopts, copts []Option) {
	root := newRoot(t)
	const n = 10_000
	makeTree(t, root, n)
	cn := connect(t, openLocal, sopts, copts...)
	ep := cn.endpoint(t, root)
	ctx := t.Context()

	scan := func() (zerosync.Snapshot, int64) {
		t.Helper()
		before := cn.c.Stats()
		s, _, err := ep.Scan(ctx)
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		after := cn.c.Stats()
		return s, after.BytesSent - before.BytesSent + after.BytesReceived - before.BytesReceived
	}
	first, full := scan()
	if len(first) != n+n/100 {
		t.Fatalf("first scan: %d entries, want %d", len(first), n+n/100)
	}
	expectSnapshot(t, root, first)
	t.Logf("first scan of %d entries: %d bytes on the wire", len(first), full)

	second, noop := scan()
	t.Logf("no-op scan: %d bytes on the wire", noop)
	if noop >= 1024 {
		t.Fatalf("a no-op scan of %d entries moved %d bytes", len(first), noop)
	}
	if len(diffSnap(first, second)) != 0 {
		t.Fatal("a no-op scan changed the snapshot")
	}

	// One edit, one new file, one removal: a diff of three entries (and the
	// directories whose times moved).
	writeFile(t, filepath.Join(root, "d050/f05000.txt"), []byte("edited"), 0o644)
	writeFile(t, filepath.Join(root, "d099/new.txt"), []byte("new"), 0o644)
	if err := os.Remove(filepath.Join(root, "d000/f00007.txt")); err != nil {
		t.Fatal(err)
	}
	third, small := scan()
	t.Logf("scan after 3 changes: %d bytes on the wire", small)
	if small >= 2048 {
		t.Fatalf("a scan after three changes moved %d bytes", small)
	}
	expectSnapshot(t, root, third)
	if third.Get("d000/f00007.txt") != nil || third.Get("d099/new.txt") == nil {
		t.Fatal("the diff was not applied")
	}
	// The snapshot handed out before is untouched.
	if first.Get("d000/f00007.txt") == nil || first.Get("d099/new.txt") != nil {
		t.Fatal("applying a diff changed a snapshot already returned")
	}
}

// A scan cancelled after the agent moved on to a new generation leaves the
// client with its old one; the next scan is a whole tree again, and right.
func TestIncrementalScanAfterCancel(t *testing.T) {
	root := newRoot(t)
	makeTree(t, root, 500)
	cn := connect(t, openLocal, nil)
	ep := cn.endpoint(t, root)
	if _, _, err := ep.Scan(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Make the agent's generation move on without the client seeing it.
	st, err := cn.c.start(t.Context(), tScan, request{handle: ep.handle, since: ep.gen})
	if err != nil {
		t.Fatal(err)
	}
	for {
		f, err := st.next(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if f.typ == tScanEnd {
			break
		}
	}
	cn.c.finish(st)
	writeFile(t, filepath.Join(root, "d001/extra"), []byte("x"), 0o600)
	before := cn.c.Stats().BytesReceived
	s, _, err := ep.Scan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := cn.c.Stats().BytesReceived - before; got < 500*30 {
		t.Fatalf("the scan after a lost generation moved %d bytes; want a whole tree", got)
	}
	expectSnapshot(t, root, s)
}

// Scans run alongside each other on one endpoint take turns and agree.
func TestConcurrentScans(t *testing.T) {
	root := newRoot(t)
	makeTree(t, root, 300)
	cn := connect(t, openLocal, nil)
	ep := cn.endpoint(t, root)
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			if i%2 == 0 {
				writeFile(t, filepath.Join(root, fmt.Sprintf("d000/c%d", i)), []byte("c"), 0o644)
			}
			_, _, err := ep.Scan(t.Context())
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s, _, err := ep.Scan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	expectSnapshot(t, root, s)
}

// diffSnap returns the changes that turn old into cur, sorted by path, as
// the agent finds them.
func diffSnap(old, cur zerosync.Snapshot) []change {
	d, _ := diffSums(sumsOf(old), cur)
	return d
}

// TestEntrySumMatchesWire: two entries have the same sum exactly when the
// wire carries them the same, over entries that differ in one field at a
// time (fields the wire does not carry for a kind included).
func TestEntrySumMatchesWire(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 123456789, time.UTC)
	bases := []zerosync.Entry{
		{Kind: zerosync.KindFile, Mode: 0o644, Size: 12, ModTime: t0, Digest: zerosync.Digest{1, 2, 3}},
		{Kind: zerosync.KindDir, Mode: 0o755, ModTime: t0},
		{Kind: zerosync.KindSymlink, Target: "../x", ModTime: t0},
	}
	edits := []func(*zerosync.Entry){
		func(e *zerosync.Entry) {},
		func(e *zerosync.Entry) { e.Mode ^= 0o100 },
		func(e *zerosync.Entry) { e.Mode |= fs.ModeSetuid }, // not carried
		func(e *zerosync.Entry) { e.Size++ },
		func(e *zerosync.Entry) { e.ModTime = e.ModTime.Add(time.Nanosecond) },
		func(e *zerosync.Entry) { e.ModTime = e.ModTime.Add(time.Second) },
		func(e *zerosync.Entry) { e.ModTime = e.ModTime.In(time.FixedZone("x", 3600)) }, // the same instant
		func(e *zerosync.Entry) { e.Digest[31]++ },
		func(e *zerosync.Entry) { e.Target += "y" },
		func(e *zerosync.Entry) { e.Kind = zerosync.KindDir },
	}
	for _, b := range bases {
		for i, edit := range edits {
			e := b
			edit(&e)
			same := sameOnWire(&b, &e)
			require.Equal(t, same, entrySumOf(&b) == entrySumOf(&e), "kind %v, edit %d: same on the wire %v", b.Kind, i, same)
		}
	}
}

// BenchmarkScanStateBytesPerEntry: what the agent keeps per entry of a
// root between whole-tree scans, to answer the next with a diff: the sum
// of each entry by folder and name ("sums", what it keeps; the copies of
// the names and folders counted), against a copy of the snapshot
// ("snapshot", what it kept at first; its path strings, shared with the
// scan's snapshot, not counted).
func BenchmarkScanStateBytesPerEntry(b *testing.B) {
	const n = 100_000
	snap := bigSnapshot(n)
	b.Run("sums", func(b *testing.B) { keptPerEntry(b, len(snap), func() any { return sumsOf(snap) }) })
	b.Run("snapshot", func(b *testing.B) { keptPerEntry(b, len(snap), func() any { return maps.Clone(snap) }) })
}

// keptPerEntry reports the live heap that what keep returns holds, per
// entry of n.
func keptPerEntry(b *testing.B, n int, keep func() any) {
	var kept any
	var ms0, ms1 runtime.MemStats
	for b.Loop() {
		kept = nil
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		kept = keep()
		runtime.GC()
		runtime.ReadMemStats(&ms1)
	}
	runtime.KeepAlive(kept)
	b.ReportMetric(float64(int64(ms1.HeapAlloc)-int64(ms0.HeapAlloc))/float64(n), "B/entry")
}

// BenchmarkLastScanBytesPerEntry: what the client side of an endpoint
// keeps per entry between whole-tree scans, as the base of the next diff:
// the packed snapshot ("packed", paths included), against a copy of the
// snapshot ("map", what it kept before; paths shared, not counted); and
// the time to unpack it, once a whole-tree scan comes.
func BenchmarkLastScanBytesPerEntry(b *testing.B) {
	const n = 100_000
	snap := bigSnapshot(n)
	pack := func(dir string) lastScan {
		l, err := packScan(snap, dir)
		if err != nil {
			b.Fatal(err)
		}
		return l
	}
	b.Run("packed", func(b *testing.B) { keptPerEntry(b, len(snap), func() any { return pack("") }) })
	b.Run("spilled", func(b *testing.B) {
		dir := b.TempDir()
		keptPerEntry(b, len(snap), func() any { return pack(dir) })
	})
	b.Run("map", func(b *testing.B) { keptPerEntry(b, len(snap), func() any { return maps.Clone(snap) }) })
	b.Run("unpack", func(b *testing.B) {
		l := pack("")
		for b.Loop() {
			if _, err := l.unpack(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// sameOnWire reports whether two entries encode the same, the tests'
// reference for entrySumOf: every field the
// wire carries, modification time to the nanosecond included.
func sameOnWire(a, b *zerosync.Entry) bool {
	if a.Kind != b.Kind || a.ModTime.Unix() != b.ModTime.Unix() || a.ModTime.Nanosecond() != b.ModTime.Nanosecond() {
		return false
	}
	switch a.Kind {
	case zerosync.KindFile:
		return a.Mode.Perm() == b.Mode.Perm() && a.Size == b.Size && a.Digest == b.Digest
	case zerosync.KindDir:
		return a.Mode.Perm() == b.Mode.Perm()
	}
	return a.Target == b.Target
}

// TestSpillRoundTrip: sums written to a spill file read back as they
// were; a file changed underneath, or holding other bytes, is refused, and
// the decoder refuses what spill never writes.
func TestSpillRoundTrip(t *testing.T) {
	s := zerosync.Snapshot{}
	for i := range 300 {
		s[fmt.Sprintf("d%02d/f%03d", i%17, i)] = zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: int64(i)}
		s[fmt.Sprintf("d%02d", i%17)] = zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755}
	}
	s["top"] = zerosync.Entry{Kind: zerosync.KindSymlink, Target: "d00"}
	want := sumsOf(s)
	st := scanState{gen: 1}
	dir := t.TempDir()
	require.NoError(t, st.keep(want, dir))
	require.Nil(t, st.last, "spilled, not kept in memory")
	require.NotNil(t, st.spilled)
	got, err := st.take(1)
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Nil(t, st.spilled, "taken: the file is let go")

	require.NoError(t, st.keep(want, dir))
	_, err = st.spilled.f.WriteAt([]byte{0xff}, st.spilled.size/2)
	require.NoError(t, err)
	spilled := st.spilled
	_, err = st.take(1)
	require.ErrorContains(t, err, "the file changed")

	// A scan that is not answered with a diff does not read the file.
	st.spilled = spilled
	spilled.f, err = os.Open(os.DevNull) // a read would find nothing it wrote
	require.NoError(t, err)
	got, err = st.take(2)
	require.NoError(t, err)
	require.Nil(t, got)
	require.NoError(t, st.keep(want, ""))
	got, err = st.take(0)
	require.NoError(t, err)
	require.Nil(t, got, "a first scan is whole")

	require.Error(t, st.keep(want, filepath.Join(dir, "missing")))
	require.Equal(t, want, st.last, "kept in memory when no file can be made")
	st.close()

	for name, b := range map[string][]byte{
		"folder twice":    {0, 1, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 'b', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"name with slash": append([]byte{0, 1, 3, 'a', '/', 'b'}, make([]byte, 16)...),
		"empty folder":    {0, 0},
		"cut short":       {0, 1, 1, 'a', 0},
		"bad folder":      append([]byte{2, '.', '.', 1, 1, 'a'}, make([]byte, 16)...),
	} {
		_, err := decodeSpill(b)
		require.ErrorIs(t, err, errBadSpill, name)
	}
}

// FuzzDecodeSpill: whatever the bytes, the decoder returns sums of valid
// paths, each folder's names in order, or an error; it never panics.
func FuzzDecodeSpill(f *testing.F) {
	s := zerosync.Snapshot{"a": {Kind: zerosync.KindDir}, "a/b": {Kind: zerosync.KindFile}, "c": {Kind: zerosync.KindSymlink, Target: "a"}}
	var st scanState
	dir := f.TempDir()
	if err := st.keep(sumsOf(s), dir); err != nil {
		f.Fatal(err)
	}
	b := make([]byte, st.spilled.size)
	if _, err := st.spilled.f.ReadAt(b, 0); err != nil {
		f.Fatal(err)
	}
	st.close()
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeSpill(b)
		if err != nil {
			return
		}
		for dir, d := range got {
			for i, ns := range d {
				if p := chunk.Join(dir, ns.Name); zerosync.ValidPath(p) != nil {
					t.Fatalf("decoded invalid path %q", p)
				}
				if i > 0 && d[i-1].Name >= ns.Name {
					t.Fatalf("folder %q out of order", dir)
				}
			}
		}
	})
}

// TestLostSpillIsNoViolation: a client whose spilled last scan cannot be
// read back fails that one scan with an error that says so, keeps its
// connection, and gets the whole tree from the next scan.
func TestLostSpillIsNoViolation(t *testing.T) {
	root := newRoot(t)
	makeTree(t, root, 300)
	cn := connect(t, openLocal, []Option{WithSpill(t.TempDir())}, WithSpill(t.TempDir()))
	ep := cn.endpoint(t, root)
	first, _, err := ep.Scan(t.Context())
	require.NoError(t, err)
	require.NotNil(t, ep.last.spilled)
	_, err = ep.last.spilled.f.WriteAt([]byte("changed"), 0)
	require.NoError(t, err)

	writeFile(t, filepath.Join(root, "d001/new.txt"), []byte("new"), 0o644)
	_, _, err = ep.Scan(t.Context())
	require.ErrorContains(t, err, "the next scan asks for the whole tree")
	require.NotErrorIs(t, err, ErrProtocol)

	again, _, err := ep.Scan(t.Context())
	require.NoError(t, err, "the connection is still up")
	expectSnapshot(t, root, again)
	require.Len(t, again, len(first)+1)
}
