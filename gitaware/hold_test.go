package gitaware_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/gitaware"
)

// clonedPair makes a repository in a (with the git command line), clones it
// into b, and syncs them once in mode m.
func clonedPair(t *testing.T, m gitaware.Mode, files map[string]string) (*pair, *gitaware.Project) {
	t.Helper()
	a, b := tempRoots(t)
	cliRepo(t, a, files)
	cliClone(t, a, b)
	p := project(t, gitaware.WithMode(m))
	pr := newPair(t, p, a, b)
	rep := pr.sync(t)
	require.Empty(t, holds(rep))
	return pr, p
}

// commit commits everything in dir.
func commit(t *testing.T, dir, msg string) {
	t.Helper()
	gitCLI(t, dir, "add", "-A")
	gitCLI(t, dir, "commit", "-q", "-m", msg)
}

// TestDivergedHeadsHeldBack: while a is two commits ahead, nothing of the
// repository crosses, and the report and the status name the hosts, the
// branch and the counts; once b fast-forwards, the next cycle syncs.
func TestDivergedHeadsHeldBack(t *testing.T) {
	pr, p := clonedPair(t, gitaware.ModeAll, map[string]string{"f.txt": "v1\n", "keep.txt": "same\n"})
	a, b := pr.a, pr.b

	write(t, a, "f.txt", "v2\n")
	commit(t, a, "second")
	write(t, a, "f.txt", "v3\n")
	commit(t, a, "third")
	write(t, a, "notes.txt", "untracked on a\n")
	write(t, b, "b-notes.txt", "untracked on b\n")

	rep := pr.sync(t)
	assert.Empty(t, rep.Applied, "nothing crosses while HEADs differ")
	hs := holds(rep)
	require.Len(t, hs, 1)
	h := hs[0]
	assert.ErrorIs(t, h, gitaware.ErrDiverged)
	assert.Equal(t, [2]string{"a", "b"}, h.Hosts)
	assert.Contains(t, h.Error(), "a is 2 commits ahead of b on branch main")
	assert.Equal(t, "v1\n", read(b, "f.txt"))
	assert.False(t, exists(b, "notes.txt"))
	assert.False(t, exists(a, "b-notes.txt"))
	var prob zerosync.Problem
	for _, pb := range rep.Problems {
		if pb.Err == error(h) {
			prob = pb
		}
	}
	assert.Equal(t, zerosync.Theirs, prob.Side, "the side that has to catch up")

	held := p.Status().Held()
	require.Len(t, held, 1)
	rs := held[0]
	assert.Equal(t, "", rs.Dir)
	assert.Equal(t, [2]string{"a", "b"}, rs.Hosts)
	assert.Equal(t, "main", rs.Sides[0].Head.Branch)
	assert.Equal(t, "main", rs.Sides[1].Head.Branch)
	assert.Equal(t, 2, rs.Sides[0].Ahead)
	assert.Equal(t, 0, rs.Sides[0].Behind)
	assert.Equal(t, 2, rs.Sides[1].Behind)
	assert.Equal(t, gitCLI(t, a, "rev-parse", "HEAD"), rs.Sides[0].Head.Commit)
	assert.Contains(t, rs.String(), "held back")

	// b commits too: the two have diverged.
	write(t, b, "g.txt", "b's own\n")
	gitCLI(t, b, "add", "g.txt")
	gitCLI(t, b, "commit", "-q", "-m", "b's commit")
	rep = pr.sync(t)
	hs = holds(rep)
	require.Len(t, hs, 1)
	assert.Contains(t, hs[0].Error(), "a and b have diverged on branch main: a is 2 commits ahead and 1 commit behind")
	assert.False(t, exists(a, "g.txt"))

	// b drops its commit and fast-forwards to a.
	gitCLI(t, b, "reset", "-q", "--hard", "HEAD~1")
	gitCLI(t, b, "pull", "-q", "--ff-only")
	rep = pr.sync(t)
	assert.Empty(t, holds(rep))
	assert.Equal(t, "untracked on a\n", read(b, "notes.txt"))
	assert.Equal(t, "untracked on b\n", read(a, "b-notes.txt"))
	assert.Equal(t, "v3\n", read(b, "f.txt"))
	assert.Empty(t, p.Status().Held())
}

// TestDivergedBranches: HEADs on different branches name both.
func TestDivergedBranches(t *testing.T) {
	pr, p := clonedPair(t, gitaware.ModeGitOnly, map[string]string{"f.txt": "v1\n", "g.txt": "same\n"})
	gitCLI(t, pr.b, "checkout", "-q", "-b", "topic")
	write(t, pr.b, "f.txt", "on topic\n")
	commit(t, pr.b, "topic work")

	rep := pr.sync(t)
	hs := holds(rep)
	require.Len(t, hs, 1)
	assert.Contains(t, hs[0].Error(), "a is 1 commit behind b on branches main (a) and topic (b)")
	assert.Equal(t, "v1\n", read(pr.a, "f.txt"))
	rs := p.Status().Held()[0]
	assert.Equal(t, "topic", rs.Sides[1].Head.Branch)
	assert.Equal(t, 1, rs.Sides[1].Ahead)
}

// TestUntrackedModeIgnoresHeads: in untracked mode, tracked files are git's
// business, so differing HEADs hold nothing back.
func TestUntrackedModeIgnoresHeads(t *testing.T) {
	pr, p := clonedPair(t, gitaware.ModeUntracked, map[string]string{"f.txt": "v1\n"})
	write(t, pr.a, "f.txt", "v2\n")
	commit(t, pr.a, "second")
	write(t, pr.a, "scratch.txt", "untracked\n")
	rep := pr.sync(t)
	assert.Empty(t, holds(rep))
	assert.Equal(t, "untracked\n", read(pr.b, "scratch.txt"))
	assert.Equal(t, "v1\n", read(pr.b, "f.txt"))
	assert.Empty(t, p.Status().Held())
}

// startRebase leaves a rebase with a conflict under way in dir.
func startRebase(t *testing.T, dir string) {
	t.Helper()
	gitCLI(t, dir, "checkout", "-q", "-b", "topic")
	write(t, dir, "f.txt", "topic's line\n")
	commit(t, dir, "topic")
	gitCLI(t, dir, "checkout", "-q", "main")
	write(t, dir, "f.txt", "main's line\n")
	commit(t, dir, "main")
	gitCLI(t, dir, "checkout", "-q", "topic")
	out, ok := gitRun(t, dir, "rebase", "main")
	require.False(t, ok, "the rebase must stop on its conflict: %s", out)
	_, err := os.Stat(filepath.Join(dir, ".git", "rebase-merge"))
	require.NoError(t, err, "rebase in progress")
}

// TestRebaseInProgress: with a rebase stopped on either side, nothing is
// written into the repository on either side, and the status says why.
func TestRebaseInProgress(t *testing.T) {
	for _, rebasing := range []zerosync.Side{zerosync.Ours, zerosync.Theirs} {
		t.Run(rebasing.String(), func(t *testing.T) {
			pr, p := clonedPair(t, gitaware.ModeAll, map[string]string{"f.txt": "v1\n", "other.txt": "same\n"})
			roots := [2]string{pr.a, pr.b}
			busy, idle := roots[rebasing], roots[rebasing.Other()]
			startRebase(t, busy)
			conflicted := read(busy, "f.txt")
			write(t, idle, "other.txt", "edited on the idle side\n")
			write(t, idle, "new.txt", "untracked on the idle side\n")
			write(t, busy, "busy-notes.txt", "untracked on the rebasing side\n")

			for range 2 {
				rep := pr.sync(t)
				assert.Empty(t, rep.Applied)
				hs := holds(rep)
				require.Len(t, hs, 1)
				assert.ErrorIs(t, hs[0], gitaware.ErrInProgress)
				assert.Contains(t, hs[0].Error(), "a rebase is in progress on "+pr.names[rebasing])
			}
			assert.Equal(t, conflicted, read(busy, "f.txt"))
			assert.Equal(t, "same\n", read(busy, "other.txt"))
			assert.False(t, exists(busy, "new.txt"))
			assert.False(t, exists(idle, "busy-notes.txt"))

			rs := p.Status().Held()
			require.Len(t, rs, 1)
			assert.Equal(t, "rebase", rs[0].Sides[rebasing].Operation)
			assert.Equal(t, "", rs[0].Sides[rebasing.Other()].Operation)
			assert.Contains(t, rs[0].String(), "rebase is in progress")

			// Aborted and back on the shared commit: the next cycle syncs.
			gitCLI(t, busy, "rebase", "--abort")
			gitCLI(t, busy, "checkout", "-q", "main")
			gitCLI(t, busy, "reset", "-q", "--hard", gitCLI(t, idle, "rev-parse", "HEAD"))
			rep := pr.sync(t)
			assert.Empty(t, holds(rep))
			assert.Equal(t, "untracked on the idle side\n", read(busy, "new.txt"))
			assert.Equal(t, "edited on the idle side\n", read(busy, "other.txt"))
		})
	}
}

// TestOtherOperationsHoldBack: a merge, cherry-pick, revert or bisect under
// way holds the repository back too (the marker files git leaves).
func TestOtherOperationsHoldBack(t *testing.T) {
	for _, op := range []struct{ file, name string }{
		{"MERGE_HEAD", "merge"}, {"CHERRY_PICK_HEAD", "cherry-pick"}, {"REVERT_HEAD", "revert"}, {"BISECT_LOG", "bisect"},
	} {
		t.Run(op.name, func(t *testing.T) {
			pr, _ := clonedPair(t, gitaware.ModeAll, map[string]string{"f.txt": "v1\n"})
			write(t, pr.b, ".git/"+op.file, gitCLI(t, pr.b, "rev-parse", "HEAD")+"\n")
			write(t, pr.a, "new.txt", "x\n")
			rep := pr.sync(t)
			hs := holds(rep)
			require.Len(t, hs, 1)
			assert.ErrorIs(t, hs[0], gitaware.ErrInProgress)
			assert.Contains(t, hs[0].Error(), "a "+op.name+" is in progress on b")
			assert.False(t, exists(pr.b, "new.txt"))
		})
	}
}

// TestRepositoryOnOneSide: a repository only one tree has is held back
// until it is cloned on the other.
func TestRepositoryOnOneSide(t *testing.T) {
	a, b := tempRoots(t)
	cliRepo(t, filepath.Join(a, "proj"), map[string]string{"f.txt": "x\n"})
	require.NoError(t, os.Mkdir(b, 0o755))
	write(t, a, "loose.txt", "outside\n")
	p := project(t, gitaware.WithMode(gitaware.ModeAll))
	pr := newPair(t, p, a, b)
	rep := pr.sync(t)
	hs := holds(rep)
	require.Len(t, hs, 1)
	assert.ErrorIs(t, hs[0], gitaware.ErrNoRepository)
	assert.Contains(t, hs[0].Error(), `"proj" held back: it exists on a only; clone it on b`)
	assert.False(t, exists(b, "proj"))
	assert.Equal(t, "outside\n", read(b, "loose.txt"))

	cliClone(t, filepath.Join(a, "proj"), filepath.Join(b, "proj"))
	write(t, a, "proj/notes.txt", "untracked\n")
	rep = pr.sync(t)
	assert.Empty(t, holds(rep))
	assert.Equal(t, "untracked\n", read(b, "proj/notes.txt"))
}

// TestCloneInProgressHoldsBack: a repository whose HEAD names a commit
// but which has no index yet (a clone writing its worktree; here one made
// with --no-checkout, the state a clone is in between its fetch and the
// end of its checkout) is held back in every mode: nothing of the other
// side is written into it, so the checkout does not stop on files it did
// not expect. Once checked out, the next cycle syncs it.
func TestCloneInProgressHoldsBack(t *testing.T) {
	for _, mode := range []gitaware.Mode{gitaware.ModeGitOnly, gitaware.ModeUntracked, gitaware.ModeAll} {
		t.Run(mode.String(), func(t *testing.T) {
			a, b := tempRoots(t)
			cliRepo(t, filepath.Join(a, "proj"), map[string]string{"f.txt": "x\n", "g.txt": "y\n"})
			write(t, a, "proj/notes.txt", "untracked on a\n")
			require.NoError(t, os.Mkdir(b, 0o755))
			gitCLI(t, b, "clone", "-q", "--no-checkout", filepath.Join(a, "proj"), filepath.Join(b, "proj"))
			p := project(t, gitaware.WithMode(mode))
			pr := newPair(t, p, a, b)

			rep := pr.sync(t)
			hs := holds(rep)
			require.Len(t, hs, 1, "%v", rep.Problems)
			assert.ErrorIs(t, hs[0], gitaware.ErrInProgress)
			assert.Contains(t, hs[0].Error(), "a clone or checkout is in progress on b")
			for _, f := range []string{"f.txt", "g.txt", "notes.txt"} {
				assert.False(t, exists(b, "proj/"+f), "%s written into the clone under way", f)
			}

			gitCLI(t, filepath.Join(b, "proj"), "checkout", "-q", "HEAD", "--", ".")
			rep = pr.sync(t)
			assert.Empty(t, holds(rep))
			assert.Equal(t, "x\n", read(b, "proj/f.txt"))
			if mode != gitaware.ModeGitOnly {
				assert.Equal(t, "untracked on a\n", read(b, "proj/notes.txt"))
			}
		})
	}
}
