package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// deepTree writes, under root, a chain of depth one-letter folders with a
// small file in every hundredth one and at the bottom, so the deepest path
// stays within PATH_MAX for a short root. It returns the number of
// entries.
func deepTree(root string, depth int) (int, error) {
	if len(root)+2*depth+16 >= 4096 {
		return 0, fmt.Errorf("a tree %d folders deep under %q would pass PATH_MAX: use a shorter work folder (-dir)", depth, root)
	}
	rel := strings.TrimSuffix(strings.Repeat("d/", depth), "/")
	if err := os.MkdirAll(filepath.Join(root, rel), 0o755); err != nil {
		return 0, err
	}
	entries := depth
	dir := root
	for i := range depth {
		dir = filepath.Join(dir, "d")
		if i%100 == 99 || i == depth-1 {
			f := filepath.Join(dir, "f.txt")
			if err := os.WriteFile(f, fmt.Appendf(nil, "level %d\n", i+1), 0o644); err != nil {
				return 0, err
			}
			if err := os.Chtimes(f, genEpoch, genEpoch); err != nil {
				return 0, err
			}
			entries++
		}
	}
	return entries, nil
}

// deep times the no-op cycle of a cold zerosync process on two identical
// trees cfg.DeepDepth folders deep (local folders).
func (r *runner) deep(ctx context.Context, m *mode) error {
	dir := filepath.Join(m.dir, "deep")
	if !r.cfg.Keep {
		defer r.discard(dir)
	}
	a, b, state := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "state")
	var entries int
	for _, d := range []string{a, b} {
		var err error
		if entries, err = deepTree(d, r.cfg.DeepDepth); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(state, 0o755); err != nil {
		return err
	}
	r.quiet()
	// A cold process: it opens the state and stat caches and walks both
	// trees, the whole cycle a deep tree makes expensive (a running
	// engine's watchers would name nothing to rescan). The warm-up is the
	// first sync.
	ts := &toolset{name: "deep", zs: &zsProcess{spec: newZSSpec(a, b, state, nil)}, dirs: map[tool][2]string{}}
	ts.dirs[ts.zs] = [2]string{a, b}
	s, err := r.measure(ctx, m, "deep no-op", ts, "no-op, tree "+thousands(r.cfg.DeepDepth)+" folders deep", ts.zs, 1, r.cfg.DeepRuns, nil)
	if err != nil {
		return err
	}
	rw := row{Workload: fmt.Sprintf("no-op cycle, cold process, a tree %s folders deep (%s entries a side)", thousands(r.cfg.DeepDepth), thousands(entries)),
		ZS: s.time(), Target: "≤ 100 ms"}
	rw.Verdict = verdictBelow(rw.ZS, 100e-3)
	r.res.stand("deep", m.name, rw.Verdict)
	m.sec.Rows = append(m.sec.Rows, rw)
	return nil
}
