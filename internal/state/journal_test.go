package state

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
)

func TestJournalSeqIsMonotonicAcrossReopen(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("p")
	ctx := t.Context()
	if n, err := p.LastSeq(ctx); err != nil || n != 0 {
		t.Fatalf("LastSeq of new pair = %d, %v", n, err)
	}
	if recs, err := p.Journal(ctx, 0, 0); err != nil || len(recs) != 0 {
		t.Fatalf("Journal of new pair = %v, %v", recs, err)
	}
	when := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	first := []Record{
		{Time: when, Path: "a", Side: zerosync.Ours, Op: "create", Digest: sum("a")},
		{Time: when, Path: "b", Side: zerosync.Theirs, Op: "conflict", Digest: sum("b"), By: "diff3", Note: "merged cleanly"},
		{Path: "c", Op: "remove"},
	}
	mustCommit(t, p, Change{Journal: first})

	db = reopen(t, db)
	p = db.Pair("p")
	second := []Record{{Path: "d", Op: "update"}, {Path: "e", Op: "update"}}
	mustCommit(t, p, Change{Journal: second})
	if second[0].Seq != 4 || second[1].Seq != 5 {
		t.Fatalf("seqs after reopen = %d, %d, want 4, 5", second[0].Seq, second[1].Seq)
	}
	if n, _ := p.LastSeq(ctx); n != 5 {
		t.Errorf("LastSeq = %d, want 5", n)
	}

	all, err := p.Journal(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]Record{}, first...), second...)
	if len(all) != len(want) {
		t.Fatalf("%d records, want %d", len(all), len(want))
	}
	for i := range want {
		if !sameRecord(all[i], want[i]) {
			t.Errorf("record %d = %+v, want %+v", i, all[i], want[i])
		}
	}

	page := func(after uint64, limit int) []uint64 {
		recs, err := p.Journal(ctx, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []uint64
		for _, r := range recs {
			seqs = append(seqs, r.Seq)
		}
		return seqs
	}
	for _, c := range []struct {
		after uint64
		limit int
		want  []uint64
	}{
		{0, 2, []uint64{1, 2}},
		{2, 2, []uint64{3, 4}},
		{4, 2, []uint64{5}},
		{5, 2, nil},
		{3, -1, []uint64{4, 5}},
		{math.MaxUint64, 0, nil},
	} {
		if got := page(c.after, c.limit); !equalU64(got, c.want) {
			t.Errorf("Journal(%d, %d) = %v, want %v", c.after, c.limit, got, c.want)
		}
	}
}

func sameRecord(a, b Record) bool {
	return a.Seq == b.Seq && a.Time.Equal(b.Time) && a.Time.IsZero() == b.Time.IsZero() &&
		a.Path == b.Path && a.Side == b.Side && a.Op == b.Op && a.Digest == b.Digest &&
		a.By == b.By && a.Note == b.Note
}

func equalU64(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTrimJournal(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("p")
	ctx := t.Context()
	if n, err := p.TrimJournal(ctx, 10); err != nil || n != 0 {
		t.Fatalf("TrimJournal of new pair = %d, %v", n, err)
	}
	mustCommit(t, p, Change{Journal: make([]Record, 5)})
	n, err := p.TrimJournal(ctx, 3)
	if err != nil || n != 3 {
		t.Fatalf("TrimJournal(3) = %d, %v, want 3", n, err)
	}
	recs, _ := p.Journal(ctx, 0, 0)
	if len(recs) != 2 || recs[0].Seq != 4 || recs[1].Seq != 5 {
		t.Fatalf("after trim: %+v", recs)
	}
	if last, _ := p.LastSeq(ctx); last != 5 {
		t.Errorf("LastSeq after trim = %d, want 5", last)
	}
	next := make([]Record, 1)
	mustCommit(t, p, Change{Journal: next})
	if next[0].Seq != 6 {
		t.Errorf("seq after trim = %d, want 6", next[0].Seq)
	}
	if n, _ := p.TrimJournal(ctx, math.MaxUint64); n != 3 {
		t.Errorf("trim all removed %d, want 3", n)
	}
}

func TestCorruptJournalRecordIsReported(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("p")
	mustCommit(t, p, Change{Journal: []Record{{Path: "a"}, {Path: "b"}}})
	poke(t, p, bucketJournal, seqKey(2), []byte{recordVersion, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	_, err := p.Journal(t.Context(), 0, 0)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Bucket != "journal" || ce.Key != "2" {
		t.Fatalf("Journal = %v, want a CorruptError for record 2", err)
	}
	// Records before the damage still read.
	if recs, err := p.Journal(t.Context(), 0, 1); err != nil || len(recs) != 1 {
		t.Errorf("Journal(0, 1) = %v, %v", recs, err)
	}
	poke(t, p, bucketJournal, []byte("short"), []byte{recordVersion, 0, 0, 0, 0, 0, 0})
	if _, err := p.Journal(t.Context(), 2, 0); !errors.As(err, &ce) || ce.Key != "73686f7274" {
		t.Errorf("Journal over a bad key = %v", err)
	}
}
