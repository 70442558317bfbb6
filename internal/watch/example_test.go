package watch_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/watch"
)

func ExampleRun() {
	root, err := os.MkdirTemp("", "watch-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(root)

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	hints := make(chan zerosync.Hint, 16)
	done := make(chan error, 1)
	go func() {
		opts := watch.Options{
			Ready: func() { close(ready) },
			// Drop paths this process wrote itself.
			Echo: func(path string) bool { return path == "written-by-us.txt" },
		}
		done <- watch.Run(ctx, root, opts, func(h zerosync.Hint) { hints <- h })
	}()
	<-ready // changes from here on are reported

	os.WriteFile(filepath.Join(root, "written-by-us.txt"), []byte("echo"), 0o644)
	os.WriteFile(filepath.Join(root, "notes.txt"), []byte("hello"), 0o644)
	h := <-hints
	fmt.Println(h.Paths, h.Reason)

	cancel()
	fmt.Println(<-done)
	// Output:
	// [notes.txt] watch
	// context canceled
}
