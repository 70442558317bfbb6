package gitaware_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/gitaware"
)

// scan returns a local endpoint's snapshot of dir.
func scan(t testing.TB, dir string) zerosync.Snapshot {
	t.Helper()
	snap, _, err := localEndpoint(t, dir).Scan(context.Background())
	require.NoError(t, err)
	return snap
}

// TestClassify: every class, on repositories made either way.
func TestClassify(t *testing.T) {
	for _, mk := range makers {
		t.Run(mk.name, func(t *testing.T) {
			root := t.TempDir()
			repo := filepath.Join(root, "proj")
			mk.repo(t, repo, map[string]string{
				".gitignore":  "*.o\nbuild/\n",
				"clean.txt":   "clean\n",
				"edited.txt":  "original\n",
				"same-size":   "aaaa\n",
				"deleted.txt": "gone soon\n",
				"exec.sh":     "#!/bin/sh\n",
			})
			write(t, repo, "edited.txt", "changed content\n")
			// Same size, with the modification time of the index file:
			// racily clean, only the content tells.
			write(t, repo, "same-size", "bbbb\n")
			st, err := os.Stat(filepath.Join(repo, ".git", "index"))
			require.NoError(t, err)
			require.NoError(t, os.Chtimes(filepath.Join(repo, "same-size"), st.ModTime(), st.ModTime()))
			// Same size, another modification time, same content: clean.
			write(t, repo, "clean.txt", "clean\n")
			require.NoError(t, os.Chtimes(filepath.Join(repo, "clean.txt"), time.Unix(1e9, 0), time.Unix(1e9, 0)))
			require.NoError(t, os.Remove(filepath.Join(repo, "deleted.txt")))
			require.NoError(t, os.Chmod(filepath.Join(repo, "exec.sh"), 0o755))
			write(t, repo, "new.txt", "untracked\n")
			write(t, repo, "main.o", "object\n")
			write(t, repo, "build/out/x", "output\n")
			write(t, root, "loose.txt", "outside\n")
			time.Sleep(10 * time.Millisecond)

			p := project(t)
			tree, err := p.Classify(context.Background(), root, scan(t, root))
			require.NoError(t, err)
			want := map[string]gitaware.Class{
				"proj/.gitignore":  gitaware.ClassTracked,
				"proj/clean.txt":   gitaware.ClassTracked,
				"proj/edited.txt":  gitaware.ClassModified,
				"proj/same-size":   gitaware.ClassModified,
				"proj/exec.sh":     gitaware.ClassModified,
				"proj/new.txt":     gitaware.ClassUntracked,
				"proj/main.o":      gitaware.ClassIgnored,
				"proj/build":       gitaware.ClassIgnored,
				"proj/build/out/x": gitaware.ClassIgnored,
				"proj/.git":        gitaware.ClassGit,
				"proj/.git/HEAD":   gitaware.ClassGit,
				"loose.txt":        gitaware.ClassUntracked,
				"proj":             gitaware.ClassUntracked,
			}
			for p, c := range want {
				assert.Equal(t, c.String(), tree.Classes[p].String(), p)
			}
			_, ok := tree.Classes["proj/deleted.txt"]
			assert.False(t, ok, "only paths of the snapshot")
			require.Len(t, tree.Repos, 1)
			assert.Equal(t, "proj", tree.Repos[0].Dir)
			assert.Equal(t, gitaware.KindRepository, tree.Repos[0].Kind)
			assert.NotEmpty(t, tree.Repos[0].Head.Branch)
			assert.Len(t, tree.Repos[0].Head.Commit, 40)
			n := tree.Count()
			assert.Equal(t, 2, n[gitaware.ClassTracked])
			assert.Equal(t, 3, n[gitaware.ClassModified])
		})
	}
}

// TestClassifyNested: a submodule and its files are git's; a repository in
// an ignored directory is ignored; a nested repository has its own rules;
// a worktree is found.
func TestClassifyNested(t *testing.T) {
	tmp := t.TempDir()
	subsrc := filepath.Join(tmp, "subsrc")
	cliRepo(t, subsrc, map[string]string{"s.txt": "s\n"})
	root := filepath.Join(tmp, "root")
	cliRepo(t, root, map[string]string{".gitignore": "vendor/\n", "a.txt": "a\n"})
	gitCLI(t, root, "submodule", "add", "-q", subsrc, "sub")
	gitCLI(t, root, "commit", "-q", "-m", "sub")
	cliRepo(t, filepath.Join(root, "inner"), map[string]string{".gitignore": "*.tmp\n", "i.txt": "i\n"})
	write(t, root, "inner/x.tmp", "ignored by inner\n")
	write(t, root, "a.tmp", "not ignored by root\n")
	require.NoError(t, os.Mkdir(filepath.Join(root, "vendor"), 0o755))
	cliClone(t, subsrc, filepath.Join(root, "vendor", "lib"))
	gitCLI(t, root, "worktree", "add", "-q", filepath.Join(root, "wt"))

	tree, err := project(t).Classify(context.Background(), root, scan(t, root))
	require.NoError(t, err)
	for p, c := range map[string]gitaware.Class{
		"sub":              gitaware.ClassGit,
		"sub/s.txt":        gitaware.ClassGit,
		"sub/.git":         gitaware.ClassGit,
		"vendor/lib/s.txt": gitaware.ClassIgnored,
		"inner/i.txt":      gitaware.ClassTracked,
		"inner/x.tmp":      gitaware.ClassIgnored,
		"a.tmp":            gitaware.ClassUntracked,
		"wt/a.txt":         gitaware.ClassTracked,
		"wt/.git":          gitaware.ClassGit,
	} {
		assert.Equal(t, c.String(), tree.Classes[p].String(), p)
	}
	kinds := map[string]gitaware.Repo{}
	for _, r := range tree.Repos {
		kinds[r.Dir] = r
	}
	assert.Equal(t, gitaware.KindRepository, kinds[""].Kind)
	assert.Equal(t, gitaware.KindSubmodule, kinds["sub"].Kind)
	assert.Equal(t, gitaware.KindRepository, kinds["inner"].Kind)
	assert.Equal(t, gitaware.KindWorktree, kinds["wt"].Kind)
	assert.True(t, kinds["vendor/lib"].Ignored)
}

// TestClassifyHostileGitignore: .gitignore files are written by peers. One
// with more patterns than the bound is left out, with a warning; one deep in
// the tree costs memory by its size, not by its depth times its size.
func TestClassifyHostileGitignore(t *testing.T) {
	root := t.TempDir()
	cliRepo(t, root, map[string]string{".gitignore": "*.o\n", "a.txt": "a\n"})
	var big strings.Builder
	for i := range 10_001 {
		fmt.Fprintf(&big, "pattern-%d\n", i)
	}
	big.WriteString("*.tmp\n")
	write(t, root, "big/.gitignore", big.String())
	write(t, root, "big/x.tmp", "not ignored: its .gitignore is left out\n")
	write(t, root, "big/y.o", "ignored by the top\n")
	var lines strings.Builder
	for i := range 9_000 {
		fmt.Fprintf(&lines, "p%d/q\n", i)
	}
	lines.WriteString("*.tmp\n")
	deep := strings.Repeat("d/", 1000)
	write(t, root, deep+".gitignore", lines.String())
	write(t, root, deep+"x.tmp", "ignored by the deep .gitignore\n")

	var log strings.Builder
	p := project(t, gitaware.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	snap := scan(t, root)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	tree, err := p.Classify(context.Background(), root, snap)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	assert.Equal(t, gitaware.ClassUntracked.String(), tree.Classes["big/x.tmp"].String())
	assert.Equal(t, gitaware.ClassIgnored.String(), tree.Classes["big/y.o"].String())
	assert.Equal(t, gitaware.ClassIgnored.String(), tree.Classes[deep+"x.tmp"].String())
	assert.Contains(t, log.String(), "more than 10000 patterns")
	// 9,000 patterns at depth 1,000 were 140 MB when each kept its own
	// copy of the directory.
	t.Logf("Classify allocated %d MB", (after.TotalAlloc-before.TotalAlloc)>>20)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "bytes allocated by Classify")
}
