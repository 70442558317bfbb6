package remote

import (
	"math"

	"github.com/zerosync/zerosync/internal/digest"
)

// Block signatures for delta transfer, as in rsync: a file is cut into
// blocks of one size (the last may be shorter); each block has a weak
// checksum that can be rolled along a byte stream one byte at a time, and a
// strong hash that confirms a weak match.
const (
	minBlock = 2 << 10
	maxBlock = 64 << 10
	// maxBlocks bounds the blocks of a signature, and so the memory of an
	// index (about 20 bytes a block). Files with more blocks (over 128 GiB)
	// travel whole.
	maxBlocks = 1 << 21
	// strongLen is the length of the strong hash kept per block: the first
	// bytes of its BLAKE3 digest. A false match needs a 32-bit weak
	// collision and a 64-bit strong one, and even then the digest of the
	// whole rebuilt file catches it.
	strongLen = 8
	sigLen    = 4 + strongLen
)

// blockSizeFor returns the block size for a file of size bytes: the square
// root of the size, which balances the bytes of the signature against those
// of the literal data around each change, rounded up to a KiB and clamped to
// [minBlock, maxBlock].
func blockSizeFor(size int64) int {
	b := int64(math.Sqrt(float64(max(size, 0))))
	b = (b + 1023) &^ 1023
	return int(min(max(b, minBlock), maxBlock))
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

// strongOf returns the strong hash of a block.
func strongOf(p []byte) (s [strongLen]byte) {
	d := digest.Sum(p)
	copy(s[:], d[:strongLen])
	return s
}

// blockSum is the signature of one block.
type blockSum struct {
	weak   uint32
	strong [strongLen]byte
}

func sumOf(p []byte) blockSum { return blockSum{weak: weakOf(weakSums(p)), strong: strongOf(p)} }
