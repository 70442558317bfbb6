package engine_test

import (
	"context"
	"fmt"
	"log"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/memory"
)

// Two trees in memory, synced both ways in one cycle.
func Example() {
	laptop, server := memory.New(), memory.New()
	laptop.WriteFile(".bashrc", []byte("export EDITOR=vim\n"), 0o644)
	server.WriteFile("bin/deploy", []byte("#!/bin/sh\necho deploy\n"), 0o755)

	e, err := engine.New(engine.Peer{Name: "laptop", Endpoint: laptop},
		[]engine.Peer{{Name: "server", Endpoint: server}}, engine.WithVolatileState())
	if err != nil {
		log.Fatal(err)
	}
	rep, err := e.SyncOnce(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range rep.Applied {
		fmt.Printf("%s: %s %s (%s)\n", a.Side, verbOf(a.Op), a.Path, a.Reason)
	}
	fmt.Println(server.Contents()[".bashrc"] == laptop.Contents()[".bashrc"])
	// Output:
	// ours: create bin (created on theirs)
	// ours: create bin/deploy (created on theirs)
	// theirs: create .bashrc (created on ours)
	// true
}

// A custom resolver: for log files, keep the longer version; pass on
// everything else so the default chain (keep both, queue for review) decides.
func Example_customResolver() {
	longer := zerosync.ResolverFunc(func(ctx context.Context, c zerosync.Conflict) (zerosync.Resolution, error) {
		if len(c.Path) < 4 || c.Path[len(c.Path)-4:] != ".log" {
			return zerosync.Resolution{}, zerosync.ErrPass
		}
		keep := zerosync.VersionOurs
		if c.Theirs.Size > c.Ours.Size {
			keep = zerosync.VersionTheirs
		}
		return zerosync.Resolution{Keep: keep, By: "longer-log"}, nil
	})

	a, b := memory.New(), memory.New()
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}},
		engine.WithVolatileState(), engine.WithResolvers(longer))
	if err != nil {
		log.Fatal(err)
	}
	a.WriteFile("build.log", []byte("step 1\n"), 0o644)
	b.WriteFile("build.log", []byte("step 1\nstep 2\n"), 0o644)
	a.WriteFile("todo.txt", []byte("ours\n"), 0o644)
	b.WriteFile("todo.txt", []byte("theirs\n"), 0o644)

	rep, err := e.SyncOnce(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range rep.Conflicts {
		fmt.Printf("%s: settled by %s, review: %v\n", c.Path, c.Resolution.By, c.Resolution.KeepOther)
	}
	fmt.Printf("build.log on a: %q\n", a.Contents()["build.log"])
	fmt.Printf("todo.txt on b: %q\n", b.Contents()["todo.txt"])
	// Output:
	// build.log: settled by longer-log, review: false
	// todo.txt: settled by keep-both, review: true
	// build.log on a: "step 1\nstep 2\n"
	// todo.txt on b: "ours\n"
}

func verbOf(op zerosync.Op) string {
	switch {
	case op.Old == nil:
		return "create"
	case op.New == nil:
		return "remove"
	}
	return "update"
}
