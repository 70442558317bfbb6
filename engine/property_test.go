package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/engine/enginetest"
	"github.com/zerosync/zerosync/transport/local"
)

// TestPropertyConverge runs random histories of edits and syncs on three
// memory replicas, a hub and two spokes, synced in random pair orders (odd
// seeds: an engine per pair; even seeds: one hub engine; seeds 2 and 3 mod
// 4: with live watchers, so cycles are incremental): they must end
// identical, with every version that no person replaced still present in a
// tree or an archive. Set ZS_SEED to replay one history; ZS_SEQUENCES to
// run more.
func TestPropertyConverge(t *testing.T) {
	enginetest.Run(t, 1000, func(t *testing.T, i int) enginetest.Replica {
		return enginetest.NewMemory(fmt.Sprint("r", i))
	}, enginetest.WithWatchers(engine.StartSourcesForTest))
}

// TestPropertyConvergeLocal is [TestPropertyConverge] on directories of
// this host synced through local endpoints, edited with plain file-system
// calls. Cycles scan in full: a debounced watcher would let a cycle miss an
// edit made just before it.
func TestPropertyConvergeLocal(t *testing.T) {
	enginetest.Run(t, 100, func(t *testing.T, i int) enginetest.Replica {
		root := filepath.Join(t.TempDir(), fmt.Sprint("r", i))
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		r, err := enginetest.NewDir(root, enginetest.Local(local.WithName(fmt.Sprint("r", i))))
		if err != nil {
			t.Fatal(err)
		}
		return r
	})
}

// TestPropertyConvergeFanout is [TestPropertyConverge] with a hub and five
// spokes: the hub engine (even seeds) syncs its pairs at once, so its
// histories run through concurrent pairs writing the hub's tree, with
// watchers and without.
func TestPropertyConvergeFanout(t *testing.T) {
	enginetest.Run(t, 300, func(t *testing.T, i int) enginetest.Replica {
		return enginetest.NewMemory(fmt.Sprint("r", i))
	}, enginetest.WithReplicas(6), enginetest.WithWatchers(engine.StartSourcesForTest))
}

// TestPropertyConvergeFanoutLocal is [TestPropertyConvergeFanout] on
// directories of this host, a hub and four spokes.
func TestPropertyConvergeFanoutLocal(t *testing.T) {
	enginetest.Run(t, 30, func(t *testing.T, i int) enginetest.Replica {
		root := filepath.Join(t.TempDir(), fmt.Sprint("r", i))
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		r, err := enginetest.NewDir(root, enginetest.Local(local.WithName(fmt.Sprint("r", i))))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}, enginetest.WithReplicas(5))
}
