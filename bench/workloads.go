package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// initial times the first sync of the developer tree into an empty B, B
// moved away (see [runner.discard]) and the tool's memory dropped before
// every run.
func (r *runner) initial(ctx context.Context, m *mode, ts *toolset, raw float64) error {
	work := fmt.Sprintf("initial sync: %s files, %s, to an empty folder", thousands(ts.tree.Files), fmtBytes(float64(ts.tree.Bytes)))
	res := map[tool]series{}
	for _, t := range append(ts.cold(), ts.floor) {
		b := ts.dirs[t][1]
		before := func(int) error {
			if err := r.discard(b); err != nil {
				return err
			}
			if err := os.Mkdir(b, 0o755); err != nil {
				return err
			}
			return t.Forget()
		}
		warm, runs := r.cfg.Warmup, r.cfg.InitialRuns
		if rs, ok := t.(*rsyncTool); ok && rs.fsync {
			// The slowest peer by far (about 25 s a run on the full
			// tree): three runs, no warm-up, keep the full run within
			// its half hour.
			warm, runs = 0, min(runs, 3)
		}
		s, err := r.measure(ctx, m, "initial", ts, "initial sync", t, warm, runs, before)
		if err != nil {
			return err
		}
		res[t] = s
	}
	zs := res[ts.zs].time()
	limit := 0.4
	if m.ssh != nil {
		limit = 0.6
	}
	first := row{Workload: work, ZS: zs, Target: fmt.Sprintf("≤ %.1f× rsync; ≤ 0.25× rsync --fsync", limit)}
	for _, p := range ts.peers {
		first.Peers = append(first.Peers, peerFigure{p.Name(), res[p].time()})
	}
	floor := res[ts.floor].time()
	first.Peers = append(first.Peers, peerFigure{ts.floor.Name(), floor})
	// underFloor notes, beside a missed verdict, a goal of share × the
	// peer's time that asks for less than the floor takes.
	underFloor := func(peer figure, share float64) string {
		goal := share * peer.Value
		if !zs.ok() || !peer.ok() || !floor.ok() || zs.Value <= goal || goal >= floor.Value {
			return ""
		}
		return fmt.Sprintf(", the goal (%s) is less than the %s takes here (%s)", fmtValue(goal, unitSeconds), ts.floor.Name(), fmtValue(floor.Value, unitSeconds))
	}
	plain := verdictRatio(zs, first.peer("rsync"), limit) + underFloor(first.peer("rsync"), limit)
	durable := verdictRatio(zs, first.peer("rsync --fsync"), 0.25) + underFloor(first.peer("rsync --fsync"), 0.25)
	first.Verdict = plain + "; " + durable
	r.res.stand("initial", m.name, plain)
	r.res.stand("initial-fsync", m.name, durable)
	m.sec.Rows = append(m.sec.Rows, first)

	if m.ssh == nil {
		return nil
	}
	size := ts.tree.Bytes
	rate := res[ts.zs].rate(size)
	tp := row{Workload: "initial sync: throughput (tree bytes / time)", ZS: rate,
		Target: fmt.Sprintf("≥ 60 %% of the fastest raw ssh pipe (%s)", fmtValue(raw, unitRate))}
	for _, p := range slices.Concat(ts.peers, []tool{ts.floor}) {
		tp.Peers = append(tp.Peers, peerFigure{p.Name(), res[p].rate(size)})
	}
	tp.Peers = append(tp.Peers, peerFigure{"raw ssh pipe (fastest)", single(raw, unitRate)})
	tp.Verdict = verdictAtLeast(rate, raw, 0.6)
	if fr := res[ts.floor].rate(size); rate.ok() && fr.ok() && rate.Value < 0.6*raw && fr.Value < 0.6*raw {
		tp.Verdict += fmt.Sprintf(", the goal (%s) is more than the %s reaches here (%s)", fmtValue(0.6*raw, unitRate), ts.floor.Name(), fmtValue(fr.Value, unitRate))
	}
	r.res.stand("pipe", m.name, fmt.Sprintf("%s (%s of %s)", tp.Verdict, fmtValue(rate.Value, unitRate), fmtValue(raw, unitRate)))
	wire := row{Workload: "initial sync: bytes on the wire", ZS: res[ts.zs].bytes(), Target: "—"}
	for _, p := range ts.peers {
		wire.Peers = append(wire.Peers, peerFigure{p.Name(), res[p].bytes()})
	}
	m.sec.Rows = append(m.sec.Rows, tp, wire)
	return nil
}

// steady times re-syncs of the synced developer tree: nothing changed, and
// a few small files edited; each as cold processes and, for zerosync, as a
// running engine too.
func (r *runner) steady(ctx context.Context, m *mode, ts *toolset) error {
	r.quiet()
	noop := map[tool]series{}
	for _, t := range ts.cold() {
		s, err := r.measure(ctx, m, "no-op", ts, "no-op re-sync", t, r.cfg.Warmup, r.cfg.Runs, nil)
		if err != nil {
			return fmt.Errorf("no-op: %w", err)
		}
		noop[t] = s
	}
	edits := map[tool]series{}
	n := r.cfg.Edits
	for _, t := range ts.cold() {
		a := ts.dirs[t][0]
		s, err := r.measure(ctx, m, "edits", ts, fmt.Sprintf("%d small edits", n), t, r.cfg.Warmup, r.cfg.Runs, func(i int) error {
			return editSmall(a, pickSmall(ts.tree.Small, n, i), i)
		})
		if err != nil {
			return fmt.Errorf("edits: %w", err)
		}
		edits[t] = s
	}

	// The running engine, kept for both workloads.
	r.quiet()
	er, err := startEngine(ctx, ts.zs.spec)
	if err != nil {
		return err
	}
	defer er.Close()
	warmNoop, err := r.measureRunning(ctx, m, "no-op", max(1, r.cfg.Warmup), r.cfg.Runs, func(int) (float64, error) {
		return er.noop(ctx)
	}, func() error { return r.check(m, "no-op re-sync (running engine)", ts, ts.zs) })
	if err != nil {
		return fmt.Errorf("no-op: %w", err)
	}
	a := ts.dirs[ts.zs][0]
	warmEdits, err := r.measureRunning(ctx, m, "edits", max(1, r.cfg.Warmup), r.cfg.Runs, func(i int) (float64, error) {
		paths := pickSmall(ts.tree.Small, n, 1000+i)
		return er.change(ctx, paths, func() error { return editSmall(a, paths, 1000+i) })
	}, func() error { return r.check(m, fmt.Sprintf("%d small edits (running engine)", n), ts, ts.zs) })
	if err != nil {
		return fmt.Errorf("edits: %w", err)
	}
	if err := er.Close(); err != nil {
		return err
	}
	if err := r.check(m, fmt.Sprintf("%d small edits (running engine)", n), ts, ts.zs); err != nil {
		return err
	}

	peers := func(res map[tool]series, suffix string) []peerFigure {
		var out []peerFigure
		for _, p := range ts.peers {
			out = append(out, peerFigure{p.Name() + suffix, res[p].time()})
		}
		return out
	}
	cold := row{Workload: "no-op re-sync, cold process", ZS: noop[ts.zs].time(), Peers: peers(noop, ""), Target: "≤ 0.5× unison"}
	cold.Verdict = verdictRatio(cold.ZS, cold.peer("unison"), 0.5)
	r.res.stand("cold-noop", m.name, cold.Verdict)
	warm := row{Workload: "no-op re-sync, running engine", ZS: warmNoop.time(), Peers: peers(noop, " (cold)"), Target: "≤ 5 ms"}
	warm.Verdict = verdictBelow(warm.ZS, 5e-3)
	r.res.stand("noop-10k", m.name, warm.Verdict)
	editCold := row{Workload: fmt.Sprintf("%d small files edited, cold process", n), ZS: edits[ts.zs].time(), Peers: peers(edits, ""), Target: "—"}
	editWarm := row{Workload: fmt.Sprintf("%d small files edited, running engine", n), ZS: warmEdits.time(), Peers: peers(edits, " (cold)"), Target: "≤ 15 ms"}
	editWarm.Verdict = verdictBelow(editWarm.ZS, 15e-3)
	r.res.stand("edits", m.name, editWarm.Verdict)
	m.sec.Rows = append(m.sec.Rows, cold, warm, editCold, editWarm)
	return nil
}

// delta times a change of DeltaSize bytes in the middle of one large file,
// after every tool synced the file once.
func (r *runner) delta(ctx context.Context, m *mode, ts *toolset) error {
	for _, t := range ts.cold() {
		if err := t.Sync(ctx); err != nil {
			return fmt.Errorf("%s: first sync: %w", t.Name(), err)
		}
	}
	r.quiet()
	if len(ts.tree.Large) != 1 {
		return fmt.Errorf("the delta tree has %d large files, want 1", len(ts.tree.Large))
	}
	big := ts.tree.Large[0]
	size := r.cfg.DeltaSize
	res := map[tool]series{}
	for _, t := range ts.cold() {
		file := filepath.Join(ts.dirs[t][0], filepath.FromSlash(big))
		s, err := r.measure(ctx, m, "delta", ts, "delta", t, r.cfg.Warmup, r.cfg.Runs, func(i int) error {
			return editMiddle(file, size, i)
		})
		if err != nil {
			return err
		}
		res[t] = s
	}
	r.quiet()
	er, err := startEngine(ctx, ts.zs.spec)
	if err != nil {
		return err
	}
	defer er.Close()
	file := filepath.Join(ts.dirs[ts.zs][0], filepath.FromSlash(big))
	warm, err := r.measureRunning(ctx, m, "delta", max(1, r.cfg.Warmup), r.cfg.Runs, func(i int) (float64, error) {
		return er.change(ctx, []string{big}, func() error { return editMiddle(file, size, 1000+i) })
	}, func() error { return r.check(m, "delta (running engine)", ts, ts.zs) })
	if err != nil {
		return err
	}
	if err := er.Close(); err != nil {
		return err
	}
	if err := r.check(m, "delta (running engine)", ts, ts.zs); err != nil {
		return err
	}

	work := fmt.Sprintf("%s changed in the middle of a %s file", fmtBytes(float64(size)), fmtBytes(float64(r.cfg.BigSize)))
	peers := func(f func(series) figure, suffix string) []peerFigure {
		var out []peerFigure
		for _, p := range ts.peers {
			out = append(out, peerFigure{p.Name() + suffix, f(res[p])})
		}
		return out
	}
	cold := row{Workload: work + ": time, cold process", ZS: res[ts.zs].time(), Peers: peers(series.time, ""), Target: "≤ 0.5× rsync"}
	cold.Verdict = verdictRatio(cold.ZS, cold.peer("rsync"), 0.5)
	running := row{Workload: work + ": time, running engine", ZS: warm.time(), Peers: peers(series.time, " (cold)"), Target: "≤ 0.5× rsync"}
	running.Verdict = verdictRatio(running.ZS, running.peer("rsync (cold)"), 0.5)
	r.res.stand("delta", m.name, "cold: "+cold.Verdict)
	r.res.stand("delta", m.name, "running: "+running.Verdict)
	m.sec.Rows = append(m.sec.Rows, cold, running)
	if m.ssh != nil {
		wire := row{Workload: work + ": bytes on the wire, cold process", ZS: res[ts.zs].bytes(), Peers: peers(series.bytes, ""), Target: "≤ rsync's bytes"}
		wire.Verdict = verdictRatio(wire.ZS, wire.peer("rsync"), 1.0)
		warmWire := row{Workload: work + ": bytes on the wire, running engine", ZS: warm.bytes(), Peers: peers(series.bytes, " (cold)"), Target: "≤ rsync's bytes"}
		warmWire.Verdict = verdictRatio(warmWire.ZS, warmWire.peer("rsync (cold)"), 1.0)
		r.res.stand("delta-wire", m.name, "cold: "+wire.Verdict)
		r.res.stand("delta-wire", m.name, "running: "+warmWire.Verdict)
		m.sec.Rows = append(m.sec.Rows, wire, warmWire)
	}
	return nil
}

// pickSmall returns the n small files that run r edits: a different n for
// every run.
func pickSmall(files []string, n, run int) []string {
	out := make([]string, 0, n)
	for j := range min(n, len(files)) {
		out = append(out, files[(run*n+j)%len(files)])
	}
	return out
}

// editSmall edits the files paths of the tree at root as an editor would:
// a line naming the run is added at the top (so the size changes too) and
// the file is rewritten in place.
func editSmall(root string, paths []string, run int) error {
	if len(paths) == 0 {
		return errors.New("no small files to edit")
	}
	for j, p := range paths {
		abs := filepath.Join(root, filepath.FromSlash(p))
		b, err := os.ReadFile(abs)
		if err != nil {
			return err
		}
		b = append(fmt.Appendf(nil, "// edit %d.%d\n", run, j), b...)
		if err := os.WriteFile(abs, b, 0); err != nil {
			return err
		}
	}
	return nil
}

// editMiddle overwrites size bytes in the middle of file with bytes that
// differ for every run, in place.
func editMiddle(file string, size, run int) error {
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	buf := make([]byte, size)
	_, _ = rand.NewChaCha8([32]byte{byte(run), byte(run >> 8), 'd', 'e', 'l', 't', 'a'}).Read(buf)
	_, err = f.WriteAt(buf, st.Size()/2-int64(size)/2)
	if err := errors.Join(err, f.Close()); err != nil {
		return err
	}
	// rsync and unison decide by size and modification time in whole
	// seconds; an in-place edit of the same size within the second of the
	// previous one would go unseen by them. Every run gets its own minute.
	t := genEpoch.Add(time.Duration(run+1) * time.Minute)
	return os.Chtimes(file, t, t)
}

// verdictRatio says whether zs is at most limit times peer.
func verdictRatio(zs, peer figure, limit float64) string {
	if !zs.ok() || !peer.ok() {
		return "not measured"
	}
	return verdict(zs.Value <= limit*peer.Value, fmt.Sprintf("%.2f×", zs.Value/peer.Value))
}

// verdictBelow says whether zs is at most limit.
func verdictBelow(zs figure, limit float64) string {
	if !zs.ok() {
		return "not measured"
	}
	return verdict(zs.Value <= limit, fmtValue(zs.Value, zs.Unit))
}

// verdictAtLeast says whether zs is at least share of ref.
func verdictAtLeast(zs figure, ref, share float64) string {
	if !zs.ok() || math.IsNaN(ref) || ref == 0 {
		return "not measured"
	}
	return verdict(zs.Value >= share*ref, fmt.Sprintf("%.0f %%", 100*zs.Value/ref))
}

func verdict(ok bool, detail string) string {
	if ok {
		return "met (" + detail + ")"
	}
	return "**missed** (" + detail + ")"
}
