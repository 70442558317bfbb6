package enginetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
)

// The paths a history edits: few enough that edits collide often.
var (
	dirNames  = []string{"d", "d/e", "f"}
	fileNames = []string{"a", "b", "d/a", "d/c", "d/e/a", "f/x"}
)

// World is a hub replica r0, spokes r1... around it, the engines that sync
// them, and the record of every version a person wrote. Its methods are
// called from one goroutine.
type World struct {
	rng     *rand.Rand
	reps    []Replica
	engines map[int]*engine.Engine // by spoke; 0 is the hub engine
	eps     []zerosync.Endpoint    // opened for the engines, closed by Close
	next    int
	// live holds the versions no person replaced knowingly: each must
	// survive somewhere (a tree, an archive, a conflict copy).
	live map[string]string
	log  []string
}

// NewWorld builds a world on reps, reps[0] being the hub, with its random
// history drawn from seed. With hub set, one engine syncs r0 with every
// spoke; otherwise each (r0, spoke) pair has its own engine, which opens r0
// for itself, as separate processes would. Meshes with cycles are not a
// supported topology: per-pair common states can pass a settled conflict
// round a cycle forever. Engines keep their state in memory and get opts
// after that; Close releases them and the endpoints they were given.
func NewWorld(ctx context.Context, seed uint64, reps []Replica, hub bool, opts ...engine.Option) (*World, error) {
	if len(reps) < 2 {
		return nil, errors.New("enginetest: a world needs a hub and a spoke")
	}
	w := &World{
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		reps:    reps,
		engines: map[int]*engine.Engine{},
		live:    map[string]string{},
	}
	opts = append([]engine.Option{engine.WithVolatileState()}, opts...)
	peer := func(i int) (engine.Peer, error) {
		ep, err := reps[i].Open(ctx)
		if err != nil {
			return engine.Peer{}, fmt.Errorf("enginetest: open r%d: %w", i, err)
		}
		w.eps = append(w.eps, ep)
		return engine.Peer{Name: fmt.Sprint("r", i), Endpoint: ep}, nil
	}
	build := func(slot int, spokes ...int) error {
		local, err := peer(0)
		if err != nil {
			return err
		}
		var peers []engine.Peer
		for _, i := range spokes {
			p, err := peer(i)
			if err != nil {
				return err
			}
			peers = append(peers, p)
		}
		e, err := engine.New(local, peers, opts...)
		if err != nil {
			return err
		}
		w.engines[slot] = e
		return nil
	}
	var err error
	if hub {
		var spokes []int
		for i := 1; i < len(reps); i++ {
			spokes = append(spokes, i)
		}
		err = build(0, spokes...)
	} else {
		for i := 1; i < len(reps) && err == nil; i++ {
			err = build(i, i)
		}
	}
	if err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// Engines returns the world's engines, the hub engine or one per spoke in
// spoke order.
func (w *World) Engines() []*engine.Engine {
	var out []*engine.Engine
	for i := range len(w.reps) {
		if e := w.engines[i]; e != nil {
			out = append(out, e)
		}
	}
	return out
}

// Close closes the engines and the endpoints opened for them.
func (w *World) Close() error {
	var errs []error
	for _, e := range w.Engines() {
		errs = append(errs, e.Close())
	}
	for _, ep := range w.eps {
		errs = append(errs, ep.Close())
	}
	return errors.Join(errs...)
}

// Log returns what happened so far, one event per line: the edits and what
// each cycle applied.
func (w *World) Log() string { return strings.Join(w.log, "\n") }

func (w *World) logf(format string, args ...any) { w.log = append(w.log, fmt.Sprintf(format, args...)) }

// Step does one random step of the history: a cycle of a random pair one
// time in three, an edit otherwise.
func (w *World) Step(ctx context.Context) error {
	if w.rng.IntN(3) == 0 {
		return w.Sync(ctx, 1+w.rng.IntN(len(w.reps)-1))
	}
	w.Edit()
	return nil
}

// supersede marks everything at or beneath p on replica r as knowingly
// replaced by a person.
func (w *World) supersede(r Replica, p string) {
	for q, v := range r.Contents() {
		if q == p || strings.HasPrefix(q, p+"/") {
			delete(w.live, v)
		}
	}
}

// content returns a version no one wrote before.
func (w *World) content() string {
	w.next++
	return "v" + strconv.Itoa(w.next) + strings.Repeat("x", w.rng.IntN(3))
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// Edit makes one random change on one replica, as a person would. An edit
// the replica refuses (a rename onto an existing path, a write beneath a
// file) is a person's failed command: nothing changes.
func (w *World) Edit() {
	ri := w.rng.IntN(len(w.reps))
	r := w.reps[ri]
	switch op := w.rng.IntN(10); op {
	case 0, 1, 2: // create or modify a file
		p, c := pick(w.rng, fileNames), w.content()
		if e := r.Lstat(p); e != nil && e.Kind == zerosync.KindDir {
			return
		}
		w.supersede(r, p)
		if r.WriteFile(p, []byte(c), 0o644) == nil {
			w.live[c] = p
			w.logf("r%d write %s %s", ri, p, c)
		}
	case 3: // delete
		p := pick(w.rng, append(fileNames, dirNames...))
		w.supersede(r, p)
		r.Remove(p)
		w.logf("r%d rm -rf %s", ri, p)
	case 4: // rename
		from, to := pick(w.rng, append(fileNames, dirNames...)), pick(w.rng, append(fileNames, dirNames...))
		if r.Rename(from, to) == nil {
			w.logf("r%d mv %s %s", ri, from, to)
		}
	case 5: // mkdir
		p := pick(w.rng, dirNames)
		if r.Mkdir(p, 0o755) == nil {
			w.logf("r%d mkdir %s", ri, p)
		}
	case 6: // a file becomes a directory
		p := pick(w.rng, fileNames)
		if e := r.Lstat(p); e != nil && e.Kind == zerosync.KindFile {
			w.supersede(r, p)
			r.Remove(p)
			c := w.content()
			if r.WriteFile(p+"/in", []byte(c), 0o644) == nil {
				w.live[c] = p + "/in"
			}
			w.logf("r%d file->dir %s", ri, p)
		}
	case 7: // a directory or file becomes a symlink
		p := pick(w.rng, append(fileNames, dirNames...))
		w.supersede(r, p)
		r.Remove(p)
		if r.Symlink("../t"+strconv.Itoa(w.rng.IntN(3)), p) == nil {
			w.logf("r%d symlink %s", ri, p)
		}
	case 8: // chmod
		p := pick(w.rng, append(fileNames, dirNames...))
		if r.Chmod(p, pick(w.rng, []os.FileMode{0o644, 0o755, 0o600})) == nil {
			w.logf("r%d chmod %s", ri, p)
		}
	case 9: // a directory becomes a file
		p := pick(w.rng, dirNames)
		if e := r.Lstat(p); e != nil && e.Kind == zerosync.KindDir {
			w.supersede(r, p)
			r.Remove(p)
			c := w.content()
			if r.WriteFile(p, []byte(c), 0o600) == nil {
				w.live[c] = p
			}
			w.logf("r%d dir->file %s", ri, p)
		}
	}
}

// Sync runs a cycle of the engine that syncs spoke i (the hub engine, when
// there is one). A cycle that fails or reports a problem is an error.
func (w *World) Sync(ctx context.Context, i int) error {
	e := w.engines[i]
	if e == nil {
		e, i = w.engines[0], 0
	}
	e.ConfirmDeletions() // the guards have their own tests
	rep, err := e.SyncOnce(ctx)
	w.logf("sync %d: %d applied, %d conflicts, %d problems", i, len(rep.Applied), len(rep.Conflicts), len(rep.Problems))
	for _, a := range rep.Applied {
		w.logf("    %s: %s [%s]", a.Side, a.Op, a.Reason)
	}
	if err != nil {
		return fmt.Errorf("sync %d: %w", i, err)
	}
	if len(rep.Problems) > 0 {
		return fmt.Errorf("sync %d: problem %w (and %d more)", i, rep.Problems[0], len(rep.Problems)-1)
	}
	return nil
}

// Settle syncs every spoke, in order, until the trees are the same, for at
// most as many rounds as there are replicas and two more.
func (w *World) Settle(ctx context.Context) error {
	n := len(w.reps)
	for round := 0; round < n+2; round++ {
		same := true
		for i := 1; i < n; i++ {
			if !mapsEqual(w.reps[0].Contents(), w.reps[i].Contents()) {
				same = false
			}
		}
		if same && round > 0 {
			return nil
		}
		for i := 1; i < n; i++ {
			if err := w.Sync(ctx, i); err != nil {
				return err
			}
		}
	}
	return nil
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Check returns an error unless every replica holds what the hub holds and
// every live version is present in some tree, archive or conflict copy.
func (w *World) Check() error {
	want := w.reps[0].Contents()
	for i, r := range w.reps[1:] {
		if got := r.Contents(); !mapsEqual(want, got) {
			return fmt.Errorf("replicas r0 and r%d differ:\nr0: %v\nr%d: %v", i+1, want, i+1, got)
		}
	}
	found := map[string]bool{}
	for _, r := range w.reps {
		for _, v := range r.Contents() {
			found[v] = true
		}
		for _, a := range r.Archived() {
			found[string(a)] = true
		}
	}
	var lost []string
	for v, p := range w.live {
		if !found[v] {
			lost = append(lost, v+" (written at "+p+")")
		}
	}
	if len(lost) > 0 {
		slices.Sort(lost)
		return fmt.Errorf("lost versions: %v", lost)
	}
	return nil
}
