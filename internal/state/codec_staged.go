package state

import (
	"fmt"

	"github.com/zerosync/zerosync"
)

// stagedVersion is the first byte of every encoded staged item and staged
// content value.
const stagedVersion = 1

// Flags of an encoded staged item: which optional fields follow, and two
// booleans.
const (
	stagedHasTime    = 1 << 0
	stagedHasBase    = 1 << 1
	stagedHasOurs    = 1 << 2
	stagedHasTheirs  = 1 << 3
	stagedIsConflict = 1 << 4
	stagedIsHeld     = 1 << 5
	stagedFlags      = stagedHasTime | stagedHasBase | stagedHasOurs | stagedHasTheirs | stagedIsConflict | stagedIsHeld
)

// checkStaged reports whether it can be encoded: an ID, a valid path, a
// note within its limit, entries of known kinds, and held content only for
// a file.
func checkStaged(it *StagedItem) error {
	if it.ID == 0 {
		return fmt.Errorf("%w: staged item without an ID", ErrInvalid)
	}
	if err := zerosync.ValidPath(it.Path); err != nil {
		return fmt.Errorf("%w: staged path: %w", ErrInvalid, err)
	}
	if err := checkLen("staged note", it.Note, maxNoteLen); err != nil {
		return err
	}
	for _, e := range []*zerosync.Entry{it.Base, it.Ours, it.Theirs} {
		if e == nil {
			continue
		}
		if err := checkEntry(e); err != nil {
			return err
		}
	}
	if it.Held && (it.Theirs == nil || it.Theirs.Kind != zerosync.KindFile) {
		return fmt.Errorf("%w: staged content held for %s, which is not a file", ErrInvalid, it.Theirs)
	}
	return nil
}

// appendStaged appends the encoding of an item that passed checkStaged.
// The path is the item's key and is not part of the value:
//
//	version   1 byte (stagedVersion)
//	flags     1 byte: stagedHasTime, stagedHasBase, stagedHasOurs,
//	          stagedHasTheirs, stagedIsConflict, stagedIsHeld
//	id        uvarint, not zero
//	time      varint Unix seconds, uvarint nanoseconds  (stagedHasTime)
//	base, ours, theirs: an entry without version byte (see appendEntry), each when flagged
//	note      uvarint length, bytes
func appendStaged(b []byte, it *StagedItem) []byte {
	enc := newEncoder(b)
	var flags uint8
	for _, f := range []struct {
		on  bool
		bit uint8
	}{
		{!it.Time.IsZero(), stagedHasTime}, {it.Base != nil, stagedHasBase}, {it.Ours != nil, stagedHasOurs},
		{it.Theirs != nil, stagedHasTheirs}, {it.Conflict, stagedIsConflict}, {it.Held, stagedIsHeld},
	} {
		if f.on {
			flags |= f.bit
		}
	}
	enc.U8(stagedVersion)
	enc.U8(flags)
	enc.Uvarint(it.ID)
	if flags&stagedHasTime != 0 {
		enc.Time(it.Time)
	}
	for _, e := range []*zerosync.Entry{it.Base, it.Ours, it.Theirs} {
		if e != nil {
			encodeEntryBody(&enc, e)
		}
	}
	enc.Str(it.Note)
	return enc.B
}

// decodeStaged decodes a value written by appendStaged; the caller sets
// Path from the key. Malformed input (an unknown flag, a zero ID, held
// content for something that is not a file) is an error wrapping
// [ErrCorrupt]; it never panics and every length is capped before
// allocation.
func decodeStaged(b []byte) (StagedItem, error) {
	var it StagedItem
	d := newDecoder(b)
	d.version("staged item", stagedVersion)
	flags := d.U8("")
	if d.Err == nil && flags&^stagedFlags != 0 {
		d.Fail("unknown staged item flags %#x", flags)
	}
	it.ID = d.Uvarint("")
	if d.Err == nil && it.ID == 0 {
		d.Fail("staged item ID 0")
	}
	if flags&stagedHasTime != 0 {
		it.Time = d.Time("")
	}
	for _, f := range []struct {
		bit uint8
		dst **zerosync.Entry
	}{{stagedHasBase, &it.Base}, {stagedHasOurs, &it.Ours}, {stagedHasTheirs, &it.Theirs}} {
		if flags&f.bit != 0 && d.Err == nil {
			e := decodeEntryBody(&d)
			*f.dst = &e
		}
	}
	it.Conflict = flags&stagedIsConflict != 0
	it.Held = flags&stagedIsHeld != 0
	if d.Err == nil && it.Held && (it.Theirs == nil || it.Theirs.Kind != zerosync.KindFile) {
		d.Fail("content held for a staged %s", it.Theirs)
	}
	it.Note = d.Str("note", maxNoteLen)
	if err := d.end(); err != nil {
		return StagedItem{}, err
	}
	return it, nil
}

// appendStagedContent appends the stored form of an item's held content:
//
//	version  1 byte (stagedVersion)
//	id       uvarint: the item the content belongs to
//	content  the rest of the value
//
// The leading byte keeps the value non-empty for an empty file.
func appendStagedContent(b []byte, id uint64, content []byte) []byte {
	enc := newEncoder(b)
	enc.U8(stagedVersion)
	enc.Uvarint(id)
	enc.Raw(content)
	return enc.B
}

// decodeStagedContent decodes a value written by appendStagedContent. The
// content aliases b. Content over [MaxBodySize] or a zero ID is an error
// wrapping [ErrCorrupt].
func decodeStagedContent(b []byte) (id uint64, content []byte, err error) {
	d := newDecoder(b)
	d.version("staged content", stagedVersion)
	id = d.Uvarint("")
	if d.Err == nil && id == 0 {
		d.Fail("staged content of item 0")
	}
	if d.Err == nil && len(d.B) > MaxBodySize {
		d.Fail("staged content of %d bytes exceeds limit %d", len(d.B), MaxBodySize)
	}
	content, d.B = d.B, nil
	if err := d.end(); err != nil {
		return 0, nil, err
	}
	return id, content, nil
}
