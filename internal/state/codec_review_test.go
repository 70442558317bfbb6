package state

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
)

func sampleReviews() []ReviewItem {
	many := map[string]string{}
	for i := range maxArchive {
		many[fmt.Sprintf("version-%02d", i)] = strings.Repeat("a", maxPathLen)
	}
	return []ReviewItem{
		{},
		{Time: mtime, Path: "f", Base: file("b", 0o644), Ours: file("o", 0o600), Theirs: symlink("t"),
			Hosts: [2]string{"one", "two"}, CopyPath: "f.zs-conflict-two", Archive: map[string]string{"theirs": "x"}, Note: "kept both", BaseBody: []byte("base\n")},
		{Path: "d", Theirs: dir(0o755), Archive: many, Note: strings.Repeat("n", maxNoteLen)},
	}
}

func TestReviewRoundTrip(t *testing.T) {
	for _, it := range sampleReviews() {
		if err := checkReview(&it); err != nil {
			t.Fatal(err)
		}
		got, err := decodeReview(appendReview(nil, &it))
		if err != nil {
			t.Fatal(err)
		}
		if !sameReview(got, it) {
			t.Errorf("round trip of %+v = %+v", it, got)
		}
	}
}

func TestDecodeReviewRejectsDamage(t *testing.T) {
	for _, it := range sampleReviews()[:2] {
		b := appendReview(nil, &it)
		for n := range len(b) {
			if _, err := decodeReview(b[:n]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("item truncated to %d bytes: %v", n, err)
			}
		}
		if _, err := decodeReview(append(b, 0)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("item with a trailing byte: %v", err)
		}
	}
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"version", []byte{7, 0, 0, 0, 0, 0, 0, 0}, "version 7"},
		{"flags", []byte{reviewVersion, 0x20, 0, 0, 0, 0, 0, 0}, "flags"},
		{"entry kind", []byte{reviewVersion, reviewHasBase, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "kind 0"},
		// A count of a billion archive entries must be refused before any
		// map is made.
		{"archive count", []byte{reviewVersion, 0, 0, 0, 0, 0, 0x80, 0x94, 0xeb, 0xdc, 0x03, 0}, "archive count"},
		{"repeated key", []byte{reviewVersion, 0, 0, 0, 0, 0, 2, 1, 'k', 0, 1, 'k', 0, 0}, "out of order"},
	} {
		_, err := decodeReview(c.b)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("bad %s: %v, want ErrCorrupt mentioning %q", c.name, err, c.want)
		}
	}
}

func FuzzDecodeReview(f *testing.F) {
	for _, it := range sampleReviews()[:2] {
		f.Add(appendReview(nil, &it))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := decodeReview(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		if err := checkReview(&it); err != nil {
			t.Fatalf("decoded item cannot be encoded: %v", err)
		}
		b2 := appendReview(nil, &it)
		it2, err := decodeReview(b2)
		if err != nil {
			t.Fatalf("re-encoded item does not decode: %v", err)
		}
		if !sameReview(it, it2) {
			t.Fatalf("round trip changed %+v to %+v", it, it2)
		}
		if b3 := appendReview(nil, &it2); !bytes.Equal(b2, b3) {
			t.Fatalf("encoding is not stable")
		}
	})
}

func FuzzReviewRoundTrip(f *testing.F) {
	f.Add(int64(1741964966), uint32(1), "p", uint8(7), uint8(0), "h1", "h2", "copy", "theirs", "loc", uint8(3), "note")
	f.Add(int64(0), uint32(0), "", uint8(0), uint8(2), "", "", "", "", "", uint8(0), "")
	f.Fuzz(func(t *testing.T, sec int64, nsec uint32, path string, which, kind uint8, h0, h1, copyPath, key, val string, n uint8, note string) {
		cut := func(s string, max int) string { return s[:min(len(s), max)] }
		it := ReviewItem{
			Path:     cut(path, maxPathLen),
			Hosts:    [2]string{cut(h0, maxNameLen), cut(h1, maxNameLen)},
			CopyPath: cut(copyPath, maxPathLen),
			Note:     cut(note, maxNoteLen),
		}
		if sec != 0 || nsec != 0 {
			it.Time = time.Unix(sec, int64(nsec%nanosPerSec))
		}
		e := &zerosync.Entry{Kind: zerosync.Kind(kind%3 + 1), Mode: 0o644, Size: int64(n), Digest: sum(key), Target: cut(val, maxPathLen)}
		if which&1 != 0 {
			it.Base = e
		}
		if which&2 != 0 {
			it.Ours = e
		}
		if which&4 != 0 {
			it.Theirs = e
		}
		if count := int(n) % (maxArchive + 1); count > 0 {
			it.Archive = map[string]string{}
			for i := range count {
				it.Archive[cut(fmt.Sprint(i, key), maxArchKey)] = cut(val, maxPathLen)
			}
		}
		if err := checkReview(&it); err != nil {
			t.Fatalf("valid item refused: %v", err)
		}
		got, err := decodeReview(appendReview(nil, &it))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !sameReview(got, it) {
			t.Fatalf("round trip of %+v = %+v", it, got)
		}
	})
}
