package remote

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/zerosync/zerosync"
)

// deltaResult is what a delta of one content against another cost.
type deltaResult struct {
	literal, copied int64
	wire            int // bytes of delta frames
	frames          int
}

// roundTrip signs old, computes the delta of new against it (reading new
// through r when given, to test short reads), rebuilds new from old and
// the delta, and checks the result.
func roundTrip(t testing.TB, old, new []byte, r io.Reader) deltaResult {
	t.Helper()
	ctx := context.Background()
	bs := blockSizeFor(int64(len(old)))
	var col sigCollector
	done := false
	err := sign(ctx, bytes.NewReader(old), int64(len(old)), bs, func(first int64, sums []blockSum) error {
		if done {
			t.Fatal("signature complete before its last frame")
		}
		var err error
		done, err = col.add(encodeSigs(bs, int64(len(old)), first, sums))
		return err
	})
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	if !done {
		t.Fatal("signature incomplete after its last frame")
	}
	var frames [][]byte
	res := deltaResult{}
	sink := &deltaSink{send: func(b []byte) error {
		if len(b) > sendLimit-64 {
			t.Fatalf("delta frame of %d bytes", len(b))
		}
		frames = append(frames, bytes.Clone(b))
		res.wire += len(b)
		return nil
	}}
	if r == nil {
		r = bytes.NewReader(new)
	}
	n, err := makeDelta(ctx, newIndex(&col.sig), r, sink)
	if err != nil {
		t.Fatalf("makeDelta: %v", err)
	}
	if n != int64(len(new)) {
		t.Fatalf("makeDelta read %d bytes of %d", n, len(new))
	}
	res.literal, res.copied, res.frames = sink.literal, sink.copied, len(frames)
	if res.literal+res.copied != int64(len(new)) {
		t.Fatalf("delta covers %d literal + %d copied bytes, want %d", res.literal, res.copied, len(new))
	}
	i := 0
	dr := newDeltaReader(bytes.NewReader(old), &col.sig, int64(len(new)), func() ([]byte, error) {
		if i == len(frames) {
			return nil, io.EOF
		}
		i++
		return frames[i-1], nil
	})
	got, err := io.ReadAll(dr)
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if !bytes.Equal(got, new) {
		t.Fatalf("rebuilt %d bytes that differ from the %d expected", len(got), len(new))
	}
	return res
}

func TestRollingMatchesFresh(t *testing.T) {
	data := pattern(10_000, 1)
	for _, n := range []int{1, 7, 2048, 4096} {
		a, b := weakSums(data[:n])
		for i := 0; i+n < len(data); i++ {
			a, b = roll(a, b, n, data[i], data[i+n])
			fa, fb := weakSums(data[i+1 : i+1+n])
			if weakOf(a, b) != weakOf(fa, fb) {
				t.Fatalf("window %d at %d: rolled %08x, fresh %08x", n, i+1, weakOf(a, b), weakOf(fa, fb))
			}
		}
	}
}

func TestBlockSize(t *testing.T) {
	for _, c := range []struct {
		size int64
		want int
	}{
		{0, minBlock}, {1, minBlock}, {1 << 20, minBlock}, {16 << 20, 4 << 10},
		{256 << 20, 16 << 10}, {1 << 40, maxBlock}, {maxFileSize, maxBlock},
	} {
		if got := blockSizeFor(c.size); got != c.want {
			t.Errorf("blockSizeFor(%d) = %d, want %d", c.size, got, c.want)
		}
	}
	if !deltaFits(128<<30) || deltaFits(129<<30) || deltaFits(-1) {
		t.Error("deltaFits does not stop at 128 GiB")
	}
}

func TestDeltaCases(t *testing.T) {
	base := pattern(300_000, 2) // block size 2 KiB, short last block
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(base)) }
	cases := []struct {
		name       string
		old, new   []byte
		maxLiteral int64
	}{
		{"same", base, base, 0},
		{"empty-old", nil, base, int64(len(base))},
		{"empty-new", base, nil, 0},
		{"both-empty", nil, nil, 0},
		{"change-in-middle", base, edit(func(b []byte) []byte { copy(b[150_000:], "changed!"); return b }), 2 * 2048},
		{"insert", base, edit(func(b []byte) []byte {
			return append(b[:100_001:100_001], append([]byte("inserted bytes"), base[100_001:]...)...)
		}), 2*2048 + 14},
		{"delete", base, edit(func(b []byte) []byte { return append(b[:50_000:50_000], base[50_123:]...) }), 2 * 2048},
		{"append", base, append(bytes.Clone(base), "tail"...), 300_000%2048 + 4},
		{"prepend", base, append([]byte("head"), base...), 4},
		{"truncate", base, base[:200_000], 2048},
		{"shorter-than-a-block", base[:1000], base[:999], 999},
		{"unrelated", base, pattern(300_000, 3), 300_000},
		{"repeated-blocks", bytes.Repeat(base[:2048], 10), bytes.Repeat(base[:2048], 30), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := roundTrip(t, c.old, c.new, nil)
			if res.literal > c.maxLiteral {
				t.Fatalf("%d literal bytes, want at most %d", res.literal, c.maxLiteral)
			}
			// Short reads must not change the outcome.
			res2 := roundTrip(t, c.old, c.new, iotest.OneByteReader(bytes.NewReader(c.new)))
			if res2.literal != res.literal {
				t.Fatalf("short reads give %d literal bytes, whole reads %d", res2.literal, res.literal)
			}
		})
	}
}

// The tail block of the old file is found at the end of the new one even
// when the bytes before it changed length.
func TestDeltaTailMatch(t *testing.T) {
	old := pattern(10_000, 4) // 4 blocks of 2 KiB and a tail of 1808
	new := append(append(bytes.Clone(old[:8192]), "xyz"...), old[8192:]...)
	res := roundTrip(t, old, new, nil)
	if res.literal != 3 {
		t.Fatalf("%d literal bytes, want the 3 inserted", res.literal)
	}
}

// Consecutive blocks copy as one instruction.
func TestDeltaRuns(t *testing.T) {
	old := pattern(1<<20, 5)
	res := roundTrip(t, old, old, nil)
	if res.frames != 1 || res.wire > 16 {
		t.Fatalf("an unchanged file takes %d frames of %d bytes", res.frames, res.wire)
	}
}

func TestSigCollectorRefuses(t *testing.T) {
	sums := []blockSum{{weak: 1}, {weak: 2}}
	good := encodeSigs(minBlock, 3*minBlock, 0, sums)
	cases := []struct {
		name   string
		frames [][]byte
		want   string
	}{
		{"small-block", [][]byte{encodeSigs(minBlock-1, 10, 0, nil)}, "block size"},
		{"large-block", [][]byte{encodeSigs(maxBlock+1, 10, 0, nil)}, "block size"},
		{"huge-file", [][]byte{encodeSigs(minBlock, maxFileSize+1, 0, nil)}, "file size"},
		{"too-many-blocks", [][]byte{encodeSigs(minBlock, int64(minBlock)*(maxBlocks+1), 0, nil)}, "blocks exceed"},
		{"gap", [][]byte{good, encodeSigs(minBlock, 3*minBlock, 3, sums[:1])}, "expected 2"},
		{"changed-size", [][]byte{good, encodeSigs(minBlock, 4*minBlock, 2, sums[:1])}, "differ"},
		{"too-many-sums", [][]byte{good, encodeSigs(minBlock, 3*minBlock, 2, sums)}, "more than the 3 blocks"},
		{"partial-sum", [][]byte{append(good, 1, 2, 3)}, "whole number"},
		{"truncated-header", [][]byte{{0x80}}, "ends early"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var col sigCollector
			var err error
			for _, f := range c.frames {
				if _, err = col.add(f); err != nil {
					break
				}
			}
			if err == nil || !errors.Is(err, ErrProtocol) || !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
				t.Fatalf("error %v, want a protocol error mentioning %q", err, c.want)
			}
		})
	}
}

func TestDeltaReaderRefuses(t *testing.T) {
	base := pattern(5000, 6)
	sig := &signature{size: 5000, blockSize: minBlock} // 3 blocks
	op := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	copyOp := func(start, n uint64) []byte {
		var e encoder
		e.u8(opCopy)
		e.uvarint(start)
		e.uvarint(n)
		return e.b
	}
	litOp := func(p string) []byte {
		var e encoder
		e.u8(opLiteral)
		e.str(p)
		return e.b
	}
	cases := []struct {
		name  string
		delta []byte
		limit int64
		want  error
	}{
		{"copy-past-the-base", copyOp(2, 2), -1, ErrProtocol},
		{"copy-overflow", copyOp(1, 1<<63), -1, ErrProtocol},
		{"copy-nothing", copyOp(0, 0), -1, ErrProtocol},
		{"empty-literal", litOp(""), -1, ErrProtocol},
		{"unknown-instruction", []byte{9}, -1, ErrProtocol},
		{"truncated", copyOp(0, 1)[:2], -1, ErrProtocol},
		{"longer-than-declared", op(copyOp(0, 3)), 4999, zerosync.ErrDigestMismatch},
		{"shorter-than-declared", op(litOp("abc")), 4, zerosync.ErrDigestMismatch},
		{"huge-literal-length", []byte{opLiteral, 0xff, 0xff, 0xff, 0xff, 0x0f}, -1, ErrProtocol},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sent := false
			dr := newDeltaReader(bytes.NewReader(base), sig, c.limit, func() ([]byte, error) {
				if sent {
					return nil, io.EOF
				}
				sent = true
				return c.delta, nil
			})
			_, err := io.ReadAll(dr)
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want one wrapping %v", err, c.want)
			}
		})
	}
}

// A base that is shorter than its signature said (changed under the
// reader) is an error, not a short file.
func TestDeltaReaderShortBase(t *testing.T) {
	sig := &signature{size: 5000, blockSize: minBlock}
	sent := false
	dr := newDeltaReader(bytes.NewReader(pattern(3000, 1)), sig, -1, func() ([]byte, error) {
		if sent {
			return nil, io.EOF
		}
		sent = true
		return []byte{opCopy, 1, 1}, nil
	})
	if _, err := io.ReadAll(dr); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("error %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestSignCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := sign(ctx, bytes.NewReader(pattern(1<<20, 1)), 1<<20, minBlock, func(int64, []blockSum) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("sign with a cancelled context: %v", err)
	}
	x := newIndex(&signature{size: 0, blockSize: minBlock})
	_, err = makeDelta(ctx, x, bytes.NewReader(pattern(1<<20, 1)), &deltaSink{send: func([]byte) error { return nil }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("makeDelta with a cancelled context: %v", err)
	}
}

// Any base and any new content round-trip through a delta.
func FuzzDeltaRoundTrip(f *testing.F) {
	f.Add([]byte("hello world"), []byte("hello there world"), uint16(0))
	f.Add(pattern(5000, 1), append(pattern(5000, 1)[:2500], pattern(3000, 2)...), uint16(100))
	f.Add([]byte{}, []byte("x"), uint16(1))
	f.Fuzz(func(t *testing.T, old, new []byte, rep uint16) {
		// Repeat old to reach several blocks now and then.
		if rep%4 == 0 && len(old) > 0 {
			old = bytes.Repeat(old, 1+int(rep)%(8<<10/len(old)+1))
			new = append(bytes.Clone(old[:len(old)/2]), new...)
		}
		roundTrip(t, old, new, nil)
	})
}

// The delta decoder never panics, refuses instructions outside the base,
// and what it accepts encodes back to the same bytes.
func FuzzDecodeDelta(f *testing.F) {
	f.Add([]byte{opCopy, 0, 2, opLiteral, 3, 'a', 'b', 'c'}, uint8(3))
	f.Add([]byte{opLiteral, 0xff, 0xff, 0x03}, uint8(1))
	f.Add([]byte{opCopy, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1}, uint8(200))
	f.Fuzz(func(t *testing.T, b []byte, nblocks uint8) {
		var ops []deltaOp
		err := decodeDelta(b, int64(nblocks), func(op deltaOp) error {
			if op.copy && (op.count < 1 || op.start < 0 || op.start+op.count > int64(nblocks)) {
				t.Fatalf("accepted copy %d+%d from %d blocks", op.start, op.count, nblocks)
			}
			if !op.copy && (len(op.lit) == 0 || len(op.lit) > maxLiteral) {
				t.Fatalf("accepted a literal of %d bytes", len(op.lit))
			}
			ops = append(ops, op)
			return nil
		})
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error does not wrap ErrProtocol: %v", err)
			}
			return
		}
		var e encoder
		for _, op := range ops {
			if op.copy {
				e.u8(opCopy)
				e.uvarint(uint64(op.start))
				e.uvarint(uint64(op.count))
			} else {
				e.u8(opLiteral)
				e.uvarint(uint64(len(op.lit)))
				e.raw(op.lit)
			}
		}
		if !bytes.Equal(e.b, b) && len(ops) > 0 {
			// Varints have one canonical form only when minimal; compare
			// by decoding again instead.
			var again []deltaOp
			if err := decodeDelta(e.b, int64(nblocks), func(op deltaOp) error { again = append(again, op); return nil }); err != nil || len(again) != len(ops) {
				t.Fatalf("re-encoded delta does not decode the same: %v", err)
			}
		}
	})
}

// Any bytes fed to the delta reader as frames, against any base, end in
// content or an error; never a panic, never more than the declared size.
func FuzzDeltaReader(f *testing.F) {
	f.Add([]byte{opCopy, 0, 1}, []byte{opLiteral, 2, 'h', 'i'}, uint16(3000), int16(-1))
	f.Add([]byte{opCopy, 1, 1}, []byte{}, uint16(5000), int16(100))
	f.Fuzz(func(t *testing.T, f1, f2 []byte, baseSize uint16, limit int16) {
		base := pattern(int(baseSize), 7)
		sig := &signature{size: int64(baseSize), blockSize: minBlock}
		frames := [][]byte{f1, f2}
		dr := newDeltaReader(bytes.NewReader(base), sig, int64(limit), func() ([]byte, error) {
			if len(frames) == 0 {
				return nil, io.EOF
			}
			b := frames[0]
			frames = frames[1:]
			return b, nil
		})
		got, err := io.ReadAll(dr)
		if err == nil && limit >= 0 && len(got) != int(limit) {
			t.Fatalf("yielded %d bytes, %d declared", len(got), limit)
		}
		if limit >= 0 && len(got) > int(limit)+maxLiteral {
			t.Fatalf("yielded %d bytes past the %d declared", len(got), limit)
		}
	})
}

// The signature decoder never panics and accepts only signatures within
// the limits; what it accepts encodes back to the same frame.
func FuzzSigCollector(f *testing.F) {
	f.Add(encodeSigs(minBlock, 5000, 0, []blockSum{{weak: 1}, {weak: 2}, {weak: 3}}))
	f.Add(encodeSigs(maxBlock, 0, 0, nil))
	f.Add([]byte{0x80, 0x80, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		var col sigCollector
		done, err := col.add(b)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error does not wrap ErrProtocol: %v", err)
			}
			return
		}
		s := col.sig
		if s.blockSize < minBlock || s.blockSize > maxBlock || s.count() > maxBlocks || int64(len(s.sums)) > s.count() {
			t.Fatalf("accepted block size %d, %d sums for %d bytes", s.blockSize, len(s.sums), s.size)
		}
		if done != (int64(len(s.sums)) == s.count()) {
			t.Fatalf("done %v with %d of %d sums", done, len(s.sums), s.count())
		}
		var again sigCollector
		if _, err := again.add(encodeSigs(s.blockSize, s.size, 0, s.sums)); err != nil || len(again.sig.sums) != len(s.sums) {
			t.Fatalf("re-encoded signatures do not decode: %v", err)
		}
	})
}
