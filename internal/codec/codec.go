// Package codec is the small binary encoding shared by the state database
// and the agent protocol: unsigned and signed varints, length-prefixed
// strings and times as seconds and nanoseconds, read by a [Reader] whose
// first failure sticks, with every length checked against a limit before
// anything is allocated.
package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

const nanosPerSec = 1_000_000_000

// Writer appends values to B. It never fails; callers check limits before
// encoding.
type Writer struct{ B []byte }

// U8 appends one byte.
func (w *Writer) U8(v uint8) { w.B = append(w.B, v) }

// Uvarint appends an unsigned varint.
func (w *Writer) Uvarint(v uint64) { w.B = binary.AppendUvarint(w.B, v) }

// Varint appends a signed varint.
func (w *Writer) Varint(v int64) { w.B = binary.AppendVarint(w.B, v) }

// Raw appends p as it is.
func (w *Writer) Raw(p []byte) { w.B = append(w.B, p...) }

// Str appends a length-prefixed string.
func (w *Writer) Str(s string) {
	w.Uvarint(uint64(len(s)))
	w.B = append(w.B, s...)
}

// Time appends t as Unix seconds and nanoseconds: every time exactly,
// including those outside the years 1678 to 2262, in the same number of
// bytes for present-day times.
func (w *Writer) Time(t time.Time) {
	w.Varint(t.Unix())
	w.Uvarint(uint64(t.Nanosecond()))
}

// Reader reads values from B. The first failure sticks in Err: later reads
// return zero values. Field names the value being read in messages; it may
// be empty.
type Reader struct {
	B   []byte
	Err error
	// Wrap, when set, turns a failure's message into the error kept, so
	// each user wraps its own sentinel; nil keeps the message as it is.
	Wrap func(msg string) error
}

// Fail records a failure unless one is recorded already.
func (r *Reader) Fail(format string, args ...any) {
	if r.Err != nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if r.Wrap != nil {
		r.Err = r.Wrap(msg)
	} else {
		r.Err = errors.New(msg)
	}
}

// failField records a failure about field.
func (r *Reader) failField(field, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	r.Fail("%s", msg)
}

func (r *Reader) short(field string) { r.failField(field, "message ends early") }

// U8 reads one byte.
func (r *Reader) U8(field string) uint8 {
	if r.Err != nil {
		return 0
	}
	if len(r.B) < 1 {
		r.short(field)
		return 0
	}
	v := r.B[0]
	r.B = r.B[1:]
	return v
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint(field string) uint64 {
	if r.Err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.B)
	return uint64(r.advance(field, n, int64(v)))
}

// Varint reads a signed varint.
func (r *Reader) Varint(field string) int64 {
	if r.Err != nil {
		return 0
	}
	v, n := binary.Varint(r.B)
	return r.advance(field, n, v)
}

// advance consumes a varint of n bytes (as encoding/binary reports n) and
// returns v, or records why it cannot.
func (r *Reader) advance(field string, n int, v int64) int64 {
	switch {
	case n == 0:
		r.short(field)
		return 0
	case n < 0:
		r.failField(field, "varint overflows 64 bits")
		return 0
	}
	r.B = r.B[n:]
	return v
}

// Count reads a count of at most max items, each taking at least minSize
// bytes of what is left, so a count never promises more than the input
// holds.
func (r *Reader) Count(field string, max, minSize int) int {
	n := r.Uvarint(field)
	if r.Err != nil {
		return 0
	}
	if n > uint64(max) {
		r.failField(field, "count %d exceeds the limit of %d", n, max)
		return 0
	}
	if n*uint64(minSize) > uint64(len(r.B)) {
		r.short(field)
		return 0
	}
	return int(n)
}

// Bytes reads a length-prefixed byte string of at most max bytes, without
// copying.
func (r *Reader) Bytes(field string, max int) []byte {
	n := r.Uvarint(field)
	if r.Err != nil {
		return nil
	}
	if n > uint64(max) {
		r.failField(field, "length %d exceeds the limit of %d", n, max)
		return nil
	}
	return r.RawN(field, int(n))
}

// Str reads a length-prefixed string of at most max bytes.
func (r *Reader) Str(field string, max int) string { return string(r.Bytes(field, max)) }

// RawN reads exactly n bytes without copying.
func (r *Reader) RawN(field string, n int) []byte {
	if r.Err != nil {
		return nil
	}
	if n < 0 || len(r.B) < n {
		r.short(field)
		return nil
	}
	v := r.B[:n:n]
	r.B = r.B[n:]
	return v
}

// Time reads a time written by [Writer.Time].
func (r *Reader) Time(field string) time.Time {
	sec := r.Varint(field)
	nsec := r.Uvarint(field)
	if r.Err != nil {
		return time.Time{}
	}
	if nsec >= nanosPerSec {
		r.failField(field, "nanoseconds %d out of range", nsec)
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec))
}

// End checks that the whole input was read and returns the first error.
func (r *Reader) End() error {
	if r.Err == nil && len(r.B) != 0 {
		r.Fail("%d trailing bytes", len(r.B))
	}
	return r.Err
}
