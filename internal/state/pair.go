package state

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// MaxPairIDLen is the longest pair ID, in bytes.
const MaxPairIDLen = 16 << 10

// Names of the buckets inside a pair's bucket, and of its keys.
var (
	bucketBase    = []byte("base")    // path -> encoded entry
	bucketBodies  = []byte("bodies")  // digest -> ancestor body
	bucketRefs    = []byte("refs")    // digest -> uvarint count of base files with it
	bucketJournal = []byte("journal") // big-endian seq -> encoded record
	bucketReview  = []byte("review")  // big-endian ID -> encoded review item
	bucketPMeta   = []byte("meta")    // key -> value
	// bucketStaged and bucketStagedBody hold the staging area: path ->
	// encoded staged item, and path -> its held content.
	bucketStaged     = []byte("staged")
	bucketStagedBody = []byte("stagedbody")
	keyBaseCount     = []byte("basecount")
)

// maxCountHint caps the stored entry count used to size maps, so a damaged
// count never causes a large allocation.
const maxCountHint = 1 << 22

// Pair is the state of one pair of trees, kept in its own bucket of a [DB].
// A Pair is a cheap handle: making one reads and writes nothing, and a pair
// with no state reads as empty. It is safe for concurrent use.
type Pair struct {
	db *DB
	id string
}

// Pair returns the handle of the pair called id. Any string of 1 to
// [MaxPairIDLen] bytes is an ID; the methods of a handle with another ID
// fail with an error wrapping [ErrInvalid].
func (db *DB) Pair(id string) *Pair { return &Pair{db: db, id: id} }

// ID returns the pair's ID.
func (p *Pair) ID() string { return p.id }

func (p *Pair) checkID() error {
	if p.id == "" || len(p.id) > MaxPairIDLen {
		return fmt.Errorf("%w: pair ID of %d bytes", ErrInvalid, len(p.id))
	}
	return nil
}

// errorf wraps err for the method op.
func (p *Pair) errorf(op string, err error) error {
	return fmt.Errorf("state: %s %q: %w", op, p.id, err)
}

// bucket returns the named bucket of the pair for reading, or nil when the
// pair or the bucket does not exist yet.
func (p *Pair) bucket(tx *bbolt.Tx, name []byte) *bbolt.Bucket {
	pb := tx.Bucket(bucketPairs).Bucket([]byte(p.id))
	if pb == nil {
		return nil
	}
	return pb.Bucket(name)
}

// pairBucket returns the pair's bucket for writing, creating it.
func (p *Pair) pairBucket(tx *bbolt.Tx) (*bbolt.Bucket, error) {
	return tx.Bucket(bucketPairs).CreateBucketIfNotExists([]byte(p.id))
}

// writeBucket returns the named bucket of the pair for writing, creating it
// and the pair's bucket.
func (p *Pair) writeBucket(tx *bbolt.Tx, name []byte) (*bbolt.Bucket, error) {
	pb, err := p.pairBucket(tx)
	if err != nil {
		return nil, err
	}
	return pb.CreateBucketIfNotExists(name)
}

// corrupt returns a *CorruptError for a key of one of the pair's buckets.
func (p *Pair) corrupt(bucket, key string, err error) error {
	return &CorruptError{Pair: p.id, Bucket: bucket, Key: key, Err: err}
}

// seqName formats a sequence-number key for a CorruptError.
func seqName(k []byte) string {
	if n, ok := keySeq(k); ok {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("%x", k)
}

// baseCount reads the stored number of base entries, as a size hint.
func baseCount(pb *bbolt.Bucket) int {
	if pb == nil {
		return 0
	}
	n, k := binary.Uvarint(pb.Get(keyBaseCount))
	if k <= 0 || n > maxCountHint {
		return 0
	}
	return int(n)
}

// Delete removes all state of the pair: base, bodies, journal, review
// queue, staging area and metadata. Deleting a pair without state does
// nothing. A pair that is used again after Delete starts from nothing, and
// its journal sequence numbers and review IDs start again from 1 (staged
// item IDs are unique in the database and never start again).
func (p *Pair) Delete(ctx context.Context) error {
	if err := p.checkID(); err != nil {
		return p.errorf("delete", err)
	}
	err := p.db.update(ctx, func(tx *bbolt.Tx) error {
		err := tx.Bucket(bucketPairs).DeleteBucket([]byte(p.id))
		if errors.Is(err, berrors.ErrBucketNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return p.errorf("delete", err)
	}
	p.db.log.DebugContext(ctx, "state pair deleted", "pair", p.id)
	return nil
}
