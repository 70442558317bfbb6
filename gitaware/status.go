package gitaware

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// RepoKind tells how a repository is laid out.
type RepoKind uint8

// The kinds of repository.
const (
	// KindRepository has its own .git directory.
	KindRepository RepoKind = iota + 1
	// KindWorktree is a linked worktree of another repository (git
	// worktree add): its .git is a file naming the repository.
	KindWorktree
	// KindSubmodule is a submodule of the repository around it: it is left
	// to git, and nothing in it is synced.
	KindSubmodule
)

// String returns "repository", "worktree" or "submodule".
func (k RepoKind) String() string {
	switch k {
	case KindRepository:
		return "repository"
	case KindWorktree:
		return "worktree"
	case KindSubmodule:
		return "submodule"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Status is what git-aware sync is doing, as people see it.
type Status struct {
	Mode Mode
	// Repos are the repositories the last cycle of every pair found, by
	// pair and then by directory. A nested repository in a directory that
	// its enclosing repository ignores is not listed: it is ignored.
	Repos []RepoStatus
}

// Held returns the repositories that are held back.
func (s Status) Held() []RepoStatus {
	var out []RepoStatus
	for _, r := range s.Repos {
		if r.Held != nil {
			out = append(out, r)
		}
	}
	return out
}

// String describes the status in a few lines.
func (s Status) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mode: %s\n", s.Mode)
	for _, r := range s.Repos {
		fmt.Fprintf(&b, "%s\n", r)
	}
	return b.String()
}

// RepoStatus is one repository as one pair's last cycle found it.
type RepoStatus struct {
	// Hosts are the pair's trees, ours first.
	Hosts [2]string
	// Dir is the repository's directory relative to the sync root; empty
	// for the root itself.
	Dir string
	// Time is when the cycle looked.
	Time time.Time
	// Held, when set, says why nothing in the repository is synced for
	// the pair.
	Held *HoldError
	// LeftToGit is set for a submodule: git carries it, not the sync.
	LeftToGit bool
	// Sides are the repository on each tree, ours first.
	Sides [2]SideStatus
}

// String describes the repository in one line.
func (r RepoStatus) String() string {
	name := r.Dir
	if name == "" {
		name = "."
	}
	var state string
	switch {
	case r.Held != nil:
		state = "held back: " + r.Held.Detail
	case r.LeftToGit:
		state = "submodule, left to git"
	default:
		state = "synced"
	}
	var sides []string
	for i, s := range r.Sides {
		if s.Present {
			sides = append(sides, r.Hosts[i]+" "+s.Head.String())
		}
	}
	return fmt.Sprintf("%s <-> %s: %s (%s): %s", r.Hosts[0], r.Hosts[1], name, strings.Join(sides, ", "), state)
}

// SideStatus is a repository on one tree.
type SideStatus struct {
	// Present is false when the tree has no repository there.
	Present bool
	Kind    RepoKind
	// Head is the repository's HEAD: branch and commit.
	Head Head
	// Operation names a git operation under way ("rebase", "merge",
	// "cherry-pick", "revert", "bisect"), if any.
	Operation string
	// Ahead and Behind count the commits this side's HEAD has that the
	// other's lacks, and the reverse; both are zero when the HEADs are
	// the same commit or when either side could not be read.
	Ahead, Behind int
	// Approx is set when the counts stopped at the walk limit
	// ([WithWalkLimit]).
	Approx bool
}

// Head is a repository's HEAD.
type Head struct {
	// Branch is the short name of the checked-out branch; empty when HEAD
	// is detached.
	Branch string
	// Commit is the hex commit hash; empty before the first commit.
	Commit string
}

// String returns "main@1a2b3c4", "(detached)@1a2b3c4" or "main (no commits yet)".
func (h Head) String() string {
	b := h.Branch
	if b == "" {
		b = "(detached)"
	}
	if len(h.Commit) < 7 {
		return b + " (no commits yet)"
	}
	return b + "@" + h.Commit[:7]
}

// Status returns the mode and what the last cycle of every pair found.
func (p *Project) Status() Status {
	st := Status{Mode: p.Mode()}
	p.mu.Lock()
	keys := make([][2]string, 0, len(p.pairs))
	for k := range p.pairs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	for _, k := range keys {
		st.Repos = append(st.Repos, p.pairs[k].repos...)
	}
	p.mu.Unlock()
	return st
}
