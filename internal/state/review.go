package state

import (
	"context"

	"github.com/zerosync/zerosync"
	"go.etcd.io/bbolt"
)

// ReviewItem is a conflict waiting for a person (see
// [zerosync.ReviewItem]); its ID is assigned by [Pair.AddReview].
type ReviewItem = zerosync.ReviewItem

// AddReview appends it to the pair's review queue and returns the ID it
// was given; it.ID is ignored. Strings and the archive are limited in
// length (an error wrapping [zerosync.ErrTooLarge]) and entries must be of
// a known kind (an error wrapping [ErrInvalid]).
func (p *Pair) AddReview(ctx context.Context, it ReviewItem) (uint64, error) {
	if err := p.checkID(); err != nil {
		return 0, p.errorf("add review", err)
	}
	if err := checkReview(&it); err != nil {
		return 0, p.errorf("add review", err)
	}
	val := appendReview(nil, &it)
	var id uint64
	err := p.db.update(ctx, func(tx *bbolt.Tx) error {
		b, err := p.writeBucket(tx, bucketReview)
		if err != nil {
			return err
		}
		b.FillPercent = 1.0 // IDs only grow
		if id, err = b.NextSequence(); err != nil {
			return err
		}
		return b.Put(seqKey(id), val)
	})
	if err != nil {
		return 0, p.errorf("add review", err)
	}
	p.db.log.DebugContext(ctx, "state review added", "pair", p.id, "id", id, "path", it.Path)
	return id, nil
}

// Reviews returns the pair's review queue, oldest first. An item that does
// not decode is an error wrapping a *[CorruptError].
func (p *Pair) Reviews(ctx context.Context) ([]ReviewItem, error) {
	if err := p.checkID(); err != nil {
		return nil, p.errorf("reviews", err)
	}
	var out []ReviewItem
	err := p.db.view(ctx, func(tx *bbolt.Tx) error {
		b := p.bucket(tx, bucketReview)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			it, err := p.decodeReview(k, v)
			if err != nil {
				return err
			}
			out = append(out, it)
			return nil
		})
	})
	if err != nil {
		return nil, p.errorf("reviews", err)
	}
	return out, nil
}

// ReviewCount returns the number of items in the pair's review queue.
func (p *Pair) ReviewCount(ctx context.Context) (int, error) {
	if err := p.checkID(); err != nil {
		return 0, p.errorf("review count", err)
	}
	var n int
	err := p.db.view(ctx, func(tx *bbolt.Tx) error {
		if b := p.bucket(tx, bucketReview); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	if err != nil {
		return 0, p.errorf("review count", err)
	}
	return n, nil
}

// Review returns the item with the given ID, and false when the queue has
// none (never added, or removed).
func (p *Pair) Review(ctx context.Context, id uint64) (ReviewItem, bool, error) {
	if err := p.checkID(); err != nil {
		return ReviewItem{}, false, p.errorf("review", err)
	}
	var it ReviewItem
	var ok bool
	err := p.db.view(ctx, func(tx *bbolt.Tx) error {
		b := p.bucket(tx, bucketReview)
		if b == nil {
			return nil
		}
		k := seqKey(id)
		v := b.Get(k)
		if v == nil {
			return nil
		}
		var err error
		it, err = p.decodeReview(k, v)
		ok = err == nil
		return err
	})
	if err != nil {
		return ReviewItem{}, false, p.errorf("review", err)
	}
	return it, ok, nil
}

// RemoveReview takes the item with the given ID off the queue. Removing an
// item that is not there does nothing, so two people settling the same
// conflict do not get an error.
func (p *Pair) RemoveReview(ctx context.Context, id uint64) error {
	if err := p.checkID(); err != nil {
		return p.errorf("remove review", err)
	}
	err := p.db.update(ctx, func(tx *bbolt.Tx) error {
		b := p.bucket(tx, bucketReview)
		if b == nil {
			return nil
		}
		return b.Delete(seqKey(id))
	})
	if err != nil {
		return p.errorf("remove review", err)
	}
	p.db.log.DebugContext(ctx, "state review removed", "pair", p.id, "id", id)
	return nil
}

func (p *Pair) decodeReview(k, v []byte) (ReviewItem, error) {
	id, ok := keySeq(k)
	if !ok || v == nil {
		return ReviewItem{}, p.corrupt("review", seqName(k), errBadKey)
	}
	it, err := decodeReview(v)
	if err != nil {
		return ReviewItem{}, p.corrupt("review", seqName(k), err)
	}
	it.ID = id
	return it, nil
}
