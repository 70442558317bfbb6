// Command quickstart shows zerosync at work with no set-up: it makes two
// temporary folders, a "laptop" and a "server", keeps them in sync with a
// live engine (watcher on), edits both sides, makes a real conflict, and
// shows that both versions were kept.
package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/agent"
	"github.com/zerosync/zerosync/app"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/local"
)

func main() {
	agent.Handle()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run() error {
	tmp, err := os.MkdirTemp("", "zerosync-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	laptop, server := filepath.Join(tmp, "laptop"), filepath.Join(tmp, "server")

	step("1. Two folders: a laptop with dotfiles and scripts, a server with notes")
	must(write(laptop, ".bashrc", "export EDITOR=vim\nalias ll='ls -l'\n", 0o644))
	must(write(laptop, "scripts/hello.sh", "#!/bin/sh\necho hello\n", 0o755))
	must(write(server, "notes.txt", "server notes\n", 0o644))
	must(os.Symlink("scripts/hello.sh", filepath.Join(laptop, "hello")))

	a, err := local.New(laptop)
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := local.New(server)
	if err != nil {
		return err
	}
	defer b.Close()
	e, err := engine.New(engine.Peer{Name: "laptop", Endpoint: a}, []engine.Peer{{Name: "server", Endpoint: b}},
		engine.WithStatePath(filepath.Join(tmp, "state.db")),
		engine.WithObserver(show))
	if err != nil {
		return err
	}
	defer e.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	step("2. The engine runs with a watcher; the first cycle merges both folders")
	if err := waitFor(func() bool { return has(server, ".bashrc", "") && has(laptop, "notes.txt", "") }); err != nil {
		return err
	}

	step("3. Edit on the laptop: the server has it moments later")
	start := time.Now()
	must(write(laptop, ".bashrc", "export EDITOR=vim\nalias ll='ls -l'\nalias gs='git status'\n", 0o644))
	if err := waitFor(func() bool { return has(server, ".bashrc", "alias gs") }); err != nil {
		return err
	}
	fmt.Printf("   reached the server after %v\n", time.Since(start).Round(time.Millisecond))

	step("4. Edit on the server: the laptop has it")
	must(write(server, "notes.txt", "server notes\nrotate the logs on Friday\n", 0o644))
	if err := waitFor(func() bool { return has(laptop, "notes.txt", "Friday") }); err != nil {
		return err
	}

	step("5. A real conflict: sync paused, both sides edit the same line, sync resumed")
	e.Pause()
	time.Sleep(50 * time.Millisecond) // let a cycle under way finish
	must(write(laptop, "notes.txt", "laptop notes\nrotate the logs on Friday\n", 0o644))
	must(write(server, "notes.txt", "SERVER NOTES\nrotate the logs on Friday\n", 0o644))
	e.Resume()
	var copyPath string
	if err := waitFor(func() bool {
		copyPath = conflictCopy(laptop, "notes.txt")
		return copyPath != "" && has(server, "notes.txt", "laptop notes")
	}); err != nil {
		return err
	}
	mine, _ := os.ReadFile(filepath.Join(laptop, "notes.txt"))
	theirs, _ := os.ReadFile(filepath.Join(laptop, copyPath))
	fmt.Printf("   notes.txt (kept on both sides):  %q\n", firstLine(mine))
	fmt.Printf("   %s (the server's version): %q\n", app.Name(copyPath), firstLine(theirs))
	reviews, err := e.Reviews(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("   waiting for review: %d conflict(s)\n", len(reviews["server"]))

	step("6. Converged: both folders hold the same tree")
	la, sa := listing(laptop), listing(server)
	for _, l := range la {
		fmt.Println("   " + l)
	}
	if !slices.Equal(la, sa) {
		return fmt.Errorf("the folders differ:\nlaptop: %v\nserver: %v", la, sa)
	}
	if len(reviews["server"]) != 1 || !strings.HasPrefix(string(theirs), "SERVER NOTES") {
		return errors.New("the conflict was not kept as both versions")
	}
	fmt.Println("\nDone: every edit arrived, and the conflict kept both versions.")
	return nil
}

func step(s string) { fmt.Println("\n" + s) }

// started and ended count cycles, so waitFor can tell when the engine is idle.
var started, ended atomic.Int64

// show prints what the engine does, one line per change.
func show(ev zerosync.Event) {
	switch ev.Kind {
	case zerosync.EventCycleStart:
		started.Add(1)
	case zerosync.EventCycleEnd:
		ended.Add(1)
	case zerosync.EventApplied:
		a := ev.Action
		host := "laptop"
		if a.Side == zerosync.Theirs {
			host = "server"
		}
		verb := "update"
		switch {
		case a.Old == nil:
			verb = "create"
		case a.New == nil:
			verb = "remove"
		}
		fmt.Printf("   %-6s %-8s %-22s %s\n", verb, "on "+host, app.Name(a.Path), app.Text(a.Reason))
	case zerosync.EventConflict:
		fmt.Printf("   conflict %s: settled by %s; %s\n", app.Name(ev.Conflict.Path), app.Text(ev.Conflict.Resolution.By), app.Text(ev.Conflict.Resolution.Note))
	case zerosync.EventProblem:
		fmt.Printf("   problem %s (%s): %s\n", app.Name(ev.Problem.Path), ev.Problem.Side, app.Text(fmt.Sprint(ev.Problem.Err)))
	case zerosync.EventError:
		fmt.Printf("   error: %s\n", app.Text(fmt.Sprint(ev.Err)))
	}
}

func write(root, name, content string, mode fs.FileMode) error {
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		return err
	}
	return os.Chmod(p, mode)
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func has(root, name, substr string) bool {
	b, err := os.ReadFile(filepath.Join(root, name))
	return err == nil && strings.Contains(string(b), substr)
}

// waitFor waits until cond holds and no cycle is under way.
func waitFor(cond func() bool) error {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() || started.Load() != ended.Load() {
		if time.Now().After(deadline) {
			return errors.New("timed out waiting for the sync")
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

func conflictCopy(root, name string) string {
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), strings.TrimSuffix(name, ".txt")) && strings.Contains(e.Name(), zerosync.ConflictMarker) {
			return e.Name()
		}
	}
	return ""
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}

// listing describes a tree, leaving out conflict copies and the archive
// (they are kept on the side that holds them, and never synced).
func listing(root string) []string {
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if zerosync.IsReserved(filepath.ToSlash(rel)) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, _ := d.Info()
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			t, _ := os.Readlink(p)
			out = append(out, fmt.Sprintf("%s -> %s", app.Name(rel), app.Name(t)))
		case d.IsDir():
			out = append(out, app.Name(rel+"/"))
		default:
			out = append(out, fmt.Sprintf("%-20s %v %d bytes", app.Name(rel), info.Mode().Perm(), info.Size()))
		}
		return nil
	})
	return out
}
