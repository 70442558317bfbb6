package state

import (
	"fmt"
	"maps"
	"slices"

	"github.com/zerosync/zerosync"
)

// reviewVersion is the first byte of every encoded review item.
const reviewVersion = 1

// Flags of an encoded review item: which optional fields follow.
const (
	reviewHasTime   = 1 << 0
	reviewHasBase   = 1 << 1
	reviewHasOurs   = 1 << 2
	reviewHasTheirs = 1 << 3
	reviewHasBody   = 1 << 4
	reviewFlags     = reviewHasTime | reviewHasBase | reviewHasOurs | reviewHasTheirs | reviewHasBody
)

// checkReview reports whether it can be encoded: strings within their
// limits, at most maxArchive archive entries, entries of known kinds.
func checkReview(it *ReviewItem) error {
	for _, c := range []struct {
		what string
		s    string
		max  int
	}{
		{"review path", it.Path, maxPathLen},
		{"review host", it.Hosts[0], maxNameLen},
		{"review host", it.Hosts[1], maxNameLen},
		{"review copy path", it.CopyPath, maxPathLen},
		{"review note", it.Note, maxNoteLen},
	} {
		if err := checkLen(c.what, c.s, c.max); err != nil {
			return err
		}
	}
	if len(it.Archive) > maxArchive {
		return fmt.Errorf("review archive has %d entries, over the limit of %d: %w", len(it.Archive), maxArchive, zerosync.ErrTooLarge)
	}
	for k, v := range it.Archive {
		if err := checkLen("review archive key", k, maxArchKey); err != nil {
			return err
		}
		if err := checkLen("review archive location", v, maxPathLen); err != nil {
			return err
		}
	}
	for _, e := range []*zerosync.Entry{it.Base, it.Ours, it.Theirs} {
		if e == nil {
			continue
		}
		if err := checkEntry(e); err != nil {
			return err
		}
	}
	if len(it.BaseBody) > MaxBodySize {
		return fmt.Errorf("review base body of %d bytes is over the limit of %d: %w", len(it.BaseBody), MaxBodySize, zerosync.ErrTooLarge)
	}
	return nil
}

// appendReview appends the encoding of an item that passed checkReview.
// The ID is the item's key and is not part of the value:
//
//	version   1 byte (reviewVersion)
//	flags     1 byte: reviewHasTime, reviewHasBase, reviewHasOurs, reviewHasTheirs
//	time      varint Unix seconds, uvarint nanoseconds  (reviewHasTime)
//	path      uvarint length, bytes
//	base, ours, theirs: an entry without version byte (see appendEntry), each when flagged
//	hosts     two strings
//	copy path string
//	archive   uvarint count, then key and value strings in key order
//	note      string
//	base body string (reviewHasBody)
func appendReview(b []byte, it *ReviewItem) []byte {
	enc := newEncoder(b)
	var flags uint8
	if !it.Time.IsZero() {
		flags |= reviewHasTime
	}
	if it.Base != nil {
		flags |= reviewHasBase
	}
	if it.Ours != nil {
		flags |= reviewHasOurs
	}
	if it.Theirs != nil {
		flags |= reviewHasTheirs
	}
	if len(it.BaseBody) > 0 {
		flags |= reviewHasBody
	}
	enc.U8(reviewVersion)
	enc.U8(flags)
	if flags&reviewHasTime != 0 {
		enc.Time(it.Time)
	}
	enc.Str(it.Path)
	for _, e := range []*zerosync.Entry{it.Base, it.Ours, it.Theirs} {
		if e != nil {
			encodeEntryBody(&enc, e)
		}
	}
	enc.Str(it.Hosts[0])
	enc.Str(it.Hosts[1])
	enc.Str(it.CopyPath)
	enc.Uvarint(uint64(len(it.Archive)))
	for _, k := range slices.Sorted(maps.Keys(it.Archive)) {
		enc.Str(k)
		enc.Str(it.Archive[k])
	}
	enc.Str(it.Note)
	if flags&reviewHasBody != 0 {
		enc.Str(string(it.BaseBody))
	}
	return enc.B
}

// decodeReview decodes a value written by appendReview; the caller sets ID
// from the key. An empty archive decodes as a nil map. Malformed input,
// including archive keys out of order or repeated, is an error wrapping
// [ErrCorrupt]; it never panics and every length and count is capped before
// allocation.
func decodeReview(b []byte) (ReviewItem, error) {
	var it ReviewItem
	d := newDecoder(b)
	d.version("review item", reviewVersion)
	flags := d.U8("")
	if d.Err == nil && flags&^reviewFlags != 0 {
		d.Fail("unknown review flags %#x", flags)
	}
	if flags&reviewHasTime != 0 {
		it.Time = d.Time("")
	}
	it.Path = d.Str("path", maxPathLen)
	for _, f := range []struct {
		bit uint8
		dst **zerosync.Entry
	}{{reviewHasBase, &it.Base}, {reviewHasOurs, &it.Ours}, {reviewHasTheirs, &it.Theirs}} {
		if flags&f.bit != 0 && d.Err == nil {
			e := decodeEntryBody(&d)
			*f.dst = &e
		}
	}
	it.Hosts[0] = d.Str("host", maxNameLen)
	it.Hosts[1] = d.Str("host", maxNameLen)
	it.CopyPath = d.Str("copy path", maxPathLen)
	n := d.Uvarint("")
	if d.Err == nil && n > maxArchive {
		d.Fail("archive count %d exceeds limit %d", n, maxArchive)
	}
	if d.Err == nil && n > 0 {
		it.Archive = make(map[string]string, n)
		prev := ""
		for i := uint64(0); i < n && d.Err == nil; i++ {
			k := d.Str("archive key", maxArchKey)
			v := d.Str("archive location", maxPathLen)
			if d.Err == nil && i > 0 && k <= prev {
				d.Fail("archive key %q out of order", k)
			}
			it.Archive[k] = v
			prev = k
		}
	}
	it.Note = d.Str("note", maxNoteLen)
	if flags&reviewHasBody != 0 && d.Err == nil {
		it.BaseBody = []byte(d.Str("base body", MaxBodySize))
		if d.Err == nil && len(it.BaseBody) == 0 {
			d.Fail("empty base body flagged")
		}
	}
	if err := d.end(); err != nil {
		return ReviewItem{}, err
	}
	return it, nil
}
