package gitaware

import (
	"container/heap"
	"errors"
	"fmt"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// distance is how far two HEADs are apart: the commits only the first side
// has (ahead) and those only the second has (behind).
type distance struct {
	ahead, behind int
	// approx: the walk stopped at its limit before it found the common
	// history, so the counts are what it saw.
	approx bool
}

// maxCachedDistances bounds the cache of distances; past it, it starts again
// empty.
const maxCachedDistances = 1024

// distance counts the commits each HEAD has that the other lacks, reading
// each side's commits from its own repository.
func (p *Project) distance(a, b *sideRepo) (distance, error) {
	key := [2]plumbing.Hash{a.head.hash, b.head.hash}
	p.mu.Lock()
	d, ok := p.counts[key]
	p.mu.Unlock()
	if ok {
		return d, nil
	}
	unlockA := p.lock(a.loc.common)
	var unlockB func()
	if b.loc.common != a.loc.common {
		unlockB = p.lock(b.loc.common)
	}
	d, err := walkApart([2]*git.Repository{a.repo, b.repo}, key, p.walkLimit)
	if unlockB != nil {
		unlockB()
	}
	unlockA()
	if err != nil {
		return d, err
	}
	p.mu.Lock()
	if len(p.counts) >= maxCachedDistances {
		p.counts = map[[2]plumbing.Hash]distance{}
	}
	p.counts[key] = d
	p.mu.Unlock()
	return d, nil
}

// Flags of the walk: which HEAD reaches a commit.
const (
	fromA uint8 = 1 << iota
	fromB
	fromBoth = fromA | fromB
)

// walkApart walks down from both heads, newest commit first, marking each
// commit with the heads that reach it, until every commit still to visit is
// reached by both: what lies below is common history. A commit is read from
// whichever repository holds it. At most limit commits are visited.
func walkApart(repos [2]*git.Repository, heads [2]plumbing.Hash, limit int) (distance, error) {
	type node struct {
		when    int64
		parents []plumbing.Hash
		flags   uint8
		queued  bool
		loaded  bool
		missing bool
	}
	nodes := map[plumbing.Hash]*node{}
	q := &commitQueue{}
	pending := 0 // queued commits not reached by both
	load := func(h plumbing.Hash, n *node) error {
		n.loaded = true
		for _, r := range repos {
			c, err := object.GetCommit(r.Storer, h)
			if errors.Is(err, plumbing.ErrObjectNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("read commit %s: %w", h, err)
			}
			n.when, n.parents = c.Committer.When.Unix(), c.ParentHashes
			return nil
		}
		n.missing = true // a shallow clone's edge
		return nil
	}
	mark := func(h plumbing.Hash, flags uint8) error {
		n := nodes[h]
		if n == nil {
			n = &node{}
			nodes[h] = n
		}
		if n.flags|flags == n.flags {
			return nil
		}
		wasPending := n.queued && n.flags != fromBoth
		n.flags |= flags
		if !n.loaded {
			if err := load(h, n); err != nil {
				return err
			}
		}
		switch {
		case n.queued && wasPending && n.flags == fromBoth:
			pending--
		case !n.queued:
			n.queued = true
			heap.Push(q, queued{hash: h, when: n.when})
			if n.flags != fromBoth {
				pending++
			}
		}
		return nil
	}
	for i, h := range heads {
		if !h.IsZero() {
			if err := mark(h, 1<<i); err != nil {
				return distance{}, err
			}
		}
	}
	visited := 0
	approx := false
	for q.Len() > 0 && pending > 0 {
		if visited >= limit {
			approx = true
			break
		}
		it := heap.Pop(q).(queued)
		n := nodes[it.hash]
		n.queued = false
		if n.flags != fromBoth {
			pending--
		}
		visited++
		for _, ph := range n.parents {
			if err := mark(ph, n.flags); err != nil {
				return distance{}, err
			}
		}
	}
	// Commit times may lie (clock skew, or several commits in one second),
	// so a commit may have been counted before a head reaching it through
	// a newer one was known: carry the marks down among the commits seen.
	work := make([]plumbing.Hash, 0, len(nodes))
	for h := range nodes {
		work = append(work, h)
	}
	for len(work) > 0 {
		h := work[len(work)-1]
		work = work[:len(work)-1]
		n := nodes[h]
		for _, ph := range n.parents {
			if pn := nodes[ph]; pn != nil && pn.flags|n.flags != pn.flags {
				pn.flags |= n.flags
				work = append(work, ph)
			}
		}
	}
	var d distance
	for _, n := range nodes {
		switch n.flags {
		case fromA:
			d.ahead++
		case fromB:
			d.behind++
		}
	}
	d.approx = approx
	return d, nil
}

// queued is a commit waiting in the walk.
type queued struct {
	hash plumbing.Hash
	when int64
}

// commitQueue orders commits newest first.
type commitQueue []queued

func (q commitQueue) Len() int { return len(q) }
func (q commitQueue) Less(i, j int) bool {
	if q[i].when != q[j].when {
		return q[i].when > q[j].when
	}
	return q[i].hash.String() < q[j].hash.String()
}
func (q commitQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *commitQueue) Push(x any)   { *q = append(*q, x.(queued)) }
func (q *commitQueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}
