package state

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
	"go.etcd.io/bbolt"
)

// StagedItem is a change from a staged peer that waits for a person: the
// peer's version of one path, with the common version and ours as they were
// when it was staged. A pair holds at most one item per path.
type StagedItem struct {
	// ID is assigned by [Pair.Stage]: unique among the staged items of
	// every pair of the database, increasing, never reused. A newer
	// version staged at the same path gets a new ID.
	ID   uint64
	Time time.Time
	Path string
	// Base is the common entry, Ours our entry and Theirs the peer's when
	// the item was staged; nil is absent (Theirs nil: the peer removed the
	// path).
	Base, Ours, Theirs *zerosync.Entry
	// Conflict says both sides had changed the path when it was staged.
	Conflict bool
	// Held says the staging area holds the content of Theirs (see
	// [Pair.StagedContent]); otherwise it is only on the peer. Stage sets
	// it.
	Held bool
	// Note says what the change is, for people: "modified on theirs".
	Note string
}

// Stage puts it in the pair's staging area under a new ID, which it
// returns, replacing the item (and content) held for the same path, if
// any; it.ID and it.Held are ignored. content, when not nil, is the content
// of it.Theirs, which must then be a file of that size and digest (an error
// wrapping [ErrInvalid]), at most [MaxBodySize] bytes (an error wrapping
// [zerosync.ErrTooLarge]). The path must satisfy [zerosync.ValidPath].
func (p *Pair) Stage(ctx context.Context, it StagedItem, content []byte) (uint64, error) {
	if err := p.checkID(); err != nil {
		return 0, p.errorf("stage", err)
	}
	it.Held = content != nil
	if it.Held {
		switch {
		case len(content) > MaxBodySize:
			return 0, p.errorf("stage", fmt.Errorf("staged content of %d bytes is over the limit of %d: %w", len(content), MaxBodySize, zerosync.ErrTooLarge))
		case it.Theirs == nil || it.Theirs.Kind != zerosync.KindFile:
			return 0, p.errorf("stage", fmt.Errorf("%w: content given for %s, which is not a file", ErrInvalid, it.Theirs))
		case int64(len(content)) != it.Theirs.Size || digest.Sum(content) != it.Theirs.Digest:
			return 0, p.errorf("stage", fmt.Errorf("%w: content does not match %s", ErrInvalid, it.Theirs))
		}
	}
	it.ID = 1 // checked now, assigned in the transaction
	if err := checkStaged(&it); err != nil {
		return 0, p.errorf("stage", err)
	}
	err := p.db.update(ctx, func(tx *bbolt.Tx) error {
		id, err := tx.Bucket(bucketPairs).NextSequence()
		if err != nil {
			return err
		}
		it.ID = id
		items, err := p.writeBucket(tx, bucketStaged)
		if err != nil {
			return err
		}
		bodies, err := p.writeBucket(tx, bucketStagedBody)
		if err != nil {
			return err
		}
		key := []byte(it.Path)
		if err := items.Put(key, appendStaged(nil, &it)); err != nil {
			return err
		}
		if !it.Held {
			return bodies.Delete(key)
		}
		return bodies.Put(key, appendStagedContent(nil, it.ID, content))
	})
	if err != nil {
		return 0, p.errorf("stage", err)
	}
	p.db.log.DebugContext(ctx, "state change staged", "pair", p.id, "id", it.ID, "path", it.Path)
	return it.ID, nil
}

// Staged returns the pair's staged items in path order. An item that does
// not decode, or whose key is not a valid path, is an error wrapping a
// *[CorruptError].
func (p *Pair) Staged(ctx context.Context) ([]StagedItem, error) {
	if err := p.checkID(); err != nil {
		return nil, p.errorf("staged", err)
	}
	var out []StagedItem
	err := p.db.view(ctx, func(tx *bbolt.Tx) error {
		b := p.bucket(tx, bucketStaged)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			it, err := p.decodeStaged(k, v)
			if err != nil {
				return err
			}
			out = append(out, it)
			return nil
		})
	})
	if err != nil {
		return nil, p.errorf("staged", err)
	}
	return out, nil
}

// StagedContent returns the content held for the item id at path, and
// false when there is none: no such item (applied, rejected or replaced by
// a newer one), or an item whose content is not held. Held content that is
// missing, belongs to another item or no longer matches the item's digest
// is an error wrapping a *[CorruptError].
func (p *Pair) StagedContent(ctx context.Context, path string, id uint64) ([]byte, bool, error) {
	if err := p.checkID(); err != nil {
		return nil, false, p.errorf("staged content", err)
	}
	var out []byte
	err := p.db.view(ctx, func(tx *bbolt.Tx) error {
		items, bodies := p.bucket(tx, bucketStaged), p.bucket(tx, bucketStagedBody)
		if items == nil {
			return nil
		}
		key := []byte(path)
		v := items.Get(key)
		if v == nil {
			return nil
		}
		it, err := p.decodeStaged(key, v)
		if err != nil || it.ID != id || !it.Held {
			return err
		}
		var b []byte
		if bodies != nil {
			b = bodies.Get(key)
		}
		if b == nil {
			return p.corrupt("staged content", fmt.Sprintf("%q", path), fmt.Errorf("%w: content of staged item %d is missing", ErrCorrupt, id))
		}
		got, content, err := decodeStagedContent(b)
		switch {
		case err != nil:
			return p.corrupt("staged content", fmt.Sprintf("%q", path), err)
		case got != id:
			return p.corrupt("staged content", fmt.Sprintf("%q", path), fmt.Errorf("%w: content of item %d stored for item %d", ErrCorrupt, got, id))
		case int64(len(content)) != it.Theirs.Size || digest.Sum(content) != it.Theirs.Digest:
			return p.corrupt("staged content", fmt.Sprintf("%q", path), fmt.Errorf("%w: content does not match its digest", ErrCorrupt))
		}
		out = bytes.Clone(content)
		if out == nil {
			out = []byte{}
		}
		return nil
	})
	if err != nil {
		return nil, false, p.errorf("staged content", err)
	}
	return out, out != nil, nil
}

// Unstage removes the item id at path and its content. An item that is not
// there, or that a newer one with another ID replaced, is left alone and
// is not an error.
func (p *Pair) Unstage(ctx context.Context, path string, id uint64) error {
	if err := p.checkID(); err != nil {
		return p.errorf("unstage", err)
	}
	err := p.db.update(ctx, func(tx *bbolt.Tx) error {
		items := p.bucket(tx, bucketStaged)
		if items == nil {
			return nil
		}
		key := []byte(path)
		v := items.Get(key)
		if v == nil {
			return nil
		}
		// A damaged item is removed all the same: it can only be dropped.
		if it, err := decodeStaged(v); err == nil && it.ID != id {
			return nil
		}
		if err := items.Delete(key); err != nil {
			return err
		}
		if bodies := p.bucket(tx, bucketStagedBody); bodies != nil {
			return bodies.Delete(key)
		}
		return nil
	})
	if err != nil {
		return p.errorf("unstage", err)
	}
	p.db.log.DebugContext(ctx, "state change unstaged", "pair", p.id, "id", id, "path", path)
	return nil
}

func (p *Pair) decodeStaged(k, v []byte) (StagedItem, error) {
	path := string(k)
	if v == nil {
		return StagedItem{}, p.corrupt("staged", fmt.Sprintf("%q", path), fmt.Errorf("%w: nested bucket in place of an item", ErrCorrupt))
	}
	if err := zerosync.ValidPath(path); err != nil {
		return StagedItem{}, p.corrupt("staged", fmt.Sprintf("%q", path), fmt.Errorf("%w: %w", ErrCorrupt, err))
	}
	it, err := decodeStaged(v)
	if err != nil {
		return StagedItem{}, p.corrupt("staged", fmt.Sprintf("%q", path), err)
	}
	it.Path = path
	return it, nil
}
