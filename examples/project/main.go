// Command project syncs project trees with git in mind: by default only the
// files git tracks (git-only), or only those it does not carry (untracked:
// notes, .env.example, scratch data), or both. A repository whose two sides
// are not at the same commit, or that is mid-rebase, is held back; a file
// edited on both sides is merged against the file at HEAD. Every cycle is
// kept in a history of its own, so any synced file can be restored.
//
// With no trees chosen, the whole root is synced; "trees add" narrows it
// to the trees listed (each at the same place below every host's root),
// and the running daemon follows "trees add" and "trees remove" at once.
// Repositories that appear below the synced trees are found each cycle.
//
//	project --root ~/src --peer server=/mnt/server/src run
//	project mode untracked          # switch every engine of the project
//	project mode git-only --everywhere  # ... on every host
//	project trees add app lib       # sync ~/src/app and ~/src/lib only (live)
//	project trees add app --everywhere  # ... and on every host the engine reaches
//	project history log app/main.go
//	project history restore app/main.go@3f2a91c
package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/agent"
	"github.com/zerosync/zerosync/app"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/gitaware"
	"github.com/zerosync/zerosync/merge"
	"github.com/zerosync/zerosync/transport/local"
)

func main() {
	agent.Handle()
	newApp().Main()
}

// projects are the git-aware projects of this process, one per state
// directory, shared by the engine, its daemon's commands and its settings
// (a [gitaware.Project] is shared by every engine of a project in a
// process), with the history of each tree.
type projects struct {
	mu        sync.Mutex
	byDir     map[string]*gitaware.Project
	histories map[*local.Endpoint]*gitaware.History // by the tree's endpoint
}

// project returns the git-aware project of the engine's state directory.
func (ps *projects) project(env *app.Env) (*gitaware.Project, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	dir := filepath.Join(env.StateDir, "project")
	if p := ps.byDir[dir]; p != nil {
		return p, nil
	}
	p, err := gitaware.New(gitaware.WithStateDir(dir), gitaware.WithLogger(env.Log))
	if err != nil {
		return nil, err
	}
	if ps.byDir == nil {
		ps.byDir = map[string]*gitaware.Project{}
	}
	ps.byDir[dir] = p
	return p, nil
}

// history returns the history of this host's tree (env.Local, opened by
// env.Engine): one object per open tree, since the engine records into it
// while a command of its daemon reads it.
func (ps *projects) history(env *app.Env) (*gitaware.History, error) {
	p, err := ps.project(env)
	if err != nil {
		return nil, err
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	key := env.Local
	if h := ps.histories[key]; h != nil {
		return h, nil
	}
	h, err := p.History(env.Local)
	if err != nil {
		return nil, err
	}
	if ps.histories == nil {
		ps.histories = map[*local.Endpoint]*gitaware.History{}
	}
	ps.histories[key] = h
	return h, nil
}

// newApp describes the engine.
func newApp() *app.App {
	ps := &projects{}
	return &app.App{
		Name:        "project",
		Summary:     "project trees, git-aware: tracked, untracked or both",
		DefaultRoot: "~/src",
		Rescan:      time.Minute,
		Trees:       true, // project trees add app: ~/src/app on every host, live
		First: func(env *app.Env) ([]zerosync.Resolver, error) {
			p, err := ps.project(env)
			if err != nil {
				return nil, err
			}
			diff3, err := merge.Diff3(merge.WithBase(p.Base()))
			if err != nil {
				return nil, err
			}
			return []zerosync.Resolver{diff3}, nil
		},
		Options: func(env *app.Env) ([]engine.Option, error) {
			p, err := ps.project(env)
			if err != nil {
				return nil, err
			}
			h, err := ps.history(env)
			if err != nil {
				return nil, err
			}
			return []engine.Option{engine.WithView(p.View()), engine.WithObserver(h.Observe)}, nil
		},
		Settings: map[string]func(ctx context.Context, env *app.Env, value string) error{
			// mode --everywhere: each host's daemon switches its own.
			"mode": func(ctx context.Context, env *app.Env, value string) error {
				m, err := gitaware.ParseMode(value)
				if err != nil {
					return err
				}
				p, err := ps.project(env)
				if err != nil {
					return err
				}
				return p.SetMode(m)
			},
		},
		// Both run in the daemon while one runs: it holds the state, and
		// its engine records the history.
		Commands: map[string]app.Command{
			"mode": {Usage: "[git-only|untracked|all] [--everywhere]  show or switch what every engine of the project syncs (on every host)", Daemon: true,
				Run: func(ctx context.Context, env *app.Env, args []string) error { return mode(ctx, ps, env, args) }},
			"history": {Usage: "log PATH | restore PATH@VERSION  earlier versions of a synced file", Daemon: true,
				Run: func(ctx context.Context, env *app.Env, args []string) error { return history(ctx, ps, env, args) }},
		},
	}
}

func mode(ctx context.Context, ps *projects, env *app.Env, args []string) error {
	if len(args) == 2 && args[1] == "--everywhere" || len(args) == 2 && args[0] == "--everywhere" {
		m := args[0]
		if m == "--everywhere" {
			m = args[1]
		}
		if _, err := gitaware.ParseMode(m); err != nil {
			return err
		}
		return env.SetEverywhere(ctx, "mode", m)
	}
	p, err := ps.project(env)
	if err != nil {
		return err
	}
	switch len(args) {
	case 0:
		fmt.Fprintln(env.Streams.Out, p.Mode())
		return nil
	case 1:
		m, err := gitaware.ParseMode(args[0])
		if err != nil {
			return err
		}
		if err := p.SetMode(m); err != nil {
			return err
		}
		fmt.Fprintf(env.Streams.Out, "mode %s for every engine of the project\n", m)
		return nil
	}
	return errors.New("usage: project mode [git-only|untracked|all] [--everywhere]")
}

func history(ctx context.Context, ps *projects, env *app.Env, args []string) error {
	if len(args) != 2 || (args[0] != "log" && args[0] != "restore") {
		return errors.New("usage: project history log PATH | restore PATH@VERSION")
	}
	e, closeAll, err := env.Engine(ctx)
	if err != nil {
		return err
	}
	defer closeAll()
	h, err := ps.history(env)
	if err != nil {
		return err
	}
	if args[0] == "log" {
		vs, err := h.Log(ctx, args[1])
		if err != nil {
			return err
		}
		for _, v := range vs {
			what := fmt.Sprintf("%d bytes", v.Size)
			if v.Deleted {
				what = "deleted"
			}
			fmt.Fprintf(env.Streams.Out, "%s  %s  %s\n", v.ID[:12], v.Time.Local().Format("2006-01-02 15:04:05"), what)
		}
		return nil
	}
	path, version, err := gitaware.SplitVersion(args[1])
	if err != nil {
		return err
	}
	if err := h.Restore(ctx, path, version); err != nil {
		return err
	}
	rep, err := e.Flush(ctx) // the daemon's next cycle, or one here
	if err != nil {
		return fmt.Errorf("restored here, but the sync that carries it failed: %w", err)
	}
	fmt.Fprintf(env.Streams.Out, "restored %s@%s; %d change(s) synced\n", app.Name(path), app.Name(version), len(rep.Applied))
	return nil
}
