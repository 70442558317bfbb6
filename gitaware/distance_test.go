package gitaware

import (
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// graph stores commits with chosen parents and times in a fresh in-memory
// repository.
type graph struct {
	t    *testing.T
	repo *git.Repository
	tree plumbing.Hash
}

func newGraph(t *testing.T) *graph {
	r, err := git.Init(memory.NewStorage(), nil)
	require.NoError(t, err)
	obj := r.Storer.NewEncodedObject()
	require.NoError(t, (&object.Tree{}).Encode(obj))
	h, err := r.Storer.SetEncodedObject(obj)
	require.NoError(t, err)
	return &graph{t: t, repo: r, tree: h}
}

func (g *graph) commit(msg string, when int64, parents ...plumbing.Hash) plumbing.Hash {
	sig := object.Signature{Name: "t", Email: "t@example.invalid", When: time.Unix(when, 0)}
	c := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: g.tree, ParentHashes: parents}
	obj := g.repo.Storer.NewEncodedObject()
	require.NoError(g.t, c.Encode(obj))
	h, err := g.repo.Storer.SetEncodedObject(obj)
	require.NoError(g.t, err)
	return h
}

// copyTo copies the commits reachable from h into another graph's storage.
func (g *graph) copyTo(o *graph, h plumbing.Hash) {
	c, err := object.GetCommit(g.repo.Storer, h)
	require.NoError(g.t, err)
	for _, p := range c.ParentHashes {
		g.copyTo(o, p)
	}
	obj, err := g.repo.Storer.EncodedObject(plumbing.CommitObject, h)
	require.NoError(g.t, err)
	_, err = o.repo.Storer.SetEncodedObject(obj)
	require.NoError(g.t, err)
}

func TestWalkApart(t *testing.T) {
	a, b := newGraph(t), newGraph(t)
	base := a.commit("base", 100)
	c1 := a.commit("c1", 200, base)
	c2 := a.commit("c2", 300, c1)
	a.copyTo(b, c2)
	a3 := a.commit("a3", 400, c2)
	a4 := a.commit("a4", 500, a3)
	b3 := b.commit("b3", 400, c2)
	// A merge on b, and a commit with a lying clock.
	side := b.commit("side", 350, c1)
	m := b.commit("merge", 600, b3, side)
	skew := b.commit("skewed", 50, m)
	repos := [2]*git.Repository{a.repo, b.repo}

	for _, c := range []struct {
		name          string
		a, b          plumbing.Hash
		ahead, behind int
	}{
		{"same", c2, c2, 0, 0},
		{"ahead", a4, c2, 2, 0},
		{"behind", c2, a4, 0, 2},
		{"diverged", a4, b3, 2, 1},
		{"merge", a4, m, 2, 3},
		{"skewed clock", a4, skew, 2, 4},
		{"no commits yet", plumbing.ZeroHash, c2, 0, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := walkApart(repos, [2]plumbing.Hash{c.a, c.b}, 1000)
			require.NoError(t, err)
			assert.Equal(t, c.ahead, d.ahead, "ahead")
			assert.Equal(t, c.behind, d.behind, "behind")
			assert.False(t, d.approx)
		})
	}
	d, err := walkApart(repos, [2]plumbing.Hash{a4, b3}, 2)
	require.NoError(t, err)
	assert.True(t, d.approx)
}
