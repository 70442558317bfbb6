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
	enc := encoder{b: b}
	var flags uint8
	if !r.Time.IsZero() {
		flags |= recordHasTime
	}
	if !r.Digest.IsZero() {
		flags |= recordHasDigest
	}
	enc.u8(recordVersion)
	enc.u8(flags)
	enc.u8(uint8(r.Side))
	if flags&recordHasTime != 0 {
		enc.time(r.Time)
	}
	if flags&recordHasDigest != 0 {
		enc.digest(r.Digest)
	}
	enc.str(r.Path)
	enc.str(r.Op)
	enc.str(r.By)
	enc.str(r.Note)
	return enc.b
}

// decodeRecord decodes a value written by appendRecord; the caller sets Seq
// from the key. Malformed input is an error wrapping [ErrCorrupt]; it never
// panics and every length is capped before allocation.
func decodeRecord(b []byte) (Record, error) {
	var r Record
	d := decoder{b: b}
	d.version("journal record", recordVersion)
	flags := d.u8()
	side := d.u8()
	if d.err == nil && flags&^recordFlags != 0 {
		d.fail("unknown record flags %#x", flags)
	}
	if d.err == nil && side > uint8(zerosync.Theirs) {
		d.fail("unknown side %d", side)
	}
	r.Side = zerosync.Side(side)
	if flags&recordHasTime != 0 {
		r.Time = d.time()
	}
	if flags&recordHasDigest != 0 {
		r.Digest = d.digest()
	}
	r.Path = d.str("path", maxPathLen)
	r.Op = d.str("op", maxOpLen)
	r.By = d.str("by", maxNameLen)
	r.Note = d.str("note", maxNoteLen)
	if err := d.end(); err != nil {
		return Record{}, err
	}
	return r, nil
}
