package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// profileGroup is the profile files of one zerosync workload.
type profileGroup struct {
	title string
	files []string
	heap  bool
}

// profileSummary is the top of a profile, for the report.
type profileSummary struct {
	Title, File, Top string
}

// profileTime is how long the profiled runs of one workload last at least:
// enough samples (100 per second) to see where the time goes.
const profileTime = 2 * time.Second

// profile runs a cold zerosync process's workload again under the CPU
// profiler, when the run asked for profiles, calling before(next),
// before(next+1), ... ahead of the runs. The runs are not timed. Each
// process profiles itself (one file per run, merged in the summary). The
// running engine is profiled by [runner.measureRunning].
func (r *runner) profile(ctx context.Context, m *mode, workload string, t tool, next int, before func(int) error) error {
	if r.cfg.Profile == "" {
		return nil
	}
	loop := func(run func(i int) error) error {
		start := time.Now()
		for i := 0; i == 0 || (time.Since(start) < profileTime && i < 200); i++ {
			if before != nil {
				if err := before(next + i); err != nil {
					return err
				}
			}
			if err := run(i); err != nil {
				return err
			}
		}
		return nil
	}
	switch t := t.(type) {
	case *zsProcess:
		g := &profileGroup{title: fmt.Sprintf("%s: %s, cold process", m.name, workload)}
		err := loop(func(i int) error {
			t.profile = r.profileName(m, workload, "process", i)
			defer func() { t.profile = "" }()
			g.files = append(g.files, t.profile)
			return t.Sync(ctx)
		})
		r.profiles = append(r.profiles, g)
		return err
	}
	return nil
}

// profileName is the file of a profile of workload.
func (r *runner) profileName(m *mode, workload, kind string, i int) string {
	slug := strings.NewReplacer(" ", "-", "(", "", ")", "").Replace(workload)
	return filepath.Join(r.cfg.Profile, fmt.Sprintf("%s-%s-%s-%d.cpu.pprof", m.name, slug, kind, i))
}

// summarizeProfiles puts the top frames of every profile into the report,
// with go tool pprof.
func (r *runner) summarizeProfiles() {
	if len(r.profiles) == 0 {
		return
	}
	if _, err := exec.LookPath("go"); err != nil {
		r.res.Notes = append(r.res.Notes, "Profiles were written to "+r.cfg.Profile+" but not summarised: the go command is not in PATH.")
		return
	}
	for _, g := range r.profiles {
		var views []string
		for _, view := range [][]string{
			{"-top", "-nodecount=8"},
			{"-top", "-cum", "-nodecount=16", "-show=" + ownFrames},
		} {
			args := append([]string{"tool", "pprof"}, view...)
			if g.heap {
				args = append(args, "-sample_index=inuse_space")
			}
			out, err := exec.Command("go", append(args, g.files...)...).CombinedOutput()
			top := trimPprof(string(out))
			if err != nil {
				top = "pprof failed: " + err.Error() + "\n" + top
			}
			views = append(views, top)
		}
		file := filepath.Base(g.files[0])
		if len(g.files) > 1 {
			file = fmt.Sprintf("%s and %d more", file, len(g.files)-1)
		}
		r.res.Profiles = append(r.res.Profiles, profileSummary{Title: g.title, File: file,
			Top: views[0] + "\n\ncumulative, zerosync's own frames and the calls it makes:\n" + views[1]})
	}
}

// ownFrames selects the frames of the cumulative view: zerosync's code, the
// system calls, hashing, the database, ssh and crypto; not the runtime.
const ownFrames = `zerosync/zerosync/|x/sys/unix\.|^syscall\.|blake3\.|bbolt\.|^os\.|crypto/|klauspost|zstd`

// trimPprof keeps pprof's summary lines and table, dropping the file and
// build headers.
func trimPprof(out string) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, "File:") || strings.HasPrefix(l, "Build ID:") || strings.HasPrefix(l, "Type:") || strings.HasPrefix(l, "Time:") || strings.HasPrefix(l, "Showing nodes") || strings.HasPrefix(l, "Dropped ") || strings.HasPrefix(l, "Active filters") || strings.HasPrefix(l, "   show=") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}
