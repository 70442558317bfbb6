package state

import (
	"context"
	"fmt"

	"go.etcd.io/bbolt"
)

// Limits on pair metadata.
const (
	MaxMetaKeyLen   = 256
	MaxMetaValueLen = 64 << 10
)

func checkMetaKey(key string) error {
	if key == "" || len(key) > MaxMetaKeyLen {
		return fmt.Errorf("%w: metadata key of %d bytes", ErrInvalid, len(key))
	}
	return nil
}

// Meta returns the pair's metadata value for key, and false when it has
// none. Keys are 1 to [MaxMetaKeyLen] bytes.
func (p *Pair) Meta(ctx context.Context, key string) (string, bool, error) {
	if err := p.checkID(); err != nil {
		return "", false, p.errorf("meta", err)
	}
	if err := checkMetaKey(key); err != nil {
		return "", false, p.errorf("meta", err)
	}
	var val string
	var ok bool
	err := p.db.view(ctx, func(tx *bbolt.Tx) error {
		b := p.bucket(tx, bucketPMeta)
		if b == nil {
			return nil
		}
		if v := b.Get([]byte(key)); v != nil {
			val, ok = string(v), true
		}
		return nil
	})
	if err != nil {
		return "", false, p.errorf("meta", err)
	}
	return val, ok, nil
}

// SetMeta durably sets the pair's metadata value for key; an empty value
// is a value, not a deletion. Keys are 1 to [MaxMetaKeyLen] bytes and
// values at most [MaxMetaValueLen] bytes.
func (p *Pair) SetMeta(ctx context.Context, key, value string) error {
	if err := p.checkID(); err != nil {
		return p.errorf("set meta", err)
	}
	if err := checkMetaKey(key); err != nil {
		return p.errorf("set meta", err)
	}
	if err := checkLen("metadata value", value, MaxMetaValueLen); err != nil {
		return p.errorf("set meta", err)
	}
	err := p.db.update(ctx, func(tx *bbolt.Tx) error {
		b, err := p.writeBucket(tx, bucketPMeta)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), []byte(value))
	})
	if err != nil {
		return p.errorf("set meta", err)
	}
	return nil
}

// DeleteMeta durably removes the pair's metadata value for key; removing a
// key that is not set does nothing.
func (p *Pair) DeleteMeta(ctx context.Context, key string) error {
	if err := p.checkID(); err != nil {
		return p.errorf("delete meta", err)
	}
	if err := checkMetaKey(key); err != nil {
		return p.errorf("delete meta", err)
	}
	err := p.db.update(ctx, func(tx *bbolt.Tx) error {
		b := p.bucket(tx, bucketPMeta)
		if b == nil {
			return nil
		}
		return b.Delete([]byte(key))
	})
	if err != nil {
		return p.errorf("delete meta", err)
	}
	return nil
}

// Meta returns the database-wide metadata value for key, and false when it
// has none. Keys are as for [Pair.Meta]; the key "format" is the
// package's own.
func (db *DB) Meta(ctx context.Context, key string) (string, bool, error) {
	if err := checkMetaKey(key); err != nil {
		return "", false, fmt.Errorf("state: meta: %w", err)
	}
	var val string
	var ok bool
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get([]byte(key)); v != nil {
			val, ok = string(v), true
		}
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("state: meta: %w", err)
	}
	return val, ok, nil
}

// SetMeta durably sets the database-wide metadata value for key. The key
// "format" is refused.
func (db *DB) SetMeta(ctx context.Context, key, value string) error {
	if err := checkMetaKey(key); err != nil {
		return fmt.Errorf("state: set meta: %w", err)
	}
	if key == string(keyFormat) {
		return fmt.Errorf("state: set meta: %w: key %q is reserved", ErrInvalid, key)
	}
	if err := checkLen("metadata value", value, MaxMetaValueLen); err != nil {
		return fmt.Errorf("state: set meta: %w", err)
	}
	err := db.update(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketMeta).Put([]byte(key), []byte(value))
	})
	if err != nil {
		return fmt.Errorf("state: set meta: %w", err)
	}
	return nil
}
