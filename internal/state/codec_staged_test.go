package state

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
)

func sampleStaged() []StagedItem {
	return []StagedItem{
		{ID: 1},
		{ID: 1 << 40, Time: mtime, Base: file("b", 0o644), Ours: file("o", 0o600), Theirs: file("t", 0o644),
			Conflict: true, Held: true, Note: "changed on both sides"},
		{ID: 7, Base: dir(0o755), Ours: symlink("x"), Note: strings.Repeat("n", maxNoteLen)},
	}
}

func sameStaged(a, b StagedItem) bool {
	return a.ID == b.ID && a.Time.Equal(b.Time) && a.Time.IsZero() == b.Time.IsZero() && a.Path == b.Path &&
		sameEntry(a.Base, b.Base) && sameEntry(a.Ours, b.Ours) && sameEntry(a.Theirs, b.Theirs) &&
		a.Conflict == b.Conflict && a.Held == b.Held && a.Note == b.Note
}

func TestStagedRoundTrip(t *testing.T) {
	for _, it := range sampleStaged() {
		it.Path = "p"
		if err := checkStaged(&it); err != nil {
			t.Fatal(err)
		}
		got, err := decodeStaged(appendStaged(nil, &it))
		if err != nil {
			t.Fatal(err)
		}
		got.Path = "p"
		if !sameStaged(got, it) {
			t.Errorf("round trip of %+v = %+v", it, got)
		}
	}
}

func TestDecodeStagedRejectsDamage(t *testing.T) {
	for _, it := range sampleStaged()[:2] {
		b := appendStaged(nil, &it)
		for n := range len(b) {
			if _, err := decodeStaged(b[:n]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("item truncated to %d bytes: %v", n, err)
			}
		}
		if _, err := decodeStaged(append(b, 0)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("item with a trailing byte: %v", err)
		}
	}
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"version", []byte{7, 0, 1, 0}, "version 7"},
		{"flags", []byte{stagedVersion, 0x40, 1, 0}, "flags"},
		{"zero id", []byte{stagedVersion, 0, 0, 0}, "ID 0"},
		{"held without theirs", []byte{stagedVersion, stagedIsHeld, 1, 0}, "content held"},
		{"entry kind", []byte{stagedVersion, stagedHasBase, 1, 0, 0, 0, 0, 0}, "kind 0"},
		// A note length of a billion bytes is refused before anything is
		// allocated.
		{"note length", []byte{stagedVersion, 0, 1, 0x80, 0x94, 0xeb, 0xdc, 0x03}, "note: length"},
	} {
		_, err := decodeStaged(c.b)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("bad %s: %v, want ErrCorrupt mentioning %q", c.name, err, c.want)
		}
	}
}

func TestStagedContentCodec(t *testing.T) {
	for _, content := range [][]byte{nil, {}, []byte("data"), {0, 1, 2}} {
		id, got, err := decodeStagedContent(appendStagedContent(nil, 42, content))
		if err != nil || id != 42 || !bytes.Equal(got, content) {
			t.Errorf("round trip of %q = %d %q %v", content, id, got, err)
		}
	}
	for _, b := range [][]byte{nil, {stagedVersion}, {2, 1}, {stagedVersion, 0, 'x'}, {stagedVersion, 0x80}} {
		if _, _, err := decodeStagedContent(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%x: %v, want ErrCorrupt", b, err)
		}
	}
}

func FuzzDecodeStaged(f *testing.F) {
	for _, it := range sampleStaged()[:2] {
		f.Add(appendStaged(nil, &it))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := decodeStaged(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		it.Path = "p"
		if err := checkStaged(&it); err != nil {
			t.Fatalf("decoded item cannot be encoded: %v", err)
		}
		b2 := appendStaged(nil, &it)
		it2, err := decodeStaged(b2)
		if err != nil {
			t.Fatalf("re-encoded item does not decode: %v", err)
		}
		it2.Path = "p"
		if !sameStaged(it, it2) {
			t.Fatalf("round trip changed %+v to %+v", it, it2)
		}
		if b3 := appendStaged(nil, &it2); !bytes.Equal(b2, b3) {
			t.Fatalf("encoding is not stable")
		}
	})
}

func FuzzDecodeStagedContent(f *testing.F) {
	f.Add(appendStagedContent(nil, 1, []byte("content")))
	f.Add(appendStagedContent(nil, 1<<62, nil))
	f.Add([]byte{stagedVersion, 0xb7, 0}) // an overlong varint
	f.Fuzz(func(t *testing.T, b []byte) {
		id, content, err := decodeStagedContent(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		id2, content2, err := decodeStagedContent(appendStagedContent(nil, id, content))
		if err != nil || id2 != id || !bytes.Equal(content2, content) {
			t.Fatalf("round trip of %d %x = %d %x, %v", id, content, id2, content2, err)
		}
	})
}

func FuzzStagedRoundTrip(f *testing.F) {
	f.Add(uint64(1), int64(1741964966), uint32(1), uint8(7), uint8(0), "key", "target", uint8(3), "note")
	f.Add(uint64(1<<63), int64(0), uint32(0), uint8(0x3f), uint8(2), "", "", uint8(0), "")
	f.Fuzz(func(t *testing.T, id uint64, sec int64, nsec uint32, which, kind uint8, key, target string, n uint8, note string) {
		cut := func(s string, max int) string { return s[:min(len(s), max)] }
		it := StagedItem{ID: max(id, 1), Path: "a/b", Note: cut(note, maxNoteLen),
			Conflict: which&8 != 0, Held: which&16 != 0}
		if sec != 0 || nsec != 0 {
			it.Time = time.Unix(sec, int64(nsec%nanosPerSec))
		}
		e := &zerosync.Entry{Kind: zerosync.Kind(kind%3 + 1), Mode: 0o644, Size: int64(n), Digest: sum(key), Target: cut(target, maxPathLen)}
		if which&1 != 0 {
			it.Base = e
		}
		if which&2 != 0 {
			it.Ours = e
		}
		if which&4 != 0 {
			it.Theirs = e
		}
		if err := checkStaged(&it); err != nil {
			if it.Held && (it.Theirs == nil || it.Theirs.Kind != zerosync.KindFile) {
				return // refused as it should be
			}
			t.Fatalf("valid item refused: %v", err)
		}
		got, err := decodeStaged(appendStaged(nil, &it))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		got.Path = it.Path
		if !sameStaged(got, it) {
			t.Fatalf("round trip of %+v = %+v", it, got)
		}
	})
}
