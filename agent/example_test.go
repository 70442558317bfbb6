package agent_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/zerosync/zerosync/agent"
	"github.com/zerosync/zerosync/transport/remote"
)

// A program becomes an agent by calling Handle first thing in main; a
// transport then starts it on a host with agent.Arg. Serve is what it
// runs; here it serves a client in the same process.
func ExampleServe() {
	tmp, _ := os.MkdirTemp("", "agent-example-")
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "tree")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hi"), 0o644)

	ctx := context.Background()
	server, client := net.Pipe()
	go agent.Serve(ctx, server, server, agent.WithCacheDir(filepath.Join(tmp, "cache")))

	c, err := remote.Dial(ctx, client)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Println("agent", c.Agent().Version == agent.Version)
	ep, err := c.Endpoint(ctx, dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	snap, _, _ := ep.Scan(ctx)
	fmt.Println(snap.Paths())
	// Output:
	// agent true
	// [hello.txt]
}
