package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// figure is one measured quantity: the median of its runs, or a note saying
// why there is none.
type figure struct {
	Value float64 // NaN when not measured
	Unit  unit
	Runs  []float64
	Note  string // why there is no value, or a remark on it
}

// measured is the median of runs.
func measured(runs []float64, u unit) figure {
	return figure{Value: median(runs), Unit: u, Runs: runs}
}

// single is one value that is not a median of runs (a percentile, a
// memory sample).
func single(v float64, u unit) figure { return figure{Value: v, Unit: u} }

// absent is a figure that could not be measured, with the reason.
func absent(note string) figure { return figure{Value: math.NaN(), Note: note} }

func (f figure) ok() bool { return !math.IsNaN(f.Value) }

// String writes the value, and for three runs or more the smallest and
// largest in brackets: on a shared machine the spread says how far to trust
// the median.
func (f figure) String() string {
	if !f.ok() {
		return f.Note
	}
	v := fmtValue(f.Value, f.Unit)
	if len(f.Runs) >= 3 {
		v += fmt.Sprintf(" (%s–%s)", fmtValue(slices.Min(f.Runs), f.Unit), fmtValue(slices.Max(f.Runs), f.Unit))
	}
	return v
}

// peerFigure is a peer's figure for the same workload.
type peerFigure struct {
	Name string
	Fig  figure
}

// row is one workload's line in a table: zerosync's figure, each peer's
// beside it, and where zerosync stands against its target.
type row struct {
	Workload string
	ZS       figure
	Peers    []peerFigure
	Target   string
	Verdict  string
}

// peer returns the named peer's figure, or an absent one.
func (r row) peer(name string) figure {
	for _, p := range r.Peers {
		if p.Name == name {
			return p.Fig
		}
	}
	return absent("—")
}

// section is one table: the workloads of one transport mode.
type section struct {
	Title string
	Intro string
	Rows  []row
}

// check is a comparison of a tool's result tree with its source: the harness
// asserts identical trees, never a timing.
type check struct {
	Mode, Workload, Tool string
	Entries              int
	Diff                 string // empty when identical
	// Runs counts the checks folded into this one (one after every run).
	Runs int
	// Times says which modification times were compared.
	Times timeKind
}

// results is everything one run of the harness found.
type results struct {
	Start, End time.Time
	Quick      bool
	Seed       uint64
	Machine    machineFacts
	Trees      []string // descriptions of the generated trees
	Sections   []*section
	Checks     []check
	Profiles   []profileSummary
	Notes      []string
	// Stands are the verdicts on the goals, by goal and column (see
	// [results.stand]).
	Stands map[string]string
}

// section returns the section titled title, adding it when new.
func (r *results) section(title, intro string) *section {
	for _, s := range r.Sections {
		if s.Title == title {
			return s
		}
	}
	s := &section{Title: title, Intro: intro}
	r.Sections = append(r.Sections, s)
	return s
}

// failed returns the checks whose trees differed.
func (r *results) failed() []check {
	var out []check
	for _, c := range r.Checks {
		if c.Diff != "" {
			out = append(out, c)
		}
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// markdown writes the report: machine facts, one table per mode, the tree
// checks, and profile summaries.
func (r *results) markdown(w io.Writer) error {
	var b strings.Builder
	mode := "full"
	if r.Quick {
		mode = "quick"
	}
	fmt.Fprintf(&b, "## Run of %s (%s mode, seed %d, %s)\n\n", r.Start.UTC().Format("2006-01-02 15:04 MST"), mode, r.Seed, r.End.Sub(r.Start).Round(time.Second))
	fmt.Fprintf(&b, "Load average (1, 5, 15 min): %s at the start, %s at the end. Figures taken while other work runs are not comparable.\n\n", r.Machine.LoadStart, r.Machine.LoadEnd)
	r.Machine.markdown(&b)
	r.standTable(&b)
	if len(r.Trees) > 0 {
		b.WriteString("\nTrees (generated from the seed, identical for every tool):\n\n")
		for _, t := range r.Trees {
			fmt.Fprintf(&b, "- %s\n", t)
		}
	}
	b.WriteString("\nEach figure is the median of its runs after a warm-up, with the fastest and slowest run in brackets. zerosync/peer below 1 means zerosync is faster (or smaller).\n")
	for _, s := range r.Sections {
		fmt.Fprintf(&b, "\n### %s\n\n", s.Title)
		if s.Intro != "" {
			fmt.Fprintf(&b, "%s\n\n", s.Intro)
		}
		b.WriteString("| workload | zerosync | peer | peer's figure | zerosync/peer | target | where we stand |\n")
		b.WriteString("|---|---:|---|---:|---:|---|---|\n")
		for _, row := range s.Rows {
			peers := row.Peers
			if len(peers) == 0 {
				peers = []peerFigure{{Name: "—", Fig: absent("—")}}
			}
			for i, p := range peers {
				work, zs, target, verdict := row.Workload, row.ZS.String(), row.Target, row.Verdict
				if i > 0 {
					work, zs, target, verdict = "", "", "", ""
				}
				rt := "—"
				if row.ZS.ok() && p.Fig.ok() && row.ZS.Unit == p.Fig.Unit {
					rt = ratio(row.ZS.Value, p.Fig.Value)
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", work, zs, p.Name, p.Fig.String(), rt, target, verdict)
			}
		}
	}
	b.WriteString("\n### Identical trees\n\n")
	if len(r.Checks) == 0 {
		b.WriteString("No tree was checked.\n")
	} else {
		ok := len(r.Checks) - len(r.failed())
		runs := 0
		for _, c := range r.Checks {
			runs += c.Runs
		}
		fmt.Fprintf(&b, "%d of %d result trees were identical to their source after every run, %d checks in all (paths, kinds, permission bits, content digests, link targets, and the modification times each tool keeps):\n\n", ok, len(r.Checks), runs)
		for _, c := range r.Checks {
			status := "identical"
			if c.Diff != "" {
				status = "DIFFERENT: " + c.Diff
			}
			fmt.Fprintf(&b, "- %s, %s, %s: %s entries, %s after %d %s (%s)\n", c.Mode, c.Workload, c.Tool, thousands(c.Entries), status, c.Runs, plural(c.Runs, "run", "runs"), c.Times)
		}
	}
	if len(r.Profiles) > 0 {
		b.WriteString("\n### CPU profiles of zerosync\n")
		for _, p := range r.Profiles {
			fmt.Fprintf(&b, "\n%s (`%s`):\n\n```\n%s\n```\n", p.Title, p.File, p.Top)
		}
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n### Notes\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
