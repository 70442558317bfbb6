// Package engine builds a [zerosync.Engine]: it scans pairs of trees,
// reconciles them against their last common state ([Reconcile]), settles
// conflicts with a resolver chain, applies the plan through the endpoints and
// records the new common state.
//
// # Topology
//
// An engine has one tree of its own (the hub) and one or more peers (the
// spokes); each (hub, peer) pair keeps its own common state. A cycle syncs
// the pairs at once ([WithConcurrentPairs]), so a change of the hub reaches
// every spoke together and a slow or failing peer delays no other. Writes
// to the hub's tree are serialised; when one pair changed the hub, the other
// pairs are synced again in the same cycle, so a change from one spoke
// reaches every other spoke in one cycle.
//
// # Safety
//
// A missing root is an error, an emptied root is an error ([zerosync.ErrRootEmpty]),
// and a plan deleting more than a share of a tree stops with
// [zerosync.ErrMassDeletion] until [Engine.ConfirmDeletions] is called. Peer
// snapshots are validated before use. The common state moves only for paths
// whose writes the endpoints confirmed.
//
// # Staging
//
// A peer marked with [WithStaged] does not write into our tree: its changes
// wait in a staging area ([Engine.Staged]) until a person applies or
// rejects them ([Engine.ApplyStaged], [Engine.RejectStaged]); our changes
// reach it as usual.
package engine

import (
	"context"
	"errors"
	"fmt"
	"github.com/zerosync/zerosync/internal/option"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/merge"
)

// Peer is a tree with a name for reports, logs and conflict copies.
type Peer struct {
	Name     string
	Endpoint zerosync.Endpoint
}

// Engine syncs one tree of its own with one or more peers. It satisfies
// [zerosync.Engine]. Its methods are safe for concurrent use; cycles never
// overlap.
type Engine struct {
	name      string
	local     Peer
	ours      *tree
	pairs     []*pair
	differ    zerosync.Differ
	resolver  zerosync.Resolver
	filter    zerosync.Filter
	views     []zerosync.View
	log       *slog.Logger
	sources   []zerosync.Source
	watch     bool
	observer  func(zerosync.Event)
	delShare  float64
	delMin    int
	bodyLimit int64
	parallel  int
	statePath string
	volatile  bool
	closeDB   func() error
	// noVersions turns versioning off (WithVersioning, in versions.go).
	noVersions bool
	// staged names the staged peers (WithStaged, in staged.go).
	staged map[string]bool

	cycle sync.Mutex // held for a whole cycle

	mu      sync.Mutex
	status  zerosync.Status
	confirm bool
	wake    chan struct{}
	// halted are the pairs Run stopped until a person acts, by peer.
	halted map[string]error
	// notices are said as problems in the next cycle's report (a damaged
	// state database that was replaced).
	notices []zerosync.Problem
	// allowFSRoot lets a root be "/".
	allowFSRoot bool
	// live is what a running engine's controller changes and watches:
	// subscribers, flush requests, watchers of trees (live.go).
	live live
	// retry is how Run supervises pairs and watchers, sup how the
	// retries stand (supervise.go).
	retry retryPolicy
	sup   supervision
	// hb is the sign of life of Run's loop (alive.go).
	hb heartbeat
	// conc is how the pairs of a cycle sync at once (concurrent.go).
	conc concurrency
	// mem is what the engine knows about its memory use (memory.go).
	mem memUse
}

// pair is our tree and one peer's, with their common state.
type pair struct {
	peer  *tree
	store store
	base  *held // nil until loaded
	// earlyBase is the load of base a cycle started beside its scans
	// (under the cycle lock).
	earlyBase *earlyBase
	// full asks the next cycle to reconcile everything; pending lists the
	// paths to reconcile otherwise (changed on our side by a watcher or by
	// another pair, or failed last time).
	full    bool
	pending map[string]bool
	// again: another pair changed our tree after this one synced in this
	// cycle, so it syncs once more.
	again bool
	// stat is how the pair's last sync went, under Engine.mu (peers.go).
	stat pairStat
	// staged: the peer's changes to our tree wait in the staging area.
	staged bool
	// noneStaged: the pair is not staged and its staging area was found
	// empty, so it stays empty (only a staged pair stages); its cycles
	// need not read it again.
	noneStaged bool
	// skip: this cycle leaves the pair alone, waiting for its retry
	// (under the cycle lock).
	skip bool
}

// Option configures an Engine.
type Option func(*Engine) error

// WithName names the engine; it names the default state file.
func WithName(name string) Option {
	return func(e *Engine) error { return option.NonEmpty(&e.name, "name", name) }
}

// WithLogger sets the logger; the default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(e *Engine) error { return option.Logger(&e.log, l) }
}

// WithDiffer replaces the three-way differ.
func WithDiffer(d zerosync.Differ) Option {
	return func(e *Engine) error {
		if d == nil {
			return errors.New("nil differ")
		}
		e.differ = d
		return nil
	}
}

// WithResolvers sets the resolver chain, asked in order. An archive-and-review
// resolver ([merge.KeepBoth]) is always appended as the last link, so a chain
// that passes never loses a version.
func WithResolvers(rs ...zerosync.Resolver) Option {
	return func(e *Engine) error {
		for _, r := range rs {
			if r == nil {
				return errors.New("nil resolver")
			}
		}
		e.resolver = merge.Chain(append(rs, merge.KeepBoth(zerosync.VersionOurs))...)
		return nil
	}
}

// WithFilter sets which paths are synced; the default is every path.
func WithFilter(f zerosync.Filter) Option {
	return func(e *Engine) error {
		if f == nil {
			return errors.New("nil filter")
		}
		e.filter = f
		return nil
	}
}

// WithView adds a [zerosync.View]: a per-cycle narrowing of what a pair sees, such
// as git-aware sync.
func WithView(v zerosync.View) Option {
	return func(e *Engine) error {
		if v == nil {
			return errors.New("nil view")
		}
		e.views = append(e.views, v)
		return nil
	}
}

// WithSource adds a source that triggers cycles while [Engine.Run] runs.
func WithSource(s zerosync.Source) Option {
	return func(e *Engine) error {
		if s == nil {
			return errors.New("nil source")
		}
		e.sources = append(e.sources, s)
		return nil
	}
}

// WithWatch makes [Engine.Run] watch every endpoint that can watch
// ([zerosync.Watcher]); it is on by default.
func WithWatch(on bool) Option {
	return func(e *Engine) error { e.watch = on; return nil }
}

// WithObserver receives every event, synchronously, from the goroutine doing
// the work (the pairs of a cycle sync in goroutines of their own), one event
// at a time: it must return quickly, and must not call back into the engine
// while it holds the event. Given more than once, every observer receives
// every event, in the order the options were given.
func WithObserver(f func(zerosync.Event)) Option {
	return func(e *Engine) error {
		if f == nil {
			return errors.New("nil observer")
		}
		prev := e.observer
		e.observer = f
		if prev != nil {
			e.observer = func(ev zerosync.Event) { prev(ev); f(ev) }
		}
		return nil
	}
}

// WithDeleteLimit stops a cycle whose plan deletes more than share (0..1] of
// a side's synced paths, when that is at least min paths. The default is half
// the tree and at least 10 paths.
func WithDeleteLimit(share float64, min int) Option {
	return func(e *Engine) error {
		if share <= 0 || share > 1 || min < 0 {
			return fmt.Errorf("delete limit share %v min %d out of range", share, min)
		}
		e.delShare, e.delMin = share, min
		return nil
	}
}

// WithBodyLimit sets the largest text file whose common version is kept as
// the base of three-way merges; the default is 1 MiB.
func WithBodyLimit(n int64) Option {
	return func(e *Engine) error {
		if n < 0 {
			return errors.New("negative body limit")
		}
		e.bodyLimit = n
		return nil
	}
}

// WithParallel sets how many independent file writes a cycle runs at once
// (8 by default): writes to a disk sync in groups, writes to a remote host
// are pipelined.
func WithParallel(n int) Option {
	return func(e *Engine) error {
		if n < 1 {
			return fmt.Errorf("parallelism %d out of range", n)
		}
		e.parallel = n
		return nil
	}
}

// WithStatePath keeps the state database at path; the default is
// $XDG_STATE_HOME/zerosync/<name>.db.
func WithStatePath(path string) Option {
	return func(e *Engine) error { return option.NonEmpty(&e.statePath, "state path", path) }
}

// WithVolatileState keeps state in memory only: every start is a first
// sync. Meant for tests and examples.
func WithVolatileState() Option {
	return func(e *Engine) error { e.volatile = true; return nil }
}

// New builds an engine syncing local with each of peers.
func New(local Peer, peers []Peer, opts ...Option) (*Engine, error) {
	e := &Engine{
		name:      "default",
		local:     local,
		differ:    ThreeWay{},
		resolver:  merge.Chain(merge.Identical(), merge.KeepBoth(zerosync.VersionOurs)),
		log:       slog.New(slog.DiscardHandler),
		watch:     true,
		delShare:  0.5,
		delMin:    10,
		bodyLimit: 1 << 20,
		parallel:  8,
		wake:      make(chan struct{}, 1),
		retry:     defaultRetry,
		conc:      concurrency{limit: defaultConcurrentPairs},
	}
	e.conc.changed = sync.NewCond(&e.conc.mu)
	e.conc.rerun = make(chan struct{}, 1)
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("engine: nil option")
		}
		if err := o(e); err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
	}
	if local.Endpoint == nil {
		return nil, errors.New("engine: nil local endpoint")
	}
	if len(peers) == 0 {
		return nil, errors.New("engine: no peers")
	}
	if local.Name == "" {
		local.Name = "local"
		e.local = local
	}
	names := map[string]bool{local.Name: true}
	for i, p := range peers {
		if p.Endpoint == nil {
			return nil, fmt.Errorf("engine: peer %d has a nil endpoint", i)
		}
		if p.Name == "" {
			p.Name = fmt.Sprintf("peer%d", i+1)
		}
		if names[p.Name] {
			return nil, fmt.Errorf("engine: two trees named %q", p.Name)
		}
		names[p.Name] = true
		e.pairs = append(e.pairs, &pair{peer: &tree{Peer: p}, full: true, staged: e.staged[p.Name]})
	}
	for name := range e.staged {
		if name == e.local.Name || !names[name] {
			return nil, fmt.Errorf("engine: staged peer %q is not one of the peers", name)
		}
	}
	e.ours = &tree{Peer: e.local}
	all := []Peer{e.local}
	for _, p := range e.pairs {
		all = append(all, p.peer.Peer)
	}
	if err := e.checkRootsApart(all); err != nil {
		return nil, err
	}
	if err := e.openState(); err != nil {
		return nil, err
	}
	return e, nil
}

// Close releases the state database, after the changes of the common
// state that cycles left to be committed behind them are durable; one that
// failed and was not reported by a later cycle is in the error. It does not
// close the endpoints.
func (e *Engine) Close() error {
	if e.closeDB != nil {
		return e.closeDB()
	}
	return nil
}

// Pause stops syncing until Resume; a cycle under way finishes first.
func (e *Engine) Pause() {
	e.mu.Lock()
	e.status.Paused = true
	e.mu.Unlock()
}

// Resume undoes Pause, lets halted pairs and pairs waiting for a retry
// try again, and runs a cycle soon
// if [Engine.Run] is active.
func (e *Engine) Resume() {
	e.mu.Lock()
	e.status.Paused = false
	e.halted = nil
	e.sup.now = true
	e.mu.Unlock()
	e.kick()
}

// ConfirmDeletions lets the next cycle apply a plan that the delete limit
// or the emptied-root guard stopped, and lets halted pairs try again.
func (e *Engine) ConfirmDeletions() {
	e.mu.Lock()
	e.confirm = true
	e.halted = nil
	e.sup.now = true
	e.mu.Unlock()
	e.kick()
}

// Status returns the engine's current state.
func (e *Engine) Status() zerosync.Status {
	e.mu.Lock()
	st := e.status
	if len(e.halted) > 0 {
		st.Halted = maps.Clone(e.halted)
	}
	e.mu.Unlock()
	n := 0
	for _, p := range e.pairList() {
		if items, err := p.store.Reviews(context.Background()); err == nil {
			n += len(items)
		}
	}
	st.Review = n
	return st
}

// Reviews returns the conflicts waiting for a person, for every peer.
func (e *Engine) Reviews(ctx context.Context) (map[string][]ReviewItem, error) {
	out := map[string][]ReviewItem{}
	for _, p := range e.pairList() {
		items, err := p.store.Reviews(ctx)
		if err != nil {
			return nil, err
		}
		if len(items) > 0 {
			out[p.peer.Name] = items
		}
	}
	return out, nil
}

// Journal returns the changes applied with a peer after sequence number
// after, at most limit of them (0: all).
func (e *Engine) Journal(ctx context.Context, peer string, after uint64, limit int) ([]Record, error) {
	p, err := e.pairNamed(peer)
	if err != nil {
		return nil, err
	}
	return p.store.Journal(ctx, after, limit)
}

func (e *Engine) emit(ev zerosync.Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	e.hb.beat()
	// The pairs of a cycle sync at once: observers and subscribers get
	// one event at a time.
	e.conc.events.Lock()
	defer e.conc.events.Unlock()
	if e.observer != nil {
		e.observer(ev)
	}
	e.live.subs.publish(e, ev)
}

func (e *Engine) kick() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

var _ zerosync.Engine = (*Engine)(nil)
