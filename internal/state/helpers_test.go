package state

import (
	"context"
	"io/fs"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
	"go.etcd.io/bbolt"
)

// openDB opens a fresh database in a temporary directory and closes it when
// the test ends.
func openDB(t testing.TB, opts ...Option) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// reopen closes db and opens the same file again.
func reopen(t testing.TB, db *DB) *DB {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	db2, err := Open(db.Path())
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { db2.Close() })
	return db2
}

var mtime = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

func file(content string, mode fs.FileMode) *zerosync.Entry {
	return &zerosync.Entry{
		Kind:    zerosync.KindFile,
		Mode:    mode,
		Size:    int64(len(content)),
		ModTime: mtime,
		Digest:  digest.Sum([]byte(content)),
	}
}

func dir(mode fs.FileMode) *zerosync.Entry {
	return &zerosync.Entry{Kind: zerosync.KindDir, Mode: mode, ModTime: mtime}
}

func symlink(target string) *zerosync.Entry {
	return &zerosync.Entry{Kind: zerosync.KindSymlink, Target: target}
}

func sum(s string) zerosync.Digest { return digest.Sum([]byte(s)) }

// sameEntry compares every field, times by instant.
func sameEntry(a, b *zerosync.Entry) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Kind == b.Kind && a.Mode == b.Mode && a.Size == b.Size &&
		a.ModTime.Equal(b.ModTime) && a.ModTime.IsZero() == b.ModTime.IsZero() &&
		a.Digest == b.Digest && a.Target == b.Target
}

func checkSnapshot(t testing.TB, got, want zerosync.Snapshot) {
	t.Helper()
	if got == nil {
		t.Fatalf("snapshot is nil")
	}
	for p, w := range want {
		g, ok := got[p]
		if !ok {
			t.Errorf("missing %q (want %s)", p, &w)
			continue
		}
		if !sameEntry(&g, &w) {
			t.Errorf("%q: got %s %v, want %s %v", p, &g, g.ModTime, &w, w.ModTime)
		}
	}
	for p, g := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("unexpected %q (%s)", p, &g)
		}
	}
}

func mustBase(t testing.TB, p *Pair) zerosync.Snapshot {
	t.Helper()
	s, err := p.Base(t.Context())
	if err != nil {
		t.Fatalf("Base: %v", err)
	}
	return s
}

func mustCommit(t testing.TB, p *Pair, c Change) {
	t.Helper()
	if err := p.Commit(t.Context(), c); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// keys returns the keys of one of a pair's buckets, sorted, reading the
// file directly.
func keys(t testing.TB, p *Pair, bucket []byte) []string {
	t.Helper()
	var out []string
	err := p.db.bolt.View(func(tx *bbolt.Tx) error {
		b := p.bucket(tx, bucket)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// poke overwrites (or with a nil value deletes) a key of one of a pair's
// buckets directly, to simulate damage.
func poke(t testing.TB, p *Pair, bucket, key, val []byte) {
	t.Helper()
	err := p.db.bolt.Update(func(tx *bbolt.Tx) error {
		b, err := p.writeBucket(tx, bucket)
		if err != nil {
			return err
		}
		if val == nil {
			return b.Delete(key)
		}
		return b.Put(key, val)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// stepCtx is a context whose Err starts to report cancellation after a
// given number of calls, to cancel an operation part-way through its
// transaction without relying on timing.
type stepCtx struct {
	context.Context
	left int
}

func (c *stepCtx) Err() error {
	if c.left <= 0 {
		return context.Canceled
	}
	c.left--
	return nil
}
