package enginetest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
)

// The environment variables that choose the histories [Run] runs.
const (
	// SeedEnv replays the one history with that seed.
	SeedEnv = "ZS_SEED"
	// SequencesEnv sets how many histories run, from seed 1.
	SequencesEnv = "ZS_SEQUENCES"
)

// Run runs count random histories, seeds 1 to count, each as a subtest
// "seed=N" on a new world: newReplica(t, i) returns replica i of it (0 is
// the hub), whose resources t's cleanup releases. Each history makes its
// steps, settles, and is checked with [World.Check]; a failure prints the
// history's log and the command that replays it. [SeedEnv] and
// [SequencesEnv] override the seeds. Run stops at the first failing
// history.
func Run(t *testing.T, count int, newReplica func(t *testing.T, i int) Replica, opts ...Option) {
	t.Helper()
	cfg, err := newConfig(opts)
	if err != nil {
		t.Fatal(err)
	}
	first := uint64(1)
	if s := os.Getenv(SequencesEnv); s != "" {
		if count, err = strconv.Atoi(s); err != nil || count < 1 {
			t.Fatalf("%s=%q: want a positive count", SequencesEnv, s)
		}
	}
	if s := os.Getenv(SeedEnv); s != "" {
		if first, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", SeedEnv, s, err)
		}
		count = 1
	}
	for seed := first; seed < first+uint64(count); seed++ {
		ok := t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { runSeed(t, cfg, seed, newReplica) })
		if !ok {
			t.Fatalf("replay in this package with %s=%d go test -race -run '^%s$'", SeedEnv, seed, t.Name())
		}
	}
}

// runSeed runs the history of one seed.
func runSeed(t *testing.T, cfg *config, seed uint64, newReplica func(t *testing.T, i int) Replica) {
	ctx := t.Context()
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.timeout)
		defer cancel()
	}
	reps := make([]Replica, cfg.replicas)
	for i := range reps {
		reps[i] = newReplica(t, i)
	}
	w, err := NewWorld(ctx, seed, reps, seed%2 == 0, cfg.engine...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if cfg.watch != nil && seed%4 >= 2 {
		// Watchers live: cycles rescan and reconcile only what the hints
		// name.
		for _, e := range w.Engines() {
			t.Cleanup(cfg.watch(e))
		}
	}
	fail := func(err error) { t.Fatalf("%v\n%s", err, w.Log()) }
	for range cfg.steps {
		if err := w.Step(ctx); err != nil {
			fail(err)
		}
	}
	if err := w.Settle(ctx); err != nil {
		fail(err)
	}
	if err := w.Check(); err != nil {
		fail(err)
	}
}
