package state

import (
	"encoding/binary"
	"fmt"
	"github.com/zerosync/zerosync/internal/codec"

	"github.com/zerosync/zerosync"
)

// Limits on the lengths of encoded fields. Encoders refuse values beyond them
// (an error wrapping [zerosync.ErrTooLarge]) and decoders treat a length
// beyond them as corruption, so a damaged length never turns into a large
// allocation.
const (
	maxPathLen  = zerosync.MaxPathLen // paths, symlink targets, copy paths
	maxOpLen    = 64                  // journal op words
	maxNameLen  = 1024                // resolver names, host names
	maxNoteLen  = 64 << 10            // free-form notes
	maxArchive  = 64                  // entries of ReviewItem.Archive
	maxArchKey  = 256                 // keys of ReviewItem.Archive
	digestLen   = len(zerosync.Digest{})
	nanosPerSec = 1_000_000_000 // for tests of times
)

// encoder appends values to a byte slice. It never fails; limits are
// checked by the callers before encoding.
type encoder struct{ codec.Writer }

func newEncoder(b []byte) encoder { return encoder{codec.Writer{B: b}} }

func (e *encoder) digest(d [32]byte) { e.Raw(d[:]) }

// decoder reads values from a byte slice. The first failure sticks: later
// reads return zero values and Err keeps the first error.
type decoder struct{ codec.Reader }

func newDecoder(b []byte) decoder { return decoder{codec.Reader{B: b}} }

func (d *decoder) digest() (out zerosync.Digest) {
	copy(out[:], d.RawN("digest", digestLen))
	return out
}

// version reads an encoding version byte and checks it is want.
func (d *decoder) version(what string, want uint8) {
	v := d.U8(what)
	if d.Err == nil && v != want {
		d.Fail("unknown %s encoding version %d", what, v)
	}
}

// end checks that everything was read, and wraps a failure in
// [ErrCorrupt].
func (d *decoder) end() error {
	if err := d.End(); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return nil
}

// checkLen returns an error wrapping [zerosync.ErrTooLarge] when s is longer
// than max bytes.
func checkLen(what, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%s is %d bytes, over the limit of %d: %w", what, len(s), max, zerosync.ErrTooLarge)
	}
	return nil
}

// seqKey is the bucket key of a sequence number: big-endian, so keys sort
// in numeric order.
func seqKey(n uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), n) }

// keySeq decodes a key written by seqKey.
func keySeq(k []byte) (uint64, bool) {
	if len(k) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(k), true
}
