package gitaware

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/zerosync/zerosync"
)

// Base returns the [zerosync.BaseProvider] of the project, for
// merge.Diff3(merge.WithBase(p.Base())): for a file tracked in a repository
// whose tracked files the pair syncs (both HEADs the same commit), the base
// of a conflict is the file as committed at HEAD, so a file edited on both
// sides merges even when the pair has no common state for it yet.
//
// When the pair does have a common version of the file (the body the engine
// kept at the last sync) and it is the nearer ancestor, that version is
// used: it is when the pair synced the repository before, in this process,
// and the file at HEAD has not changed since. Paths outside synced
// repositories, and files HEAD does not hold, get the common version only.
//
// The provider finds the pair by the conflict's host names, so the trees
// of the engines sharing a project must have distinct names.
func (p *Project) Base() zerosync.BaseProvider { return headBase{p} }

type headBase struct{ p *Project }

// errNotAtHead: the path is not a file in the commit.
var errNotAtHead = errors.New("not a file at HEAD")

func (b headBase) Base(ctx context.Context, c zerosync.Conflict) ([]byte, error) {
	p := b.p
	stored := func() ([]byte, error) {
		if c.Content == nil {
			return nil, fmt.Errorf("%w: no content reader for %s", zerosync.ErrNoBase, c.Path)
		}
		return c.Content.ReadVersion(ctx, zerosync.VersionBase, p.baseLimit)
	}
	p.mu.Lock()
	var r *baseRepo
	if info := p.pairs[c.Hosts]; info != nil {
		r = info.repoOf(c.Path)
	}
	p.mu.Unlock()
	if r == nil {
		return stored()
	}
	rp := rel(r.dir, c.Path)
	body, hash, err := p.fileAt(ctx, r, r.head, rp, true)
	if errors.Is(err, errNotAtHead) {
		return stored()
	}
	if err != nil {
		return nil, err
	}
	if c.Base != nil && !r.prev.IsZero() {
		near := r.prev == r.head
		if !near {
			_, was, err := p.fileAt(ctx, r, r.prev, rp, false)
			near = err == nil && was == hash
		}
		if near {
			if s, err := stored(); err == nil {
				return s, nil
			}
		}
	}
	p.log.DebugContext(ctx, "merge base from HEAD", "path", c.Path, "commit", r.head.String()[:7])
	return body, nil
}

// repoOf returns the synced repository that holds path, or nil when the
// innermost repository around it is not synced or there is none.
func (info *pairInfo) repoOf(path string) *baseRepo {
	for d := zerosync.Parent(path); ; d = zerosync.Parent(d) {
		if info.dirs[d] {
			return info.synced[d]
		}
		if d == "" {
			return nil
		}
	}
}

// fileAt returns the blob hash of the file at rel in commit, read from the
// repository on our side (or theirs, if ours lacks the commit), and its
// content when read is set.
func (p *Project) fileAt(ctx context.Context, r *baseRepo, commit plumbing.Hash, rel string, read bool) ([]byte, plumbing.Hash, error) {
	var last error
	for _, loc := range r.locs {
		if err := ctx.Err(); err != nil {
			return nil, plumbing.ZeroHash, err
		}
		body, h, err := p.fileAtIn(loc, commit, rel, read)
		if err == nil || errors.Is(err, errNotAtHead) || errors.Is(err, zerosync.ErrTooLarge) {
			return body, h, err
		}
		last = err
	}
	return nil, plumbing.ZeroHash, last
}

func (p *Project) fileAtIn(loc location, commit plumbing.Hash, rel string, read bool) ([]byte, plumbing.Hash, error) {
	unlock := p.lock(loc.common)
	defer unlock()
	repo, err := loc.open()
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	c, err := repo.CommitObject(commit)
	if err != nil {
		return nil, plumbing.ZeroHash, fmt.Errorf("commit %s: %w", commit, err)
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	ent, err := tree.FindEntry(rel)
	if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
		return nil, plumbing.ZeroHash, errNotAtHead
	}
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	if ent.Mode != filemode.Regular && ent.Mode != filemode.Executable && ent.Mode != filemode.Deprecated {
		return nil, plumbing.ZeroHash, errNotAtHead
	}
	if !read {
		return nil, ent.Hash, nil
	}
	blob, err := repo.BlobObject(ent.Hash)
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	if blob.Size > p.baseLimit {
		return nil, plumbing.ZeroHash, fmt.Errorf("%w: %s at HEAD is %d bytes", zerosync.ErrTooLarge, rel, blob.Size)
	}
	rc, err := blob.Reader()
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	defer rc.Close()
	body, err := io.ReadAll(io.LimitReader(rc, p.baseLimit+1))
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	return body, ent.Hash, nil
}
