package remote

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// encodeChanges cuts changes into chunk payloads as the agent does.
func encodeChanges(base uint64, cs []change) [][]byte {
	var enc snapEncoder
	var out [][]byte
	for _, c := range cs {
		enc.add(c)
		if enc.full() {
			out = append(out, enc.take(base))
		}
	}
	if enc.n > 0 {
		out = append(out, enc.take(base))
	}
	return out
}

func decodeChunks(chunks [][]byte, max int) ([]change, uint64, error) {
	dec := snapDecoder{max: max}
	var out []change
	for _, b := range chunks {
		if err := dec.decode(b, nil, func(c change) error { out = append(out, c); return nil }); err != nil {
			return nil, 0, err
		}
	}
	return out, dec.base, nil
}

// bigSnapshot is a tree of n files in directories of 100.
func bigSnapshot(n int) zerosync.Snapshot {
	s := zerosync.Snapshot{}
	t := time.Unix(1_700_000_000, 0)
	for i := range n {
		dir := fmt.Sprintf("project/src/module%03d", i/100)
		s[dir] = zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755, ModTime: t}
		data := []byte(fmt.Sprintf("file %d", i))
		s[fmt.Sprintf("%s/file%05d.go", dir, i)] = zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: int64(len(data)), Digest: digest.Sum(data), ModTime: t.Add(time.Duration(i) * time.Millisecond)}
	}
	s["project"] = zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755, ModTime: t}
	s["project/src"] = zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755, ModTime: t}
	s["project/link"] = zerosync.Entry{Kind: zerosync.KindSymlink, Target: "src", ModTime: t}
	return s
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := bigSnapshot(10_000)
	chunks := encodeChanges(0, allChanges(s))
	size := 0
	for _, c := range chunks {
		size += len(c)
		if len(c) > sendLimit-64 {
			t.Fatalf("chunk of %d bytes", len(c))
		}
	}
	got, base, err := decodeChunks(chunks, len(s))
	if err != nil {
		t.Fatal(err)
	}
	if base != 0 || len(got) != len(s) {
		t.Fatalf("decoded %d changes based on %d, want %d based on 0", len(got), base, len(s))
	}
	for _, c := range got {
		want := s[c.path]
		if !sameEntry(c.entry, &want) {
			t.Fatalf("%s: %v, want %v", c.path, c.entry, &want)
		}
	}
	// Prefix compression: the paths cost far less than written out.
	if perEntry := size / len(s); perEntry > 70 {
		t.Fatalf("%d bytes per entry", perEntry)
	}
	if _, _, err := decodeChunks(chunks, len(s)-1); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("a snapshot over the entry limit: %v", err)
	}
}

func TestDiffSnap(t *testing.T) {
	old := bigSnapshot(300)
	cur := bigSnapshot(300)
	delete(cur, "project/src/module001/file00150.go")
	e := cur["project/src/module002/file00250.go"]
	e.Digest = digest.Sum([]byte("edited"))
	cur["project/src/module002/file00250.go"] = e
	e = cur["project/src/module000/file00001.go"]
	e.ModTime = e.ModTime.Add(time.Nanosecond)
	cur["project/src/module000/file00001.go"] = e
	cur["new"] = zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o700}
	d := diffSnap(old, cur)
	var paths []string
	for _, c := range d {
		paths = append(paths, fmt.Sprintf("%s:%v", c.path, c.entry != nil))
	}
	want := "new:true project/src/module000/file00001.go:true project/src/module001/file00150.go:false project/src/module002/file00250.go:true"
	if got := strings.Join(paths, " "); got != want {
		t.Fatalf("diff %s\nwant %s", got, want)
	}
	b := newSnapBuilder(maps.Clone(old), true) // the builder changes the last snapshot it is given
	for _, c := range d {
		if err := b.apply(c); err != nil {
			t.Fatal(err)
		}
	}
	if len(diffSnap(b.out, cur)) != 0 || !b.changed() {
		t.Fatal("applying the diff does not give the new snapshot")
	}
	if diffSnap(cur, cur) != nil {
		t.Fatal("a snapshot differs from itself")
	}
}

// TestLastScanRoundTrip: the packed last snapshot unpacks to exactly what
// was packed, each time, as a new map; an empty one too; in memory and in
// a spill file alike. A spill file changed underneath is refused.
func TestLastScanRoundTrip(t *testing.T) {
	s := bigSnapshot(300)
	s["link"] = zerosync.Entry{Kind: zerosync.KindSymlink, Target: "project/src", ModTime: time.Unix(1, 2)}
	s["old"] = zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o600, Size: 3, Digest: digest.Sum([]byte("old")), ModTime: time.Unix(-1<<40, 5)}
	for _, dir := range []string{"", t.TempDir()} {
		l, err := packScan(s, dir)
		if err != nil {
			t.Fatal(err)
		}
		if (l.spilled != nil) != (dir != "") || (l.b == nil) != (dir != "") {
			t.Fatalf("spill folder %q: spilled %v, %d bytes in memory", dir, l.spilled != nil, len(l.b))
		}
		for range 2 {
			got, err := l.unpack()
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(s) || len(diffSnap(got, s)) != 0 {
				t.Fatalf("unpacked %d entries differing in %d, packed %d", len(got), len(diffSnap(got, s)), len(s))
			}
			for p, e := range s {
				if g := got[p]; !g.ModTime.Equal(e.ModTime) || g.Size != e.Size {
					t.Fatalf("%s: unpacked %v %v, packed %v %v", p, g.ModTime, g.Size, e.ModTime, e.Size)
				}
			}
			delete(got, "link") // the caller's own
		}
		empty, err := packScan(zerosync.Snapshot{}, dir)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := empty.unpack(); err != nil || got == nil || len(got) != 0 {
			t.Fatalf("empty: %v %v", got, err)
		}
		l.n++
		if _, err := l.unpack(); err == nil {
			t.Fatal("a count that does not match is not refused")
		}
		l.n--
		if l.spilled != nil {
			last := make([]byte, 1)
			if _, err := l.spilled.f.ReadAt(last, l.spilled.size-1); err != nil {
				t.Fatal(err)
			}
			if _, err := l.spilled.f.WriteAt([]byte{last[0] ^ 0xff}, l.spilled.size-1); err != nil {
				t.Fatal(err)
			}
			if _, err := l.unpack(); err == nil || !strings.Contains(err.Error(), "the file changed") {
				t.Fatalf("a spill file changed underneath: %v", err)
			}
			l.spilled.close()
		}
	}
}

func TestSnapBuilderRefuses(t *testing.T) {
	if err := newSnapBuilder(nil, false).apply(change{path: "x"}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("a removal in a whole tree: %v", err)
	}
	if err := newSnapBuilder(zerosync.Snapshot{"a": {}}, true).apply(change{path: "x"}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("a removal of an unknown path: %v", err)
	}
}

func TestSnapDecoderRefuses(t *testing.T) {
	chunk := func(base uint64, f func(e *encoder)) []byte {
		var e encoder
		e.Uvarint(base)
		f(&e)
		return e.B
	}
	entry := func(e *encoder, shared int, suffix string) {
		e.Uvarint(uint64(shared))
		e.Str(suffix)
		e.entry(sampleDir)
	}
	cases := []struct {
		name   string
		chunks [][]byte
		want   string
	}{
		{"unsorted", [][]byte{chunk(0, func(e *encoder) { e.Uvarint(2); entry(e, 0, "b"); entry(e, 0, "a") })}, "does not sort after"},
		{"duplicate", [][]byte{chunk(0, func(e *encoder) { e.Uvarint(2); entry(e, 0, "a"); entry(e, 1, "") })}, "does not sort after"},
		{"duplicate-across-chunks", [][]byte{
			chunk(0, func(e *encoder) { e.Uvarint(1); entry(e, 0, "a") }),
			chunk(0, func(e *encoder) { e.Uvarint(1); entry(e, 0, "a") }),
		}, "does not sort after"},
		{"empty-path", [][]byte{chunk(0, func(e *encoder) { e.Uvarint(1); entry(e, 0, "") })}, "does not sort after"},
		{"prefix-too-long", [][]byte{chunk(0, func(e *encoder) { e.Uvarint(1); entry(e, 5, "x") })}, "shares 5 bytes"},
		{"path-too-long", [][]byte{chunk(0, func(e *encoder) { e.Uvarint(1); entry(e, 0, strings.Repeat("a", maxWirePath+1)) })}, "exceeds the limit"},
		{"count-lies", [][]byte{chunk(0, func(e *encoder) { e.Uvarint(1000); entry(e, 0, "a") })}, "ends early"},
		{"count-huge", [][]byte{chunk(0, func(e *encoder) { e.Uvarint(1 << 40) })}, "exceeds the limit"},
		{"bases-differ", [][]byte{
			chunk(3, func(e *encoder) { e.Uvarint(1); entry(e, 0, "a") }),
			chunk(4, func(e *encoder) { e.Uvarint(1); entry(e, 0, "b") }),
		}, "based on generation 4"},
		{"bad-kind", [][]byte{chunk(0, func(e *encoder) {
			e.Uvarint(1)
			e.Uvarint(0)
			e.Str("a")
			e.U8(7)
			e.Uvarint(0)
			e.Time(time.Unix(0, 0))
		})}, "unknown kind"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := decodeChunks(c.chunks, 100)
			if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want a protocol error mentioning %q", err, c.want)
			}
		})
	}
}

// The snapshot decoder never panics and never yields more than its limit;
// what it accepts is sorted and encodes back to the same changes.
func FuzzSnapshotChunk(f *testing.F) {
	s := bigSnapshot(30)
	for _, c := range encodeChanges(0, allChanges(s)) {
		f.Add(c)
	}
	f.Add(encodeChanges(4, []change{{path: "a"}, {path: "a/b", entry: sampleLink}, {path: "c", entry: sampleFile}})[0])
	f.Add([]byte{0, 1, 0, 1, 'a', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		const max = 50
		got, base, err := decodeChunks([][]byte{b}, max)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error does not wrap ErrProtocol: %v", err)
			}
			return
		}
		if len(got) > max {
			t.Fatalf("%d changes past the limit of %d", len(got), max)
		}
		for i := 1; i < len(got); i++ {
			if got[i].path <= got[i-1].path {
				t.Fatalf("%q after %q", got[i].path, got[i-1].path)
			}
		}
		if len(got) == 0 {
			return // an empty chunk carries no change to encode again
		}
		again, base2, err := decodeChunks(encodeChanges(base, got), max)
		if err != nil || base2 != base || len(again) != len(got) {
			t.Fatalf("re-encoded chunk does not decode the same: %v", err)
		}
		for i := range got {
			if again[i].path != got[i].path || !sameEntry(again[i].entry, got[i].entry) {
				t.Fatalf("round trip changed %q", got[i].path)
			}
		}
	})
}
