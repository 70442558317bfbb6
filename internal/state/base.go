package state

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// MaxBodySize is the largest ancestor body [Pair.Commit] stores.
const MaxBodySize = 64 << 20

// ctxEvery is how many items a long loop handles between checks of its
// context.
const ctxEvery = 1024

// Change is one batch of state changes for [Pair.Commit].
type Change struct {
	// Base maps paths to their new base entries; a nil entry deletes the
	// path from the base. Paths satisfy [zerosync.ValidPath].
	Base map[string]*zerosync.Entry
	// Set are more base entries to set, by value, as if each were in
	// Base: a caller that holds a whole tree (the first sync of a pair)
	// gives it as it is, instead of a pointer to a copy of every entry.
	// A path may not be in both.
	Set zerosync.Snapshot
	// Bodies are ancestor bodies to keep, keyed by the digest of their
	// content. A body is kept only while some base file of the pair has
	// its digest.
	Bodies map[zerosync.Digest][]byte
	// Journal are records to append, in order.
	Journal []Record
}

// Base returns the pair's ancestor: the tree both sides held after the last
// sync. A pair without state has an empty, non-nil base. The snapshot is
// the caller's to keep; stored modification times come back in the local
// time zone. An entry that does not decode, or a stored path that is not
// valid, is an error wrapping a *[CorruptError].
func (p *Pair) Base(ctx context.Context) (zerosync.Snapshot, error) {
	if err := p.checkID(); err != nil {
		return nil, p.errorf("base", err)
	}
	var snap zerosync.Snapshot
	err := p.db.view(ctx, func(tx *bbolt.Tx) error {
		defer p.db.unmapRead(tx)
		pb := tx.Bucket(bucketPairs).Bucket([]byte(p.id))
		snap = make(zerosync.Snapshot, baseCount(pb))
		b := p.bucket(tx, bucketBase)
		if b == nil {
			return nil
		}
		// All paths share one string, built in a first pass over the keys:
		// one allocation instead of one per path.
		c := b.Cursor()
		total := 0
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			total += len(k)
		}
		var sb strings.Builder
		sb.Grow(total)
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			sb.Write(k)
		}
		paths := sb.String()
		off, i := 0, 0
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if i++; i%ctxEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if off+len(k) > len(paths) {
				return fmt.Errorf("base changed while it was read") // not within one transaction
			}
			path := paths[off : off+len(k)]
			off += len(k)
			if v == nil {
				return p.corrupt("base", fmt.Sprintf("%q", path), fmt.Errorf("%w: nested bucket in place of an entry", ErrCorrupt))
			}
			if !quickValidPath(path) {
				if err := zerosync.ValidPath(path); err != nil {
					return p.corrupt("base", fmt.Sprintf("%q", path), fmt.Errorf("%w: %w", ErrCorrupt, err))
				}
			}
			e, err := decodeEntry(v)
			if err != nil {
				return p.corrupt("base", fmt.Sprintf("%q", path), err)
			}
			snap[path] = e
		}
		return nil
	})
	if err != nil {
		return nil, p.errorf("base", err)
	}
	return snap, nil
}

// quickValidPath reports whether p passes [zerosync.ValidPath], in one pass
// over its bytes. Loading a large base checks every stored path, and this
// is several times faster than ValidPath, which is still called to explain
// a refusal. Tests hold the two to the same answer.
func quickValidPath(p string) bool {
	if p == "" || len(p) > zerosync.MaxPathLen {
		return false
	}
	start := 0
	for i := 0; i <= len(p); i++ {
		if i < len(p) {
			if p[i] == 0 {
				return false
			}
			if p[i] != '/' {
				continue
			}
		}
		switch n := i - start; {
		case n == 0 || n > zerosync.MaxNameLen:
			return false
		case p[start] == '.' && (n == 1 || n == 2 && p[start+1] == '.'):
			return false
		}
		start = i + 1
	}
	return true
}

// Body returns the ancestor body with digest d, and false when the pair
// keeps none. The bytes are the caller's. A stored body that no longer
// matches d is an error wrapping a *[CorruptError].
func (p *Pair) Body(ctx context.Context, d zerosync.Digest) ([]byte, bool, error) {
	if err := p.checkID(); err != nil {
		return nil, false, p.errorf("body", err)
	}
	var body []byte
	err := p.db.view(ctx, func(tx *bbolt.Tx) error {
		b := p.bucket(tx, bucketBodies)
		if b == nil {
			return nil
		}
		if v := b.Get(d[:]); v != nil {
			body = bytes.Clone(v)
		}
		return nil
	})
	if err != nil {
		return nil, false, p.errorf("body", err)
	}
	if body == nil {
		return nil, false, nil
	}
	if got := digest.Sum(body); got != d {
		return nil, false, p.errorf("body", p.corrupt("bodies", d.String(), fmt.Errorf("%w: content has digest %s", ErrCorrupt, got)))
	}
	return body, true, nil
}

// Commit applies c to the pair in one durable transaction: it sets and
// deletes base entries, stores the ancestor bodies not stored yet, appends
// the journal records with increasing sequence numbers, and removes the
// bodies that no base file of the pair refers to any longer. Either all of
// c is applied or, on error, none of it. When Commit returns nil the change
// is on disk.
//
// On success Commit sets the Seq of each record of c.Journal to the number
// it was given; it changes nothing else of c.
//
// Commit checks c before writing: an invalid path is an error wrapping
// [zerosync.ErrInvalidPath], an entry of unknown kind wraps [ErrInvalid], a
// body that does not match its digest wraps [zerosync.ErrDigestMismatch],
// and a body over [MaxBodySize] or a string over its limit wraps
// [zerosync.ErrTooLarge]. A ctx done before the transaction commits
// applies nothing.
func (p *Pair) Commit(ctx context.Context, c Change) error {
	return p.db.CommitAll(ctx, []PairChange{{Pair: p, Change: c}})[0]
}

// prepared is a Change checked and encoded before the transaction starts,
// so that the write lock is held only for the writes.
type prepared struct {
	paths   []string // sorted
	vals    [][]byte // encoded entries, nil for deletions
	refs    []ref    // the digest each new entry refers to
	bodies  []zerosync.Digest
	bodyOf  map[zerosync.Digest][]byte
	records [][]byte
}

// ref is the body digest a base entry refers to; ok is false for entries
// that refer to none.
type ref struct {
	d  zerosync.Digest
	ok bool
}

func refOf(e *zerosync.Entry) ref {
	if e == nil || e.Kind != zerosync.KindFile || e.Digest.IsZero() {
		return ref{}
	}
	return ref{d: e.Digest, ok: true}
}

type commitStats struct{ set, deleted, bodies, pruned int }

func prepare(c Change) (*prepared, error) {
	paths := make([]string, 0, len(c.Base)+len(c.Set))
	for path := range c.Base {
		if _, ok := c.Set[path]; ok {
			return nil, fmt.Errorf("%q: %w: set twice in one change", path, ErrInvalid)
		}
		paths = append(paths, path)
	}
	paths = slices.AppendSeq(paths, maps.Keys(c.Set))
	slices.Sort(paths)
	w := &prepared{
		paths:  paths,
		bodies: slices.SortedFunc(maps.Keys(c.Bodies), func(a, b zerosync.Digest) int { return bytes.Compare(a[:], b[:]) }),
		bodyOf: c.Bodies,
	}
	w.vals = make([][]byte, len(w.paths))
	w.refs = make([]ref, len(w.paths))
	// One buffer for all entries keeps a large commit to a few allocations.
	buf := make([]byte, 0, 64*len(w.paths))
	ends := make([]int, len(w.paths))
	for i, path := range w.paths {
		e, ok := c.Base[path]
		if !ok {
			en := c.Set[path]
			e = &en
		}
		if err := zerosync.ValidPath(path); err != nil {
			return nil, err
		}
		if e != nil {
			if err := checkEntry(e); err != nil {
				return nil, fmt.Errorf("%q: %w", path, err)
			}
			buf = appendEntry(buf, e)
			w.refs[i] = refOf(e)
		}
		ends[i] = len(buf)
	}
	start := 0
	for i := range w.paths {
		if ends[i] > start { // a deletion encodes nothing
			w.vals[i] = buf[start:ends[i]:ends[i]]
		}
		start = ends[i]
	}
	for _, d := range w.bodies {
		body := c.Bodies[d]
		if len(body) > MaxBodySize {
			return nil, fmt.Errorf("body %s is %d bytes, over the limit of %d: %w", d.Short(), len(body), MaxBodySize, zerosync.ErrTooLarge)
		}
		if got := digest.Sum(body); got != d {
			return nil, fmt.Errorf("body given as %s: %w (it is %s)", d.Short(), zerosync.ErrDigestMismatch, got.Short())
		}
	}
	w.records = make([][]byte, len(c.Journal))
	for i := range c.Journal {
		if err := checkRecord(&c.Journal[i]); err != nil {
			return nil, err
		}
		w.records[i] = appendRecord(nil, &c.Journal[i])
	}
	return w, nil
}

// apply performs a prepared change inside tx.
func (p *Pair) apply(ctx context.Context, tx *bbolt.Tx, w *prepared) (st commitStats, seqs []uint64, err error) {
	pb, err := p.pairBucket(tx)
	if err != nil {
		return st, nil, err
	}
	var base, bodies, refs, journal *bbolt.Bucket
	for _, b := range []struct {
		name []byte
		dst  **bbolt.Bucket
	}{{bucketBase, &base}, {bucketBodies, &bodies}, {bucketRefs, &refs}, {bucketJournal, &journal}} {
		if *b.dst, err = pb.CreateBucketIfNotExists(b.name); err != nil {
			return st, nil, err
		}
	}
	// Keys are written in order within a commit, so pages split nearly full
	// rather than half full: a large first commit makes a compact file.
	base.FillPercent = 0.9
	refs.FillPercent = 0.9
	journal.FillPercent = 1.0 // sequence numbers only grow

	count := baseCount(pb)
	delta := map[zerosync.Digest]int{}
	for i, path := range w.paths {
		if i%ctxEvery == ctxEvery-1 {
			if err := ctx.Err(); err != nil {
				return st, nil, err
			}
		}
		key := []byte(path)
		old := base.Get(key)
		val := w.vals[i]
		if old != nil && val != nil && bytes.Equal(old, val) {
			continue
		}
		if old == nil && val == nil {
			continue
		}
		var oldRef ref
		if old != nil {
			oldRef = p.storedRef(ctx, key, old)
		}
		if val == nil {
			if err := base.Delete(key); err != nil {
				return st, nil, err
			}
			count--
			st.deleted++
		} else {
			if err := base.Put(key, val); err != nil {
				return st, nil, err
			}
			if old == nil {
				count++
			}
			st.set++
		}
		if newRef := w.refs[i]; oldRef != newRef {
			if oldRef.ok {
				delta[oldRef.d]--
			}
			if newRef.ok {
				delta[newRef.d]++
			}
		}
	}
	if count < 0 {
		count = 0
	}
	if err := pb.Put(keyBaseCount, binary.AppendUvarint(nil, uint64(count))); err != nil {
		return st, nil, err
	}

	// Update reference counts; a body whose count drops to zero goes.
	for _, d := range slices.SortedFunc(maps.Keys(delta), func(a, b zerosync.Digest) int { return bytes.Compare(a[:], b[:]) }) {
		n, err := p.refCount(refs, d)
		if err != nil {
			return st, nil, err
		}
		switch m := int64(n) + int64(delta[d]); {
		case m > 0:
			err = refs.Put(d[:], binary.AppendUvarint(nil, uint64(m)))
		case m < 0:
			// A count lower than the entries that refer to the digest: keep
			// the body rather than risk removing one still in use.
			p.db.log.WarnContext(ctx, "state reference count too low", "pair", p.id, "digest", d.String(), "count", n, "delta", delta[d])
			err = refs.Delete(d[:])
		default:
			if err = refs.Delete(d[:]); err == nil && bodies.Get(d[:]) != nil {
				err = bodies.Delete(d[:])
				st.pruned++
			}
		}
		if err != nil {
			return st, nil, err
		}
	}

	// Store the new bodies that some base file refers to.
	for _, d := range w.bodies {
		if bodies.Get(d[:]) != nil {
			continue
		}
		if n, err := p.refCount(refs, d); err != nil || n == 0 {
			if err != nil {
				return st, nil, err
			}
			continue
		}
		if err := bodies.Put(d[:], w.bodyOf[d]); err != nil {
			return st, nil, err
		}
		st.bodies++
	}

	seqs = make([]uint64, len(w.records))
	for i, rec := range w.records {
		seq, err := journal.NextSequence()
		if err != nil {
			return st, nil, err
		}
		if err := journal.Put(seqKey(seq), rec); err != nil {
			return st, nil, err
		}
		seqs[i] = seq
	}
	return st, seqs, nil
}

// storedRef returns the digest a stored base entry refers to. An entry that
// does not decode is replaced all the same, so a commit can repair it; its
// reference is unknown and left counted, which keeps its body, if any, for
// good rather than risk removing one still in use.
func (p *Pair) storedRef(ctx context.Context, key, old []byte) ref {
	e, err := decodeEntry(old)
	if err != nil {
		p.db.log.WarnContext(ctx, "state replacing corrupt base entry", "pair", p.id, "path", string(key), "err", err)
		return ref{}
	}
	return refOf(&e)
}

// refCount returns the stored reference count of d, 0 when there is none.
func (p *Pair) refCount(refs *bbolt.Bucket, d zerosync.Digest) (uint64, error) {
	v := refs.Get(d[:])
	if v == nil {
		return 0, nil
	}
	n, k := binary.Uvarint(v)
	if k != len(v) {
		return 0, p.corrupt("refs", d.String(), fmt.Errorf("%w: bad reference count %x", ErrCorrupt, v))
	}
	return n, nil
}

// ResetBase durably forgets the pair's common state: its base and the
// ancestor bodies. The journal, the review queue and the metadata stay.
// The next sync of the pair has no ancestor: what differs is a conflict,
// and nothing is deleted.
func (p *Pair) ResetBase(ctx context.Context) error {
	if err := p.checkID(); err != nil {
		return p.errorf("reset base", err)
	}
	err := p.db.update(ctx, func(tx *bbolt.Tx) error {
		pb := tx.Bucket(bucketPairs).Bucket([]byte(p.id))
		if pb == nil {
			return nil
		}
		for _, name := range [][]byte{bucketBase, bucketBodies, bucketRefs} {
			if err := pb.DeleteBucket(name); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
				return err
			}
		}
		return pb.Delete(keyBaseCount)
	})
	if err != nil {
		return p.errorf("reset base", err)
	}
	return nil
}
