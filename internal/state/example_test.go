package state_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
	"github.com/zerosync/zerosync/internal/state"
)

// An engine records a sync: the new base, the ancestor body of a text file,
// and what it did.
func Example() {
	dir, err := os.MkdirTemp("", "state-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := state.Open(filepath.Join(dir, "main.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	pair := db.Pair("local:notes|peer:notes")

	body := []byte("buy milk\n")
	d := digest.Sum(body)
	err = pair.Commit(ctx, state.Change{
		Base: map[string]*zerosync.Entry{
			"todo":     {Kind: zerosync.KindDir, Mode: 0o755},
			"todo/now": {Kind: zerosync.KindFile, Mode: 0o644, Size: int64(len(body)), Digest: d},
		},
		Bodies:  map[zerosync.Digest][]byte{d: body},
		Journal: []state.Record{{Path: "todo/now", Side: zerosync.Theirs, Op: "create", Digest: d}},
	})
	if err != nil {
		log.Fatal(err)
	}

	base, err := pair.Base(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range base.Paths() {
		fmt.Println(p, base.Get(p))
	}
	ancestor, ok, err := pair.Body(ctx, d)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("body kept: %v %q\n", ok, ancestor)
	recs, err := pair.Journal(ctx, 0, 0)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range recs {
		fmt.Println(r.Seq, r.Op, r.Path, "on", r.Side)
	}
	// Output:
	// todo dir 755
	// todo/now file 644 9 eebf0db75f5e
	// body kept: true "buy milk\n"
	// 1 create todo/now on theirs
}

// A conflict that needs a person waits in the review queue until it is
// settled.
func ExamplePair_AddReview() {
	dir, err := os.MkdirTemp("", "state-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := state.Open(filepath.Join(dir, "main.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	pair := db.Pair("local:notes|peer:notes")

	id, err := pair.AddReview(ctx, state.ReviewItem{
		Path:     "todo/now",
		Hosts:    [2]string{"laptop", "server"},
		CopyPath: "todo/now" + zerosync.ConflictMarker + "server",
		Note:     "changed on both sides; kept both",
	})
	if err != nil {
		log.Fatal(err)
	}
	items, _ := pair.Reviews(ctx)
	for _, it := range items {
		fmt.Println(it.ID, it.Path, "->", it.CopyPath)
	}

	if err := pair.RemoveReview(ctx, id); err != nil { // settled
		log.Fatal(err)
	}
	n, _ := pair.ReviewCount(ctx)
	fmt.Println("waiting:", n)
	// Output:
	// 1 todo/now -> todo/now.zs-conflict-server
	// waiting: 0
}
