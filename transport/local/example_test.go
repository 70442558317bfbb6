//go:build linux

package local_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
	"github.com/zerosync/zerosync/transport/local"
)

// An endpoint over a directory: apply a file, scan it back, and watch an
// apply that expected something else be refused.
func Example() {
	root, err := os.MkdirTemp("", "zerosync-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)

	ep, err := local.New(root)
	if err != nil {
		log.Fatal(err)
	}
	defer ep.Close()
	ctx := context.Background()

	body := []byte("export EDITOR=vi\n")
	file := &zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: int64(len(body)), Digest: digest.Sum(body)}
	if err := ep.Apply(ctx, zerosync.Op{Path: ".bashrc", New: file}, bytes.NewReader(body)); err != nil {
		log.Fatal(err)
	}

	snap, problems, err := ep.Scan(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range snap.Paths() {
		fmt.Println(p, snap.Get(p))
	}
	fmt.Println("problems:", len(problems))

	// Creating the file again expects it to be absent: refused.
	err = ep.Apply(ctx, zerosync.Op{Path: ".bashrc", New: file}, bytes.NewReader(body))
	fmt.Println(errors.Is(err, zerosync.ErrChanged))
	// Output:
	// .bashrc file 644 17 d4198a72cff3
	// problems: 0
	// true
}
