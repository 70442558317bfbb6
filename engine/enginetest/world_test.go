package enginetest

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/zerosync/zerosync/engine"
)

// history runs the first steps of seed's history on reps and settles,
// returning the world.
func history(t *testing.T, seed uint64, reps []Replica, steps int) *World {
	t.Helper()
	ctx := context.Background()
	// One pair at a time: concurrent pairs settle in the order they
	// happen to run.
	w, err := NewWorld(ctx, seed, reps, seed%2 == 0, engine.WithConcurrentPairs(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	for range steps {
		if err := w.Step(ctx); err != nil {
			t.Fatalf("%v\n%s", err, w.Log())
		}
	}
	if err := w.Settle(ctx); err != nil {
		t.Fatalf("%v\n%s", err, w.Log())
	}
	return w
}

func memories(n int) []Replica {
	var out []Replica
	for i := range n {
		out = append(out, NewMemory(fmt.Sprint("r", i)))
	}
	return out
}

// TestWorldDeterministic: a seed replays the same history with the same
// outcome, on memory and on directories alike, in both topologies.
func TestWorldDeterministic(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			a := history(t, seed, memories(3), 40)
			b := history(t, seed, memories(3), 40)
			dirs := []Replica{newTestDir(t), newTestDir(t), newTestDir(t)}
			c := history(t, seed, dirs, 40)
			if a.Log() != b.Log() {
				t.Fatalf("two runs differ:\n%s\n----\n%s", a.Log(), b.Log())
			}
			if a.Log() != c.Log() {
				t.Fatalf("memory and directories differ:\n%s\n----\n%s", a.Log(), c.Log())
			}
			if !maps.Equal(a.reps[0].Contents(), c.reps[0].Contents()) {
				t.Fatalf("memory and directories end differently:\n%v\n%v", a.reps[0].Contents(), c.reps[0].Contents())
			}
			for _, w := range []*World{a, b, c} {
				if err := w.Check(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestCheckFinds: Check reports replicas that differ and a live version
// that is nowhere.
func TestCheckFinds(t *testing.T) {
	t.Run("divergence", func(t *testing.T) {
		w := history(t, 2, memories(3), 0)
		if err := w.reps[2].WriteFile("only-here", []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := w.Check(); err == nil || !strings.Contains(err.Error(), "r0 and r2 differ") {
			t.Fatalf("Check() = %v, want replicas r0 and r2 differ", err)
		}
	})
	t.Run("lost", func(t *testing.T) {
		// Seed 1's history writes versions; remove one everywhere behind
		// the bookkeeping's back, as a sync that lost it would.
		w := history(t, 1, memories(3), 40)
		if err := w.Check(); err != nil {
			t.Fatal(err)
		}
		var path string
		for v, p := range w.live {
			if w.reps[0].Contents()[p] == v {
				path = p
				break
			}
		}
		if path == "" {
			t.Fatal("no live version in the trees to lose")
		}
		for _, r := range w.reps {
			if err := r.Remove(path); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Check(); err == nil || !strings.Contains(err.Error(), "lost versions") {
			t.Fatalf("Check() = %v, want lost versions", err)
		}
	})
}

// TestNewWorldValidates: a world needs a hub and a spoke.
func TestNewWorldValidates(t *testing.T) {
	if _, err := NewWorld(context.Background(), 1, memories(1), true); err == nil {
		t.Fatal("a world of one replica was built")
	}
}

// TestOptionsValidate: invalid options are errors, valid ones are kept.
func TestOptionsValidate(t *testing.T) {
	for i, o := range []Option{WithReplicas(1), WithSteps(-1), WithTimeout(0), WithWatchers(nil)} {
		if _, err := newConfig([]Option{o}); err == nil {
			t.Errorf("option %d accepted", i)
		}
	}
	c, err := newConfig([]Option{WithReplicas(4), WithSteps(7)})
	if err != nil || c.replicas != 4 || c.steps != 7 {
		t.Fatalf("config %+v, %v", c, err)
	}
}

// TestRunMemory: Run drives histories to their check on memory replicas.
func TestRunMemory(t *testing.T) {
	t.Setenv(SeedEnv, "")
	t.Setenv(SequencesEnv, "")
	var made int
	Run(t, 6, func(t *testing.T, i int) Replica {
		made++
		return NewMemory(fmt.Sprint("r", i))
	}, WithReplicas(4), WithSteps(30))
	if made != 6*4 {
		t.Fatalf("made %d replicas, want %d", made, 6*4)
	}
}
