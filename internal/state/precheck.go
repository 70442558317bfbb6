package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"time"
)

// The layout of a bbolt file's two meta pages, as far as precheck reads it:
// a 16-byte page header, then the meta record.
const (
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	pageHeaderSize  = 16
	metaSize        = 64 // magic .. checksum
	minBoltPageSize = 512
	maxBoltPageSize = 1 << 20
)

// boltMeta is the part of a meta page precheck uses.
type boltMeta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	pgid     uint64 // high-water mark: pages the file must hold
	txid     uint64
}

// precheck reads the two meta pages of the database file at path before
// bbolt maps it, and fails with [ErrCorrupt] when the file cannot be a
// whole database: no valid meta page, or a file shorter than the pages its
// newest valid meta page says are in use (a truncated file, which bbolt
// would map and then fault on with SIGBUS). A missing or empty file passes:
// Open makes a new database there.
func precheck(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return nil // not a database at all: bbolt says what it is
	}
	size := st.Size()
	if size == 0 {
		return nil
	}
	var best *boltMeta
	// Meta page 0 is at offset 0; page 1 at one page size, which page 0
	// tells, or, when page 0 is damaged, one of the usual sizes.
	offsets := []int64{0}
	if m, err := readMeta(f, 0); err == nil {
		best = &m
		offsets = append(offsets, int64(m.pageSize))
	} else {
		for ps := int64(minBoltPageSize); ps <= 64<<10; ps *= 2 {
			offsets = append(offsets, ps)
		}
	}
	for _, off := range offsets[1:] {
		if m, err := readMeta(f, off); err == nil && (best == nil || m.txid > best.txid) {
			best = &m
		}
	}
	if best == nil {
		return fmt.Errorf("%w: %s has no valid meta page (%d bytes)", ErrCorrupt, path, size)
	}
	need := int64(best.pgid) * int64(best.pageSize)
	if best.pgid < 2 || best.root >= best.pgid || (best.freelist >= best.pgid && best.freelist != ^uint64(0)) {
		return fmt.Errorf("%w: %s: meta page names pages beyond its own high-water mark", ErrCorrupt, path)
	}
	if size < need {
		return fmt.Errorf("%w: %s is truncated: %d bytes, but its pages need %d", ErrCorrupt, path, size, need)
	}
	return nil
}

// readMeta reads and checks the meta page at off.
func readMeta(r io.ReaderAt, off int64) (boltMeta, error) {
	var b [pageHeaderSize + metaSize]byte
	if _, err := r.ReadAt(b[:], off); err != nil {
		return boltMeta{}, err
	}
	m := b[pageHeaderSize:]
	le := binary.LittleEndian
	if le.Uint32(m[0:]) != boltMagic || le.Uint32(m[4:]) != boltVersion {
		return boltMeta{}, errors.New("not a meta page")
	}
	h := fnv.New64a()
	h.Write(m[:56])
	if h.Sum64() != le.Uint64(m[56:]) {
		return boltMeta{}, errors.New("meta page checksum mismatch")
	}
	meta := boltMeta{
		pageSize: le.Uint32(m[8:]),
		root:     le.Uint64(m[16:]),
		freelist: le.Uint64(m[32:]),
		pgid:     le.Uint64(m[40:]),
		txid:     le.Uint64(m[48:]),
	}
	if meta.pageSize < minBoltPageSize || meta.pageSize > maxBoltPageSize || meta.pageSize&(meta.pageSize-1) != 0 {
		return boltMeta{}, fmt.Errorf("page size %d", meta.pageSize)
	}
	return meta, nil
}

// MoveAside renames the database file at path out of the way, as
// <path>.corrupt-<UTC time>, so a new one can be made in its place, and
// returns the new name. It is what a caller does with a file that [Open]
// found corrupt.
func MoveAside(path string) (string, error) {
	to := path + ".corrupt-" + time.Now().UTC().Format("20060102T150405Z")
	for i := 1; ; i++ {
		if _, err := os.Lstat(to); errors.Is(err, os.ErrNotExist) {
			break
		}
		to = fmt.Sprintf("%s.corrupt-%s-%d", path, time.Now().UTC().Format("20060102T150405Z"), i)
	}
	if err := os.Rename(path, to); err != nil {
		return "", fmt.Errorf("state: move aside %s: %w", path, err)
	}
	return to, nil
}
