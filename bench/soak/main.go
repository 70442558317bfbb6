package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/zerosync/zerosync/agent"
)

func main() {
	// This program is also the agent that serves the spokes, and the
	// engine process.
	agent.Handle()
	if code, ok := child(); ok {
		os.Exit(code)
	}
	os.Exit(cliMain(os.Args[1:], os.Stdout, os.Stderr))
}

// cliMain runs a soak with the command line args and returns the exit code:
// 0 when nothing was lost and the replicas agree, 1 on a finding, 2 on bad
// usage or when the soak could not run.
func cliMain(args []string, stdout, stderr io.Writer) int {
	cfg := defaultConfig()
	fl := flag.NewFlagSet("soak", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.IntVar(&cfg.Sequences, "sequences", cfg.Sequences, "how many op `sequences` (a few edits, then a cycle) to run")
	fl.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the edits and the faults; the same seed replays the same run")
	fl.StringVar(&cfg.Dir, "dir", "", "work `folder` (default: a new temporary folder, removed after a clean run)")
	fl.BoolVar(&cfg.Keep, "keep", false, "keep the work folder after a clean run")
	fl.Float64Var(&cfg.Faults, "faults", cfg.Faults, "share of cycles that suffer a fault (engine kill, agent kill or cut)")
	fl.BoolVar(&cfg.Timed, "timed", false, "also kill the engine after random delays: more kill points, replay no longer exact")
	fl.BoolVar(&cfg.Versioning, "versioning", cfg.Versioning, "expect every replaced or deleted version to be kept; false: only a never-synced version lost is a failure")
	fl.IntVar(&cfg.CheckEvery, "check-every", cfg.CheckEvery, "look for lost versions every `n` sequences (and at the end)")
	fl.IntVar(&cfg.Parallel, "parallel", cfg.Parallel, "the engine's write parallelism; above 1 the faults' markers may land elsewhere on replay")
	quiet := fl.Bool("q", false, "no progress lines on standard error")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./bench/soak [flags]\n\nRuns a hub and two spokes (directories under a work folder, the spokes behind agent processes),\nmakes random edits, syncs them with an engine process that is killed (SIGKILL) and whose\nconnections are cut at random points, then checks that the replicas agree and that no version\nwas lost.\n\nflags:")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fl.NArg() > 0 || cfg.Sequences < 1 || cfg.Faults < 0 || cfg.Faults > 1 || cfg.CheckEvery < 1 || cfg.Parallel < 1 {
		fl.Usage()
		return 2
	}
	if !*quiet {
		cfg.Progress = stderr
	}
	fig, err := run(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "soak:", err)
		if fig != nil {
			fig.print(stdout, cfg)
		}
		return 2
	}
	fig.print(stdout, cfg)
	if fig.failed() {
		return 1
	}
	return 0
}

// print writes the figures, the losses and the findings, and how to replay
// the run.
func (f *figures) print(w io.Writer, cfg config) {
	secs := f.Wall.Seconds()
	fmt.Fprintf(w, "soak seed %d: %d sequences, %d edits in %.1f s (%.1f sequences/s)\n", f.Seed, f.Sequences, f.Edits, secs, float64(f.Sequences)/secs)
	fmt.Fprintf(w, "  edits        %s\n", counts(f.Ops))
	fmt.Fprintf(w, "  versions     %d written (%.1f MiB), %d removed or overwritten by their own author; %d synced, then removed or overwritten by the people of every replica that held them\n", f.Versions, float64(f.Written)/(1<<20), f.Destroyed, f.DroppedEverywhere)
	fmt.Fprintf(w, "  cycles       %d (%d settling), %d ended with an error; %d engine starts\n", f.Cycles, f.SettleCycles, f.CycleErrors, f.Starts)
	fmt.Fprintf(w, "  work         %d actions applied, %d conflicts, %d problems, %d bytes moved (cycles that replied)\n", f.Applied, f.Conflicts, f.Problems, f.Bytes)
	fmt.Fprintf(w, "  faults       armed %s; fired %s", counts(f.Armed), counts(f.Fired))
	if f.Timed > 0 || cfg.Timed {
		fmt.Fprintf(w, ", timed engine kills %d", f.Timed)
	}
	fmt.Fprintf(w, "\n  fired at     %s\n", counts(f.FiredAt))
	fmt.Fprintf(w, "  temp files   %d left by faults in the trees during the run, %d at the end\n", f.TempsSeen, f.TempsEnd)
	fmt.Fprintf(w, "  kept         %d conflict copies, %d files under .zerosync; state database %d KiB\n", f.ConflictCopies, f.StateFiles, f.StateBytes>>10)
	var never, syncedLast, syncedEarlier, removed int
	for _, l := range f.Losses {
		switch {
		case l.kind == neverSynced:
			never++
		case l.kind == authorRemoved:
			removed++
		case l.last:
			syncedLast++
		default:
			syncedEarlier++
		}
	}
	fmt.Fprintf(w, "  lost         %d never synced; %d synced then replaced (last versions), %d (earlier versions); %d synced then removed by their author\n", never, syncedLast, syncedEarlier, removed)
	if !cfg.Versioning && syncedLast+syncedEarlier > 0 {
		fmt.Fprintln(w, "               (synced-then-replaced losses are expected until the engine keeps replaced versions; -versioning makes them failures)")
	}
	if len(f.CacheTemps) > 0 {
		fmt.Fprintf(w, "  noted        %d stale stat-cache temp files left by kills, e.g. %s\n", len(f.CacheTemps), f.CacheTemps[0])
	}
	for i, l := range f.Losses {
		if i == 10 {
			fmt.Fprintf(w, "  ... and %d more losses (see soak.log)\n", len(f.Losses)-i)
			break
		}
		fmt.Fprintf(w, "  lost: %s\n", l)
	}
	for _, x := range f.Failures {
		fmt.Fprintf(w, "FAIL %s\n", x)
	}
	if f.Dir != "" {
		fmt.Fprintf(w, "  work folder  %s (soak.log: every edit, cycle and fault; processes.log: the processes' errors)\n", f.Dir)
	}
	if f.failed() {
		replay := fmt.Sprintf("go run ./bench/soak -seed %d -sequences %d -faults %v -versioning=%v", f.Seed, f.Sequences, cfg.Faults, cfg.Versioning)
		if cfg.Timed {
			replay += " -timed"
		}
		fmt.Fprintf(w, "replay: %s\n", replay)
	}
}

// counts formats a tally as "a 3, b 1", largest first.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
