package ssh_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/zerosync/zerosync/agent"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/local"
	"github.com/zerosync/zerosync/transport/ssh"
)

// Keep ~/dotfiles on this machine and on the host "server" (a Host alias
// of ~/.ssh/config, or user@host:port) in sync. The program calls
// agent.Handle first, so it can serve as the agent on the server, where
// the transport installs it on first use. It needs a real host, so it is
// not run as a test.
func Example() {
	agent.Handle() // first thing in main

	ctx := context.Background()
	tr, err := ssh.New(ssh.WithSelfInstall())
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	remote, err := tr.Endpoint(ctx, "server", "~/dotfiles")
	if err != nil {
		// An unknown host key, a refused key or an agent that cannot be
		// installed: the message says what to do.
		log.Fatal(err)
	}
	defer remote.Close()
	home, _ := os.UserHomeDir()
	mine, err := local.New(filepath.Join(home, "dotfiles"))
	if err != nil {
		log.Fatal(err)
	}
	defer mine.Close()
	e, err := engine.New(engine.Peer{Name: "laptop", Endpoint: mine}, []engine.Peer{{Name: "server", Endpoint: remote}})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	rep, err := e.SyncOnce(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(rep.Applied), "changes,", tr.Stats().Dials, "connection")
}
