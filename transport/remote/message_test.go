package remote

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

var (
	sampleFile = &zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: 12, Digest: digest.Sum([]byte("twelve bytes")), ModTime: time.Unix(1741964966, 535897932)}
	sampleDir  = &zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755, ModTime: time.Unix(1, 0)}
	sampleLink = &zerosync.Entry{Kind: zerosync.KindSymlink, Target: "../elsewhere", ModTime: time.Unix(-5, 999_999_999)}
)

// sameEntry compares every field the wire carries.
func sameEntry(a, b *zerosync.Entry) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return sameOnWire(a, b)
}

func sampleRequests() []request {
	return []request{
		{typ: tOpenRoot, root: "/srv/data"},
		{typ: tCloseRoot, handle: 3},
		{typ: tScan, handle: 1, since: 1 << 40},
		{typ: tOpen, handle: 1, path: "a/b.txt"},
		{typ: tApply, handle: 2, op: zerosync.Op{Path: "f", New: sampleFile}},
		{typ: tApply, handle: 2, op: zerosync.Op{Path: "d", Old: sampleDir, Archive: true}},
		{typ: tApply, handle: 2, op: zerosync.Op{Path: "l", Old: sampleLink, New: sampleLink}},
		{typ: tApplyDelta, handle: 2, op: zerosync.Op{Path: "big", Old: sampleFile, New: sampleFile}},
		{typ: tApplyResume, handle: 2, op: zerosync.Op{Path: "big", New: sampleFile}},
		{typ: tApplyResume, handle: 2, op: zerosync.Op{Path: "big", Old: sampleDir, New: sampleFile, Archive: true}},
		{typ: tOpenDelta, handle: 9, path: "big"},
		{typ: tCopy, handle: 1, src: "x", op: zerosync.Op{Path: "y", New: sampleFile}},
		{typ: tKeep, handle: 1, path: "n.txt", entry: sampleFile, note: "from host-b"},
		{typ: tWatch, handle: 4},
		{typ: tRootID, handle: 5},
		{typ: tMarkRoot, handle: 6},
		{typ: tScanPaths, handle: 7, paths: []string{"a", "d/x", "d/y"}},
		{typ: tApplyBatch, handle: 2, batch: batchHeader{count: 3, size: 100}},
	}
}

func sameRequest(a, b request) bool {
	return a.typ == b.typ && a.handle == b.handle && a.root == b.root && a.since == b.since &&
		a.path == b.path && a.src == b.src && a.note == b.note && a.engine == b.engine && sameEntry(a.entry, b.entry) &&
		a.op.Path == b.op.Path && a.op.Archive == b.op.Archive && sameEntry(a.op.Old, b.op.Old) && sameEntry(a.op.New, b.op.New) &&
		slices.Equal(a.paths, b.paths) && a.batch == b.batch
}

func TestMessagesRoundTrip(t *testing.T) {
	for _, r := range sampleRequests() {
		got, err := decodeRequest(r.typ, r.encode())
		if err != nil {
			t.Fatalf("%s: %v", r.typ, err)
		}
		if !sameRequest(got, r) {
			t.Fatalf("%s: round trip gives %+v, want %+v", r.typ, got, r)
		}
	}
	h := hello{min: 1, max: 3, version: "v1.2.3", caps: capAll}
	if got, err := decodeHello(h.encode()); err != nil || got != h {
		t.Fatalf("hello: %+v, %v", got, err)
	}
	hr := helloReply{version: 1, min: 1, max: 1, agent: "agent 0.1", caps: capZstd}
	if got, err := decodeHelloReply(hr.encode()); err != nil || got != hr {
		t.Fatalf("hello reply: %+v, %v", got, err)
	}
	if got, err := decodeOpenRootResult(openRootResult{7, ablWatcher}.encode()); err != nil || got != (openRootResult{7, ablWatcher}) {
		t.Fatalf("open-root result: %+v, %v", got, err)
	}
	if got, err := decodeKeepResult(encodeKeepResult("a.zs-conflict-x")); err != nil || got != "a.zs-conflict-x" {
		t.Fatalf("keep result: %q, %v", got, err)
	}
	for _, n := range []int64{-1, 0, 1 << 40} {
		if got, err := decodeOpenOK(encodeOpenOK(n)); err != nil || got != n {
			t.Fatalf("open-ok %d: %d, %v", n, got, err)
		}
	}
	if got, err := decodeWindow(encodeWindow(12345)); err != nil || got != 12345 {
		t.Fatalf("window: %d, %v", got, err)
	}
	hint := zerosync.Hint{Paths: []string{"a", "b/c"}, Reason: "watch"}
	if got, err := decodeHint(encodeHint(hint)); err != nil || !reflect.DeepEqual(got, hint) {
		t.Fatalf("hint: %+v, %v", got, err)
	}
	end := scanEnd{gen: 5, base: 4, count: 2, problems: []zerosync.Problem{{Path: "sock", Err: fmt.Errorf("a socket: %w", errors.ErrUnsupported)}}}
	got, err := decodeScanEnd(end.encode())
	if err != nil || got.gen != 5 || got.base != 4 || got.count != 2 || len(got.problems) != 1 ||
		got.problems[0].Path != "sock" || !errors.Is(got.problems[0].Err, errors.ErrUnsupported) {
		t.Fatalf("scan end: %+v, %v", got, err)
	}
}

// Errors keep the sentinels they wrap across the wire, and their text.
func TestErrorRoundTrip(t *testing.T) {
	for _, s := range wireErrors {
		err := fmt.Errorf("something: %w", s)
		re, derr := decodeError(encodeError(err))
		if derr != nil {
			t.Fatal(derr)
		}
		if !errors.Is(re, s) || re.Error() != err.Error() {
			t.Fatalf("%v came back as %q", err, re)
		}
		for _, o := range wireErrors {
			if o != s && errors.Is(re, o) && !errors.Is(err, o) {
				t.Fatalf("%v came back wrapping %v too", err, o)
			}
		}
	}
	pe := &zerosync.PathError{Op: "apply", Host: "local", Path: "f", Err: fmt.Errorf("%w: edited", zerosync.ErrChanged)}
	re, _ := decodeError(encodeError(pe))
	if re.Error() != "changed since scan: edited" || !errors.Is(re, zerosync.ErrChanged) {
		t.Fatalf("path error came back as %q", re)
	}
	long := errors.New(strings.Repeat("x", 10_000))
	if re, _ := decodeError(encodeError(long)); len(re.Error()) != maxMessageLen {
		t.Fatalf("a long message came back with %d bytes", len(re.Error()))
	}
	if !errors.Is(&VersionError{}, ErrProtocol) {
		t.Fatal("a version error is not a protocol error")
	}
	var _ = context.Canceled
}

func TestRequestRefuses(t *testing.T) {
	bad := func(typ ftype, f func(e *encoder)) []byte {
		var e encoder
		f(&e)
		return e.B
	}
	cases := []struct {
		name string
		typ  ftype
		b    []byte
		want string
	}{
		{"long-root", tOpenRoot, bad(tOpenRoot, func(e *encoder) { e.Str(strings.Repeat("r", maxRootLen+1)) }), "root: length 4097"},
		{"long-path", tOpen, bad(tOpen, func(e *encoder) { e.Uvarint(1); e.Str(strings.Repeat("p", maxWirePath+1)) }), "path: length 4097"},
		{"no-entries", tApply, bad(tApply, func(e *encoder) { e.Uvarint(1); e.Str("f"); e.U8(0) }), "neither an old nor a new entry"},
		{"unknown-flags", tApply, bad(tApply, func(e *encoder) { e.Uvarint(1); e.Str("f"); e.U8(0x80) }), "unknown flags"},
		{"unknown-kind", tApply, bad(tApply, func(e *encoder) {
			e.Uvarint(1)
			e.Str("f")
			e.U8(opHasNew)
			e.U8(9)
			e.Uvarint(0)
			e.Time(time.Unix(0, 0))
		}), "unknown kind 9"},
		{"mode-bits", tApply, bad(tApply, func(e *encoder) {
			e.Uvarint(1)
			e.Str("f")
			e.U8(opHasNew)
			e.U8(2)
			e.Uvarint(uint64(fs.ModeSetuid | 0o755))
			e.Time(time.Unix(0, 0))
		}), "beyond permissions"},
		{"huge-size", tApply, bad(tApply, func(e *encoder) {
			e.Uvarint(1)
			e.Str("f")
			e.U8(opHasNew)
			e.U8(1)
			e.Uvarint(0o644)
			e.Time(time.Unix(0, 0))
			e.Uvarint(1 << 63)
			e.Raw(make([]byte, 32))
		}), "file size"},
		{"bad-nanos", tApply, bad(tApply, func(e *encoder) {
			e.Uvarint(1)
			e.Str("f")
			e.U8(opHasNew)
			e.U8(2)
			e.Uvarint(0o755)
			e.Varint(0)
			e.Uvarint(nanosPerSec)
		}), "nanoseconds"},
		{"nul-target", tApply, bad(tApply, func(e *encoder) {
			e.Uvarint(1)
			e.Str("f")
			e.U8(opHasNew)
			e.U8(3)
			e.Uvarint(0)
			e.Time(time.Unix(0, 0))
			e.Str("a\x00b")
		}), "bad symlink target"},
		{"delta-of-a-dir", tApplyDelta, sampleRequestBytes(tApply, zerosync.Op{Path: "d", New: sampleDir}), "update of a file"},
		{"resume-of-a-dir", tApplyResume, sampleRequestBytes(tApply, zerosync.Op{Path: "d", New: sampleDir}), "resumable apply makes a file"},
		{"resume-of-a-removal", tApplyResume, sampleRequestBytes(tApply, zerosync.Op{Path: "f", Old: sampleFile}), "resumable apply makes a file"},
		{"trailing", tWatch, []byte{1, 0}, "trailing"},
		{"no-paths", tScanPaths, bad(tScanPaths, func(e *encoder) { e.Uvarint(1); e.Uvarint(0) }), "no paths"},
		{"many-paths", tScanPaths, bad(tScanPaths, func(e *encoder) { e.Uvarint(1); e.Uvarint(maxScanPaths + 1) }), "exceeds the limit"},
		{"paths-too-long", tScanPaths, bad(tScanPaths, func(e *encoder) {
			e.Uvarint(1)
			e.Uvarint(17)
			for range 17 {
				e.Str(strings.Repeat("p", maxWirePath))
			}
		}), "paths of more than"},
		{"truncated", tScan, []byte{1}, "ends early"},
		{"overflow", tScan, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "overflows"},
		{"not-a-request", tData, []byte{1}, "not a request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeRequest(c.typ, c.b)
			if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want a protocol error mentioning %q", err, c.want)
			}
		})
	}
}

func sampleRequestBytes(typ ftype, op zerosync.Op) []byte {
	return request{typ: typ, handle: 1, op: op}.encode()
}

// fuzzRequest fuzzes the decoder of one request type: it never panics,
// every failure wraps ErrProtocol, and what it accepts encodes back to a
// request that decodes the same.
func fuzzRequest(f *testing.F, typ ftype) {
	for _, r := range sampleRequests() {
		f.Add(r.encode())
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRequest(typ, b)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error does not wrap ErrProtocol: %v", err)
			}
			return
		}
		again, err := decodeRequest(typ, r.encode())
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v", err)
		}
		if !sameRequest(r, again) {
			t.Fatalf("round trip changed %+v to %+v", r, again)
		}
	})
}

func FuzzRequestOpenRoot(f *testing.F)    { fuzzRequest(f, tOpenRoot) }
func FuzzRequestCloseRoot(f *testing.F)   { fuzzRequest(f, tCloseRoot) }
func FuzzRequestScan(f *testing.F)        { fuzzRequest(f, tScan) }
func FuzzRequestOpen(f *testing.F)        { fuzzRequest(f, tOpen) }
func FuzzRequestApply(f *testing.F)       { fuzzRequest(f, tApply) }
func FuzzRequestApplyDelta(f *testing.F)  { fuzzRequest(f, tApplyDelta) }
func FuzzRequestOpenDelta(f *testing.F)   { fuzzRequest(f, tOpenDelta) }
func FuzzRequestCopy(f *testing.F)        { fuzzRequest(f, tCopy) }
func FuzzRequestKeep(f *testing.F)        { fuzzRequest(f, tKeep) }
func FuzzRequestWatch(f *testing.F)       { fuzzRequest(f, tWatch) }
func FuzzRequestRootID(f *testing.F)      { fuzzRequest(f, tRootID) }
func FuzzRequestMarkRoot(f *testing.F)    { fuzzRequest(f, tMarkRoot) }
func FuzzRequestApplyResume(f *testing.F) { fuzzRequest(f, tApplyResume) }
func FuzzRequestScanPaths(f *testing.F)   { fuzzRequest(f, tScanPaths) }

// fuzzDecoder fuzzes a decoder of a small message: it never panics, every
// failure wraps ErrProtocol, and a decoded value survives a round trip.
func fuzzDecoder[T any](f *testing.F, seeds [][]byte, decode func([]byte) (T, error), encode func(T) []byte, same func(a, b T) bool) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decode(b)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error does not wrap ErrProtocol: %v", err)
			}
			return
		}
		again, err := decode(encode(v))
		if err != nil {
			t.Fatalf("re-encoded value does not decode: %v", err)
		}
		if !same(v, again) {
			t.Fatalf("round trip changed %+v to %+v", v, again)
		}
	})
}

func eq[T comparable](a, b T) bool { return a == b }

func FuzzHello(f *testing.F) {
	fuzzDecoder(f, [][]byte{hello{1, 1, "v1", capAll}.encode()}, decodeHello, hello.encode, eq[hello])
}

func FuzzHelloReply(f *testing.F) {
	fuzzDecoder(f, [][]byte{helloReply{1, 1, 2, "agent", capZstd}.encode()}, decodeHelloReply, helloReply.encode, eq[helloReply])
}

func FuzzOpenRootResult(f *testing.F) {
	fuzzDecoder(f, [][]byte{openRootResult{1, ablCopier}.encode()}, decodeOpenRootResult, openRootResult.encode, eq[openRootResult])
}

func FuzzKeepResult(f *testing.F) {
	fuzzDecoder(f, [][]byte{encodeKeepResult("x.zs-conflict-1")}, decodeKeepResult, encodeKeepResult, eq[string])
}

func FuzzOpenOK(f *testing.F) {
	fuzzDecoder(f, [][]byte{encodeOpenOK(-1), encodeOpenOK(1 << 33)}, decodeOpenOK, encodeOpenOK, eq[int64])
}

func FuzzWindow(f *testing.F) {
	fuzzDecoder(f, [][]byte{encodeWindow(streamWindow)}, decodeWindow, encodeWindow, eq[int])
}

func FuzzHint(f *testing.F) {
	fuzzDecoder(f, [][]byte{encodeHint(zerosync.Hint{Paths: []string{"a", "b"}, Reason: "watch"}), encodeHint(zerosync.Hint{Full: true})},
		decodeHint, encodeHint, func(a, b zerosync.Hint) bool { return reflect.DeepEqual(a, b) })
}

func FuzzError(f *testing.F) {
	fuzzDecoder(f, [][]byte{encodeError(fmt.Errorf("x: %w", zerosync.ErrChanged))},
		decodeError, func(e *RemoteError) []byte { return encodeErrorKeeping(e) },
		func(a, b *RemoteError) bool { return a.Msg == b.Msg && a.codes == b.codes })
}

// encodeErrorKeeping encodes a decoded remote error with all its bits,
// known or not.
func encodeErrorKeeping(re *RemoteError) []byte {
	var e encoder
	e.Uvarint(re.codes)
	e.Str(re.Msg)
	return e.B
}

func FuzzScanEnd(f *testing.F) {
	fuzzDecoder(f, [][]byte{scanEnd{gen: 2, base: 1, count: 3, problems: []zerosync.Problem{{Path: "p", Err: errors.New("e")}}}.encode()},
		decodeScanEnd, scanEnd.encode, func(a, b scanEnd) bool {
			if a.gen != b.gen || a.base != b.base || a.count != b.count || len(a.problems) != len(b.problems) {
				return false
			}
			for i := range a.problems {
				if a.problems[i].Path != b.problems[i].Path || a.problems[i].Err.Error() != b.problems[i].Err.Error() {
					return false
				}
			}
			return true
		})
}

func FuzzRootID(f *testing.F) {
	fuzzDecoder(f, [][]byte{encodeRootID(zerosync.RootID{Replica: zerosync.NewReplicaID(), Filesystem: "fsid=0000000100000002,type=ef53,ino=2"}), encodeRootID(zerosync.RootID{})},
		decodeRootID, encodeRootID, eq[zerosync.RootID])
}
