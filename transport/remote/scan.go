package remote

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/chunk"
	"github.com/zerosync/zerosync/internal/codec"
	"github.com/zerosync/zerosync/internal/unnamed"
)

// Incremental scans. The agent numbers the snapshots it sends for a root
// (generations 1, 2, ...) and keeps the last one. A client that holds
// generation G asks for the changes since G; when G is the agent's last,
// the answer is a diff (changed and added entries, removed paths), so a
// scan that finds nothing new costs a few dozen bytes whatever the size of
// the tree. Otherwise (a first scan, a cancelled one, a new connection) the
// answer is the whole tree. Either way the client ends with the same
// snapshot and the new generation.

// scanState is what the agent keeps per open root: the generation of the
// last whole-tree scan it sent and, to answer the next with a diff, the
// sum of each entry that scan held (not the entries: a sum is 16 bytes
// where an entry is 88 and more, for every path of the tree).
type scanState struct {
	gen  uint64
	last sums // nil: nothing to diff against, unless spilled
	// spilled holds last in a file instead ([WithSpill]); nil: none.
	spilled *spilledSums
}

// take returns the sums of the last whole scan, read back from their file
// when spilled, when a client holding generation since can be answered
// with a diff, and forgets them; nil when there are none, no diff is
// asked for, or they cannot be read back (the next answer is then whole).
func (st *scanState) take(since uint64) (sums, error) {
	last, sp := st.last, st.spilled
	st.last, st.spilled = nil, nil
	if sp != nil {
		defer sp.close()
	}
	switch {
	case since == 0 || since != st.gen:
		return nil, nil // a whole answer: nothing is read
	case sp != nil:
		return sp.load()
	}
	return last, nil
}

// keep keeps s as the sums of the last whole scan: in a file in dir when
// dir is not "" and one can be written there, else in memory.
func (st *scanState) keep(s sums, dir string) error {
	st.last = s
	if dir == "" {
		return nil
	}
	sp, err := spill(dir, s)
	if err != nil {
		return err
	}
	st.last, st.spilled = nil, sp
	return nil
}

// close lets go of what st keeps.
func (st *scanState) close() {
	st.last = nil
	if st.spilled != nil {
		st.spilled.close()
		st.spilled = nil
	}
}

// spillFile holds bytes in a file no one else can open: it is removed as
// soon as made, and lives as long as it is open (or, should its holder be
// dropped without closing it, until the collector finds the file).
type spillFile struct {
	f    *os.File
	size int64
	sum  uint64 // of the bytes written, under spillSeed
}

var spillSeed = maphash.MakeSeed()

// spillBytes writes b to a new unnamed file in dir.
func spillBytes(dir string, b []byte) (*spillFile, error) {
	f, err := unnamed.Create(dir, "spill-*")
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	return &spillFile{f: f, size: int64(len(b)), sum: maphash.Bytes(spillSeed, b)}, nil
}

// read returns the bytes written, checked.
func (sp *spillFile) read() ([]byte, error) {
	b := make([]byte, sp.size)
	if _, err := sp.f.ReadAt(b, 0); err != nil {
		return nil, err
	}
	if maphash.Bytes(spillSeed, b) != sp.sum {
		return nil, errors.New("the file changed")
	}
	return b, nil
}

// close closes the file; nil is closed.
func (sp *spillFile) close() {
	if sp != nil {
		sp.f.Close()
	}
}

// spilledSums are sums written to a spill file.
type spilledSums struct {
	*spillFile
	count int
}

// spill writes s to a new spill file in dir: each folder's path and
// number of entries, then each entry's name and sum.
func spill(dir string, s sums) (*spilledSums, error) {
	var b []byte
	for dir, d := range s {
		b = binary.AppendUvarint(b, uint64(len(dir)))
		b = append(b, dir...)
		b = binary.AppendUvarint(b, uint64(len(d)))
		for _, ns := range d {
			b = binary.AppendUvarint(b, uint64(len(ns.Name)))
			b = append(b, ns.Name...)
			b = binary.LittleEndian.AppendUint64(b, ns.V[0])
			b = binary.LittleEndian.AppendUint64(b, ns.V[1])
		}
	}
	sp, err := spillBytes(dir, b)
	if err != nil {
		return nil, err
	}
	return &spilledSums{sp, s.Count()}, nil
}

// load reads the sums back.
func (sp *spilledSums) load() (sums, error) {
	b, err := sp.read()
	if err != nil {
		return nil, fmt.Errorf("read back the last scan's sums: %w", err)
	}
	s, err := decodeSpill(b)
	if err != nil {
		return nil, err
	}
	if s.Count() != sp.count {
		return nil, errors.New("read back the last scan's sums: entries missing")
	}
	return s, nil
}

var errBadSpill = errors.New("malformed sums of the last scan")

// decodeSpill parses what spill wrote: every folder once, its names in
// order, each path valid.
func decodeSpill(b []byte) (sums, error) {
	out, names := sums{}, &chunk.Chunks{}
	r := codec.Reader{B: b}
	for len(r.B) > 0 {
		dir := string(r.Bytes("folder", zerosync.MaxPathLen))
		n := r.Count("entries", math.MaxInt32, 1+1+16)
		if _, twice := out[dir]; r.Err != nil || n == 0 || twice || dir != "" && zerosync.ValidPath(dir) != nil {
			return nil, errBadSpill
		}
		d := make([]chunk.Named[entrySum], 0, n)
		for range n {
			name := r.Bytes("name", zerosync.MaxPathLen)
			sum := r.RawN("sum", 16)
			if r.Err != nil || len(name) == 0 || bytes.IndexByte(name, '/') >= 0 || len(d) > 0 && string(name) <= d[len(d)-1].Name {
				return nil, errBadSpill
			}
			if zerosync.ValidPath(chunk.Join(dir, string(name))) != nil {
				return nil, errBadSpill
			}
			d = append(d, chunk.Named[entrySum]{Name: names.Join("", name), V: entrySum{binary.LittleEndian.Uint64(sum), binary.LittleEndian.Uint64(sum[8:])}})
		}
		out[dir] = d
	}
	return out, nil
}

// entrySum identifies an entry by what the wire carries of it (every
// field, the modification time to the nanosecond): entries that encode the
// same have the same sum, and entries that
// do not have different sums but with a chance of 2⁻¹²⁸ (two 64-bit hashes
// under seeds drawn for the process, which a peer cannot know).
type entrySum [2]uint64

// sums is the sum of each path of a snapshot, by folder and name (see
// [chunk.Folders]): the agent keeps 62 bytes an entry with its name
// (BenchmarkScanStateBytesPerEntry, 12-byte names), where a map by path
// kept 52 bytes besides the whole path the scan had made, which it kept
// alive.
type sums = chunk.Folders[entrySum]

var sumSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// entrySumOf returns the sum of e: the fields the wire carries for its
// kind, in a fixed layout, hashed.
func entrySumOf(e *zerosync.Entry) entrySum {
	var buf [1 + 8 + 4 + 4 + 8 + 32]byte
	b := append(buf[:0], byte(e.Kind))
	b = binary.LittleEndian.AppendUint64(b, uint64(e.ModTime.Unix()))
	b = binary.LittleEndian.AppendUint32(b, uint32(e.ModTime.Nanosecond()))
	var tail []byte
	switch e.Kind {
	case zerosync.KindFile:
		b = binary.LittleEndian.AppendUint32(b, uint32(e.Mode.Perm()))
		b = binary.LittleEndian.AppendUint64(b, uint64(e.Size))
		b = append(b, e.Digest[:]...)
	case zerosync.KindDir:
		b = binary.LittleEndian.AppendUint32(b, uint32(e.Mode.Perm()))
	default:
		tail = []byte(e.Target)
	}
	var h maphash.Hash
	var out entrySum
	for i, seed := range sumSeeds {
		h.SetSeed(seed)
		h.Write(b)
		h.Write(tail)
		out[i] = h.Sum64()
	}
	return out
}

// sumsOf returns the sums of s.
func sumsOf(s zerosync.Snapshot) sums {
	out, names := make(sums, len(s)/32+1), &chunk.Chunks{}
	for p, e := range s {
		out.Add(p, entrySumOf(&e), names)
	}
	out, _ = out.Seal(names)
	return out
}

// diffSums returns the changes that turn the snapshot old summed up into
// cur, sorted by path, and the sums of cur (each entry hashed once).
func diffSums(old sums, cur zerosync.Snapshot) ([]change, sums) {
	var out []change
	now, names := make(sums, len(cur)/32+1), &chunk.Chunks{}
	kept := 0
	for p, e := range cur {
		sum := entrySumOf(&e)
		now.Add(p, sum, names)
		o, ok := old.Get(p)
		if ok {
			kept++
			if o == sum {
				continue
			}
		}
		out = append(out, change{path: p, entry: &e})
	}
	if kept < old.Count() {
		var buf []byte
		for dir, d := range old {
			for _, ns := range d {
				buf = buf[:0]
				if dir != "" {
					buf = append(append(buf, dir...), '/')
				}
				buf = append(buf, ns.Name...)
				if _, ok := cur[string(buf)]; !ok {
					out = append(out, change{path: string(buf)})
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b change) int { return strings.Compare(a.path, b.path) })
	now, _ = now.Seal(names)
	return out, now
}

// allChanges returns the whole of s as changes, sorted by path.
func allChanges(s zerosync.Snapshot) []change {
	out := make([]change, 0, len(s))
	for _, p := range s.Paths() {
		e := s[p]
		out = append(out, change{path: p, entry: &e})
	}
	return out
}

// snapBuilder turns the changes of one scan response into a snapshot, on
// top of the client's last one for a diff, which it changes: the last
// snapshot is kept packed (see [lastScan]), and unpacked afresh for each
// diff.
type snapBuilder struct {
	diff  bool // the changes are a diff against the last snapshot
	out   zerosync.Snapshot
	moved bool // a change was applied, or the scan is of the whole tree
}

func newSnapBuilder(last zerosync.Snapshot, diff bool) *snapBuilder {
	if !diff || last == nil {
		return &snapBuilder{out: zerosync.Snapshot{}, moved: !diff}
	}
	return &snapBuilder{diff: true, out: last}
}

func (b *snapBuilder) apply(c change) error {
	b.moved = true
	if c.entry != nil {
		b.out[c.path] = *c.entry
		return nil
	}
	if !b.diff {
		return protoErr("a whole-tree scan removes %q", cut(c.path, 256))
	}
	if _, ok := b.out[c.path]; !ok {
		return protoErr("a scan diff removes %q, which the last snapshot does not hold", cut(c.path, 256))
	}
	delete(b.out, c.path)
	return nil
}

// changed reports whether the result differs from the last snapshot.
func (b *snapBuilder) changed() bool { return b.moved }

// lastScan is the snapshot of the last whole-tree scan, the base of the
// next scan's diff, kept encoded as the wire encodes entries: a map holds
// about 140 bytes an entry, its encoding about 70, and it is read only
// when the next whole-tree scan comes (on a running engine, the safety
// rescan). With [WithSpill] the encoding waits in a spill file instead of
// memory. The zero value holds nothing.
type lastScan struct {
	b       []byte
	spilled *spillFile
	n       int
	ok      bool
}

// packScan encodes s, in a spill file in dir unless dir is "" or none can
// be made there.
func packScan(s zerosync.Snapshot, dir string) (lastScan, error) {
	var enc encoder
	for p, e := range s {
		enc.Str(p)
		enc.entry(&e)
	}
	l := lastScan{b: slices.Clip(enc.B), n: len(s), ok: true}
	if dir == "" {
		return l, nil
	}
	sp, err := spillBytes(dir, l.b)
	if err != nil {
		return l, err
	}
	l.b, l.spilled = nil, sp
	return l, nil
}

// unpack decodes the snapshot l holds, a new map the caller owns.
func (l lastScan) unpack() (zerosync.Snapshot, error) {
	b := l.b
	if l.spilled != nil {
		var err error
		if b, err = l.spilled.read(); err != nil {
			return nil, fmt.Errorf("read back the last scan: %w", err)
		}
	}
	d := newDecoder("last scan", b)
	s := make(zerosync.Snapshot, l.n)
	for len(d.B) > 0 && d.Err == nil {
		p := d.Str("path", maxWirePath)
		if x := d.entry("entry"); x != nil {
			s[p] = *x
		}
	}
	if d.Err == nil && len(s) != l.n {
		d.Fail("%d entries, %d packed", len(s), l.n)
	}
	return s, d.Err
}
