package remote_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"

	"github.com/zeebo/blake3"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/transport/memory"
	"github.com/zerosync/zerosync/transport/remote"
)

// An agent serves a tree over a connection (here a net.Pipe; over SSH it is
// the exec channel), and the client uses it as an ordinary endpoint.
func Example() {
	ctx := context.Background()
	tree := memory.New()
	tree.WriteFile("notes/todo.txt", []byte("buy milk\n"), 0o644)

	agentSide, clientSide := net.Pipe()
	go remote.Serve(ctx, agentSide, func(ctx context.Context, root string) (zerosync.Endpoint, error) {
		return tree, nil // an agent calls local.New(root), for roots it agrees to serve
	}, remote.WithVersion("agent 1.0"))

	c, err := remote.Dial(ctx, clientSide)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Println("agent:", c.Agent().Version, "protocol", c.Agent().Protocol)

	ep, err := c.Endpoint(ctx, "/home/me/notes")
	if err != nil {
		log.Fatal(err)
	}
	defer ep.Close()
	snap, _, err := ep.Scan(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range snap.Paths() {
		fmt.Println(p, snap[p].Kind)
	}

	data := []byte("call mum\n")
	file := &zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: int64(len(data)), Digest: blake3.Sum256(data)}
	if err := ep.Apply(ctx, zerosync.Op{Path: "notes/call.txt", New: file}, bytes.NewReader(data)); err != nil {
		log.Fatal(err)
	}
	b, _ := tree.ReadFile("notes/call.txt")
	fmt.Printf("%s", b)
	// Output:
	// agent: agent 1.0 protocol 1
	// notes dir
	// notes/todo.txt file
	// call mum
}

// OpenDelta reads a file that changed a little as a delta against the
// version the caller already has: only the changed blocks cross the wire.
func ExampleEndpoint_OpenDelta() {
	ctx := context.Background()
	old := bytes.Repeat([]byte("a line of a long log file, numbered differently each time\n"), 40_000)
	for i := range 40_000 {
		copy(old[i*58:], fmt.Sprintf("%08d", i))
	}
	updated := append(bytes.Clone(old), "one more line\n"...)
	tree := memory.New()
	tree.WriteFile("app.log", updated, 0o644)

	agentSide, clientSide := net.Pipe()
	go remote.Serve(ctx, agentSide, func(context.Context, string) (zerosync.Endpoint, error) { return tree, nil })
	c, err := remote.Dial(ctx, clientSide, remote.WithCompression(false))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ep, err := c.Endpoint(ctx, "/var/log")
	if err != nil {
		log.Fatal(err)
	}
	defer ep.Close()

	rc, err := ep.OpenDelta(ctx, "app.log", bytes.NewReader(old), int64(len(old)))
	if err != nil {
		log.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		log.Fatal(err)
	}
	st := c.Stats()
	fmt.Println("content right:", bytes.Equal(got, updated))
	fmt.Println("under 5% of the file on the wire:", st.BytesSent+st.BytesReceived < int64(len(updated))/20)
	fmt.Println("files moved as a delta:", st.DeltaFiles)
	// Output:
	// content right: true
	// under 5% of the file on the wire: true
	// files moved as a delta: 1
}
