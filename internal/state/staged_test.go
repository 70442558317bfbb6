package state

import (
	"errors"
	"strings"
	"testing"

	"github.com/zerosync/zerosync"
)

func TestStagingArea(t *testing.T) {
	db, _ := openDB(t)
	ctx := t.Context()
	p, q := db.Pair("p"), db.Pair("q")
	if items, err := p.Staged(ctx); err != nil || len(items) != 0 {
		t.Fatalf("Staged of a new pair = %v, %v", items, err)
	}
	if _, ok, err := p.StagedContent(ctx, "a", 1); err != nil || ok {
		t.Fatalf("StagedContent of a new pair = %v, %v", ok, err)
	}
	if err := p.Unstage(ctx, "a", 1); err != nil {
		t.Fatalf("Unstage of a new pair: %v", err)
	}

	upd := StagedItem{ID: 99, Held: true, Time: mtime, Path: "notes/a.txt", Base: file("base\n", 0o644),
		Ours: file("base\n", 0o644), Theirs: file("theirs\n", 0o644), Note: "modified on theirs"}
	del := StagedItem{Path: "gone", Base: file("x", 0o644), Ours: file("x", 0o644), Note: "deleted on theirs"}
	id1, err := p.Stage(ctx, upd, []byte("theirs\n"))
	if err != nil {
		t.Fatal(err)
	}
	id2, err := q.Stage(ctx, del, nil)
	if err != nil {
		t.Fatal(err)
	}
	id3, err := p.Stage(ctx, del, nil)
	if err != nil {
		t.Fatal(err)
	}
	if id1 != 1 || id2 != 2 || id3 != 3 {
		t.Fatalf("IDs %d %d %d, want 1 2 3: unique across pairs", id1, id2, id3)
	}
	upd.ID, upd.Held = id1, true
	del.ID = id3
	items, err := p.Staged(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || !sameStaged(items[0], del) || !sameStaged(items[1], upd) {
		t.Fatalf("Staged = %+v, want the two items in path order", items)
	}
	b, ok, err := p.StagedContent(ctx, upd.Path, id1)
	if err != nil || !ok || string(b) != "theirs\n" {
		t.Fatalf("StagedContent = %q, %v, %v", b, ok, err)
	}
	if _, ok, err := p.StagedContent(ctx, del.Path, id3); err != nil || ok {
		t.Fatalf("StagedContent of a deletion = %v, %v", ok, err)
	}

	// A newer version at the same path replaces the item, under a new ID;
	// the old ID finds nothing and removes nothing.
	newer := upd
	newer.Theirs = file("", 0o600)
	id4, err := p.Stage(ctx, newer, []byte{})
	if err != nil || id4 != 4 {
		t.Fatalf("restage = %d, %v", id4, err)
	}
	if _, ok, _ := p.StagedContent(ctx, upd.Path, id1); ok {
		t.Errorf("the replaced item's content is still found")
	}
	if err := p.Unstage(ctx, upd.Path, id1); err != nil {
		t.Fatal(err)
	}
	db = reopen(t, db)
	p, q = db.Pair("p"), db.Pair("q")
	items, _ = p.Staged(ctx)
	if len(items) != 2 || items[1].ID != id4 || !sameEntry(items[1].Theirs, newer.Theirs) {
		t.Fatalf("after restage and reopen: %+v", items)
	}
	if b, ok, err := p.StagedContent(ctx, upd.Path, id4); err != nil || !ok || len(b) != 0 || b == nil {
		t.Fatalf("empty content = %q, %v, %v", b, ok, err)
	}
	// Replaced by an item without content: the old content goes.
	if _, err := p.Stage(ctx, StagedItem{Path: upd.Path, Note: "deleted on theirs"}, nil); err != nil {
		t.Fatal(err)
	}
	items, _ = p.Staged(ctx)
	if len(items) != 2 || items[1].ID != 5 || items[1].Held {
		t.Fatalf("after restage without content: %+v", items)
	}

	for _, it := range items {
		if err := p.Unstage(ctx, it.Path, it.ID); err != nil {
			t.Fatal(err)
		}
	}
	if items, _ := p.Staged(ctx); len(items) != 0 {
		t.Fatalf("left after unstaging: %+v", items)
	}
	if items, _ := q.Staged(ctx); len(items) != 1 {
		t.Fatalf("the other pair's item went too: %+v", items)
	}
	if id, _ := q.Stage(ctx, del, nil); id != 6 {
		t.Errorf("ID after reopen = %d, want 6", id)
	}
}

func TestStageRefuses(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("p")
	for _, c := range []struct {
		name    string
		it      StagedItem
		content []byte
		want    error
	}{
		{"bad path", StagedItem{Path: "../x"}, nil, ErrInvalid},
		{"empty path", StagedItem{}, nil, ErrInvalid},
		{"content for a removal", StagedItem{Path: "x"}, []byte("x"), ErrInvalid},
		{"content for a dir", StagedItem{Path: "x", Theirs: dir(0o755)}, []byte{}, ErrInvalid},
		{"wrong content", StagedItem{Path: "x", Theirs: file("a", 0o644)}, []byte("b"), ErrInvalid},
		{"zero entry", StagedItem{Path: "x", Ours: &zerosync.Entry{}}, nil, ErrInvalid},
		{"long note", StagedItem{Path: "x", Note: strings.Repeat("n", maxNoteLen+1)}, nil, zerosync.ErrTooLarge},
		{"too large", StagedItem{Path: "x", Theirs: file("a", 0o644)}, make([]byte, MaxBodySize+1), zerosync.ErrTooLarge},
	} {
		if _, err := p.Stage(t.Context(), c.it, c.content); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if items, _ := p.Staged(t.Context()); len(items) != 0 {
		t.Errorf("%d items stored", len(items))
	}
}

func TestCorruptStagedIsReported(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("p")
	ctx := t.Context()
	id, err := p.Stage(ctx, StagedItem{Path: "a", Theirs: file("a", 0o644)}, []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	// The content of another file under the item's key.
	poke(t, p, bucketStagedBody, []byte("a"), appendStagedContent(nil, id, []byte("b")))
	var ce *CorruptError
	if _, _, err := p.StagedContent(ctx, "a", id); !errors.As(err, &ce) || ce.Bucket != "staged content" {
		t.Fatalf("StagedContent = %v", err)
	}
	// Content of another item.
	poke(t, p, bucketStagedBody, []byte("a"), appendStagedContent(nil, id+1, []byte("a")))
	if _, _, err := p.StagedContent(ctx, "a", id); !errors.As(err, &ce) {
		t.Fatalf("StagedContent = %v", err)
	}
	// An item that does not decode, and one under a key that is no path.
	poke(t, p, bucketStaged, []byte("a"), []byte{stagedVersion, 0xff})
	if _, err := p.Staged(ctx); !errors.As(err, &ce) || ce.Bucket != "staged" || ce.Key != `"a"` {
		t.Fatalf("Staged = %v", err)
	}
	if err := p.Unstage(ctx, "a", 12345); err != nil {
		t.Fatalf("removing a damaged item: %v", err)
	}
	poke(t, p, bucketStaged, []byte("/abs"), appendStaged(nil, &StagedItem{ID: 9}))
	if _, err := p.Staged(ctx); !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Staged with a bad key = %v", err)
	}
}
