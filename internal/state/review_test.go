package state

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
)

func sameReview(a, b ReviewItem) bool {
	return a.ID == b.ID && a.Time.Equal(b.Time) && a.Time.IsZero() == b.Time.IsZero() &&
		a.Path == b.Path && sameEntry(a.Base, b.Base) && sameEntry(a.Ours, b.Ours) &&
		sameEntry(a.Theirs, b.Theirs) && a.Hosts == b.Hosts && a.CopyPath == b.CopyPath &&
		maps.Equal(a.Archive, b.Archive) && a.Note == b.Note && (a.Archive == nil) == (b.Archive == nil)
}

func TestReviewQueue(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("p")
	ctx := t.Context()
	if items, err := p.Reviews(ctx); err != nil || len(items) != 0 {
		t.Fatalf("Reviews of new pair = %v, %v", items, err)
	}
	if _, ok, err := p.Review(ctx, 1); err != nil || ok {
		t.Fatalf("Review of new pair = %v, %v", ok, err)
	}
	if err := p.RemoveReview(ctx, 1); err != nil {
		t.Fatalf("RemoveReview of new pair: %v", err)
	}

	full := ReviewItem{
		ID:       42, // ignored
		Time:     time.Date(2025, 6, 1, 12, 0, 0, 7, time.UTC),
		Path:     "notes/todo.md",
		Base:     file("base\n", 0o644),
		Ours:     file("ours\n", 0o644),
		Theirs:   nil, // deleted on theirs
		Hosts:    [2]string{"laptop", "server"},
		CopyPath: "notes/todo" + zerosync.ConflictMarker + "server.md",
		Archive:  map[string]string{"theirs": "archive/2025/todo.md", "ours": "archive/x"},
		Note:     "modified on ours, deleted on theirs",
	}
	minimal := ReviewItem{Path: "a"}
	links := ReviewItem{Path: "l", Ours: symlink("x"), Theirs: dir(0o700), Archive: map[string]string{}}
	var ids []uint64
	for _, it := range []ReviewItem{full, minimal, links} {
		id, err := p.AddReview(ctx, it)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if !equalU64(ids, []uint64{1, 2, 3}) {
		t.Fatalf("IDs = %v, want 1 2 3", ids)
	}
	full.ID, minimal.ID, links.ID = 1, 2, 3
	links.Archive = nil // an empty archive reads back as nil

	items, err := p.Reviews(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []ReviewItem{full, minimal, links}
	if len(items) != len(want) {
		t.Fatalf("%d items, want %d", len(items), len(want))
	}
	for i := range want {
		if !sameReview(items[i], want[i]) {
			t.Errorf("item %d = %+v, want %+v", i, items[i], want[i])
		}
	}
	if it, ok, err := p.Review(ctx, 1); err != nil || !ok || !sameReview(it, full) {
		t.Errorf("Review(1) = %+v, %v, %v", it, ok, err)
	}
	if n, _ := p.ReviewCount(ctx); n != 3 {
		t.Errorf("ReviewCount = %d, want 3", n)
	}

	if err := p.RemoveReview(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := p.RemoveReview(ctx, 2); err != nil {
		t.Errorf("removing twice: %v", err)
	}
	if _, ok, _ := p.Review(ctx, 2); ok {
		t.Errorf("item 2 still there")
	}

	// IDs are not reused, across a reopen either.
	db = reopen(t, db)
	p = db.Pair("p")
	if err := p.RemoveReview(ctx, 3); err != nil {
		t.Fatal(err)
	}
	id, err := p.AddReview(ctx, minimal)
	if err != nil || id != 4 {
		t.Fatalf("AddReview after removals and reopen = %d, %v, want 4", id, err)
	}
	items, _ = p.Reviews(ctx)
	if len(items) != 2 || items[0].ID != 1 || items[1].ID != 4 || !sameReview(items[0], full) {
		t.Errorf("queue after reopen: %+v", items)
	}
	if n, _ := p.ReviewCount(ctx); n != 2 {
		t.Errorf("ReviewCount = %d, want 2", n)
	}
}

func TestAddReviewRejectsOversizedItems(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("p")
	many := map[string]string{}
	for i := range maxArchive + 1 {
		many[fmt.Sprint(i)] = "x"
	}
	for _, c := range []struct {
		name string
		it   ReviewItem
		want error
	}{
		{"long note", ReviewItem{Note: strings.Repeat("n", maxNoteLen+1)}, zerosync.ErrTooLarge},
		{"long host", ReviewItem{Hosts: [2]string{"", strings.Repeat("h", maxNameLen+1)}}, zerosync.ErrTooLarge},
		{"big archive", ReviewItem{Archive: many}, zerosync.ErrTooLarge},
		{"long archive key", ReviewItem{Archive: map[string]string{strings.Repeat("k", maxArchKey+1): ""}}, zerosync.ErrTooLarge},
		{"zero entry", ReviewItem{Base: &zerosync.Entry{}}, ErrInvalid},
	} {
		if _, err := p.AddReview(t.Context(), c.it); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if n, _ := p.ReviewCount(t.Context()); n != 0 {
		t.Errorf("%d items stored", n)
	}
}

func TestCorruptReviewIsReported(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("p")
	id, err := p.AddReview(t.Context(), ReviewItem{Path: "a", Archive: map[string]string{"a": "1", "b": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	// The same item with its archive entries out of key order.
	v := string(appendReview(nil, &ReviewItem{Path: "a", Archive: map[string]string{"a": "1", "b": "2"}}))
	bad := []byte(strings.Replace(v, "\x01a\x011\x01b\x012", "\x01b\x012\x01a\x011", 1))
	if string(bad) == v {
		t.Fatal("test did not reorder the archive")
	}
	poke(t, p, bucketReview, seqKey(id), bad)
	var ce *CorruptError
	if _, err := p.Reviews(t.Context()); !errors.As(err, &ce) || ce.Bucket != "review" || ce.Key != "1" {
		t.Fatalf("Reviews = %v", err)
	}
	if _, ok, err := p.Review(t.Context(), id); !errors.As(err, &ce) || ok {
		t.Fatalf("Review = %v, %v", ok, err)
	}
	if err := p.RemoveReview(t.Context(), id); err != nil {
		t.Fatalf("removing a damaged item: %v", err)
	}
}
