package remote

import (
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/cespare/xxhash/v2"
)

// Block signatures for delta transfer, as in rsync: a file is cut into
// blocks of one size (the last may be shorter); each block has a weak
// checksum that can be rolled along a byte stream one byte at a time, and a
// strong hash that confirms a weak match: XXH64 with a seed the signing
// side draws for each signature, as rsync seeds its block checksums.
// Nobody can prepare blocks that collide under a seed not yet drawn, and
// a collision costs a transfer, never a wrong file (see strongBias).
const (
	minBlock = 2 << 10
	maxBlock = 64 << 10
	// maxBlocks bounds the blocks of a signature, and so the memory of an
	// index (about 20 bytes a block). Files with more blocks (over 128 GiB)
	// travel whole.
	maxBlocks = 1 << 21
	// strongMax is the most bytes of the strong hash kept per block: the
	// bytes of its XXH64 hash, little-endian. A signature keeps
	// strongLenFor of them ([minStrong, strongMax]); its frames say how
	// many.
	strongMax = 8
	minStrong = 4
	// sigLen is the most bytes a block sum takes in a signatures frame.
	sigLen = 4 + strongMax
	// strongBias and weakBits set the strong length: a whole file has
	// about one chance in 2^strongBias of a false block match, counting
	// the 32-bit weak checksum as weakBits only, as its sums of bytes are
	// not uniform. A false match costs a transfer, never a wrong file: the
	// rebuilt file's digest is checked before it replaces anything, and a
	// push that fails that check is sent again whole.
	strongBias = 20
	weakBits   = 24
	// sumEstimate is the bytes of a block sum that blockSizeFor assumes.
	sumEstimate = 4 + 5
)

// blockSizeFor returns the block size for a file of size bytes: the square
// root of size times the bytes of a block sum, which balances the bytes of
// the signature (size/block sums) against those of the literal data
// around a change (about a block), rounded up to a KiB and clamped to
// [minBlock, maxBlock].
func blockSizeFor(size int64) int {
	b := int64(math.Sqrt(float64(max(size, 0)) * sumEstimate))
	b = (b + 1023) &^ 1023
	return int(min(max(b, minBlock), maxBlock))
}

// strongLenFor returns the bytes of strong hash a signature of a file of
// size bytes in blocks of bs keeps, as rsync chooses them: enough that a
// false match among the size*blocks pairs of a window and a block stays
// improbable (about 2^-strongBias for the file), in [minStrong, strongMax].
func strongLenFor(size int64, bs int) int {
	n := max(blockCount(size, bs), 1)
	need := strongBias + bits.Len64(uint64(max(size, 1))) + bits.Len64(uint64(n)) - weakBits
	return min(max((need+7)/8, minStrong), strongMax)
}

// blockCount returns the number of blocks of a file of size bytes.
func blockCount(size int64, bs int) int64 { return (size + int64(bs) - 1) / int64(bs) }

// deltaFits reports whether a file of size bytes can travel as a delta.
func deltaFits(size int64) bool {
	return size >= 0 && size <= maxFileSize && blockCount(size, blockSizeFor(size)) <= maxBlocks
}

// weakSums returns the two halves of the weak checksum of p: a is the sum
// of the bytes, b the sum of each byte times its distance from the end
// (computed as the sum of the running sums a). Both wrap modulo 2^32;
// weakOf keeps 16 bits of each.
func weakSums(p []byte) (a, b uint32) {
	for _, c := range p {
		a += uint32(c)
		b += a
	}
	return a, b
}

func weakOf(a, b uint32) uint32 { return a&0xffff | b<<16 }

// roll moves a window of length n one byte on: out leaves it, in enters.
func roll(a, b uint32, n int, out, in byte) (uint32, uint32) {
	a += uint32(in) - uint32(out)
	b += a - uint32(n)*uint32(out)
	return a, b
}

// strongOf returns the strong hash of a block under seed: its first n
// bytes, zeros after them.
func strongOf(p []byte, n int, seed uint64) (s [strongMax]byte) {
	var d xxhash.Digest
	d.ResetWithSeed(seed)
	d.Write(p)
	binary.LittleEndian.PutUint64(s[:], d.Sum64())
	clear(s[n:])
	return s
}

// blockSum is the signature of one block.
type blockSum struct {
	weak   uint32
	strong [strongMax]byte
}

// sumOf returns the sums of a block, with n bytes of strong hash under
// seed.
func sumOf(p []byte, n int, seed uint64) blockSum {
	return blockSum{weak: weakOf(weakSums(p)), strong: strongOf(p, n, seed)}
}
