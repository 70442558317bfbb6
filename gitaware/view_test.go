package gitaware_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/gitaware"
	"github.com/zerosync/zerosync/merge"
	"github.com/zerosync/zerosync/transport/local"
	"github.com/zerosync/zerosync/transport/memory"
)

// makers build a repository in a and a clone of it in b, with the git
// command line or with go-git.
var makers = []struct {
	name  string
	repo  func(t testing.TB, dir string, files map[string]string)
	clone func(t testing.TB, src, dst string)
}{
	{"cli", cliRepo, cliClone},
	{"go-git", func(t testing.TB, dir string, files map[string]string) { goGitRepo(t, dir, files) },
		func(t testing.TB, src, dst string) { goGitClone(t, src, dst) }},
}

// TestIgnoredAndGitNeverCross: in every mode, on repositories made either
// way, nothing ignored (by .gitignore at any level, info/exclude or the
// global excludes file) and nothing under .git crosses, in either
// direction; a WithIgnore pattern lets one ignored file through.
func TestIgnoredAndGitNeverCross(t *testing.T) {
	for _, mk := range makers {
		t.Run(mk.name, func(t *testing.T) {
			a, b := tempRoots(t)
			mk.repo(t, a, map[string]string{
				".gitignore":     "build/\nnode_modules/\n*.log\n",
				"src/.gitignore": "*.gen.go\n",
				"src/main.go":    "package main\n",
				"README":         "readme\n",
			})
			mk.clone(t, a, b)
			excludes := filepath.Join(t.TempDir(), "global-ignore")
			write(t, filepath.Dir(excludes), filepath.Base(excludes), "*.swp\n")
			write(t, a, ".git/info/exclude", "secret.txt\n")
			write(t, b, ".git/info/exclude", "secret.txt\n")
			write(t, a, ".git/marker-from-a", "a's metadata\n")

			p := project(t, gitaware.WithMode(gitaware.ModeAll), gitaware.WithExcludesFile(excludes), gitaware.WithIgnore("!keep.log"))
			pr := newPair(t, p, a, b)
			pr.sync(t)

			ignored := []string{"build/out.bin", "node_modules/pkg/index.js", "debug.log", "src/x.gen.go", "secret.txt", "main.go.swp", "src/deep/dir/trace.log"}
			for _, q := range ignored {
				write(t, a, q, "ignored on a: "+q)
			}
			ignoredB := []string{"build/b-only.bin", "node_modules/b/index.js", "b.log", "src/b.gen.go", "b.swp"}
			for _, q := range ignoredB {
				write(t, b, q, "ignored on b: "+q)
			}
			write(t, a, "notes.txt", "untracked notes\n")
			write(t, a, "keep.log", "kept by an override\n")
			write(t, a, "src/main.go", "package main // edited\n")

			rep := pr.sync(t)
			for _, q := range appliedPaths(rep) {
				assert.False(t, strings.Contains(q, ".git/") || strings.HasSuffix(q, ".git"), "applied %s", q)
			}
			for _, q := range ignored {
				assert.False(t, exists(b, q), "ignored %s crossed to b", q)
			}
			for _, q := range ignoredB {
				assert.False(t, exists(a, q), "ignored %s crossed to a", q)
			}
			assert.False(t, exists(b, ".git/marker-from-a"), ".git content crossed")
			assert.Equal(t, "untracked notes\n", read(b, "notes.txt"))
			assert.Equal(t, "kept by an override\n", read(b, "keep.log"))
			assert.Equal(t, "package main // edited\n", read(b, "src/main.go"))

			// b's repository is intact.
			assert.Equal(t, gitCLI(t, a, "rev-parse", "HEAD"), gitCLI(t, b, "rev-parse", "HEAD"))
			status := gitCLI(t, b, "status", "--porcelain")
			assert.Contains(t, status, "M src/main.go")
			assert.Contains(t, status, "?? notes.txt")
		})
	}
}

// TestModesMoveTheirClass: each mode moves exactly its class, both ways.
func TestModesMoveTheirClass(t *testing.T) {
	for _, mk := range makers {
		for _, mode := range []gitaware.Mode{gitaware.ModeGitOnly, gitaware.ModeUntracked, gitaware.ModeAll} {
			t.Run(mk.name+"/"+mode.String(), func(t *testing.T) {
				a, b := tempRoots(t)
				mk.repo(t, a, map[string]string{
					".gitignore":    "*.o\n",
					"tracked.txt":   "v1\n",
					"b-tracked.txt": "v1\n",
					"lib/util.go":   "package lib\n",
				})
				mk.clone(t, a, b)
				pr := newPair(t, project(t, gitaware.WithMode(mode)), a, b)
				pr.sync(t)

				write(t, a, "tracked.txt", "v2 from a\n")  // tracked, modified
				write(t, a, "staged.txt", "new, staged\n") // tracked (index only)
				gitCLI(t, a, "add", "staged.txt")
				write(t, a, "scratch/idea.md", "untracked\n") // untracked
				write(t, a, "lib/util.o", "object\n")         // ignored
				require.NoError(t, os.Remove(filepath.Join(a, "lib/util.go")))
				write(t, b, "b-tracked.txt", "v2 from b\n")
				write(t, b, "b-notes.txt", "untracked on b\n")
				pr.sync(t)

				tracked, untracked := mode != gitaware.ModeUntracked, mode != gitaware.ModeGitOnly
				check := func(root, p, want, old string, moves bool) {
					t.Helper()
					if moves {
						assert.Equal(t, want, read(root, p), "%s in %s", p, root)
					} else {
						assert.Equal(t, old, read(root, p), "%s in %s", p, root)
					}
				}
				check(b, "tracked.txt", "v2 from a\n", "v1\n", tracked)
				check(b, "staged.txt", "new, staged\n", "<absent>", tracked)
				check(b, "lib/util.go", "<absent>", "package lib\n", tracked)
				check(a, "b-tracked.txt", "v2 from b\n", "v1\n", tracked)
				check(b, "scratch/idea.md", "untracked\n", "<absent>", untracked)
				check(a, "b-notes.txt", "untracked on b\n", "<absent>", untracked)
				assert.False(t, exists(b, "lib/util.o"), "ignored file crossed")
			})
		}
	}
}

// TestNestedWorktreeSubmodule: a nested repository is synced by its own
// rules, a linked worktree like any repository, a submodule is left to git,
// and no .git directory or file crosses.
func TestNestedWorktreeSubmodule(t *testing.T) {
	tmp := t.TempDir()
	origin := filepath.Join(tmp, "origin")
	subsrc := filepath.Join(tmp, "subsrc")
	cliRepo(t, subsrc, map[string]string{"s.txt": "sub v1\n"})
	cliRepo(t, origin, map[string]string{"o.txt": "outer v1\n", ".gitignore": "ignored-dir/\n"})
	gitCLI(t, origin, "submodule", "add", "-q", subsrc, "sub")
	gitCLI(t, origin, "commit", "-q", "-m", "add sub")
	gitCLI(t, origin, "branch", "feature")
	innerSrc := filepath.Join(tmp, "innersrc")
	cliRepo(t, innerSrc, map[string]string{"i.txt": "inner v1\n"})

	a, b := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	for _, root := range []string{a, b} {
		require.NoError(t, os.Mkdir(root, 0o755))
		cliClone(t, origin, filepath.Join(root, "outer"))
		gitCLI(t, filepath.Join(root, "outer"), "submodule", "update", "-q", "--init")
		cliClone(t, innerSrc, filepath.Join(root, "outer", "inner"))
		require.NoError(t, os.Mkdir(filepath.Join(root, "outer", "ignored-dir"), 0o755))
		cliClone(t, innerSrc, filepath.Join(root, "outer", "ignored-dir", "vendored"))
		gitCLI(t, filepath.Join(root, "outer"), "worktree", "add", "-q", filepath.Join(root, "wt"), "feature")
	}

	p := project(t, gitaware.WithMode(gitaware.ModeGitOnly))
	pr := newPair(t, p, a, b)
	pr.sync(t)

	write(t, a, "outer/o.txt", "outer v2\n")
	write(t, a, "outer/inner/i.txt", "inner v2\n")
	write(t, a, "wt/o.txt", "worktree v2\n")
	write(t, a, "outer/sub/s.txt", "sub v2\n")
	write(t, a, "outer/ignored-dir/vendored/i.txt", "vendored v2\n")
	rep := pr.sync(t)
	assert.Empty(t, holds(rep))

	assert.Equal(t, "outer v2\n", read(b, "outer/o.txt"))
	assert.Equal(t, "inner v2\n", read(b, "outer/inner/i.txt"))
	assert.Equal(t, "worktree v2\n", read(b, "wt/o.txt"))
	assert.Equal(t, "sub v1\n", read(b, "outer/sub/s.txt"), "a submodule is left to git")
	assert.Equal(t, "inner v1\n", read(b, "outer/ignored-dir/vendored/i.txt"), "a repository in an ignored directory is ignored")
	for _, q := range appliedPaths(rep) {
		assert.NotContains(t, q, ".git", "applied %s", q)
	}
	// Each side's worktree still points at its own repository.
	gitdirB, err := os.ReadFile(filepath.Join(b, "wt", ".git"))
	require.NoError(t, err)
	assert.Contains(t, string(gitdirB), b)
	assert.Equal(t, "feature", gitCLI(t, filepath.Join(b, "wt"), "rev-parse", "--abbrev-ref", "HEAD"))

	st := p.Status()
	byDir := map[string]gitaware.RepoStatus{}
	for _, r := range st.Repos {
		byDir[r.Dir] = r
	}
	require.Contains(t, byDir, "outer")
	require.Contains(t, byDir, "outer/inner")
	require.Contains(t, byDir, "outer/sub")
	require.Contains(t, byDir, "wt")
	assert.NotContains(t, byDir, "outer/ignored-dir/vendored")
	assert.True(t, byDir["outer/sub"].LeftToGit)
	assert.Equal(t, gitaware.KindSubmodule, byDir["outer/sub"].Sides[0].Kind)
	assert.Equal(t, gitaware.KindWorktree, byDir["wt"].Sides[1].Kind)
	assert.Equal(t, "feature", byDir["wt"].Sides[0].Head.Branch)
	for _, r := range st.Repos {
		assert.Nil(t, r.Held, "%s", r)
	}
}

// TestNoLocalDirectory: a repository on a tree that is not a local
// directory is held back with a problem that says so; files outside every
// repository still sync.
func TestNoLocalDirectory(t *testing.T) {
	a, _ := tempRoots(t)
	cliRepo(t, filepath.Join(a, "proj"), map[string]string{"f.txt": "x\n"})
	write(t, a, "loose.txt", "outside any repository\n")
	ea, err := local.New(a)
	require.NoError(t, err)
	defer ea.Close()
	mem := memory.New()
	p := project(t, gitaware.WithMode(gitaware.ModeAll))
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: ea}, []engine.Peer{{Name: "mem", Endpoint: mem}},
		engine.WithVolatileState(), engine.WithView(p.View()), engine.WithResolvers(must(merge.Diff3(merge.WithBase(p.Base())))))
	require.NoError(t, err)
	defer e.Close()
	rep, err := e.SyncOnce(context.Background())
	require.NoError(t, err)

	hs := holds(rep)
	require.Len(t, hs, 1)
	assert.ErrorIs(t, hs[0], gitaware.ErrNoDirectory)
	assert.Equal(t, "proj", hs[0].Dir)
	assert.Contains(t, hs[0].Error(), "needs a local directory on mem")
	assert.Equal(t, "outside any repository\n", mem.Contents()["loose.txt"])
	_, ok := mem.Contents()["proj/f.txt"]
	assert.False(t, ok)
	for p := range mem.Contents() {
		assert.NotContains(t, p, ".git")
	}
}

// TestRootInsideRepository: a sync root below a repository's top is
// reported in the log, once.
func TestRootInsideRepository(t *testing.T) {
	tmp := t.TempDir()
	cliRepo(t, filepath.Join(tmp, "repo"), map[string]string{"sub/f.txt": "x\n"})
	require.NoError(t, os.Mkdir(filepath.Join(tmp, "b"), 0o755))
	var logs strings.Builder
	p := project(t, gitaware.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	pr := newPair(t, p, filepath.Join(tmp, "repo", "sub"), filepath.Join(tmp, "b"))
	pr.sync(t)
	pr.sync(t)
	assert.Equal(t, 1, strings.Count(logs.String(), "the sync root lies inside a repository"), logs.String())
}

// TestFilterHidingGit: with an engine filter that hides .git, repositories
// are still found (on disk), so a diverged one is still held back.
func TestFilterHidingGit(t *testing.T) {
	a, b := tempRoots(t)
	cliRepo(t, filepath.Join(a, "proj"), map[string]string{"f.txt": "v1\n"})
	require.NoError(t, os.Mkdir(b, 0o755))
	cliClone(t, filepath.Join(a, "proj"), filepath.Join(b, "proj"))
	filter, err := engine.NewPatterns(nil, []string{".git"})
	require.NoError(t, err)
	p := project(t)
	pr := newPair(t, p, a, b, engine.WithFilter(filter))
	pr.sync(t)

	write(t, a, "proj/f.txt", "v2\n")
	gitCLI(t, filepath.Join(a, "proj"), "commit", "-q", "-am", "v2")
	rep := pr.sync(t)
	hs := holds(rep)
	require.Len(t, hs, 1)
	assert.ErrorIs(t, hs[0], gitaware.ErrDiverged)
	assert.Equal(t, "v1\n", read(b, "proj/f.txt"))
}
