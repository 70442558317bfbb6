package remote

import (
	"fmt"
	"github.com/zerosync/zerosync/internal/codec"
	"io/fs"
	"strings"

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

// encoder appends values to a message. It never fails; limits are checked
// by the callers before encoding.
type encoder struct{ codec.Writer }

// size and digest for a file or the target of a symlink.
func (e *encoder) entry(x *zerosync.Entry) {
	e.U8(uint8(x.Kind))
	if x.Kind == zerosync.KindSymlink {
		e.Uvarint(0) // a symlink has no permission bits of its own
	} else {
		e.Uvarint(uint64(x.Mode.Perm()))
	}
	e.Time(x.ModTime)
	switch x.Kind {
	case zerosync.KindFile:
		e.Uvarint(uint64(x.Size))
		e.Raw(x.Digest[:])
	case zerosync.KindSymlink:
		e.Str(x.Target)
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

// decoder reads one message; its failures wrap [ErrProtocol] and name
// the message. The first failure sticks.
type decoder struct{ codec.Reader }

func newDecoder(what string, b []byte) *decoder {
	return &decoder{codec.Reader{B: b, Wrap: func(msg string) error {
		return fmt.Errorf("%w: %s: %s", ErrProtocol, what, msg)
	}}}
}

// well-formed (what [zerosync.Snapshot.Validate] asks of an entry).
func (d *decoder) entry(field string) *zerosync.Entry {
	kind := zerosync.Kind(d.U8(field))
	return d.entryOfKind(field, kind)
}

func (d *decoder) entryOfKind(field string, kind zerosync.Kind) *zerosync.Entry {
	mode := d.Uvarint(field)
	mtime := d.Time(field)
	if d.Err != nil {
		return nil
	}
	if mode&^uint64(fs.ModePerm) != 0 {
		d.Fail("%s: mode %#o has bits beyond permissions", field, mode)
		return nil
	}
	x := &zerosync.Entry{Kind: kind, Mode: fs.FileMode(mode), ModTime: mtime}
	switch kind {
	case zerosync.KindFile:
		size := d.Uvarint(field)
		copy(x.Digest[:], d.RawN(field, digestLen))
		if d.Err == nil && size > maxFileSize {
			d.Fail("%s: file size %d exceeds the limit of %d", field, size, uint64(maxFileSize))
		}
		x.Size = int64(size)
	case zerosync.KindDir:
	case zerosync.KindSymlink:
		if x.Mode != 0 {
			d.Fail("%s: symlink with mode %v", field, x.Mode)
		}
		x.Target = d.Str(field, maxWirePath)
		if d.Err == nil && (x.Target == "" || strings.IndexByte(x.Target, 0) >= 0) {
			d.Fail("%s: bad symlink target %q", field, x.Target)
		}
	default:
		d.Fail("%s: unknown kind %d", field, kind)
	}
	if d.Err != nil {
		return nil
	}
	return x
}

// cut shortens s to at most n bytes, for messages from errors.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
