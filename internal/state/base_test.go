package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
	"go.etcd.io/bbolt"
)

func TestBaseOfNewPairIsEmptyNotNil(t *testing.T) {
	db, _ := openDB(t)
	s := mustBase(t, db.Pair("p"))
	if s == nil || len(s) != 0 {
		t.Fatalf("Base = %#v, want empty non-nil", s)
	}
}

func TestCommitRoundTripAndReopen(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("p")
	want := zerosync.Snapshot{
		"d":              *dir(0o755),
		"d/file.txt":     *file("hello\n", 0o644),
		"d/exec":         *file("#!/bin/sh\n", 0o755),
		"d/empty":        {Kind: zerosync.KindFile, Mode: 0o600}, // no digest, no time
		"link":           *symlink("d/file.txt"),
		"d/far-future":   {Kind: zerosync.KindFile, Mode: 0o644, Size: 1, Digest: sum("x"), ModTime: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		"d/long-ago":     {Kind: zerosync.KindFile, Mode: 0o644, Size: 1, Digest: sum("y"), ModTime: time.Date(1601, 1, 1, 0, 0, 0, 1, time.UTC)},
		"d/before-epoch": {Kind: zerosync.KindDir, Mode: 0o700, ModTime: time.Unix(-1, 5)},
		"uni/ünïcødé 名前": *file("z", 0o400),
		"abs-link":       *symlink("/" + strings.Repeat("t", zerosync.MaxPathLen-1)),
	}
	want["uni"] = *dir(0o755)
	c := Change{Base: map[string]*zerosync.Entry{}}
	for k, e := range want {
		c.Base[k] = &e
	}
	mustCommit(t, p, c)
	checkSnapshot(t, mustBase(t, p), want)

	db = reopen(t, db)
	checkSnapshot(t, mustBase(t, db.Pair("p")), want)
}

func TestBaseIsTheCallers(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("p")
	mustCommit(t, p, Change{Base: map[string]*zerosync.Entry{"a": file("a", 0o644)}})
	s := mustBase(t, p)
	s["b"] = *file("b", 0o644)
	delete(s, "a")
	checkSnapshot(t, mustBase(t, p), zerosync.Snapshot{"a": *file("a", 0o644)})
}

func TestCommitSetsAndDeletes(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("p")
	mustCommit(t, p, Change{Base: map[string]*zerosync.Entry{
		"a": file("1", 0o644), "b": file("2", 0o644), "c": dir(0o755), "c/d": file("3", 0o644),
	}})
	mustCommit(t, p, Change{Base: map[string]*zerosync.Entry{
		"a":       file("changed", 0o600), // update
		"b":       nil,                    // delete
		"c/d":     nil,
		"c":       symlink("a"), // type change
		"missing": nil,          // deleting an absent path is fine
		"e":       file("new", 0o644),
	}})
	want := zerosync.Snapshot{"a": *file("changed", 0o600), "c": *symlink("a"), "e": *file("new", 0o644)}
	checkSnapshot(t, mustBase(t, p), want)
	if n := baseCountOf(t, p); n != 3 {
		t.Errorf("stored count = %d, want 3", n)
	}
	// An empty change is a valid no-op.
	mustCommit(t, p, Change{})
	checkSnapshot(t, mustBase(t, p), want)
}

func baseCountOf(t testing.TB, p *Pair) int {
	t.Helper()
	var n int
	p.db.bolt.View(func(tx *bbolt.Tx) error {
		n = baseCount(tx.Bucket(bucketPairs).Bucket([]byte(p.id)))
		return nil
	})
	return n
}

func TestCommitRejectsBadInputAndAppliesNothing(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("p")
	good := map[string]*zerosync.Entry{"ok": file("ok", 0o644)}
	mustCommit(t, p, Change{Base: map[string]*zerosync.Entry{"old": file("old", 0o644)}, Journal: []Record{{Path: "old", Op: "create"}}})

	big := make([]byte, MaxBodySize+1)
	cases := []struct {
		name string
		c    Change
		want error
	}{
		{"dotdot path", Change{Base: map[string]*zerosync.Entry{"a/../b": file("x", 0o644)}}, zerosync.ErrInvalidPath},
		{"empty path", Change{Base: map[string]*zerosync.Entry{"": nil}}, zerosync.ErrInvalidPath},
		{"absolute path", Change{Base: map[string]*zerosync.Entry{"/etc/passwd": file("x", 0o644)}}, zerosync.ErrInvalidPath},
		{"zero entry", Change{Base: map[string]*zerosync.Entry{"z": {}}}, ErrInvalid},
		{"long target", Change{Base: map[string]*zerosync.Entry{"l": symlink(strings.Repeat("t", zerosync.MaxPathLen+1))}}, zerosync.ErrTooLarge},
		{"wrong body", Change{Bodies: map[zerosync.Digest][]byte{sum("ok"): []byte("not ok")}}, zerosync.ErrDigestMismatch},
		{"huge body", Change{Bodies: map[zerosync.Digest][]byte{sum(""): big}}, zerosync.ErrTooLarge},
		{"bad side", Change{Journal: []Record{{Side: 7}}}, ErrInvalid},
		{"long note", Change{Journal: []Record{{Note: strings.Repeat("n", maxNoteLen+1)}}}, zerosync.ErrTooLarge},
		{"long op", Change{Journal: []Record{{Op: strings.Repeat("o", maxOpLen+1)}}}, zerosync.ErrTooLarge},
	}
	for _, tc := range cases {
		// Every bad change also carries good parts, which must not land.
		tc.c.Base = mergeMaps(tc.c.Base, good)
		tc.c.Journal = append(tc.c.Journal, Record{Path: "ok", Op: "create"})
		err := p.Commit(t.Context(), tc.c)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if tc.c.Journal[len(tc.c.Journal)-1].Seq != 0 {
			t.Errorf("%s: failed commit assigned a seq", tc.name)
		}
	}
	checkSnapshot(t, mustBase(t, p), zerosync.Snapshot{"old": *file("old", 0o644)})
	if n, _ := p.LastSeq(t.Context()); n != 1 {
		t.Errorf("LastSeq = %d, want 1", n)
	}
}

func mergeMaps(a, b map[string]*zerosync.Entry) map[string]*zerosync.Entry {
	out := map[string]*zerosync.Entry{}
	for k, v := range b {
		out[k] = v
	}
	for k, v := range a {
		out[k] = v
	}
	return out
}

func TestCommitCancelledAppliesNothing(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("p")
	body := []byte("base body\n")
	first := Change{
		Base:    map[string]*zerosync.Entry{"keep": file(string(body), 0o644)},
		Bodies:  map[zerosync.Digest][]byte{sum(string(body)): body},
		Journal: []Record{{Path: "keep", Op: "create"}},
	}
	mustCommit(t, p, first)

	// A change big enough that the commit checks its context several
	// times inside the transaction.
	big := func() Change {
		c := Change{Base: map[string]*zerosync.Entry{"keep": nil}, Journal: []Record{{Path: "keep", Op: "remove"}}}
		for i := range 5 * ctxEvery {
			c.Base[fmt.Sprintf("f%05d", i)] = file(fmt.Sprint(i), 0o644)
		}
		return c
	}

	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	steps := []struct {
		name string
		ctx  context.Context
	}{
		{"before the write", cancelled},
		{"at the first check inside the transaction", &stepCtx{Context: t.Context(), left: 1}},
		{"part-way through the entries", &stepCtx{Context: t.Context(), left: 3}},
		{"at the last check before commit", &stepCtx{Context: t.Context(), left: 6}},
	}
	for _, s := range steps {
		c := big()
		err := p.Commit(s.ctx, c)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: Commit = %v, want context.Canceled", s.name, err)
		}
		if c.Journal[0].Seq != 0 {
			t.Errorf("%s: seq assigned by a failed commit", s.name)
		}
	}
	// The step counts above must reach into the transaction: with one more
	// step the same change commits.
	if err := p.Commit(&stepCtx{Context: t.Context(), left: 7}, big()); err != nil {
		t.Fatalf("Commit with enough steps: %v", err)
	}
	if s := mustBase(t, p); len(s) != 5*ctxEvery {
		t.Fatalf("base has %d entries after the successful commit", len(s))
	}
	if n, _ := p.LastSeq(t.Context()); n != 2 {
		t.Errorf("LastSeq = %d, want 2: cancelled commits consumed sequence numbers", n)
	}
	if _, ok, _ := p.Body(t.Context(), sum(string(body))); ok {
		t.Errorf("body of a removed file survived the commit")
	}

	// And before that commit, the cancelled ones left no trace: check on a
	// second pair that the first state survives a cancelled commit intact,
	// across a reopen.
	q := db.Pair("q")
	mustCommit(t, q, first)
	if err := q.Commit(&stepCtx{Context: t.Context(), left: 3}, big()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Commit = %v", err)
	}
	db = reopen(t, db)
	q = db.Pair("q")
	checkSnapshot(t, mustBase(t, q), zerosync.Snapshot{"keep": *file(string(body), 0o644)})
	if got, ok, err := q.Body(t.Context(), sum(string(body))); err != nil || !ok || !bytes.Equal(got, body) {
		t.Errorf("Body after cancelled commit: %q %v %v", got, ok, err)
	}
	if recs, _ := q.Journal(t.Context(), 0, 0); len(recs) != 1 {
		t.Errorf("journal after cancelled commit: %v", recs)
	}
}

func TestCommitAssignsSeqsToTheCallersRecords(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("p")
	recs := []Record{{Path: "a", Op: "create", Seq: 99}, {Path: "b", Op: "create"}}
	mustCommit(t, p, Change{Journal: recs})
	if recs[0].Seq != 1 || recs[1].Seq != 2 {
		t.Errorf("seqs = %d, %d, want 1, 2", recs[0].Seq, recs[1].Seq)
	}
}

func TestBodiesDedupAndPrune(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("p")
	ctx := t.Context()
	text := []byte("line one\nline two\n")
	d := sum(string(text))
	hasBody := func(want bool, when string) {
		t.Helper()
		got, ok, err := p.Body(ctx, d)
		if err != nil {
			t.Fatalf("%s: Body: %v", when, err)
		}
		if ok != want || (ok && !bytes.Equal(got, text)) {
			t.Fatalf("%s: Body = %q, %v; want present=%v", when, got, ok, want)
		}
	}

	// Two files with the same content and the body given twice over two
	// commits: stored once.
	mustCommit(t, p, Change{
		Base:   map[string]*zerosync.Entry{"a.txt": file(string(text), 0o644), "b.txt": file(string(text), 0o644)},
		Bodies: map[zerosync.Digest][]byte{d: text},
	})
	mustCommit(t, p, Change{Bodies: map[zerosync.Digest][]byte{d: text}})
	hasBody(true, "after store")
	if k := keys(t, p, bucketBodies); len(k) != 1 {
		t.Fatalf("%d bodies stored, want 1", len(k))
	}

	// Bodies are copies: changing the caller's slice changes nothing.
	got, _, _ := p.Body(ctx, d)
	got[0] = 'X'
	hasBody(true, "after changing a returned body")

	mustCommit(t, p, Change{Base: map[string]*zerosync.Entry{"a.txt": nil}})
	hasBody(true, "one of two referring files deleted")

	// A rename within one commit keeps the body.
	mustCommit(t, p, Change{Base: map[string]*zerosync.Entry{"b.txt": nil, "c.txt": file(string(text), 0o644)}})
	hasBody(true, "renamed")

	// A mode change keeps the digest, and the body.
	mustCommit(t, p, Change{Base: map[string]*zerosync.Entry{"c.txt": file(string(text), 0o600)}})
	hasBody(true, "mode changed")

	// The last referring file changes: the body goes.
	mustCommit(t, p, Change{Base: map[string]*zerosync.Entry{"c.txt": file("other", 0o644)}})
	hasBody(false, "last reference changed")
	if k := keys(t, p, bucketBodies); len(k) != 0 {
		t.Errorf("bodies left: %x", k)
	}

	// A body no base file refers to is not kept at all.
	mustCommit(t, p, Change{Bodies: map[zerosync.Digest][]byte{d: text}})
	hasBody(false, "body without a file")

	// A body given later for a file already in the base is kept, and goes
	// when that file is deleted.
	mustCommit(t, p, Change{Base: map[string]*zerosync.Entry{"d.txt": file(string(text), 0o644)}})
	mustCommit(t, p, Change{Bodies: map[zerosync.Digest][]byte{d: text}})
	hasBody(true, "body given after its file")
	mustCommit(t, p, Change{Base: map[string]*zerosync.Entry{"d.txt": nil}})
	hasBody(false, "file deleted")

	// The body of an empty file is a body like any other.
	mustCommit(t, p, Change{Base: map[string]*zerosync.Entry{"empty": file("", 0o644)}, Bodies: map[zerosync.Digest][]byte{sum(""): nil}})
	if got, ok, err := p.Body(ctx, sum("")); err != nil || !ok || len(got) != 0 {
		t.Errorf("empty body: %q, %v, %v", got, ok, err)
	}
	mustCommit(t, p, Change{Base: map[string]*zerosync.Entry{"empty": nil}})

	// Only files refer to bodies; nothing else keeps one alive.
	if k := keys(t, p, bucketRefs); len(k) != 1 { // "other"
		t.Errorf("refs = %x, want one", k)
	}
}

// TestRefsMatchBase drives a pair through random commits and checks after
// each that the reference counts equal those computed from the base, that
// only referenced bodies are stored, and that every body given for a
// digest that stayed referenced is there.
func TestRefsMatchBase(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("p")
	rng := rand.New(rand.NewPCG(1, 2))
	contents := []string{"a", "b", "c", "d", "e"}
	paths := []string{"1", "2", "3", "4", "5", "6"}
	given := map[zerosync.Digest]bool{}
	for step := range 300 {
		c := Change{Base: map[string]*zerosync.Entry{}, Bodies: map[zerosync.Digest][]byte{}}
		for range 1 + rng.IntN(4) {
			path := paths[rng.IntN(len(paths))]
			switch rng.IntN(5) {
			case 0:
				c.Base[path] = nil
			case 1:
				c.Base[path] = dir(0o755)
			case 2:
				c.Base[path] = symlink("x")
			default:
				c.Base[path] = file(contents[rng.IntN(len(contents))], 0o644)
			}
		}
		for range rng.IntN(3) {
			s := contents[rng.IntN(len(contents))]
			c.Bodies[sum(s)] = []byte(s)
		}
		mustCommit(t, p, c)

		base := mustBase(t, p)
		counts := map[zerosync.Digest]uint64{}
		for _, e := range base {
			if r := refOf(&e); r.ok {
				counts[r.d]++
			}
		}
		for d := range given {
			if counts[d] == 0 {
				delete(given, d)
			}
		}
		for d := range c.Bodies {
			if counts[d] > 0 {
				given[d] = true
			}
		}
		stored := map[zerosync.Digest]uint64{}
		for _, k := range keys(t, p, bucketRefs) {
			var d zerosync.Digest
			copy(d[:], k)
			n, err := p.refCountTx(d)
			if err != nil {
				t.Fatal(err)
			}
			stored[d] = n
		}
		if !mapsEqual(stored, counts) {
			t.Fatalf("step %d: refs %v, want %v", step, stored, counts)
		}
		var bodies []string
		for _, k := range keys(t, p, bucketBodies) {
			var d zerosync.Digest
			copy(d[:], k)
			bodies = append(bodies, d.String())
			if counts[d] == 0 {
				t.Fatalf("step %d: body %s kept without a file", step, d.Short())
			}
		}
		for d := range given {
			if !slices.Contains(bodies, d.String()) {
				t.Fatalf("step %d: body %s missing", step, d.Short())
			}
		}
		if n := baseCountOf(t, p); n != len(base) {
			t.Fatalf("step %d: stored count %d, base has %d", step, n, len(base))
		}
	}
}

func mapsEqual(a, b map[zerosync.Digest]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func (p *Pair) refCountTx(d zerosync.Digest) (n uint64, err error) {
	err = p.db.bolt.View(func(tx *bbolt.Tx) error {
		n, err = p.refCount(p.bucket(tx, bucketRefs), d)
		return err
	})
	return n, err
}

func TestCorruptBaseIsReportedAndRepairable(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("p")
	mustCommit(t, p, Change{Base: map[string]*zerosync.Entry{"good": file("g", 0o644), "bad": file("b", 0o644)}})

	for _, damage := range []struct {
		name string
		key  string
		val  []byte
	}{
		{"truncated", "bad", appendEntry(nil, file("b", 0o644))[:10]},
		{"unknown version", "bad", append([]byte{9}, appendEntry(nil, file("b", 0o644))[1:]...)},
		{"invalid path", "../escape", appendEntry(nil, file("b", 0o644))},
	} {
		poke(t, p, bucketBase, []byte(damage.key), damage.val)
		_, err := p.Base(t.Context())
		var ce *CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s: Base = %v, want a CorruptError", damage.name, err)
		}
		if ce.Pair != "p" || ce.Bucket != "base" || !strings.Contains(ce.Key, damage.key) {
			t.Errorf("%s: CorruptError names %q %q %q", damage.name, ce.Pair, ce.Bucket, ce.Key)
		}
		if !strings.Contains(err.Error(), damage.key) {
			t.Errorf("%s: message %q does not name the key", damage.name, err)
		}
		if damage.key != "bad" {
			poke(t, p, bucketBase, []byte(damage.key), nil)
		}
	}
	// A commit overwrites a damaged entry.
	mustCommit(t, p, Change{Base: map[string]*zerosync.Entry{"bad": file("fixed", 0o644)}})
	checkSnapshot(t, mustBase(t, p), zerosync.Snapshot{"good": *file("g", 0o644), "bad": *file("fixed", 0o644)})
}

func TestCorruptBodyIsReported(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("p")
	text := "merge base\n"
	mustCommit(t, p, Change{
		Base:   map[string]*zerosync.Entry{"f": file(text, 0o644)},
		Bodies: map[zerosync.Digest][]byte{sum(text): []byte(text)},
	})
	poke(t, p, bucketBodies, digestKey(sum(text)), []byte("merge basE\n"))
	_, ok, err := p.Body(t.Context(), sum(text))
	var ce *CorruptError
	if !errors.As(err, &ce) || ok || ce.Bucket != "bodies" || ce.Key != sum(text).String() {
		t.Fatalf("Body of damaged content = %v, %v", ok, err)
	}
}

func TestCorruptRefCountIsReported(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("p")
	mustCommit(t, p, Change{Base: map[string]*zerosync.Entry{"f": file("x", 0o644)}})
	poke(t, p, bucketRefs, digestKey(sum("x")), []byte{0x80})
	err := p.Commit(t.Context(), Change{Base: map[string]*zerosync.Entry{"f": nil}})
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Bucket != "refs" {
		t.Fatalf("Commit over a damaged count = %v", err)
	}
	checkSnapshot(t, mustBase(t, p), zerosync.Snapshot{"f": *file("x", 0o644)})
}

func TestTwoPairsAreIsolated(t *testing.T) {
	db, _ := openDB(t)
	ctx := t.Context()
	a, b := db.Pair("a"), db.Pair("b")
	text := "shared\n"
	for _, p := range []*Pair{a, b} {
		mustCommit(t, p, Change{
			Base:    map[string]*zerosync.Entry{"f": file(text, 0o644), p.ID(): dir(0o755)},
			Bodies:  map[zerosync.Digest][]byte{sum(text): []byte(text)},
			Journal: []Record{{Path: "f", Op: "create", Note: p.ID()}},
		})
		if _, err := p.AddReview(ctx, ReviewItem{Path: p.ID()}); err != nil {
			t.Fatal(err)
		}
		if err := p.SetMeta(ctx, "who", p.ID()); err != nil {
			t.Fatal(err)
		}
	}
	// Removing the file on a prunes a's body, not b's.
	mustCommit(t, a, Change{Base: map[string]*zerosync.Entry{"f": nil}})
	if _, ok, _ := a.Body(ctx, sum(text)); ok {
		t.Errorf("a kept the body")
	}
	if _, ok, _ := b.Body(ctx, sum(text)); !ok {
		t.Errorf("b lost its body when a's file went")
	}
	checkSnapshot(t, mustBase(t, a), zerosync.Snapshot{"a": *dir(0o755)})
	checkSnapshot(t, mustBase(t, b), zerosync.Snapshot{"b": *dir(0o755), "f": *file(text, 0o644)})
	for _, p := range []*Pair{a, b} {
		recs, _ := p.Journal(ctx, 0, 0)
		if len(recs) != 1 || recs[0].Seq != 1 || recs[0].Note != p.ID() {
			t.Errorf("%s: journal %+v", p.ID(), recs)
		}
		items, _ := p.Reviews(ctx)
		if len(items) != 1 || items[0].ID != 1 || items[0].Path != p.ID() {
			t.Errorf("%s: reviews %+v", p.ID(), items)
		}
		if v, _, _ := p.Meta(ctx, "who"); v != p.ID() {
			t.Errorf("%s: meta %q", p.ID(), v)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	db, _ := openDB(t)
	ctx := t.Context()
	const writers, commits = 4, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*commits*3)
	for w := range writers {
		p := db.Pair(fmt.Sprintf("pair-%d", w%2)) // two writers per pair
		wg.Go(func() {
			for i := range commits {
				path := fmt.Sprintf("w%d-%02d", w, i)
				c := Change{
					Base:    map[string]*zerosync.Entry{path: file(path, 0o644)},
					Bodies:  map[zerosync.Digest][]byte{sum(path): []byte(path)},
					Journal: []Record{{Path: path, Op: "create"}},
				}
				if err := p.Commit(ctx, c); err != nil {
					errs <- err
				}
				if _, err := p.Base(ctx); err != nil {
					errs <- err
				}
				if _, err := p.AddReview(ctx, ReviewItem{Path: path}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := range 2 {
		p := db.Pair(fmt.Sprintf("pair-%d", i))
		if n := len(mustBase(t, p)); n != 2*commits {
			t.Errorf("%s: %d entries, want %d", p.ID(), n, 2*commits)
		}
		recs, err := p.Journal(ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for j, r := range recs {
			if r.Seq != uint64(j+1) {
				t.Fatalf("%s: record %d has seq %d", p.ID(), j, r.Seq)
			}
		}
		if len(recs) != 2*commits {
			t.Errorf("%s: %d records", p.ID(), len(recs))
		}
		if n, _ := p.ReviewCount(ctx); n != 2*commits {
			t.Errorf("%s: %d reviews", p.ID(), n)
		}
		if k := keys(t, p, bucketBodies); len(k) != 2*commits {
			t.Errorf("%s: %d bodies", p.ID(), len(k))
		}
	}
}

func digestKey(d zerosync.Digest) []byte { return d[:] }

func TestQuickValidPathAgreesWithValidPath(t *testing.T) {
	for _, p := range []string{
		"a", "a/b", "a/b/c.txt", ".hidden", "a/.b", "...", "a/..b", "..a", "ünï/名前",
		strings.Repeat("n", zerosync.MaxNameLen), strings.Repeat("a/", zerosync.MaxPathLen/2-1) + "z",
		"", "/", "/a", "a/", "a//b", ".", "..", "a/.", "a/..", "./a", "../a", "a/./b", "a\x00b",
		strings.Repeat("n", zerosync.MaxNameLen+1), strings.Repeat("a/", zerosync.MaxPathLen/2) + "z",
	} {
		checkQuickValid(t, p)
	}
}

func FuzzQuickValidPath(f *testing.F) {
	for _, p := range []string{"a/b", "a/../b", "a//b", "./x", "x/", "\x00"} {
		f.Add(p)
	}
	f.Fuzz(checkQuickValid)
}

func checkQuickValid(t *testing.T, p string) {
	if quick, err := quickValidPath(p), zerosync.ValidPath(p); quick != (err == nil) {
		t.Errorf("quickValidPath(%q) = %v, ValidPath = %v", p, quick, err)
	}
}

// TestBaseLeavesNothingMapped: reading the whole common state leaves none
// of the database's pages resident in the process: the entries were
// copied out, and a running engine would otherwise keep the pages for
// good.
func TestBaseLeavesNothingMapped(t *testing.T) {
	db, path := openDB(t)
	p := db.Pair("a")
	want := tree(20_000)
	mustCommit(t, p, want)
	var size int64
	// The same read, without giving the pages back, maps most of them:
	// the measure sees them.
	if err := db.bolt.View(func(tx *bbolt.Tx) error {
		size = tx.Size()
		return p.bucket(tx, bucketBase).ForEach(func(_, _ []byte) error { return nil })
	}); err != nil {
		t.Fatal(err)
	}
	if kib := mappedKiB(t, path); kib < size/1024/2 {
		t.Fatalf("a plain read left %d KiB of a %d KiB database mapped; the measure does not see the pages", kib, size/1024)
	}
	if got := mustBase(t, p); len(got) != len(want.Base) {
		t.Fatalf("%d entries, want %d", len(got), len(want.Base))
	}
	if kib := mappedKiB(t, path); kib >= 64 {
		t.Fatalf("reading the common state left %d KiB of a %d KiB database mapped", kib, size/1024)
	}
}

// mappedKiB returns the resident KiB of the process's mappings of file.
func mappedKiB(t *testing.T, file string) int64 {
	t.Helper()
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	var kib int64
	in := false
	for line := range strings.Lines(string(smaps)) {
		fields := strings.Fields(line)
		switch {
		case len(fields) >= 5 && strings.Count(fields[0], "-") == 1 && !strings.HasSuffix(fields[0], ":"):
			in = len(fields) == 6 && fields[5] == file
		case in && len(fields) == 3 && fields[0] == "Rss:":
			n, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			kib += n
		}
	}
	return kib
}

// TestCommitSet: entries given by value in Set are stored as Base stores
// them, beside Base's own; a path in both is refused, and nothing of
// that change is stored.
func TestCommitSet(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("a")
	mustCommit(t, p, Change{Base: map[string]*zerosync.Entry{"old": file("old", 0o644), "gone": file("gone", 0o644)}})
	set := zerosync.Snapshot{"d": *dir(0o755), "d/f": *file("f", 0o600), "old": *file("new", 0o644)}
	mustCommit(t, p, Change{Base: map[string]*zerosync.Entry{"gone": nil, "e": file("e", 0o644)}, Set: set})
	got := mustBase(t, p)
	want := zerosync.Snapshot{"d": *dir(0o755), "d/f": *file("f", 0o600), "old": *file("new", 0o644), "e": *file("e", 0o644)}
	if len(got) != len(want) {
		t.Fatalf("base has %d entries, want %d: %v", len(got), len(want), got)
	}
	for path, w := range want {
		if g, ok := got[path]; !ok || !g.Same(&w) || g.Size != w.Size {
			t.Fatalf("%s: %v, want %v", path, g, w)
		}
	}

	err := p.Commit(context.Background(), Change{Base: map[string]*zerosync.Entry{"x": file("x", 0o644)}, Set: zerosync.Snapshot{"x": *file("y", 0o644)}})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("a path in Base and Set: %v, want ErrInvalid", err)
	}
	if _, ok := mustBase(t, p)["x"]; ok {
		t.Fatal("a refused change was stored")
	}
}
