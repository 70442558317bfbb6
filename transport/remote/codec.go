package remote

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/zerosync/zerosync"
)

// Limits on fields of messages. Decoders check every length and count
// against them (and against the bytes left in the frame) before anything is
// allocated; encoders never produce a value beyond them.
const (
	maxWirePath   = zerosync.MaxPathLen // paths and symlink targets
	maxRootLen    = 4096                // roots asked of Serve
	maxVersionLen = 256                 // agent version strings
	maxMessageLen = 4096                // error messages (longer ones are cut)
	maxNoteLen    = 4096                // KeepConflict notes
	maxReasonLen  = 64                  // hint reasons
	nanosPerSec   = 1_000_000_000
	digestLen     = len(zerosync.Digest{})
	// maxFileSize bounds declared file sizes: 2^62 bytes.
	maxFileSize = 1 << 62
)

// encoder appends values to a byte slice. It never fails: callers keep
// values within the limits above.
type encoder struct{ b []byte }

func (e *encoder) u8(v uint8)       { e.b = append(e.b, v) }
func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) raw(p []byte)     { e.b = append(e.b, p...) }

func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

// time appends t as Unix seconds and nanoseconds, which represent every time
// exactly.
func (e *encoder) time(t time.Time) {
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
}

// entry appends an entry: kind, permission bits, modification time, then
// size and digest for a file or the target of a symlink.
func (e *encoder) entry(x *zerosync.Entry) {
	e.u8(uint8(x.Kind))
	if x.Kind == zerosync.KindSymlink {
		e.uvarint(0) // a symlink has no permission bits of its own
	} else {
		e.uvarint(uint64(x.Mode.Perm()))
	}
	e.time(x.ModTime)
	switch x.Kind {
	case zerosync.KindFile:
		e.uvarint(uint64(x.Size))
		e.raw(x.Digest[:])
	case zerosync.KindSymlink:
		e.str(x.Target)
	}
}

// checkEntry reports whether x can be encoded: a known kind, permission bits
// only, a size within limits, a symlink target within limits.
func checkEntry(x *zerosync.Entry) error {
	switch x.Kind {
	case zerosync.KindFile:
		if x.Size < 0 || x.Size > maxFileSize {
			return fmt.Errorf("file size %d out of range", x.Size)
		}
	case zerosync.KindDir:
	case zerosync.KindSymlink:
		if x.Target == "" || len(x.Target) > maxWirePath || strings.IndexByte(x.Target, 0) >= 0 {
			return fmt.Errorf("bad symlink target %q", x.Target)
		}
	default:
		return fmt.Errorf("unknown kind %d", x.Kind)
	}
	if x.Mode&^fs.ModePerm != 0 {
		return fmt.Errorf("mode %v has bits beyond permissions", x.Mode)
	}
	return nil
}

// decoder reads values from one message. The first failure sticks: later
// reads return zero values and err keeps the first error. what names the
// message in errors.
type decoder struct {
	what string
	b    []byte
	err  error
}

func newDecoder(what string, b []byte) *decoder { return &decoder{what: what, b: b} }

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s: %s", ErrProtocol, d.what, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) short(field string) { d.fail("%s: message ends early", field) }

func (d *decoder) u8(field string) uint8 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.short(field)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	switch {
	case n == 0:
		d.short(field)
		return 0
	case n < 0:
		d.fail("%s: varint overflows 64 bits", field)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint(field string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	switch {
	case n == 0:
		d.short(field)
		return 0
	case n < 0:
		d.fail("%s: varint overflows 64 bits", field)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a count of at most max items, each taking at least minSize
// bytes of what is left, so a count never promises more than the message
// holds.
func (d *decoder) count(field string, max, minSize int) int {
	n := d.uvarint(field)
	if d.err != nil {
		return 0
	}
	if n > uint64(max) {
		d.fail("%s: count %d exceeds the limit of %d", field, n, max)
		return 0
	}
	if n*uint64(minSize) > uint64(len(d.b)) {
		d.short(field)
		return 0
	}
	return int(n)
}

// bytes reads a length-prefixed byte string of at most max bytes, without
// copying.
func (d *decoder) bytes(field string, max int) []byte {
	n := d.uvarint(field)
	if d.err != nil {
		return nil
	}
	if n > uint64(max) {
		d.fail("%s: length %d exceeds the limit of %d", field, n, max)
		return nil
	}
	if n > uint64(len(d.b)) {
		d.short(field)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// str reads a length-prefixed string of at most max bytes.
func (d *decoder) str(field string, max int) string { return string(d.bytes(field, max)) }

// rawN reads exactly n bytes without copying.
func (d *decoder) rawN(field string, n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.short(field)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) time(field string) time.Time {
	sec := d.varint(field)
	nsec := d.uvarint(field)
	if d.err != nil {
		return time.Time{}
	}
	if nsec >= nanosPerSec {
		d.fail("%s: nanoseconds %d out of range", field, nsec)
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec))
}

// entry reads an entry written by encoder.entry and checks it is
// well-formed (what [zerosync.Snapshot.Validate] asks of an entry).
func (d *decoder) entry(field string) *zerosync.Entry {
	kind := zerosync.Kind(d.u8(field))
	return d.entryOfKind(field, kind)
}

func (d *decoder) entryOfKind(field string, kind zerosync.Kind) *zerosync.Entry {
	mode := d.uvarint(field)
	mtime := d.time(field)
	if d.err != nil {
		return nil
	}
	if mode&^uint64(fs.ModePerm) != 0 {
		d.fail("%s: mode %#o has bits beyond permissions", field, mode)
		return nil
	}
	x := &zerosync.Entry{Kind: kind, Mode: fs.FileMode(mode), ModTime: mtime}
	switch kind {
	case zerosync.KindFile:
		size := d.uvarint(field)
		copy(x.Digest[:], d.rawN(field, digestLen))
		if d.err == nil && size > maxFileSize {
			d.fail("%s: file size %d exceeds the limit of %d", field, size, uint64(maxFileSize))
		}
		x.Size = int64(size)
	case zerosync.KindDir:
	case zerosync.KindSymlink:
		if x.Mode != 0 {
			d.fail("%s: symlink with mode %v", field, x.Mode)
		}
		x.Target = d.str(field, maxWirePath)
		if d.err == nil && (x.Target == "" || strings.IndexByte(x.Target, 0) >= 0) {
			d.fail("%s: bad symlink target %q", field, x.Target)
		}
	default:
		d.fail("%s: unknown kind %d", field, kind)
	}
	if d.err != nil {
		return nil
	}
	return x
}

// end checks that the whole message was read and returns the first error.
func (d *decoder) end() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	return d.err
}

// cut shortens s to at most n bytes, for messages from errors.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
