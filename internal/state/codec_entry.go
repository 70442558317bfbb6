package state

import (
	"fmt"
	"io/fs"
	"time"

	"github.com/zerosync/zerosync"
)

// entryVersion is the first byte of every encoded base entry.
const entryVersion = 1

// Flags of an encoded entry: which optional fields follow.
const (
	entryHasTime   = 1 << 0
	entryHasDigest = 1 << 1
	entryHasTarget = 1 << 2
	entryFlags     = entryHasTime | entryHasDigest | entryHasTarget
)

// checkEntry reports whether e can be encoded: a known kind and a target
// within [zerosync.MaxPathLen].
func checkEntry(e *zerosync.Entry) error {
	switch e.Kind {
	case zerosync.KindFile, zerosync.KindDir, zerosync.KindSymlink:
	default:
		return fmt.Errorf("%w: entry of unknown kind %d", ErrInvalid, e.Kind)
	}
	return checkLen("symlink target", e.Target, maxPathLen)
}

// appendEntry appends the encoding of an entry that passed checkEntry:
//
//	version  1 byte (entryVersion)
//	kind     1 byte
//	flags    1 byte: entryHasTime, entryHasDigest, entryHasTarget
//	mode     uvarint (fs.FileMode bits)
//	size     uvarint (the int64 as uint64)
//	mtime    varint Unix seconds, uvarint nanoseconds    (entryHasTime)
//	digest   32 bytes                                    (entryHasDigest)
//	target   uvarint length, bytes                       (entryHasTarget)
//
// A present-day file with a digest takes about 48 bytes.
func appendEntry(b []byte, e *zerosync.Entry) []byte {
	enc := newEncoder(b)
	enc.U8(entryVersion)
	encodeEntryBody(&enc, e)
	return enc.B
}

// encodeEntryBody writes an entry without its version byte; review items
// embed entries this way.
func encodeEntryBody(enc *encoder, e *zerosync.Entry) {
	var flags uint8
	if !e.ModTime.IsZero() {
		flags |= entryHasTime
	}
	if !e.Digest.IsZero() {
		flags |= entryHasDigest
	}
	if e.Target != "" {
		flags |= entryHasTarget
	}
	enc.U8(uint8(e.Kind))
	enc.U8(flags)
	enc.Uvarint(uint64(e.Mode))
	enc.Uvarint(uint64(e.Size))
	if flags&entryHasTime != 0 {
		enc.Time(e.ModTime)
	}
	if flags&entryHasDigest != 0 {
		enc.digest(e.Digest)
	}
	if flags&entryHasTarget != 0 {
		enc.Str(e.Target)
	}
}

// decodeEntry decodes a value written by appendEntry. Any malformed input
// is an error wrapping [ErrCorrupt]; it never panics and allocates at most
// the target string, whose length is capped.
func decodeEntry(b []byte) (zerosync.Entry, error) {
	d := newDecoder(b)
	d.version("entry", entryVersion)
	e := decodeEntryBody(&d)
	if err := d.end(); err != nil {
		return zerosync.Entry{}, err
	}
	return e, nil
}

func decodeEntryBody(d *decoder) (e zerosync.Entry) {
	kind := zerosync.Kind(d.U8(""))
	flags := d.U8("")
	mode := d.Uvarint("")
	size := d.Uvarint("")
	if d.Err != nil {
		return e
	}
	switch kind {
	case zerosync.KindFile, zerosync.KindDir, zerosync.KindSymlink:
	default:
		d.Fail("unknown entry kind %d", kind)
		return e
	}
	if flags&^entryFlags != 0 {
		d.Fail("unknown entry flags %#x", flags)
		return e
	}
	if mode > uint64(^uint32(0)) {
		d.Fail("mode %#x out of range", mode)
		return e
	}
	e.Kind = kind
	e.Mode = fs.FileMode(mode)
	e.Size = int64(size)
	if flags&entryHasTime != 0 {
		e.ModTime = d.Time("")
	} else {
		e.ModTime = time.Time{}
	}
	if flags&entryHasDigest != 0 {
		e.Digest = d.digest()
	}
	if flags&entryHasTarget != 0 {
		e.Target = d.Str("symlink target", maxPathLen)
	}
	return e
}

// entryDigest decodes an encoded entry and returns the digest by which it
// refers to an ancestor body: a file's digest, or false for other kinds and
// for files without a digest.
func entryDigest(b []byte) (zerosync.Digest, bool, error) {
	e, err := decodeEntry(b)
	if err != nil {
		return zerosync.Digest{}, false, err
	}
	if e.Kind != zerosync.KindFile || e.Digest.IsZero() {
		return zerosync.Digest{}, false, nil
	}
	return e.Digest, true, nil
}
