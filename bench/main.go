package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/zerosync/zerosync/agent"
)

func main() {
	// This program is also the zerosync agent that transport/ssh installs
	// on the far side of the benchmark's sshd.
	agent.Handle()
	if isChild() {
		os.Exit(childMain())
	}
	os.Exit(cliMain(os.Args[1:], os.Stdout, os.Stderr))
}

// cliMain runs the harness with the command line args and returns the exit
// code: 0 when every tool produced trees identical to their sources, 1 on
// a difference or an error, 2 on bad usage.
func cliMain(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("bench", flag.ContinueOnError)
	fl.SetOutput(stderr)
	quick := fl.Bool("quick", false, "small trees and a few runs: proves the harness end to end in about a minute")
	out := fl.String("out", "", "also write the markdown report to this `file`")
	seed := fl.Uint64("seed", 1, "seed of the generated trees")
	dir := fl.String("dir", "", "work `folder` (default: a new temporary folder, removed at the end)")
	keep := fl.Bool("keep", false, "keep the generated trees in the work folder")
	profile := fl.String("profile", "", "write CPU profiles of zerosync to this `folder` and summarise them in the report")
	heap := fl.Bool("heap", false, "with -profile, also write the heap profile of the engine on the large tree (the profiler's buckets then count in its resident memory)")
	modes := fl.String("modes", "local,ssh,fleet", "transports to run, comma-separated: local, ssh, fleet (hosts in network namespaces; needs root)")
	memory := fl.Bool("memory", true, "run the large-tree memory workload")
	quiet := fl.Bool("q", false, "no progress lines on standard error")
	gen := fl.String("generate", "", "only write the developer tree (of the quick or full size) into this new `folder`, and exit")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./bench [flags]\n\nRuns zerosync, rsync and unison side by side on the same generated trees and the same private sshd, and prints a markdown table.\n\nflags:")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() > 0 {
		fl.Usage()
		return 2
	}
	cfg := fullConfig()
	if *quick {
		cfg = quickConfig()
	}
	cfg.Seed, cfg.Dir, cfg.Keep, cfg.Profile, cfg.HeapProfile, cfg.Memory = *seed, *dir, *keep, *profile, *heap, *memory
	if *gen != "" {
		if err := os.Mkdir(*gen, 0o755); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		st, err := generate(*gen, cfg.Dev, cfg.Seed)
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: %s\n", *gen, st)
		return 0
	}
	cfg.Modes = nil
	for m := range strings.SplitSeq(*modes, ",") {
		if m = strings.TrimSpace(m); m != "" {
			cfg.Modes = append(cfg.Modes, m)
		}
	}
	if !*quiet {
		cfg.Log = stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg)
	if err == nil {
		if werr := res.markdown(stdout); werr != nil {
			fmt.Fprintln(stderr, "bench:", werr)
			return 1
		}
		if *out != "" {
			f, werr := os.Create(*out)
			if werr == nil {
				werr = res.markdown(f)
				if cerr := f.Close(); werr == nil {
					werr = cerr
				}
			}
			if werr != nil {
				fmt.Fprintln(stderr, "bench:", werr)
				return 1
			}
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	if failed := res.failed(); len(failed) > 0 {
		for _, c := range failed {
			fmt.Fprintf(stderr, "bench: %s, %s, %s: trees differ: %s\n", c.Mode, c.Workload, c.Tool, c.Diff)
		}
		return 1
	}
	return 0
}
