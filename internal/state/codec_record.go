package state

import (
	"fmt"

	"github.com/zerosync/zerosync"
)

// recordVersion is the first byte of every encoded journal record.
const recordVersion = 1

// Flags of an encoded record: which optional fields follow.
const (
	recordHasTime   = 1 << 0
	recordHasDigest = 1 << 1
	recordFlags     = recordHasTime | recordHasDigest
)

// checkRecord reports whether r can be encoded: every string within its
// limit and a known side.
func checkRecord(r *Record) error {
	if r.Side != zerosync.Ours && r.Side != zerosync.Theirs {
		return fmt.Errorf("%w: journal record with side %d", ErrInvalid, r.Side)
	}
	for _, c := range []struct {
		what string
		s    string
		max  int
	}{
		{"journal path", r.Path, maxPathLen},
		{"journal op", r.Op, maxOpLen},
		{"journal by", r.By, maxNameLen},
		{"journal note", r.Note, maxNoteLen},
	} {
		if err := checkLen(c.what, c.s, c.max); err != nil {
			return err
		}
	}
	return nil
}

// appendRecord appends the encoding of a record that passed checkRecord.
// The sequence number is the record's key and is not part of the value:
//
//	version  1 byte (recordVersion)
//	flags    1 byte: recordHasTime, recordHasDigest
//	side     1 byte
//	time     varint Unix seconds, uvarint nanoseconds    (recordHasTime)
//	digest   32 bytes                                    (recordHasDigest)
//	path, op, by, note: uvarint length, bytes each
func appendRecord(b []byte, r *Record) []byte {
	enc := newEncoder(b)
	var flags uint8
	if !r.Time.IsZero() {
		flags |= recordHasTime
	}
	if !r.Digest.IsZero() {
		flags |= recordHasDigest
	}
	enc.U8(recordVersion)
	enc.U8(flags)
	enc.U8(uint8(r.Side))
	if flags&recordHasTime != 0 {
		enc.Time(r.Time)
	}
	if flags&recordHasDigest != 0 {
		enc.digest(r.Digest)
	}
	enc.Str(r.Path)
	enc.Str(r.Op)
	enc.Str(r.By)
	enc.Str(r.Note)
	return enc.B
}

// decodeRecord decodes a value written by appendRecord; the caller sets Seq
// from the key. Malformed input is an error wrapping [ErrCorrupt]; it never
// panics and every length is capped before allocation.
func decodeRecord(b []byte) (Record, error) {
	var r Record
	d := newDecoder(b)
	d.version("journal record", recordVersion)
	flags := d.U8("")
	side := d.U8("")
	if d.Err == nil && flags&^recordFlags != 0 {
		d.Fail("unknown record flags %#x", flags)
	}
	if d.Err == nil && side > uint8(zerosync.Theirs) {
		d.Fail("unknown side %d", side)
	}
	r.Side = zerosync.Side(side)
	if flags&recordHasTime != 0 {
		r.Time = d.Time("")
	}
	if flags&recordHasDigest != 0 {
		r.Digest = d.digest()
	}
	r.Path = d.Str("path", maxPathLen)
	r.Op = d.Str("op", maxOpLen)
	r.By = d.Str("by", maxNameLen)
	r.Note = d.Str("note", maxNoteLen)
	if err := d.end(); err != nil {
		return Record{}, err
	}
	return r, nil
}
