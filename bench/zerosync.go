package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/local"
	"github.com/zerosync/zerosync/transport/ssh"
)

// zsSpec is everything needed to build the engine of one zerosync pair, in
// this process or in a child process (it crosses as JSON).
type zsSpec struct {
	A string // the local tree, where edits happen
	// B is the other tree: a local folder, or with Remote set, a folder on
	// the benchmark's sshd.
	B      string
	Remote *remoteSpec `json:",omitempty"`
	// State is the engine's database; CacheA and CacheB the stat caches.
	State, CacheA, CacheB string
	// Watch runs the endpoints' watchers under [engine.Engine.Run].
	Watch bool
}

// zsPair is an open engine and what it closes with it: its endpoints and,
// for a fleet, their shared transport.
type zsPair struct {
	eng     *engine.Engine
	closers []io.Closer
}

// openZS builds the engine spec describes, with opts added. The caller
// closes it.
func openZS(ctx context.Context, spec zsSpec, opts ...engine.Option) (*zsPair, error) {
	a, err := local.New(spec.A, local.WithName("a"), local.WithStatCache(spec.CacheA))
	if err != nil {
		return nil, err
	}
	var b zerosync.Endpoint
	if spec.Remote != nil {
		ropts := []ssh.Option{ssh.WithSpill(filepath.Dir(spec.State))}
		if !spec.Watch {
			// A process that syncs and ends reaches the agent an earlier
			// one left, as the command line's commands do; a running
			// engine starts its own, as its daemon does.
			ropts = append(ropts, ssh.WithLingeringAgents())
		}
		b, err = remoteEndpoint(ctx, *spec.Remote, spec.B, ropts...)
	} else {
		b, err = local.New(spec.B, local.WithName("b"), local.WithStatCache(spec.CacheB))
	}
	if err != nil {
		a.Close()
		return nil, err
	}
	opts = append([]engine.Option{
		engine.WithName("bench"),
		engine.WithStatePath(spec.State),
		engine.WithWatch(spec.Watch),
	}, opts...)
	eng, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}}, opts...)
	if err != nil {
		a.Close()
		b.Close()
		return nil, err
	}
	return &zsPair{eng: eng, closers: []io.Closer{a, b}}, nil
}

// syncOnce runs one cycle and turns per-path problems into an error: in a
// benchmark every path must arrive.
func (z *zsPair) syncOnce(ctx context.Context) (zerosync.Report, error) {
	rep, err := z.eng.SyncOnce(ctx)
	if err != nil {
		return rep, err
	}
	if len(rep.Problems) > 0 {
		errs := make([]error, 0, len(rep.Problems))
		for _, p := range rep.Problems[:min(5, len(rep.Problems))] {
			errs = append(errs, p)
		}
		return rep, fmt.Errorf("%d problems: %w", len(rep.Problems), errors.Join(errs...))
	}
	if len(rep.Conflicts) > 0 {
		return rep, fmt.Errorf("%d unexpected conflicts, first at %s", len(rep.Conflicts), rep.Conflicts[0].Path)
	}
	return rep, nil
}

// Close closes the engine (saving its state), then its endpoints (saving
// their stat caches) and transports, in order.
func (z *zsPair) Close() error {
	errs := []error{z.eng.Close()}
	for _, c := range z.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// forget removes the engine's state and stat caches, so the next sync is a
// first sync.
func (s zsSpec) forget() error {
	var errs []error
	for _, f := range []string{s.State, s.CacheA, s.CacheB} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// newZSSpec lays out the state files of a pair in stateDir.
func newZSSpec(a, b, stateDir string, remote *remoteSpec) zsSpec {
	return zsSpec{
		A: a, B: b, Remote: remote,
		State:  filepath.Join(stateDir, "zerosync.db"),
		CacheA: filepath.Join(stateDir, "cache-a"),
		CacheB: filepath.Join(stateDir, "cache-b"),
	}
}
