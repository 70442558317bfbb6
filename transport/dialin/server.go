package dialin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"

	"github.com/zerosync/zerosync/agent"
)

// Server returns what a spoke serves each connection from the hub with:
// the agent's protocol (agent.Serve) for the tree at root, a directory on
// this host, and for nothing else: the hub opens that tree by the name
// [agent.OnlyRoot] and may open no other path of this host
// ([agent.WithOnlyRoot]). opts go to agent.Serve (a logger, the cache
// directory, options of the local endpoint); they are checked on the
// first connection. Hand the function to the SSH transport's Offer:
//
//	serve, err := dialin.Server("/home/me/notes")
//	...
//	err = tr.Offer(ctx, "hub.example.org", "/run/user/1000/zerosync/dialin/notes/laptop.sock", serve)
//
// root must be a directory when Server is called; a root that goes
// missing later is an error on the hub, never an empty tree.
func Server(root string, opts ...agent.Option) (func(ctx context.Context, conn net.Conn) error, error) {
	if root == "" {
		return nil, errors.New("dialin: empty root")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("dialin: root: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("dialin: root: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("dialin: root %q is not a directory", abs)
	}
	all := append(slices.Clone(opts), agent.WithOnlyRoot(abs))
	return func(ctx context.Context, conn net.Conn) error {
		return agent.Serve(ctx, conn, conn, all...)
	}, nil
}
