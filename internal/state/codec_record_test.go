package state

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
)

func sampleRecords() []Record {
	return []Record{
		{},
		{Time: mtime, Path: "a/b", Side: zerosync.Theirs, Op: "update", Digest: sum("b"), By: "diff3", Note: "merged"},
		{Time: time.Unix(-5, 3), Path: strings.Repeat("p", maxPathLen), Op: strings.Repeat("o", maxOpLen), By: strings.Repeat("b", maxNameLen), Note: strings.Repeat("n", maxNoteLen)},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range sampleRecords() {
		if err := checkRecord(&r); err != nil {
			t.Fatal(err)
		}
		got, err := decodeRecord(appendRecord(nil, &r))
		if err != nil {
			t.Fatal(err)
		}
		if !sameRecord(got, r) {
			t.Errorf("round trip of %+v = %+v", r, got)
		}
	}
}

func TestDecodeRecordRejectsDamage(t *testing.T) {
	for _, r := range sampleRecords()[:2] {
		b := appendRecord(nil, &r)
		for n := range len(b) {
			if _, err := decodeRecord(b[:n]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("record truncated to %d bytes: %v", n, err)
			}
		}
		if _, err := decodeRecord(append(b, 0)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("record with a trailing byte: %v", err)
		}
	}
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"version", []byte{0, 0, 0, 0, 0, 0, 0}, "version 0"},
		{"flags", []byte{recordVersion, 0x40, 0, 0, 0, 0, 0}, "flags"},
		{"side", []byte{recordVersion, 0, 2, 0, 0, 0, 0}, "side 2"},
		{"op length", []byte{recordVersion, 0, 0, 0, 65}, "op: length"},
	} {
		_, err := decodeRecord(c.b)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("bad %s: %v, want ErrCorrupt mentioning %q", c.name, err, c.want)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	for _, r := range sampleRecords() {
		f.Add(appendRecord(nil, &r))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		if err := checkRecord(&r); err != nil {
			t.Fatalf("decoded record cannot be encoded: %v", err)
		}
		b2 := appendRecord(nil, &r)
		r2, err := decodeRecord(b2)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !sameRecord(r, r2) {
			t.Fatalf("round trip changed %+v to %+v", r, r2)
		}
		if b3 := appendRecord(nil, &r2); !bytes.Equal(b2, b3) {
			t.Fatalf("encoding is not stable")
		}
	})
}

func FuzzRecordRoundTrip(f *testing.F) {
	f.Add(int64(1741964966), uint32(5), "a/b", true, "create", []byte{1, 2}, "model", "note")
	f.Add(int64(0), uint32(0), "", false, "", []byte{}, "", "")
	f.Fuzz(func(t *testing.T, sec int64, nsec uint32, path string, theirs bool, op string, dig []byte, by, note string) {
		r := Record{
			Path: path[:min(len(path), maxPathLen)],
			Op:   op[:min(len(op), maxOpLen)],
			By:   by[:min(len(by), maxNameLen)],
			Note: note[:min(len(note), maxNoteLen)],
		}
		if theirs {
			r.Side = zerosync.Theirs
		}
		if sec != 0 || nsec != 0 {
			r.Time = time.Unix(sec, int64(nsec%nanosPerSec))
		}
		copy(r.Digest[:], dig)
		if err := checkRecord(&r); err != nil {
			t.Fatalf("valid record refused: %v", err)
		}
		got, err := decodeRecord(appendRecord(nil, &r))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !sameRecord(got, r) {
			t.Fatalf("round trip of %+v = %+v", r, got)
		}
	})
}
