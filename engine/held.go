package engine

import (
	"encoding/binary"
	"io/fs"
	"iter"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/unnamed"
)

// What a running engine keeps between cycles is, per tree, its last
// snapshot (tree.snap) and, per pair, the common state (pair.base): for two
// trees that agree, three copies of the same tree. A held snapshot keeps
// them small and, where they agree, shared:
//
//   - its entries live in a floor, a table of packed entries: 56 bytes
//     without a pointer, where a [zerosync.Entry] is 88 with two, and
//     every folder and every name once, in two strings;
//   - a floor is never written once made, so several held snapshots may
//     stand on one: a new scan stands on the floor of the scan before, and
//     between the cycles of a running engine the common state and the
//     peer's tree stand on our tree's floor, each with only the paths
//     where it differs (see [held.standOn] and [Engine.settleHeld]);
//   - a change is kept beside the floor, in over, until a full scan that
//     differs in many paths makes a new floor;
//   - between the cycles of an engine with a state file, a floor's
//     entries wait in an unnamed file beside it ([floor.spill]), in the
//     page cache rather than in the heap, read back when asked for; its
//     paths stay in memory, so finding a path reads nothing. A read that
//     fails marks the floor lost, and the engine reads the trees and the
//     common state again ([Engine.dropLost]).
//
// During a cycle, a snapshot that was just scanned or loaded, or that a
// full pass asked for whole, is also kept as the plain map it is (m), so
// that a full pass reads it without unpacking; the end of the cycle drops
// it ([Engine.dropWhole]) once a floor holds the snapshot, and a running
// engine makes the floors between cycles ([held.settle]). A cold process
// that syncs once never packs anything.
type held struct {
	// m is the snapshot whole, when known: only read, never written. The
	// passes of a cycle may ask for it at once (under conc.ours's read
	// lock); changes come one at a time.
	m atomic.Pointer[zerosync.Snapshot]
	// f and over are the snapshot when m is nil or f is not: the floor
	// and the paths where this snapshot differs from it (nil: absent).
	f    *floor
	over map[string]*zerosync.Entry
	n    int
}

// floor is an immutable table of entries, possibly beneath several held
// snapshots, sorted by folder and then by name. A path is cut after its
// last slash into its folder (with the slash; "" for the root's entries)
// and its name: every folder is kept once, in dirs, and every name in
// names; a path is found by a binary search of the folders, then of the
// names of its folder. An entry costs 56 bytes packed, 4 for the end of
// its name and its name's bytes; a folder 8 bytes and its path's bytes.
// Kept whole, the paths of a tree of 100k files, 56 bytes long on
// average, took 5.6 MB and an index by their hash 1.2 MB more.
type floor struct {
	dirs    string   // every folder, sorted, one after another
	dirEnds []uint32 // where folder d ends in dirs
	// firsts holds the number of the first entry of folder d; one more
	// holds the number of entries.
	firsts   []uint32
	names    string   // the name of every entry, one after another
	nameEnds []uint32 // where the name of entry i ends in names
	// ents holds entry i; a spilled floor has none, its entries are in
	// file instead (see [floor.spill]).
	ents  []packed
	file  *os.File
	links map[uint32]string // symlink targets, by entry
	// lost is set when an entry could not be read back from file: what
	// was read from the floor since is not to be trusted, and the engine
	// drops what stands on it (see [held.lost]).
	lost atomic.Bool
	// whole is the floor as a plain map, when a scan or a load made one
	// that the floor holds exactly, until the end of the cycle: a held
	// snapshot that is the floor with no differences reads it whole for
	// nothing.
	whole atomic.Pointer[zerosync.Snapshot]
}

// cut splits path after its last slash: its folder, with the slash, and
// its name. A path and its two parts are one and the same.
func cut(path string) (dir, name string) {
	i := strings.LastIndexByte(path, '/') + 1
	return path[:i], path[i:]
}

// len returns the number of entries of f; 0 for a nil f.
func (f *floor) len() int {
	if f == nil {
		return 0
	}
	return int(f.firsts[len(f.firsts)-1])
}

// part returns part i of s, cut at ends.
func part(s string, ends []uint32, i int) string {
	start := uint32(0)
	if i > 0 {
		start = ends[i-1]
	}
	return s[start:ends[i]]
}

// find returns the number of the entry of path in f.
func (f *floor) find(path string) (int, bool) {
	if f.len() == 0 {
		return 0, false
	}
	dir, name := cut(path)
	d, ok := sort.Find(len(f.dirEnds), func(d int) int { return strings.Compare(dir, part(f.dirs, f.dirEnds, d)) })
	if !ok {
		return 0, false
	}
	lo, hi := int(f.firsts[d]), int(f.firsts[d+1])
	i, ok := sort.Find(hi-lo, func(i int) int { return strings.Compare(name, part(f.names, f.nameEnds, lo+i)) })
	return lo + i, ok
}

// entries yields the path and number of every entry of f, in its order.
// The paths of a folder are parts of one new string.
func (f *floor) entries() iter.Seq2[string, int] {
	return func(yield func(string, int) bool) {
		var b []byte
		for d := range f.dirEnds {
			dir := part(f.dirs, f.dirEnds, d)
			lo, hi := int(f.firsts[d]), int(f.firsts[d+1])
			b = b[:0]
			for i := lo; i < hi; i++ {
				b = append(b, dir...)
				b = append(b, part(f.names, f.nameEnds, i)...)
			}
			paths := string(b)
			at := 0
			for i := lo; i < hi; i++ {
				n := len(dir) + len(part(f.names, f.nameEnds, i))
				if !yield(paths[at:at+n], i) {
					return
				}
				at += n
			}
		}
	}
}

// packed is an entry as a floor keeps it: no path, no symlink target, and
// its time as seconds and nanoseconds in the local zone, which every scan
// and decoder makes, or in UTC (the in-memory endpoint's clock).
type packed struct {
	sec    int64
	size   int64
	digest zerosync.Digest
	nsec   uint32 // zeroTime for the zero time
	mode   uint16
	kind   zerosync.Kind
	utc    bool
}

const zeroTime = math.MaxUint32

// pack returns e packed, and false when packing would lose any of it.
func pack(e *zerosync.Entry) (packed, bool) {
	if e.Mode > math.MaxUint16 {
		return packed{}, false
	}
	p := packed{size: e.Size, digest: e.Digest, mode: uint16(e.Mode), kind: e.Kind}
	switch t := e.ModTime; {
	case t == time.Time{}:
		p.nsec = zeroTime
	case t != t.Round(0):
		return packed{}, false // a monotonic clock reading
	case t.Location() == time.Local, t.Location() == time.UTC:
		p.sec, p.nsec, p.utc = t.Unix(), uint32(t.Nanosecond()), t.Location() == time.UTC
	default:
		return packed{}, false
	}
	return p, true
}

// entry returns p as an entry with the given symlink target.
func (p *packed) entry(target string) zerosync.Entry {
	e := zerosync.Entry{Kind: p.kind, Mode: fs.FileMode(p.mode), Size: p.size, Digest: p.digest, Target: target}
	switch {
	case p.nsec == zeroTime:
	case p.utc:
		e.ModTime = time.Unix(p.sec, int64(p.nsec)).UTC()
	default:
		e.ModTime = time.Unix(p.sec, int64(p.nsec))
	}
	return e
}

// packedSize is the bytes of a packed entry in a spill file.
const packedSize = 56

// put writes p into b, packedSize bytes.
func (p *packed) put(b []byte) {
	binary.LittleEndian.PutUint64(b[0:], uint64(p.sec))
	binary.LittleEndian.PutUint64(b[8:], uint64(p.size))
	copy(b[16:48], p.digest[:])
	binary.LittleEndian.PutUint32(b[48:], p.nsec)
	binary.LittleEndian.PutUint16(b[52:], p.mode)
	b[54] = byte(p.kind)
	b[55] = 0
	if p.utc {
		b[55] = 1
	}
}

// unpack returns the packed entry put into b.
func unpack(b []byte) packed {
	p := packed{
		sec:  int64(binary.LittleEndian.Uint64(b[0:])),
		size: int64(binary.LittleEndian.Uint64(b[8:])),
		nsec: binary.LittleEndian.Uint32(b[48:]),
		mode: binary.LittleEndian.Uint16(b[52:]),
		kind: zerosync.Kind(b[54]),
		utc:  b[55] == 1,
	}
	copy(p.digest[:], b[16:48])
	return p
}

// spill returns a floor like f whose entries are in a new unnamed file in
// dir, read back when asked for: a running engine's trees, 56 bytes an
// entry, wait between cycles in the page cache rather than in its heap.
// f is left as it is.
func (f *floor) spill(dir string) (*floor, error) {
	n := f.len()
	if f.file != nil || n == 0 {
		return f, nil
	}
	file, err := unnamed.Create(dir, "floor-*")
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, min(n, readAhead)*packedSize)
	for i := range f.ents {
		b = b[:len(b)+packedSize]
		f.ents[i].put(b[len(b)-packedSize:])
		if len(b) == cap(b) || i == n-1 {
			if _, err := file.Write(b); err != nil {
				file.Close()
				return nil, err
			}
			b = b[:0]
		}
	}
	g := &floor{dirs: f.dirs, dirEnds: f.dirEnds, firsts: f.firsts, names: f.names, nameEnds: f.nameEnds,
		file: file, links: f.links}
	g.whole.Store(f.whole.Load())
	// The file is closed when the floor is dropped and the collector
	// finds it (an *os.File closes itself then).
	return g, nil
}

// spilled reports whether f's entries are in a file.
func (f *floor) spilled() bool { return f != nil && f.file != nil }

// get returns the entry of path in f.
func (f *floor) get(path string) (zerosync.Entry, bool) {
	i, ok := f.find(path)
	if !ok {
		return zerosync.Entry{}, false
	}
	p, ok := f.ent(i)
	if !ok {
		return zerosync.Entry{}, false
	}
	return p.entry(f.links[uint32(i)]), true
}

// holds reports whether f holds exactly e at path.
func (f *floor) holds(path string, e *zerosync.Entry) bool {
	i, ok := f.find(path)
	return ok && f.same(i, e)
}

// same reports whether entry i of f is exactly e.
func (f *floor) same(i int, e *zerosync.Entry) bool {
	p, ok := f.ent(i)
	return ok && f.is(i, p, e)
}

// is reports whether p, entry i of f, is exactly e.
func (f *floor) is(i int, p packed, e *zerosync.Entry) bool {
	q, ok := pack(e)
	return ok && p == q && f.links[uint32(i)] == e.Target
}

// ent returns entry i of f; false when it could not be read back, which
// marks f lost.
func (f *floor) ent(i int) (packed, bool) {
	if f.file == nil {
		return f.ents[i], true
	}
	var b [packedSize]byte
	if !f.read(b[:], i) {
		return packed{}, false
	}
	return unpack(b[:]), true
}

// read reads the entries of a spilled f from entry i into b; false when
// they could not be read back, which marks f lost.
func (f *floor) read(b []byte, i int) bool {
	if _, err := f.file.ReadAt(b, int64(i)*packedSize); err != nil {
		f.lost.Store(true)
		return false
	}
	return true
}

// entReader reads the entries of a floor in order, many at a time.
type entReader struct {
	f     *floor
	buf   []byte
	first int // the entry buf starts with
}

// readAhead is how many entries an entReader reads at once.
const readAhead = 1024

// ent returns entry i, reading it and those after it when it is not at
// hand; false when they could not be read back, which marks the floor
// lost.
func (r *entReader) ent(i int) (packed, bool) {
	f := r.f
	if f.file == nil {
		return f.ents[i], true
	}
	if i < r.first || i >= r.first+len(r.buf)/packedSize {
		n := min(readAhead, f.len()-i)
		if cap(r.buf) < n*packedSize {
			r.buf = make([]byte, readAhead*packedSize)
		}
		r.buf, r.first = r.buf[:n*packedSize], i
		if !f.read(r.buf, i) {
			r.buf = r.buf[:0]
			return packed{}, false
		}
	}
	at := (i - r.first) * packedSize
	return unpack(r.buf[at : at+packedSize]), true
}

// rehold returns a held snapshot of s, a new scan of the tree old held,
// standing on old's floor when they differ in few paths, so that what
// stood on that floor still shares it. s is taken as by [hold].
func rehold(old *held, s zerosync.Snapshot) *held {
	h := hold(s)
	if old != nil {
		h.standOn(old.f)
	}
	return h
}

// hold returns a held snapshot of s, which it takes: s is not written
// again, by the caller either.
func hold(s zerosync.Snapshot) *held {
	if s == nil {
		s = zerosync.Snapshot{}
	}
	h := &held{n: len(s)}
	h.m.Store(&s)
	return h
}

// whole returns the whole map, or nil.
func (h *held) whole() zerosync.Snapshot {
	if m := h.m.Load(); m != nil {
		return *m
	}
	return nil
}

// Len returns the number of entries; 0 for a nil h.
func (h *held) Len() int {
	if h == nil {
		return 0
	}
	return h.n
}

// Get returns the entry at path.
func (h *held) Get(path string) (zerosync.Entry, bool) {
	if m := h.whole(); m != nil {
		e, ok := m[path]
		return e, ok
	}
	if e, ok := h.over[path]; ok {
		if e == nil {
			return zerosync.Entry{}, false
		}
		return *e, true
	}
	return h.f.get(path)
}

// has reports whether path is present.
func (h *held) has(path string) bool {
	if m := h.whole(); m != nil {
		_, ok := m[path]
		return ok
	}
	if e, ok := h.over[path]; ok {
		return e != nil
	}
	_, ok := h.f.find(path)
	return ok
}

// All yields every entry, in no order.
func (h *held) All() iter.Seq2[string, zerosync.Entry] {
	return func(yield func(string, zerosync.Entry) bool) {
		if m := h.whole(); m != nil {
			for p, e := range m {
				if !yield(p, e) {
					return
				}
			}
			return
		}
		r := entReader{f: h.f}
		for p, i := range h.f.entries() {
			if _, ok := h.over[p]; ok {
				continue
			}
			pk, ok := r.ent(i)
			if !ok {
				return // the floor is lost: the engine drops it
			}
			if !yield(p, pk.entry(h.f.links[uint32(i)])) {
				return
			}
		}
		for p, e := range h.over {
			if e != nil && !yield(p, *e) {
				return
			}
		}
	}
}

// Paths yields every path, in no order, without unpacking its entry.
func (h *held) Paths() iter.Seq[string] {
	return func(yield func(string) bool) {
		if m := h.whole(); m != nil {
			for p := range m {
				if !yield(p) {
					return
				}
			}
			return
		}
		for p := range h.f.entries() {
			if _, ok := h.over[p]; !ok && !yield(p) {
				return
			}
		}
		for p, e := range h.over {
			if e != nil && !yield(p) {
				return
			}
		}
	}
}

// Map returns the snapshot as a map, which the caller only reads. It is
// kept until the end of the cycle, so that the passes of a cycle share it.
func (h *held) Map() zerosync.Snapshot {
	if m := h.whole(); m != nil {
		return m
	}
	if len(h.over) == 0 && h.f != nil {
		if m := h.f.whole.Load(); m != nil {
			return *m
		}
	}
	m := make(zerosync.Snapshot, h.n)
	for p, e := range h.All() {
		m[p] = e
	}
	h.m.Store(&m)
	return m
}

// Set makes e the entry at path.
func (h *held) Set(path string, e zerosync.Entry) {
	h.unmap()
	if !h.has(path) {
		h.n++
	}
	if h.f.holds(path, &e) {
		delete(h.over, path)
		return
	}
	if h.over == nil {
		h.over = map[string]*zerosync.Entry{}
	}
	h.over[strings.Clone(path)] = &e // not the scan's chunk of paths
}

// Delete removes path.
func (h *held) Delete(path string) {
	h.unmap()
	if !h.has(path) {
		return
	}
	h.n--
	if _, ok := h.f.find(path); ok {
		if h.over == nil {
			h.over = map[string]*zerosync.Entry{}
		}
		h.over[strings.Clone(path)] = nil
		return
	}
	delete(h.over, path)
}

// unmap drops the whole map before a change, which must not reach it (a
// pass may be reading it), making the floor first if there is none.
func (h *held) unmap() bool {
	m := h.whole()
	if m == nil {
		return false
	}
	made := false
	if h.f == nil && h.over == nil {
		h.f, h.over = makeFloor(m)
		made = true
	}
	h.m.Store(nil)
	return made
}

// drop drops the whole maps of h and of its floor when the floor holds the
// snapshot already.
func (h *held) drop() {
	if h != nil && h.f != nil {
		h.m.Store(nil)
		h.f.whole.Store(nil)
	}
}

// settle drops the whole map: what a running engine keeps between cycles.
// Without a floor, h first stands on like when they differ in few paths,
// or else makes a floor of its own; settle reports whether it made one.
func (h *held) settle(like *floor) bool {
	if h == nil || h.whole() == nil {
		return false
	}
	if h.f == nil && h.standOn(like) {
		h.m.Store(nil)
		return false
	}
	return h.unmap()
}

// makeFloor packs s into a new floor; what cannot be packed is returned
// beside it, as differences.
func makeFloor(s zerosync.Snapshot) (*floor, map[string]*zerosync.Entry) {
	// A path and where its name starts.
	type key struct {
		path string
		at   int
	}
	keys := make([]key, 0, len(s))
	names := 0
	for p := range s {
		dir, _ := cut(p)
		keys = append(keys, key{p, len(dir)})
		names += len(p) - len(dir)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := strings.Compare(a.path[:a.at], b.path[:b.at]); c != 0 {
			return c
		}
		return strings.Compare(a.path[a.at:], b.path[b.at:])
	})
	f := &floor{nameEnds: make([]uint32, 0, len(s)), ents: make([]packed, 0, len(s))}
	var dirs, nameb strings.Builder
	nameb.Grow(min(names, math.MaxUint32))
	var over map[string]*zerosync.Entry
	for _, k := range keys {
		p, dir, name := k.path, k.path[:k.at], k.path[k.at:]
		e := s[p]
		pk, ok := pack(&e)
		if !ok || nameb.Len()+len(name) > math.MaxUint32 || dirs.Len()+len(dir) > math.MaxUint32 {
			if over == nil {
				over = map[string]*zerosync.Entry{}
			}
			en := e // only what is kept escapes
			over[strings.Clone(p)] = &en
			continue
		}
		if d := len(f.dirEnds); d == 0 || part(dirs.String(), f.dirEnds, d-1) != dir {
			dirs.WriteString(dir)
			f.dirEnds = append(f.dirEnds, uint32(dirs.Len()))
			f.firsts = append(f.firsts, uint32(len(f.ents)))
		}
		nameb.WriteString(name)
		if e.Target != "" {
			if f.links == nil {
				f.links = map[uint32]string{}
			}
			f.links[uint32(len(f.ents))] = strings.Clone(e.Target)
		}
		f.nameEnds = append(f.nameEnds, uint32(nameb.Len()))
		f.ents = append(f.ents, pk)
	}
	f.firsts = append(f.firsts, uint32(len(f.ents)))
	f.dirs, f.names = strings.Clone(dirs.String()), nameb.String()
	f.dirEnds = slices.Clip(f.dirEnds)
	f.firsts = slices.Clip(f.firsts)
	return f, over
}

// standOn makes h stand on floor f when few of their paths differ: at
// most one in eight of f's, and 64 more. It reports whether h does. A
// whole map h has is kept; when it is f exactly, f keeps it too, for
// [held.Map].
func (h *held) standOn(f *floor) bool {
	if h == nil || f == nil {
		return false
	}
	if h.f == f {
		return true
	}
	limit := f.len()/8 + 64
	over := map[string]*zerosync.Entry{}
	found := 0
	if m := h.whole(); m != nil {
		// In the floor's order, reading its entries a run at a time.
		r := entReader{f: f}
		for p, i := range f.entries() {
			e, ok := m[p]
			if ok {
				found++
				pk, read := r.ent(i)
				if !read {
					return false // the floor is lost
				}
				if f.is(i, pk, &e) {
					continue
				}
			}
			if len(over) == limit {
				return false
			}
			if ok {
				en := e // only what is kept escapes
				over[strings.Clone(p)] = &en
			} else {
				over[strings.Clone(p)] = nil // not the folder's string
			}
		}
		if found < len(m) {
			for p, e := range m {
				if _, ok := f.find(p); ok {
					continue
				}
				if len(over) == limit {
					return false
				}
				en := e
				over[strings.Clone(p)] = &en // not the scan's chunk of paths
			}
		}
		return h.standsOn(f, over)
	}
	for p, e := range h.All() {
		if i, ok := f.find(p); ok {
			found++
			if f.same(i, &e) {
				continue
			}
		}
		if len(over) == limit {
			return false
		}
		en := e                      // only what is kept escapes
		over[strings.Clone(p)] = &en // not the scan's chunk of paths
	}
	if found < f.len() {
		for p := range f.entries() {
			if !h.has(p) {
				if len(over) == limit {
					return false
				}
				over[strings.Clone(p)] = nil // not the folder's string
			}
		}
	}
	return h.standsOn(f, over)
}

// standsOn makes h stand on f with the differences over, and reports true.
func (h *held) standsOn(f *floor, over map[string]*zerosync.Entry) bool {
	if len(over) == 0 {
		over = nil
		if m := h.m.Load(); m != nil {
			f.whole.CompareAndSwap(nil, m)
		}
	}
	h.f, h.over = f, over
	return true
}

// lost reports whether h stands on a floor that could not be read back.
func (h *held) lost() bool { return h != nil && h.f != nil && h.f.lost.Load() }
