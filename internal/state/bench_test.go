package state

import (
	"fmt"
	"testing"

	"github.com/zerosync/zerosync"
	"go.etcd.io/bbolt"
)

// tree returns a change creating a tree of n files in directories of 100,
// two levels deep, the way a source tree looks.
func tree(n int) Change {
	c := Change{Base: make(map[string]*zerosync.Entry, n+n/100+n/10000+2)}
	for i := range n {
		top := fmt.Sprintf("src/pkg%02d", i/10000)
		sub := fmt.Sprintf("%s/module%03d", top, i/100%100)
		c.Base["src"] = dir(0o755)
		c.Base[top] = dir(0o755)
		c.Base[sub] = dir(0o755)
		c.Base[fmt.Sprintf("%s/file_%05d.go", sub, i)] = file(fmt.Sprint(i), 0o644)
	}
	return c
}

func BenchmarkBaseLoad100k(b *testing.B) {
	db, _ := openDB(b)
	p := db.Pair("bench")
	mustCommit(b, p, tree(100_000))
	want := len(mustBase(b, p))
	var size int64 // bytes of data, without the file's preallocated tail
	db.bolt.View(func(tx *bbolt.Tx) error { size = tx.Size(); return nil })
	for b.Loop() {
		s, err := p.Base(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if len(s) != want {
			b.Fatalf("%d entries, want %d", len(s), want)
		}
	}
	b.ReportMetric(float64(size)/float64(want), "db-bytes/entry")
}

// BenchmarkCommit1k commits 1,000 changed files, spread over a base of
// 100,000, in one transaction.
func BenchmarkCommit1k(b *testing.B) { benchCommit(b, 1000) }

// BenchmarkCommit1 commits one changed file and its journal record: the
// fixed cost of a durable commit (mostly the disk's sync).
func BenchmarkCommit1(b *testing.B) { benchCommit(b, 1) }

func benchCommit(b *testing.B, n int) {
	db, _ := openDB(b)
	p := db.Pair("bench")
	base := tree(100_000)
	mustCommit(b, p, base)
	var paths []string
	for path, e := range base.Base {
		if e.Kind == zerosync.KindFile && len(paths) < n {
			paths = append(paths, path)
		}
	}
	round := 0
	for b.Loop() {
		round++
		c := Change{Base: make(map[string]*zerosync.Entry, len(paths))}
		for _, path := range paths {
			c.Base[path] = file(fmt.Sprint(path, round), 0o644)
			c.Journal = append(c.Journal, Record{Path: path, Op: "update"})
		}
		if err := p.Commit(b.Context(), c); err != nil {
			b.Fatal(err)
		}
	}
}
