package remote

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// deltaResult is what a delta of one content against another cost.
type deltaResult struct {
	literal, copied int64
	wire            int // bytes of delta frames
	frames          int
	x               *sigIndex
}

// maxStrongs is the most strong hashes a delta of n bytes of content may
// compute with blocks of bs bytes: those that match nothing within their
// budget, one for each block copied, and one for the short last block.
func maxStrongs(n int64, bs int) int64 {
	return missSlack + (missesPerBlock+1)*(n/int64(bs)) + 1
}

// checkWork fails when a delta of n bytes did more work than its bounds.
func checkWork(t testing.TB, x *sigIndex, n int64) {
	t.Helper()
	if x.strongs > maxStrongs(n, x.bs) || x.misses > x.strongs || x.compares > x.strongs*(maxCandidates+1) {
		t.Fatalf("a delta of %d bytes (blocks of %d) computed %d strong hashes (%d matched nothing; bound %d) and compared %d",
			n, x.bs, x.strongs, x.misses, maxStrongs(n, x.bs), x.compares)
	}
}

// roundTrip signs old, computes the delta of new against it (reading new
// through r when given, to test short reads), rebuilds new from old and
// the delta, and checks the result.
func roundTrip(t testing.TB, old, new []byte, r io.Reader) deltaResult {
	t.Helper()
	ctx := context.Background()
	sig := newSignature(int64(len(old)))
	var col sigCollector
	done := false
	err := sign(ctx, bytes.NewReader(old), sig, sigsPerFrame, func(first int64, sums []blockSum) error {
		if done {
			t.Fatal("signature complete before its last frame")
		}
		var err error
		done, err = col.add(encodeSigs(sig.blockSize, sig.strongLen, sig.seed, sig.size, first, sums))
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
	x := newIndex(&col.sig)
	n, err := makeDelta(ctx, x, r, sink)
	if err != nil {
		t.Fatalf("makeDelta: %v", err)
	}
	if n != int64(len(new)) {
		t.Fatalf("makeDelta read %d bytes of %d", n, len(new))
	}
	checkWork(t, x, n)
	res.literal, res.copied, res.frames, res.x = sink.literal, sink.copied, len(frames), x
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
		{0, minBlock}, {1, minBlock}, {1 << 20, 3 << 10}, {16 << 20, 12 << 10},
		{256 << 20, 48 << 10}, {1 << 40, maxBlock}, {maxFileSize, maxBlock},
	} {
		if got := blockSizeFor(c.size); got != c.want {
			t.Errorf("blockSizeFor(%d) = %d, want %d", c.size, got, c.want)
		}
	}
	if !deltaFits(128<<30) || deltaFits(129<<30) || deltaFits(-1) {
		t.Error("deltaFits does not stop at 128 GiB")
	}
}

// The strong length grows with the file and its blocks, as rsync's does,
// within [minStrong, strongMax].
func TestStrongLen(t *testing.T) {
	for _, c := range []struct {
		size int64
		want int
	}{
		{0, minStrong}, {1 << 20, minStrong}, {256 << 20, 5}, {16 << 30, 7}, {128 << 30, 7}, {maxFileSize, strongMax},
	} {
		if got := strongLenFor(c.size, blockSizeFor(c.size)); got != c.want {
			t.Errorf("strongLenFor(%d) = %d, want %d", c.size, got, c.want)
		}
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
	good := encodeSigs(minBlock, strongMax, 0, 3*minBlock, 0, sums)
	cases := []struct {
		name   string
		frames [][]byte
		want   string
	}{
		{"small-block", [][]byte{encodeSigs(minBlock-1, strongMax, 0, 10, 0, nil)}, "block size"},
		{"large-block", [][]byte{encodeSigs(maxBlock+1, strongMax, 0, 10, 0, nil)}, "block size"},
		{"huge-file", [][]byte{encodeSigs(minBlock, strongMax, 0, maxFileSize+1, 0, nil)}, "file size"},
		{"too-many-blocks", [][]byte{encodeSigs(minBlock, strongMax, 0, int64(minBlock)*(maxBlocks+1), 0, nil)}, "blocks exceed"},
		{"blocks-too-small-for-the-size", [][]byte{encodeSigs(minBlock, strongMax, 0, 100_000*minBlock, 0, nil)},
			"100000 blocks of 2048 bytes for a 204800000-byte file, where that size justifies at most 4762 (blocks of 43008 bytes)"},
		{"short-strong", [][]byte{encodeSigs(minBlock, minStrong-1, 0, 10, 0, nil)}, "strong length 3 out of range"},
		{"long-strong", [][]byte{encodeSigs(minBlock, strongMax+1, 0, 10, 0, nil)}, "strong length 9 out of range"},
		{"changed-seed", [][]byte{good, encodeSigs(minBlock, strongMax, 1, 3*minBlock, 2, sums[:1])}, "differ"},
		{"short-seed", [][]byte{{byte(minBlock&0x7f) | 0x80, minBlock >> 7, strongMax, 1, 2, 3}}, "seed"},
		{"changed-strong", [][]byte{good, encodeSigs(minBlock, minStrong, 0, 3*minBlock, 2, sums[:1])}, "differ"},
		{"gap", [][]byte{good, encodeSigs(minBlock, strongMax, 0, 3*minBlock, 3, sums[:1])}, "expected 2"},
		{"changed-size", [][]byte{good, encodeSigs(minBlock, strongMax, 0, 4*minBlock, 2, sums[:1])}, "differ"},
		{"too-many-sums", [][]byte{good, encodeSigs(minBlock, strongMax, 0, 3*minBlock, 2, sums)}, "more than the 3 blocks"},
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
	sig := &signature{size: 5000, blockSize: minBlock, strongLen: strongMax} // 3 blocks
	op := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	copyOp := func(start, n uint64) []byte {
		var e encoder
		e.U8(opCopy)
		e.Uvarint(start)
		e.Uvarint(n)
		return e.B
	}
	litOp := func(p string) []byte {
		var e encoder
		e.U8(opLiteral)
		e.Str(p)
		return e.B
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
	sig := &signature{size: 5000, blockSize: minBlock, strongLen: strongMax}
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
	err := sign(ctx, bytes.NewReader(pattern(1<<20, 1)), &signature{size: 1 << 20, blockSize: minBlock, strongLen: strongMax}, sigsPerFrame, func(int64, []blockSum) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("sign with a cancelled context: %v", err)
	}
	x := newIndex(&signature{size: 0, blockSize: minBlock, strongLen: strongMax})
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
				e.U8(opCopy)
				e.Uvarint(uint64(op.start))
				e.Uvarint(uint64(op.count))
			} else {
				e.U8(opLiteral)
				e.Uvarint(uint64(len(op.lit)))
				e.Raw(op.lit)
			}
		}
		if !bytes.Equal(e.B, b) && len(ops) > 0 {
			// Varints have one canonical form only when minimal; compare
			// by decoding again instead.
			var again []deltaOp
			if err := decodeDelta(e.B, int64(nblocks), func(op deltaOp) error { again = append(again, op); return nil }); err != nil || len(again) != len(ops) {
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
		sig := &signature{size: int64(baseSize), blockSize: minBlock, strongLen: strongMax}
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
	f.Add(encodeSigs(minBlock, strongMax, 0, 5000, 0, []blockSum{{weak: 1}, {weak: 2}, {weak: 3}}))
	f.Add(encodeSigs(maxBlock, strongMax, 0, 0, 0, nil))
	f.Add(encodeSigs(minBlock, minStrong, 0, 5000, 0, []blockSum{{weak: 1}, {weak: 2}, {weak: 3}}))
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
		if s.strongLen < minStrong || s.strongLen > strongMax {
			t.Fatalf("accepted a strong length of %d", s.strongLen)
		}
		if s.blockSize < minBlock || s.blockSize > maxBlock || s.count() > maxBlocks || s.count() > maxBlocksFor(s.size) || int64(len(s.sums)) > s.count() {
			t.Fatalf("accepted block size %d, %d sums for %d bytes", s.blockSize, len(s.sums), s.size)
		}
		if done != (int64(len(s.sums)) == s.count()) {
			t.Fatalf("done %v with %d of %d sums", done, len(s.sums), s.count())
		}
		var again sigCollector
		if _, err := again.add(encodeSigs(s.blockSize, s.strongLen, s.seed, s.size, 0, s.sums)); err != nil || len(again.sig.sums) != len(s.sums) {
			t.Fatalf("re-encoded signatures do not decode: %v", err)
		}
	})
}

// collidingSig returns a signature of n blocks of bs bytes whose weak
// checksums all equal that of a block of zeros and whose strong hashes
// all differ from it and from each other: the worst a peer can send
// against content of zeros. It is decoded as a peer's would be.
func collidingSig(tb testing.TB, bs int, n int64) (*signature, error) {
	tb.Helper()
	weak := weakOf(weakSums(make([]byte, bs)))
	size := n * int64(bs)
	var col sigCollector
	sums := make([]blockSum, 0, sigsPerFrame)
	for k := int64(0); k < n; k++ {
		s := blockSum{weak: weak}
		binary.LittleEndian.PutUint64(s.strong[:], uint64(k)+1)
		sums = append(sums, s)
		if len(sums) == cap(sums) || k == n-1 {
			if _, err := col.add(encodeSigs(bs, strongMax, 0, size, k+1-int64(len(sums)), sums)); err != nil {
				return nil, err
			}
			sums = sums[:0]
		}
	}
	return &col.sig, nil
}

// BenchmarkDeltaCollidingSignature: a delta of 1 MiB of zeros against a
// peer's signature of 100,000 blocks that all share the weak checksum of
// zeros (the most blocks a file can justify with them: 64 KiB blocks of
// a 6.1 GiB file).
func BenchmarkDeltaCollidingSignature(b *testing.B) {
	sig, err := collidingSig(b, maxBlock, 100_000)
	if err != nil {
		b.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	b.SetBytes(int64(len(zeros)))
	for b.Loop() {
		x := newIndex(sig)
		sink := &deltaSink{send: func([]byte) error { return nil }}
		if _, err := makeDelta(context.Background(), x, bytes.NewReader(zeros), sink); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDeltaCollidingSignature: a peer's signature whose blocks all share
// the weak checksum of the content (100,000 blocks against 1 MiB of
// zeros) costs a bounded number of strong hashes and comparisons, and the
// delta is still right: all literal, since nothing matches.
func TestDeltaCollidingSignature(t *testing.T) {
	sig, err := collidingSig(t, maxBlock, 100_000)
	if err != nil {
		t.Fatalf("a signature the size justifies was refused: %v", err)
	}
	x := newIndex(sig)
	if x.skipped != 100_000-maxCandidates {
		t.Fatalf("the index keeps %d blocks of one weak checksum, want %d", 100_000-x.skipped, maxCandidates)
	}
	zeros := make([]byte, 1<<20)
	var frames [][]byte
	sink := &deltaSink{send: func(b []byte) error { frames = append(frames, bytes.Clone(b)); return nil }}
	n, err := makeDelta(context.Background(), x, bytes.NewReader(zeros), sink)
	if err != nil || n != int64(len(zeros)) {
		t.Fatalf("makeDelta: %d bytes, %v", n, err)
	}
	checkWork(t, x, n)
	// Without the budget every offset but the last block's would be a
	// strong hash.
	if x.spent < int64(len(zeros))-int64(maxBlock)-maxStrongs(n, maxBlock) {
		t.Fatalf("only %d windows were left untried", x.spent)
	}
	t.Logf("%d strong hashes (bound %d), %d comparisons, %d windows untried", x.strongs, maxStrongs(n, maxBlock), x.compares, x.spent)
	if sink.copied != 0 || sink.literal != int64(len(zeros)) {
		t.Fatalf("%d bytes copied, %d literal", sink.copied, sink.literal)
	}
	i := 0
	dr := newDeltaReader(failingReaderAt{}, sig, int64(len(zeros)), func() ([]byte, error) {
		if i == len(frames) {
			return nil, io.EOF
		}
		i++
		return frames[i-1], nil
	})
	got, err := io.ReadAll(dr)
	if err != nil || !bytes.Equal(got, zeros) {
		t.Fatalf("rebuilt %d bytes: %v", len(got), err)
	}

	// With small blocks, as many colliding blocks need a size that
	// justifies fewer: refused before any work.
	if _, err := collidingSig(t, minBlock, 100_000); err == nil || !errors.Is(err, ErrProtocol) ||
		!strings.Contains(err.Error(), "100000 blocks of 2048 bytes for a 204800000-byte file") {
		t.Fatalf("small colliding blocks: %v", err)
	}
}

// failingReaderAt is a base that must not be read.
type failingReaderAt struct{}

func (failingReaderAt) ReadAt([]byte, int64) (int, error) {
	return 0, errors.New("the base was read")
}

// collidingBlocks returns n distinct blocks of bs bytes that share one
// weak checksum, that of a block of bytes 0x80 (which is not one of
// them): each adds 1 at i and j+1 and takes 1 at i+1 and j, which keeps
// both sums.
func collidingBlocks(n, bs int) [][]byte {
	out := make([][]byte, n)
	for k := range out {
		b := bytes.Repeat([]byte{0x80}, bs)
		i, j := 2*k, 2*k+bs/2
		b[i]++
		b[i+1]--
		b[j]--
		b[j+1]++
		out[k] = b
	}
	return out
}

// TestDeltaBudget: honest content behind a long run that hits the weak
// checksums of the base without matching still round-trips, and its
// blocks are copied once the budget allows again.
func TestDeltaBudget(t *testing.T) {
	blocks := collidingBlocks(2*maxCandidates, minBlock)
	flat := bytes.Repeat([]byte{0x80}, minBlock)
	if weakOf(weakSums(blocks[0])) != weakOf(weakSums(flat)) || bytes.Equal(blocks[0], blocks[1]) {
		t.Fatal("the blocks do not collide")
	}
	tailData := pattern(64*minBlock, 7)
	old := append(bytes.Join(blocks, nil), tailData...)
	// Half a MiB that hits the weak checksum at every offset, then the
	// base's own blocks: every one of the colliding ones (half of them
	// only found after a match of the block before), and the rest.
	var new []byte
	for range 256 {
		new = append(new, flat...)
	}
	new = append(new, old...)
	res := roundTrip(t, old, new, nil)
	t.Logf("%d literal, %d copied, %d strong hashes, %d windows untried", res.literal, res.copied, res.x.strongs, res.x.spent)
	if res.x.spent == 0 {
		t.Fatal("the budget was never spent: the test proves nothing")
	}
	if res.literal > 256*minBlock+2*minBlock {
		t.Fatalf("%d literal bytes, want at most the flat run and two blocks", res.literal)
	}
}

// TestIndexCandidates: the index keeps at most maxCandidates blocks of
// one weak checksum, and a block whose sums another block already has
// only once; blocks left out are still copied after the block before
// them.
func TestIndexCandidates(t *testing.T) {
	blocks := collidingBlocks(3*maxCandidates, minBlock)
	old := bytes.Join(append(append([][]byte(nil), blocks...), blocks[0], blocks[1]), nil)
	res := roundTrip(t, old, old, nil)
	if want := int64(len(blocks) + 2 - maxCandidates); res.x.skipped != want {
		t.Fatalf("%d blocks left out of the index, want %d", res.x.skipped, want)
	}
	if res.literal != 0 {
		t.Fatalf("an unchanged file of colliding blocks takes %d literal bytes", res.literal)
	}
	for w, k := range res.x.head {
		n := 0
		for ; k >= 0; k = res.x.next[k] {
			n++
		}
		if n > maxCandidates {
			t.Fatalf("weak checksum %08x finds %d blocks", w, n)
		}
	}
}

// zeroReaderAt is a base of zeros of any size.
type zeroReaderAt struct{}

func (zeroReaderAt) ReadAt(p []byte, _ int64) (int, error) {
	clear(p)
	return len(p), nil
}

// FuzzDeltaAgainstPeerSignature: whatever signature a peer sends, a delta
// against it covers the content exactly, decodes, and stays within its
// work bounds.
func FuzzDeltaAgainstPeerSignature(f *testing.F) {
	zeroWeak := weakOf(weakSums(make([]byte, minBlock)))
	var colliding []blockSum
	for k := range 8 {
		colliding = append(colliding, blockSum{weak: zeroWeak, strong: [strongMax]byte{byte(k + 1)}})
	}
	f.Add(encodeSigs(minBlock, strongMax, 0, 8*minBlock, 0, colliding), []byte{0}, uint16(32<<10))
	f.Add(encodeSigs(minBlock, strongMax, 0, 3*minBlock, 0, []blockSum{sumOf(make([]byte, minBlock), strongMax, 0), {weak: zeroWeak}, {weak: 1}}), []byte{0, 0, 1}, uint16(9000))
	f.Add(encodeSigs(maxBlock, strongMax, 0, 0, 0, nil), []byte("x"), uint16(1))
	f.Fuzz(func(t *testing.T, sigFrame, unit []byte, size uint16) {
		var col sigCollector
		if done, err := col.add(sigFrame); err != nil || !done {
			return
		}
		var content []byte
		if len(unit) > 0 {
			content = bytes.Repeat(unit, int(size)/len(unit)+1)[:size]
		}
		x := newIndex(&col.sig)
		var frames [][]byte
		sink := &deltaSink{send: func(b []byte) error { frames = append(frames, bytes.Clone(b)); return nil }}
		n, err := makeDelta(context.Background(), x, bytes.NewReader(content), sink)
		if err != nil || n != int64(len(content)) || sink.literal+sink.copied != n {
			t.Fatalf("makeDelta: %d bytes read, %d literal + %d copied, %v", n, sink.literal, sink.copied, err)
		}
		checkWork(t, x, n)
		i := 0
		dr := newDeltaReader(zeroReaderAt{}, &col.sig, n, func() ([]byte, error) {
			if i == len(frames) {
				return nil, io.EOF
			}
			i++
			return frames[i-1], nil
		})
		if got, err := io.ReadAll(dr); err != nil || int64(len(got)) != n {
			t.Fatalf("rebuilt %d of %d bytes: %v", len(got), n, err)
		}
	})
}

// A false block match, planted: the signature says block k of the base
// has the sums of the new content's block k. The delta copies that block
// and the rebuilt file differs from the new one, which only the whole
// file's digest catches (see TestDeltaFalseMatchFallsBack for what
// follows).
func TestDeltaFalseMatchRebuildsOtherContent(t *testing.T) {
	old := pattern(1<<20, 1)
	sig := newSignature(int64(len(old)))
	bs := sig.blockSize
	require.NoError(t, sign(t.Context(), bytes.NewReader(old), sig, sigsPerFrame, func(_ int64, sums []blockSum) error {
		sig.sums = append(sig.sums, sums...)
		return nil
	}))
	updated := bytes.Clone(old)
	const k = 5
	copy(updated[k*bs:], pattern(bs, 2))
	sig.sums[k] = sumOf(updated[k*bs:(k+1)*bs], sig.strongLen, sig.seed)

	var frames [][]byte
	sink := &deltaSink{send: func(b []byte) error { frames = append(frames, bytes.Clone(b)); return nil }}
	_, err := makeDelta(t.Context(), newIndex(sig), bytes.NewReader(updated), sink)
	require.NoError(t, err)
	require.Zero(t, sink.literal, "the planted block went as a literal")
	i := 0
	dr := newDeltaReader(bytes.NewReader(old), sig, int64(len(updated)), func() ([]byte, error) {
		if i == len(frames) {
			return nil, io.EOF
		}
		i++
		return frames[i-1], nil
	})
	got, err := io.ReadAll(dr)
	require.NoError(t, err)
	require.Equal(t, old, got, "the rebuild is the base, not the new content")
	require.NotEqual(t, digest.Sum(updated), digest.Sum(got))
}
