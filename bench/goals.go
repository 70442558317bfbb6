package main

import (
	"fmt"
	"strings"
)

// goal is one target of the project's open issues on speed, memory and
// latency, as the "Where we stand" table lists it: the workloads fill in
// its cells with their verdicts (see [results.stand]).
type goal struct {
	key  string
	text string
	// cols are the columns the goal applies to ("local", "ssh", "fleet");
	// a cell of another column is "—".
	cols []string
}

// goals are the targets, in the order of the table.
var goals = []goal{
	{"initial", "initial sync of the developer tree ≤ 0.4× rsync locally, ≤ 0.6× over SSH", []string{"local", "ssh"}},
	{"initial-fsync", "initial sync ≤ 0.25× `rsync --fsync` (same durability)", []string{"local", "ssh"}},
	{"pipe", "initial sync ≥ 60 % of the fastest raw SSH pipe", []string{"ssh"}},
	{"cold-noop", "no-op cycle of a cold process, 10k files, ≤ 0.5× unison", []string{"local", "ssh"}},
	{"noop-10k", "running engine's no-op ≤ 5 ms, 10k files", []string{"local", "ssh"}},
	{"noop-100k", "running engine's no-op ≤ 5 ms, 100k files", []string{"local", "ssh"}},
	{"edits", "10 small edits with a running engine ≤ 15 ms", []string{"local", "ssh"}},
	{"delta", "4 KiB delta in 256 MiB ≤ 0.5× rsync's time", []string{"local", "ssh"}},
	{"delta-wire", "4 KiB delta: no more bytes on the wire than rsync", []string{"ssh"}},
	{"prop-p50", "propagation p50 ≤ 5 ms locally, ≤ 10 ms over SSH", []string{"local", "ssh"}},
	{"prop-p99", "propagation p99 ≤ 15 ms locally, ≤ 25 ms over SSH", []string{"local", "ssh"}},
	{"far-p50", "propagation from the watched far side p50 ≤ 10 ms", []string{"ssh"}},
	{"far-p99", "propagation from the watched far side p99 ≤ 25 ms", []string{"ssh"}},
	{"fanout", "fan-out: one edit reaches every host, p99 ≤ 30 ms for 8 hosts, ≤ 100 ms for 32", []string{"fleet"}},
	{"fanout-cpu", "fan-out: hub CPU ≤ 1 core", []string{"fleet"}},
	{"rss", "resident memory over two 100k-file trees ≤ 100 B per entry + 16 MiB (about 26 MiB)", []string{"local", "ssh"}},
	{"rss-agent", "far agent's resident memory on 100k files ≤ 100 B per entry + 16 MiB", []string{"ssh"}},
	{"deep", "no-op cycle (cold process) on a tree 2,000 folders deep ≤ 100 ms", []string{"local"}},
}

// goalCols are the table's columns and their headings.
var goalCols = []struct{ key, title string }{{"local", "local folders"}, {"ssh", "over SSH"}, {"fleet", "fleet"}}

// stand records a verdict on the goal key in column col; several verdicts
// in one cell are listed one after the other.
func (r *results) stand(key, col, verdict string) {
	if r.Stands == nil {
		r.Stands = map[string]string{}
	}
	k := key + "\x00" + col
	if old := r.Stands[k]; old != "" {
		verdict = old + "; " + verdict
	}
	r.Stands[k] = verdict
}

// standTable writes the "Where we stand" table: every goal, with the
// verdicts of this run, "not measured" where a column applies but the run
// did not measure it.
func (r *results) standTable(b *strings.Builder) {
	b.WriteString("\n### Where we stand\n\n| target |")
	for _, c := range goalCols {
		fmt.Fprintf(b, " %s |", c.title)
	}
	b.WriteString("\n|---|")
	for range goalCols {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, g := range goals {
		fmt.Fprintf(b, "| %s |", g.text)
		for _, c := range goalCols {
			cell := "—"
			for _, gc := range g.cols {
				if gc == c.key {
					cell = "not measured"
					if v := r.Stands[g.key+"\x00"+c.key]; v != "" {
						cell = v
					}
				}
			}
			fmt.Fprintf(b, " %s |", cell)
		}
		b.WriteString("\n")
	}
}
