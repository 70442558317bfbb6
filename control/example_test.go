package control_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/zerosync/zerosync/control"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/memory"
)

// A daemon serves its engine on a socket; a client steers it.
func Example() {
	ctx := context.Background()
	laptop, server := memory.New(), memory.New()
	laptop.WriteFile("notes.txt", []byte("remember the milk\n"), 0o644)
	e, _ := engine.New(engine.Peer{Name: "laptop", Endpoint: laptop}, []engine.Peer{{Name: "server", Endpoint: server}},
		engine.WithName("notes"), engine.WithVolatileState())
	defer e.Close()

	// The daemon: a socket of its own, a server, and the engine running.
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	l, err := control.Listen(filepath.Join(dir, "zerosync", "notes.sock"))
	if err != nil {
		fmt.Println(err)
		return
	}
	runCtx, stopRun := context.WithCancel(ctx)
	srv, _ := control.New(e, control.WithStop(stopRun))
	go srv.Serve(l)
	defer srv.Shutdown(ctx)
	done := make(chan error, 1)
	go func() { done <- e.Run(runCtx) }()

	// The client: sync now, look, and stop the daemon.
	c, err := control.Dial(ctx, filepath.Join(dir, "zerosync", "notes.sock"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	if _, err := c.Flush(ctx); err != nil {
		fmt.Println(err)
		return
	}
	st, _ := c.Status(ctx)
	for _, p := range st.Peers {
		fmt.Printf("%s: %s, %d conflicts waiting\n", p.Name, p.State, p.Conflicts)
	}
	b, _ := server.ReadFile("notes.txt")
	fmt.Printf("server has: %s", b)
	c.Stop(ctx)
	fmt.Println(<-done)
	// Output:
	// server: connected, 0 conflicts waiting
	// server has: remember the milk
	// context canceled
}
