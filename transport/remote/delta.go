package remote

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/zerosync/zerosync"
)

// signature is the list of block sums of a file of size bytes cut into
// blocks of blockSize bytes (the last may be shorter), each with
// strongLen bytes of strong hash.
type signature struct {
	size      int64
	blockSize int
	strongLen int
	// seed is the seed of the strong hashes.
	seed uint64
	sums []blockSum
}

func (s *signature) count() int64 { return blockCount(s.size, s.blockSize) }

// newSignature returns the empty signature of a file of size bytes with
// the block size and strong length the protocol picks for that size, and
// a fresh random seed.
func newSignature(size int64) *signature {
	bs := blockSizeFor(size)
	return &signature{size: size, blockSize: bs, strongLen: strongLenFor(size, bs), seed: rand.Uint64()}
}

// sigsPerFrame is the number of block sums a signatures frame carries
// without a bandwidth limit.
const sigsPerFrame = chunkBudget / sigLen

// signSpan is about how many bytes of a file one worker of sign sums at a
// time.
const signSpan = 4 << 20

// sign computes the block sums of the sig.size bytes of r (block size and
// strong length from sig; its sums are not used) and hands them to emit in
// order, in batches of at most perFrame, with the index of the first. A
// file of no bytes is one call with no sums. Spans of blocks are summed on
// up to GOMAXPROCS goroutines at once (the sums cost a strong hash of
// every byte); emit is called from the caller's goroutine.
func sign(ctx context.Context, r io.ReaderAt, sig *signature, perFrame int, emit func(first int64, sums []blockSum) error) error {
	n := blockCount(sig.size, sig.blockSize)
	if n == 0 {
		return emit(0, nil)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	per := max(int64(signSpan/sig.blockSize), 1)
	type span struct {
		first int64
		sums  []blockSum
		err   error
		done  chan struct{}
	}
	workers := max(min(runtime.GOMAXPROCS(0), 4), 1)
	// spans holds the spans in order, work the ones to sum; both hold at
	// most workers spans, which bounds the memory to a few spans.
	spans := make(chan *span, workers)
	work := make(chan *span, workers)
	for range workers {
		wg.Go(func() {
			buf := make([]byte, sig.blockSize)
			for sp := range work {
				sp.err = sumSpan(ctx, r, sig, buf, sp.first, sp.sums)
				close(sp.done)
			}
		})
	}
	wg.Go(func() {
		defer close(spans)
		defer close(work)
		for first := int64(0); first < n; first += per {
			sp := &span{first: first, sums: make([]blockSum, min(per, n-first)), done: make(chan struct{})}
			select {
			case spans <- sp:
			case <-ctx.Done():
				return
			}
			select {
			case work <- sp:
			case <-ctx.Done():
				close(sp.done)
				return
			}
		}
	})
	batch := make([]blockSum, 0, min(n, int64(max(perFrame, 1))))
	next := int64(0) // index of the first sum of batch
	for sp := range spans {
		select {
		case <-sp.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if sp.err != nil {
			return sp.err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, s := range sp.sums {
			batch = append(batch, s)
			if len(batch) == cap(batch) || next+int64(len(batch)) == n {
				if err := emit(next, batch); err != nil {
					return err
				}
				next += int64(len(batch))
				batch = batch[:0]
			}
		}
	}
	if next != n {
		return ctx.Err()
	}
	return nil
}

// sumSpan fills sums with the sums of the blocks of r from first on, as
// sig says, reading through buf (a block size).
func sumSpan(ctx context.Context, r io.ReaderAt, sig *signature, buf []byte, first int64, sums []blockSum) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	size, bs := sig.size, sig.blockSize
	for i := range sums {
		k := first + int64(i)
		off := k * int64(bs)
		l := min(int64(bs), size-off)
		if m, err := r.ReadAt(buf[:l], off); int64(m) < l {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("read block %d of %d: %w", k, blockCount(size, bs), err)
		}
		sums[i] = sumOf(buf[:l], sig.strongLen, sig.seed)
	}
	return nil
}

// encodeSigs encodes a signatures frame: block size, strong length sl,
// seed of the strong hash (8 bytes, little-endian), file size, index of
// the first sum, then the sums (weak checksum little-endian, the first sl
// bytes of the strong hash).
func encodeSigs(bs, sl int, seed uint64, size, first int64, sums []blockSum) []byte {
	var e encoder
	e.Uvarint(uint64(bs))
	e.Uvarint(uint64(sl))
	e.B = binary.LittleEndian.AppendUint64(e.B, seed)
	e.Uvarint(uint64(size))
	e.Uvarint(uint64(first))
	for _, s := range sums {
		e.B = binary.LittleEndian.AppendUint32(e.B, s.weak)
		e.Raw(s.strong[:sl])
	}
	return e.B
}

// sigCollector gathers the signatures frames of one file, checking that
// they agree with each other and come in order, and that the signature
// stays within maxBlocks.
type sigCollector struct {
	sig     signature
	started bool
}

// add decodes one frame and reports whether the signature is complete.
func (c *sigCollector) add(b []byte) (done bool, err error) {
	d := newDecoder("signatures", b)
	bs := d.Uvarint("block size")
	sl := d.Uvarint("strong length")
	var seed uint64
	if b := d.RawN("seed", 8); d.Err == nil {
		seed = binary.LittleEndian.Uint64(b)
	}
	size := d.Uvarint("file size")
	first := d.Uvarint("first block")
	if d.Err != nil {
		return false, d.Err
	}
	switch {
	case bs < minBlock || bs > maxBlock:
		d.Fail("block size %d out of range [%d, %d]", bs, minBlock, maxBlock)
	case sl < minStrong || sl > strongMax:
		d.Fail("strong length %d out of range [%d, %d]", sl, minStrong, strongMax)
	case size > maxFileSize:
		d.Fail("file size %d exceeds the limit of %d", size, uint64(maxFileSize))
	case blockCount(int64(size), int(bs)) > maxBlocks:
		d.Fail("%d blocks exceed the limit of %d", blockCount(int64(size), int(bs)), maxBlocks)
	case blockCount(int64(size), int(bs)) > maxBlocksFor(int64(size)):
		d.Fail("%d blocks of %d bytes for a %d-byte file, where that size justifies at most %d (blocks of %d bytes)",
			blockCount(int64(size), int(bs)), bs, size, maxBlocksFor(int64(size)), blockSizeFor(int64(size)))
	case c.started && (int(bs) != c.sig.blockSize || int(sl) != c.sig.strongLen || seed != c.sig.seed || int64(size) != c.sig.size):
		d.Fail("block size %d, strong length %d, seed %#x and file size %d differ from the first frame's %d, %d, %#x and %d",
			bs, sl, seed, size, c.sig.blockSize, c.sig.strongLen, c.sig.seed, c.sig.size)
	case first != uint64(len(c.sig.sums)):
		d.Fail("frame starts at block %d, expected %d", first, len(c.sig.sums))
	case len(d.B)%(4+int(sl)) != 0:
		d.Fail("%d bytes of sums are not a whole number of %d-byte sums", len(d.B), 4+sl)
	}
	if d.Err != nil {
		return false, d.Err
	}
	if !c.started {
		c.started = true
		c.sig.blockSize, c.sig.strongLen, c.sig.seed, c.sig.size = int(bs), int(sl), seed, int64(size)
	}
	l := 4 + c.sig.strongLen
	n := int64(len(d.B) / l)
	total := c.sig.count()
	if int64(len(c.sig.sums))+n > total {
		return false, protoErr("signatures: more than the %d blocks of a %d-byte file", total, size)
	}
	for i := range n {
		p := d.B[i*int64(l):]
		s := blockSum{weak: binary.LittleEndian.Uint32(p)}
		copy(s.strong[:], p[4:l])
		c.sig.sums = append(c.sig.sums, s)
	}
	return int64(len(c.sig.sums)) == total, nil
}

// Limits of the work of matching, whatever the signature holds. A peer
// chooses the sums: it can give every block the weak checksum of some
// common content (a block of zeros) with strong hashes that never match,
// so that every byte offset of that content is a weak hit whose strong
// hash must be computed and compared. Without limits that is quadratic
// (each hit compared with every block of the same weak checksum) and,
// even with one comparison a hit, a strong hash of a whole block per byte
// of input.
const (
	// maxCandidates is the number of blocks a weak checksum finds: the
	// first ones of the signature with that checksum and distinct strong
	// hashes. Further blocks are still copied when they follow a match
	// (the block after the last match is tried first), else sent as
	// literals.
	maxCandidates = 8
	// missSlack and missesPerBlock bound the strong hashes that match
	// nothing: missSlack, plus missesPerBlock for every block length of
	// content read so far. Past that, windows are not tried and their
	// bytes go as literals until more content was read, so hashing costs
	// at most about missesPerBlock times reading the content once.
	missSlack      = 64
	missesPerBlock = 4
)

// maxBlocksFor returns the most blocks a signature of a file of size
// bytes may have: those of the block size the protocol picks for that
// size ([blockSizeFor]). A peer may use larger blocks, never smaller.
func maxBlocksFor(size int64) int64 { return blockCount(size, blockSizeFor(size)) }

// sigIndex finds the blocks of a signature by weak checksum. Full-length
// blocks are chained in a hash table, at most maxCandidates for each weak
// checksum, with a bit filter in front of it that turns most lookups of
// bytes that match nothing into one memory access; a shorter last block
// is matched only at the end of a stream. It counts its work, and stops
// trying windows while the strong hashes that matched nothing exceed the
// budget that the content read so far allows.
type sigIndex struct {
	sig    *signature
	bs     int
	full   int64 // full-length blocks: 0 to full-1
	head   map[uint32]int32
	next   []int32
	filter []uint64
	shift  uint
	// tail is the index of the short last block, or -1.
	tail    int64
	tailLen int

	// skipped counts the blocks left out of the chains: duplicates, and
	// blocks past maxCandidates of their weak checksum.
	skipped int64
	// strongs counts the strong hashes computed to match content, and
	// misses those that matched nothing; compares counts the strong
	// hashes of blocks compared with them.
	strongs, misses, compares int64
	// spent counts the windows not tried because the budget was spent.
	spent int64
}

func newIndex(sig *signature) *sigIndex {
	x := &sigIndex{sig: sig, bs: sig.blockSize, full: sig.size / int64(sig.blockSize), tail: -1}
	if r := int(sig.size % int64(sig.blockSize)); r != 0 {
		x.tail, x.tailLen = x.full, r
	}
	nbits := max(uint(bits.Len64(uint64(x.full)*16)), 16)
	x.filter = make([]uint64, 1<<(nbits-6))
	x.shift = 64 - nbits
	x.head = make(map[uint32]int32, x.full)
	x.next = make([]int32, x.full)
	for k := range x.full {
		x.next[k] = -1
		s := sig.sums[k]
		h, ok := x.head[s.weak]
		if !ok {
			x.head[s.weak] = int32(k)
			x.filter[x.slot(s.weak)/64] |= 1 << (x.slot(s.weak) % 64)
			continue
		}
		n, last, dup := 1, h, sig.sums[h].strong == s.strong
		for j := x.next[h]; j >= 0 && !dup; j = x.next[j] {
			n, last, dup = n+1, j, sig.sums[j].strong == s.strong
		}
		if dup || n >= maxCandidates {
			x.skipped++
			continue
		}
		x.next[last] = int32(k)
	}
	return x
}

func (x *sigIndex) slot(w uint32) uint64 { return (uint64(w) * 0x9e3779b97f4a7c15) >> x.shift }

// budget reports whether a window may still be tried after read bytes of
// content.
func (x *sigIndex) budget(read int64) bool {
	if x.misses < missSlack+missesPerBlock*(read/int64(x.bs)) {
		return true
	}
	x.spent++
	return false
}

// match returns the full-length block whose sums are w and those of
// window, or -1. It tries hint first (the block after the last match), so
// runs of copied blocks stay runs. read is the content read so far, for
// the budget of strong hashes.
func (x *sigIndex) match(w uint32, window []byte, hint, read int64) int64 {
	if s := x.slot(w); x.filter[s/64]&(1<<(s%64)) == 0 {
		return -1
	}
	hinted := hint >= 0 && hint < x.full && x.sig.sums[hint].weak == w
	k, ok := x.head[w]
	if !ok && !hinted {
		return -1
	}
	if !x.budget(read) {
		return -1
	}
	strong := strongOf(window, x.sig.strongLen, x.sig.seed)
	x.strongs++
	if hinted {
		x.compares++
		if x.sig.sums[hint].strong == strong {
			return hint
		}
	}
	if ok {
		for ; k >= 0; k = x.next[k] {
			x.compares++
			if x.sig.sums[k].strong == strong {
				return int64(k)
			}
		}
	}
	x.misses++
	return -1
}

// matchNext reports whether window is the full-length block k, the one
// after the last match, by its strong hash alone: a run of copied blocks
// skips the weak checksum. A false match here needs a strong collision
// with one block for each block of content, far less likely than one
// through the weak checksum. It counts against the budget like any
// strong hash. read is the content read before window.
func (x *sigIndex) matchNext(window []byte, k, read int64) bool {
	if k < 0 || k >= x.full || !x.budget(read) {
		return false
	}
	x.strongs++
	x.compares++
	if strongOf(window, x.sig.strongLen, x.sig.seed) == x.sig.sums[k].strong {
		return true
	}
	x.misses++
	return false
}

// matchTail reports whether p is the short last block.
func (x *sigIndex) matchTail(p []byte) bool {
	if x.tail < 0 || len(p) != x.tailLen {
		return false
	}
	x.strongs++
	return x.sig.sums[x.tail] == sumOf(p, x.sig.strongLen, x.sig.seed)
}

// Delta instructions. A delta frame is a sequence of them; a file is
// rebuilt by carrying them out in order.
const (
	opCopy    = 1 // uvarint first block, uvarint number of blocks: copy from the base
	opLiteral = 2 // uvarint length (1 to maxLiteral), bytes: new data
	// maxLiteral bounds one literal.
	maxLiteral = 64 << 10
	// deltaBudget is the size at which a delta frame is sent.
	deltaBudget = 64 << 10
	// readAhead is how much of the new content makeDelta reads at once.
	readAhead = 256 << 10
)

// deltaSink encodes delta instructions into frames: consecutive copies
// become one run, literals are cut at the budget, and a frame is handed to
// send once it holds the budget (so a frame holds at most about twice
// the budget). The payload passed to send is reused afterwards.
type deltaSink struct {
	e            encoder
	start, count int64 // pending run of copied blocks; count 0: none
	send         func([]byte) error
	// budget is the size at which a frame is sent, and the longest
	// literal: deltaBudget when 0, at most maxLiteral.
	budget int
	// literal and copied count the bytes of each kind, for logs.
	literal, copied int64
	bs              int64
}

func (s *deltaSink) copyBlock(k int64, n int) error {
	s.copied += int64(n)
	if s.count > 0 && s.start+s.count == k {
		s.count++
		return nil
	}
	s.endRun()
	s.start, s.count = k, 1
	return s.maybeSend()
}

func (s *deltaSink) endRun() {
	if s.count > 0 {
		s.e.U8(opCopy)
		s.e.Uvarint(uint64(s.start))
		s.e.Uvarint(uint64(s.count))
		s.count = 0
	}
}

func (s *deltaSink) lit(p []byte) error {
	for len(p) > 0 {
		s.endRun()
		n := min(len(p), s.limit())
		s.e.U8(opLiteral)
		s.e.Uvarint(uint64(n))
		s.e.Raw(p[:n])
		s.literal += int64(n)
		p = p[n:]
		if err := s.maybeSend(); err != nil {
			return err
		}
	}
	return nil
}

// limit returns the budget.
func (s *deltaSink) limit() int {
	if s.budget <= 0 {
		return deltaBudget
	}
	return min(s.budget, maxLiteral)
}

func (s *deltaSink) maybeSend() error {
	if len(s.e.B) < s.limit() {
		return nil
	}
	return s.sendNow()
}

func (s *deltaSink) sendNow() error {
	err := s.send(s.e.B)
	s.e.B = s.e.B[:0]
	return err
}

// flush sends what is pending.
func (s *deltaSink) flush() error {
	s.endRun()
	if len(s.e.B) == 0 {
		return nil
	}
	return s.sendNow()
}

// makeDelta reads r to its end and writes to sink the instructions that
// rebuild it from the file x describes: a copy for every block of r found
// in the index (at any offset, found by rolling the weak checksum one byte
// at a time), literals for the rest. Whatever the signature, its work is
// linear in the bytes of r: windows whose strong hash would exceed the
// index's budget go as literals. It returns the bytes read from r.
func makeDelta(ctx context.Context, x *sigIndex, r io.Reader, sink *deltaSink) (int64, error) {
	if x.full == 0 && x.tail < 0 {
		return allLiteral(ctx, r, sink)
	}
	L := x.bs
	buf := make([]byte, 0, 2*(maxLiteral+L)+readAhead)
	var (
		total    int64
		pos, lit int // the window starts at pos; pending literal bytes at lit
		eof      bool
		a, b     uint32
		have     bool // a and b are the sums of buf[pos:pos+L]
		last     = int64(-2)
	)
	fill := func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if lit > 0 {
			n := copy(buf, buf[lit:])
			buf = buf[:n]
			pos -= lit
			lit = 0
		}
		for !eof && len(buf) < cap(buf) {
			n, err := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			total += int64(n)
			if errors.Is(err, io.EOF) {
				eof = true
				break
			}
			if err != nil {
				return err
			}
			if len(buf)-pos > L {
				break
			}
		}
		return nil
	}
	for {
		if len(buf)-pos <= L && !eof {
			if err := fill(); err != nil {
				return total, err
			}
			continue
		}
		if len(buf)-pos < L {
			break
		}
		read := total - int64(len(buf)-pos) // content before the window
		if !have && x.matchNext(buf[pos:pos+L], last+1, read) {
			// The block after the last match, found without the weak
			// checksum: a run of unchanged blocks costs a strong hash a
			// block, not a weak checksum too.
			if err := sink.lit(buf[lit:pos]); err != nil {
				return total, err
			}
			if err := sink.copyBlock(last+1, L); err != nil {
				return total, err
			}
			pos += L
			lit, last = pos, last+1
			continue
		}
		if !have {
			a, b = weakSums(buf[pos : pos+L])
			have = true
		}
		if k := x.match(weakOf(a, b), buf[pos:pos+L], last+1, read); k >= 0 {
			if err := sink.lit(buf[lit:pos]); err != nil {
				return total, err
			}
			if err := sink.copyBlock(k, L); err != nil {
				return total, err
			}
			pos += L
			lit, have, last = pos, false, k
			continue
		}
		if len(buf)-pos == L {
			break // the stream ended and its last window matched nothing
		}
		a, b = roll(a, b, L, buf[pos], buf[pos+L])
		pos++
		if pos-lit >= maxLiteral {
			if err := sink.lit(buf[lit:pos]); err != nil {
				return total, err
			}
			lit = pos
		}
	}
	end := len(buf)
	if tp := end - x.tailLen; x.tail >= 0 && tp >= pos && x.matchTail(buf[tp:end]) {
		if err := sink.lit(buf[lit:tp]); err != nil {
			return total, err
		}
		if err := sink.copyBlock(x.tail, x.tailLen); err != nil {
			return total, err
		}
		lit = end
	}
	if err := sink.lit(buf[lit:end]); err != nil {
		return total, err
	}
	return total, sink.flush()
}

// allLiteral is makeDelta against an empty signature: everything r holds
// as literals, without rolling a checksum over it.
func allLiteral(ctx context.Context, r io.Reader, sink *deltaSink) (int64, error) {
	buf := make([]byte, readAhead)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := io.ReadFull(r, buf)
		total += int64(n)
		if lerr := sink.lit(buf[:n]); lerr != nil {
			return total, lerr
		}
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return total, sink.flush()
		case err != nil:
			return total, err
		}
	}
}

// deltaOp is one decoded instruction: a run of blocks to copy, or literal
// bytes.
type deltaOp struct {
	copy         bool
	start, count int64
	lit          []byte
}

// deltaOp decodes one instruction against a base of nblocks blocks.
func (d *decoder) deltaOp(nblocks int64) deltaOp {
	switch code := d.U8("instruction"); {
	case d.Err != nil:
	case code == opCopy:
		start := d.Uvarint("copy start")
		count := d.Uvarint("copy count")
		if d.Err == nil && (count == 0 || start >= uint64(nblocks) || count > uint64(nblocks)-start) {
			d.Fail("copy of blocks %d+%d from a base of %d blocks", start, count, nblocks)
		}
		return deltaOp{copy: true, start: int64(start), count: int64(count)}
	case code == opLiteral:
		p := d.Bytes("literal", maxLiteral)
		if d.Err == nil && len(p) == 0 {
			d.Fail("empty literal")
		}
		return deltaOp{lit: p}
	default:
		d.Fail("unknown instruction %d", code)
	}
	return deltaOp{}
}

// decodeDelta decodes a whole delta frame, calling fn for each instruction.
func decodeDelta(b []byte, nblocks int64, fn func(deltaOp) error) error {
	d := newDecoder("delta", b)
	for len(d.B) > 0 && d.Err == nil {
		op := d.deltaOp(nblocks)
		if d.Err != nil {
			break
		}
		if err := fn(op); err != nil {
			return err
		}
	}
	return d.End()
}

// deltaReader rebuilds content from a base and delta frames: it is the
// reader an Apply (on the agent) or the caller of OpenDelta (on the
// client) reads the new content from. It yields at most limit bytes (the
// declared size; -1: unknown) and checks at the end that it yielded
// exactly that many.
type deltaReader struct {
	base     io.ReaderAt
	baseSize int64
	bs       int64
	nblocks  int64
	limit    int64
	// next returns the payload of the next delta frame, or io.EOF when
	// the delta is complete.
	next func() ([]byte, error)

	d                *decoder
	copyOff, copyEnd int64
	lit              []byte
	n                int64
	err              error
}

func newDeltaReader(base io.ReaderAt, sig *signature, limit int64, next func() ([]byte, error)) *deltaReader {
	return &deltaReader{base: base, baseSize: sig.size, bs: int64(sig.blockSize), nblocks: sig.count(), limit: limit, next: next}
}

// errDeltaSize wraps both ErrProtocol and ErrDigestMismatch: a delta that
// does not yield the declared size is a lie about the content.
func errDeltaSize(format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrProtocol, zerosync.ErrDigestMismatch, fmt.Sprintf(format, args...))
}

func (r *deltaReader) Read(p []byte) (int, error) {
	for {
		if r.err != nil {
			return 0, r.err
		}
		if len(p) == 0 {
			return 0, nil
		}
		if len(r.lit) > 0 {
			n := copy(p, r.lit)
			r.lit = r.lit[n:]
			return n, nil
		}
		if r.copyOff < r.copyEnd {
			k := int(min(int64(len(p)), r.copyEnd-r.copyOff))
			n, err := r.base.ReadAt(p[:k], r.copyOff)
			r.copyOff += int64(n)
			if n < k {
				if err == nil || errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				r.err = fmt.Errorf("read the base at %d: %w", r.copyOff, err)
				return n, r.err
			}
			return n, nil
		}
		if r.d == nil || len(r.d.B) == 0 {
			b, err := r.next()
			if errors.Is(err, io.EOF) {
				if r.limit >= 0 && r.n != r.limit {
					r.err = errDeltaSize("delta yields %d bytes, %d were declared", r.n, r.limit)
				} else {
					r.err = io.EOF
				}
				continue
			}
			if err != nil {
				r.err = err
				continue
			}
			r.d = newDecoder("delta", b)
			continue
		}
		op := r.d.deltaOp(r.nblocks)
		if r.d.Err != nil {
			r.err = r.d.Err
			continue
		}
		var size int64
		if op.copy {
			r.copyOff = op.start * r.bs
			r.copyEnd = min((op.start+op.count)*r.bs, r.baseSize)
			size = r.copyEnd - r.copyOff
		} else {
			r.lit = op.lit
			size = int64(len(op.lit))
		}
		r.n += size
		if r.limit >= 0 && r.n > r.limit {
			r.err = errDeltaSize("delta yields more than the %d bytes declared", r.limit)
		}
	}
}
