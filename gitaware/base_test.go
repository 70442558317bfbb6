package gitaware_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/gitaware"
)

// lines returns n numbered lines, with replacements by line number.
func lines(n int, repl map[int]string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if s, ok := repl[i]; ok {
			b.WriteString(s + "\n")
			continue
		}
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

// TestHeadBaseMergesWithoutAncestor: a tracked file edited on both sides
// before the pair ever synced merges cleanly against the file at HEAD when
// the edits touch different lines; edits to the same lines are left to the
// rest of the chain (kept both, queued for review).
func TestHeadBaseMergesWithoutAncestor(t *testing.T) {
	for _, mk := range makers {
		t.Run(mk.name, func(t *testing.T) {
			a, b := tempRoots(t)
			mk.repo(t, a, map[string]string{"f.txt": lines(10, nil), "g.txt": lines(10, nil)})
			mk.clone(t, a, b)
			write(t, a, "f.txt", lines(10, map[int]string{2: "line 2 from a"}))
			write(t, b, "f.txt", lines(10, map[int]string{9: "line 9 from b"}))
			write(t, a, "g.txt", lines(10, map[int]string{5: "line 5 from a"}))
			write(t, b, "g.txt", lines(10, map[int]string{5: "line 5 from b"}))

			p := project(t, gitaware.WithMode(gitaware.ModeGitOnly))
			pr := newPair(t, p, a, b) // fresh state: no common version yet
			rep := pr.sync(t)

			by := map[string]zerosync.ConflictReport{}
			for _, c := range rep.Conflicts {
				by[c.Path] = c
			}
			require.Contains(t, by, "f.txt")
			assert.Nil(t, by["f.txt"].Base, "no sync ancestor")
			assert.Equal(t, "diff3", by["f.txt"].Resolution.By)
			want := lines(10, map[int]string{2: "line 2 from a", 9: "line 9 from b"})
			assert.Equal(t, want, read(a, "f.txt"))
			assert.Equal(t, want, read(b, "f.txt"))

			require.Contains(t, by, "g.txt")
			assert.NotEqual(t, "diff3", by["g.txt"].Resolution.By, "same lines go on down the chain")
			assert.True(t, by["g.txt"].Resolution.KeepOther)
			assert.Equal(t, lines(10, map[int]string{5: "line 5 from a"}), read(a, "g.txt"))
			assert.NotEmpty(t, by["g.txt"].CopyPath)
			assert.Equal(t, lines(10, map[int]string{5: "line 5 from b"}), read(a, by["g.txt"].CopyPath))
		})
	}
}

// TestBaseProvider: the base of a conflict is the file at HEAD for a
// tracked file of a synced repository, the stored common version when the
// pair synced the repository at the same HEAD before, and only the stored
// version for untracked files.
func TestBaseProvider(t *testing.T) {
	pr, p := clonedPair(t, gitaware.ModeAll, map[string]string{"f.txt": "at head\n"})
	ctx := context.Background()
	conflict := func(path string, base *zerosync.Entry) zerosync.Conflict {
		c := zerosync.Conflict{Path: path, Base: base, Hosts: pr.names, Content: stubContent{}}
		if base != nil {
			c.Content = stubContent{base: []byte("stored\n")}
		}
		return c
	}
	file := &zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: 7}

	// The first cycle synced the repository: a second cycle at the same
	// HEAD prefers the nearer, stored version when there is one.
	pr.sync(t)
	got, err := p.Base().Base(ctx, conflict("f.txt", nil))
	require.NoError(t, err)
	assert.Equal(t, "at head\n", string(got), "no common version: HEAD")
	got, err = p.Base().Base(ctx, conflict("f.txt", file))
	require.NoError(t, err)
	assert.Equal(t, "stored\n", string(got), "same HEAD since the last sync: the common version")

	// HEAD moves on both sides and changes the file: HEAD is nearer.
	write(t, pr.a, "f.txt", "new head\n")
	commit(t, pr.a, "move")
	gitCLI(t, pr.b, "pull", "-q", "--ff-only")
	pr.sync(t)
	got, err = p.Base().Base(ctx, conflict("f.txt", file))
	require.NoError(t, err)
	assert.Equal(t, "new head\n", string(got))

	// Untracked, or another pair: the stored version only.
	_, err = p.Base().Base(ctx, conflict("untracked.txt", nil))
	assert.ErrorIs(t, err, zerosync.ErrNoBase)
	got, err = p.Base().Base(ctx, conflict("untracked.txt", file))
	require.NoError(t, err)
	assert.Equal(t, "stored\n", string(got))
	c := conflict("f.txt", nil)
	c.Hosts = [2]string{"x", "y"}
	_, err = p.Base().Base(ctx, c)
	assert.ErrorIs(t, err, zerosync.ErrNoBase)

	// Over the limit: too large, so diff3 passes.
	small, err := gitaware.New(gitaware.WithBaseLimit(3), gitaware.WithExcludesFile(""))
	require.NoError(t, err)
	pr2 := newPair(t, small, pr.a, pr.b)
	pr2.sync(t)
	_, err = small.Base().Base(ctx, conflict("f.txt", nil))
	assert.ErrorIs(t, err, zerosync.ErrTooLarge)
}

// stubContent answers VersionBase with a fixed body (nil: no base).
type stubContent struct{ base []byte }

func (s stubContent) ReadVersion(ctx context.Context, v zerosync.Version, limit int64) ([]byte, error) {
	if v != zerosync.VersionBase || s.base == nil {
		return nil, zerosync.ErrNoBase
	}
	return s.base, nil
}
