package gitaware_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/gitaware"
)

// bigRepo makes, with the git command line, a repository of n tracked files
// in directories of 100, plus a few untracked and ignored ones, and returns
// its directory.
func bigRepo(b *testing.B, dir string, n int) {
	b.Helper()
	require.NoError(b, os.MkdirAll(dir, 0o755))
	gitCLI(b, dir, "init", "-q")
	write(b, dir, ".gitignore", "*.o\nbuild/\n")
	for i := range n {
		write(b, dir, fmt.Sprintf("pkg%03d/file%03d.go", i/100, i%100), fmt.Sprintf("package pkg\n\n// file %d\n", i))
	}
	gitCLI(b, dir, "add", "-A")
	gitCLI(b, dir, "commit", "-q", "-m", "big")
	for i := range 10 {
		write(b, dir, fmt.Sprintf("pkg%03d/file%03d.go", i, 0), "package pkg // edited\n")
		write(b, dir, fmt.Sprintf("scratch/n%d.txt", i), "untracked\n")
		write(b, dir, fmt.Sprintf("build/out%d.o", i), "ignored\n")
	}
}

// BenchmarkClassify20k: classifying a 20k-file repository (the snapshot
// taken beforehand, as the engine's scan provides it).
func BenchmarkClassify20k(b *testing.B) {
	root := b.TempDir()
	bigRepo(b, root, 20000)
	snap := scan(b, root)
	p := project(b)
	ctx := context.Background()
	tree, err := p.Classify(ctx, root, snap)
	require.NoError(b, err)
	count := tree.Count()
	require.Equal(b, 20000+1-10, count[gitaware.ClassTracked])
	require.Equal(b, 10, count[gitaware.ClassModified])
	b.ReportMetric(float64(len(snap)), "paths")
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Classify(ctx, root, snap); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkView20k: one pass of the view over a pair of clones of a
// 20k-file repository (the snapshots hold .git too, as a scan returns it):
// what git-aware sync adds to each cycle.
func BenchmarkView20k(b *testing.B) {
	tmp := b.TempDir()
	a, c := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	bigRepo(b, a, 20000)
	cliClone(b, a, c)
	ea, eb := localEndpoint(b, a), localEndpoint(b, c)
	sa, sb := scan(b, a), scan(b, c)
	p := project(b, gitaware.WithMode(gitaware.ModeAll))
	v := p.View()
	ctx := context.Background()
	base := zerosync.Snapshot{}
	run := func() *zerosync.ViewPair {
		vp := &zerosync.ViewPair{Names: [2]string{"a", "b"}, Endpoints: [2]zerosync.Endpoint{ea, eb}, Base: base, Ours: sa, Theirs: sb}
		if err := v.View(ctx, vp); err != nil {
			b.Fatal(err)
		}
		return vp
	}
	// The common state is what the pair synced: b's tree as the view
	// shows it.
	vp := run()
	require.Empty(b, vp.Problems)
	base = vp.Theirs
	b.ReportMetric(float64(len(sa)), "paths")
	b.ResetTimer()
	for b.Loop() {
		run()
	}
}
