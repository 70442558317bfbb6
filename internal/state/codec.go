package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

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
	nanosPerSec = 1_000_000_000
	digestLen   = len(zerosync.Digest{})
)

// errShort is the decoding error for input that ends too early.
var errShort = errors.New("unexpected end of data")

// encoder appends values to a byte slice. It never fails; limits are
// checked by the callers before encoding.
type encoder struct{ b []byte }

func (e *encoder) u8(v uint8)        { e.b = append(e.b, v) }
func (e *encoder) uvarint(v uint64)  { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)    { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) raw(p []byte)      { e.b = append(e.b, p...) }
func (e *encoder) digest(d [32]byte) { e.b = append(e.b, d[:]...) }

func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

// time appends a non-zero time as Unix seconds and nanoseconds. Seconds and
// nanoseconds, rather than Unix nanoseconds, represent every time exactly,
// including those outside the years 1678 to 2262, in the same number of
// bytes for present-day times.
func (e *encoder) time(t time.Time) {
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
}

// decoder reads values from a byte slice. The first failure sticks: later
// reads return zero values and err keeps the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

func (d *decoder) u8() uint8 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.err = errShort
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	switch {
	case n == 0:
		d.err = errShort
		return 0
	case n < 0:
		d.err = errors.New("varint overflows 64 bits")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	switch {
	case n == 0:
		d.err = errShort
		return 0
	case n < 0:
		d.err = errors.New("varint overflows 64 bits")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) digest() (out zerosync.Digest) {
	if d.err != nil {
		return out
	}
	if len(d.b) < digestLen {
		d.err = errShort
		return out
	}
	copy(out[:], d.b)
	d.b = d.b[digestLen:]
	return out
}

// str reads a length-prefixed string of at most max bytes. The length is
// checked against max and against the bytes left before anything is
// allocated.
func (d *decoder) str(what string, max int) string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(max) {
		d.fail("%s length %d exceeds limit %d", what, n, max)
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = errShort
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if d.err != nil {
		return time.Time{}
	}
	if nsec >= nanosPerSec {
		d.fail("nanoseconds %d out of range", nsec)
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec))
}

// version reads and checks the leading version byte.
func (d *decoder) version(what string, want uint8) {
	v := d.u8()
	if d.err == nil && v != want {
		d.fail("unknown %s encoding version %d", what, v)
	}
}

// end checks that all input was consumed and returns the decoding error,
// wrapping [ErrCorrupt].
func (d *decoder) end() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, d.err)
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
