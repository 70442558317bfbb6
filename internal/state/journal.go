package state

import (
	"context"
	"math"

	"github.com/zerosync/zerosync"
	"go.etcd.io/bbolt"
)

// Record is one entry of a pair's journal (see [zerosync.Record]); its
// Seq is assigned by [Pair.Commit].
type Record = zerosync.Record

// Journal returns the pair's records with sequence numbers above after, in
// order, at most limit of them (all when limit <= 0). A pair without state
// has an empty journal. A record that does not decode is an error wrapping
// a *[CorruptError].
func (p *Pair) Journal(ctx context.Context, after uint64, limit int) ([]Record, error) {
	if err := p.checkID(); err != nil {
		return nil, p.errorf("journal", err)
	}
	var out []Record
	if after == math.MaxUint64 {
		return out, nil
	}
	err := p.db.view(ctx, func(tx *bbolt.Tx) error {
		b := p.bucket(tx, bucketJournal)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil; k, v = c.Next() {
			if limit > 0 && len(out) >= limit {
				break
			}
			if len(out)%ctxEvery == ctxEvery-1 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			seq, ok := keySeq(k)
			if !ok || v == nil {
				return p.corrupt("journal", seqName(k), errBadKey)
			}
			r, err := decodeRecord(v)
			if err != nil {
				return p.corrupt("journal", seqName(k), err)
			}
			r.Seq = seq
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, p.errorf("journal", err)
	}
	return out, nil
}

// LastSeq returns the sequence number of the pair's last journal record,
// 0 when it has none. [Pair.TrimJournal] does not lower it.
func (p *Pair) LastSeq(ctx context.Context) (uint64, error) {
	if err := p.checkID(); err != nil {
		return 0, p.errorf("last seq", err)
	}
	var n uint64
	err := p.db.view(ctx, func(tx *bbolt.Tx) error {
		if b := p.bucket(tx, bucketJournal); b != nil {
			n = b.Sequence()
		}
		return nil
	})
	if err != nil {
		return 0, p.errorf("last seq", err)
	}
	return n, nil
}

// TrimJournal removes the pair's records with sequence numbers up to and
// including upTo and returns how many it removed. Later records keep their
// numbers, and new ones continue after [Pair.LastSeq].
func (p *Pair) TrimJournal(ctx context.Context, upTo uint64) (int, error) {
	if err := p.checkID(); err != nil {
		return 0, p.errorf("trim journal", err)
	}
	var n int
	err := p.db.update(ctx, func(tx *bbolt.Tx) error {
		n = 0
		b := p.bucket(tx, bucketJournal)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.First() {
			if seq, ok := keySeq(k); ok && seq > upTo {
				break
			}
			if n%ctxEvery == ctxEvery-1 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := b.Delete(k); err != nil {
				return err
			}
			n++
		}
		return ctx.Err()
	})
	if err != nil {
		return 0, p.errorf("trim journal", err)
	}
	return n, nil
}
