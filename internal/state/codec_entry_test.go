package state

import (
	"bytes"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
)

func sampleEntries() []*zerosync.Entry {
	return []*zerosync.Entry{
		file("hello\n", 0o644),
		dir(0o755),
		symlink("../x"),
		{Kind: zerosync.KindFile},
		{Kind: zerosync.KindFile, Mode: fs.ModePerm | fs.ModeSetuid, Size: 1 << 40, Digest: sum("big"), ModTime: time.Unix(1<<40, 999999999)},
		{Kind: zerosync.KindSymlink, Target: strings.Repeat("t", maxPathLen), ModTime: time.Unix(-1<<40, 1)},
		{Kind: zerosync.KindFile, Size: -1}, // invalid for a tree, still stored faithfully
	}
}

func TestEntryRoundTrip(t *testing.T) {
	for _, e := range sampleEntries() {
		if err := checkEntry(e); err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		b := appendEntry([]byte("prefix"), e)
		if !bytes.HasPrefix(b, []byte("prefix")) {
			t.Fatalf("appendEntry dropped the prefix")
		}
		got, err := decodeEntry(b[len("prefix"):])
		if err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		if !sameEntry(&got, e) {
			t.Errorf("round trip of %s (%v) = %s (%v)", e, e.ModTime, &got, got.ModTime)
		}
	}
}

// TestEntryEncodingIsCompact pins the size of a typical file entry: a
// version byte, kind, flags, 2 bytes of mode, up to 3 of size, 5 of
// seconds, up to 5 of nanoseconds and 32 of digest.
func TestEntryEncodingIsCompact(t *testing.T) {
	e := file(strings.Repeat("x", 100_000), 0o644)
	if n := len(appendEntry(nil, e)); n > 50 {
		t.Errorf("file entry takes %d bytes, want at most 50", n)
	}
	if n := len(appendEntry(nil, dir(0o755))); n > 16 {
		t.Errorf("directory entry takes %d bytes, want at most 16", n)
	}
}

func TestDecodeEntryRejectsDamage(t *testing.T) {
	for _, e := range sampleEntries() {
		b := appendEntry(nil, e)
		for n := range len(b) {
			if _, err := decodeEntry(b[:n]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s truncated to %d bytes: %v", e, n, err)
			}
		}
		if _, err := decodeEntry(append(b, 0)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s with a trailing byte: %v", e, err)
		}
	}
	good := appendEntry(nil, file("x", 0o644))
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"version", append([]byte{2}, good[1:]...), "version 2"},
		{"kind", append([]byte{entryVersion, 9}, good[2:]...), "kind 9"},
		{"flags", append([]byte{entryVersion, 1, 0x80}, good[3:]...), "flags"},
		{"mode", []byte{entryVersion, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x10, 0}, "mode"},
		{"target length", []byte{entryVersion, 3, entryHasTarget, 0, 0, 0x81, 0x20}, "target: length"},
	} {
		_, err := decodeEntry(c.b)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("bad %s: %v, want ErrCorrupt mentioning %q", c.name, err, c.want)
		}
	}
}

func FuzzDecodeEntry(f *testing.F) {
	for _, e := range sampleEntries() {
		f.Add(appendEntry(nil, e))
	}
	f.Add([]byte{})
	f.Add([]byte{entryVersion, 3, entryHasTarget, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		// Whatever decodes can be stored again and reads back the same.
		if err := checkEntry(&e); err != nil {
			t.Fatalf("decoded entry cannot be encoded: %v", err)
		}
		b2 := appendEntry(nil, &e)
		e2, err := decodeEntry(b2)
		if err != nil {
			t.Fatalf("re-encoded entry does not decode: %v", err)
		}
		if !sameEntry(&e, &e2) {
			t.Fatalf("round trip changed %s to %s", &e, &e2)
		}
		if b3 := appendEntry(nil, &e2); !bytes.Equal(b2, b3) {
			t.Fatalf("encoding is not stable: %x then %x", b2, b3)
		}
	})
}

func FuzzEntryRoundTrip(f *testing.F) {
	f.Add(uint8(1), uint32(0o644), int64(6), int64(1741964966), uint32(535897932), []byte("0123456789abcdef0123456789abcdef"), "")
	f.Add(uint8(3), uint32(0), int64(0), int64(0), uint32(0), []byte{}, "../target")
	f.Add(uint8(2), uint32(0o755), int64(-1), int64(-62135596800), uint32(0), []byte{1}, "")
	f.Fuzz(func(t *testing.T, kind uint8, mode uint32, size, sec int64, nsec uint32, dig []byte, target string) {
		e := &zerosync.Entry{
			Kind:   zerosync.Kind(kind%3 + 1),
			Mode:   fs.FileMode(mode),
			Size:   size,
			Target: target[:min(len(target), maxPathLen)],
		}
		if sec != 0 || nsec != 0 {
			e.ModTime = time.Unix(sec, int64(nsec%nanosPerSec))
		}
		copy(e.Digest[:], dig)
		if err := checkEntry(e); err != nil {
			t.Fatalf("valid entry refused: %v", err)
		}
		got, err := decodeEntry(appendEntry(nil, e))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !sameEntry(&got, e) {
			t.Fatalf("round trip of %s (%v) = %s (%v)", e, e.ModTime, &got, got.ModTime)
		}
	})
}
