package gitaware

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// Class is what git makes of a path.
type Class uint8

// The classes. The zero Class is unknown: the path's repository could not
// be read.
const (
	// ClassTracked: in the index, and the working file matches it.
	ClassTracked Class = iota + 1
	// ClassModified: in the index, and the working file differs from it
	// (or is gone, or is staged as new with git add -N).
	ClassModified
	// ClassUntracked: not in the index and not ignored. Paths outside
	// every repository are untracked too.
	ClassUntracked
	// ClassIgnored: not in the index, and git's ignore rules (or the
	// project's, [WithIgnore]) exclude it.
	ClassIgnored
	// ClassGit: repository metadata (.git and beneath), or a submodule and
	// what it holds: git's business, never synced.
	ClassGit
)

// String returns "tracked", "modified", "untracked", "ignored", "git" or
// "unknown".
func (c Class) String() string {
	switch c {
	case ClassTracked:
		return "tracked"
	case ClassModified:
		return "modified"
	case ClassUntracked:
		return "untracked"
	case ClassIgnored:
		return "ignored"
	case ClassGit:
		return "git"
	}
	return "unknown"
}

// Repo is a repository found at or below a sync root.
type Repo struct {
	// Dir is relative to the root; empty for the root itself.
	Dir  string
	Kind RepoKind
	Head Head
	// Operation names a git operation under way, if any.
	Operation string
	// Ignored is set for a repository in a directory that the repository
	// around it ignores: everything in it is ignored.
	Ignored bool
	// Err is set when the repository could not be read; its paths are of
	// unknown class.
	Err error
}

// Tree is what [Project.Classify] found in a tree.
type Tree struct {
	// Repos are the repositories, parents before what they hold.
	Repos []Repo
	// Classes holds the class of every path of the snapshot; a path whose
	// class could not be decided (its repository or the file itself was
	// unreadable) is absent.
	Classes map[string]Class
}

// Count returns how many paths of the tree have each class.
func (t *Tree) Count() map[Class]int {
	n := map[Class]int{}
	for _, c := range t.Classes {
		n[c]++
	}
	return n
}

// Classify reports what git makes of every path of snap, a snapshot of the
// directory root (as a local endpoint's Scan returns it): the repositories
// at and below root, and each path's class. A directory is untracked or
// ignored (git tracks files). Whether a tracked file is modified is decided
// as git does with core.checkStat=minimal: from the size and modification
// time the index recorded, and from the file's git blob hash when those do
// not settle it (a rewrite that keeps both is not seen).
func (p *Project) Classify(ctx context.Context, root string, snap zerosync.Snapshot) (*Tree, error) {
	locs, errs, err := discover(ctx, root, snap)
	if err != nil {
		return nil, err
	}
	set := newRepoSet(locs)
	sd := &side{root: root, snap: snap, locs: locs}
	if err := p.readSide(ctx, sd, set, errs); err != nil {
		return nil, err
	}
	fsRoot, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("gitaware: %w", err)
	}
	defer fsRoot.Close()

	t := &Tree{Classes: make(map[string]Class, len(snap))}
	states := map[string]repoState{}
	for _, dir := range set.sorted {
		sr := sd.repos[dir]
		st := stateSynced
		if enc, ok := set.enclosing(dir); ok {
			st = nested(&pairRepo{state: states[enc], sides: [2]*sideRepo{sd.repos[enc]}}, rel(enc, dir))
		}
		states[dir] = st
		r := Repo{Dir: dir, Kind: KindRepository, Head: sr.head.public(), Operation: sr.op, Ignored: st == stateIgnored, Err: sr.err}
		switch {
		case st == stateLeftToGit:
			r.Kind = KindSubmodule
		case sr.loc.worktree:
			r.Kind = KindWorktree
		}
		t.Repos = append(t.Repos, r)
	}

	n := 0
	for path, e := range snap {
		if n++; n%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if hasGitComponent(path) {
			t.Classes[path] = ClassGit
			continue
		}
		dir, ok := set.of(path)
		if !ok {
			t.Classes[path] = ClassUntracked
			continue
		}
		switch states[dir] {
		case stateLeftToGit:
			t.Classes[path] = ClassGit
			continue
		case stateIgnored:
			t.Classes[path] = ClassIgnored
			continue
		}
		sr := sd.repos[dir]
		if sr.err != nil {
			continue // unknown
		}
		rp := rel(dir, path)
		if sr.idx.inGitlink(rp) {
			t.Classes[path] = ClassGit
			continue
		}
		if ie, ok := sr.idx.entries[rp]; ok && e.Kind != zerosync.KindDir {
			clean, err := p.clean(fsRoot, path, e, ie, sr)
			if err != nil {
				// Unreadable, or replaced while read: unknown.
				p.log.DebugContext(ctx, "cannot compare with the index", "root", root, "path", path, "err", err)
				continue
			}
			t.Classes[path] = ClassModified
			if clean {
				t.Classes[path] = ClassTracked
			}
			continue
		}
		if sr.rules.ignored(rp, e.Kind == zerosync.KindDir) {
			t.Classes[path] = ClassIgnored
		} else {
			t.Classes[path] = ClassUntracked
		}
	}
	return t, nil
}

// clean reports whether the working entry e at path matches its index
// entry ie, as git decides it.
func (p *Project) clean(fsRoot *os.Root, path string, e zerosync.Entry, ie *index.Entry, sr *sideRepo) (bool, error) {
	switch {
	case ie.Stage != 0, ie.IntentToAdd: // unmerged (stage 0 is a plain entry), or git add -N
		return false, nil
	case ie.SkipWorktree:
		return true, nil
	}
	switch e.Kind {
	case zerosync.KindSymlink:
		return ie.Mode == filemode.Symlink && plumbing.ComputeHash(plumbing.BlobObject, []byte(e.Target)) == ie.Hash, nil
	case zerosync.KindFile:
	default:
		return false, nil
	}
	if ie.Mode != filemode.Regular && ie.Mode != filemode.Executable && ie.Mode != filemode.Deprecated {
		return false, nil
	}
	if sr.cfg.fileMode && (e.Mode&0o111 != 0) != (ie.Mode == filemode.Executable) {
		return false, nil
	}
	if uint32(e.Size) != ie.Size {
		return false, nil
	}
	// Size and modification time as the index recorded them settle it
	// (git's core.checkStat=minimal: inode and change time are not looked
	// at, which would cost a system call per file), unless the file is
	// racily clean: changed in the same tick as the index was written, it
	// may hold other bytes with the same stat data.
	if e.ModTime.Equal(ie.ModifiedAt) && e.ModTime.Before(sr.idx.mtime) {
		return true, nil
	}
	h, err := p.blobHash(fsRoot, path, e)
	if err != nil {
		return false, err
	}
	return h == ie.Hash, nil
}

// blobHash returns the git blob hash of the file at path, whose entry is e,
// remembered by content digest.
func (p *Project) blobHash(fsRoot *os.Root, path string, e zerosync.Entry) (plumbing.Hash, error) {
	if h, ok := p.blobs.get(e.Digest); ok {
		return h, nil
	}
	f, err := fsRoot.Open(filepath.FromSlash(path))
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	hs := plumbing.NewHasher(plumbing.BlobObject, st.Size())
	dg := digest.New()
	n, err := io.Copy(io.MultiWriter(hs, dg), f)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if n != st.Size() {
		return plumbing.ZeroHash, fmt.Errorf("%s changed while it was read", path)
	}
	h := hs.Sum()
	if dg.Sum() == e.Digest {
		// Remembered only when the bytes read are those the scan saw.
		p.blobs.put(e.Digest, h)
	}
	return h, nil
}

// blobCache maps content digests to git blob hashes.
type blobCache struct {
	mu sync.Mutex
	m  map[zerosync.Digest]plumbing.Hash
}

// maxCachedBlobs bounds the cache; past it, it starts again empty.
const maxCachedBlobs = 1 << 16

func (c *blobCache) get(d zerosync.Digest) (plumbing.Hash, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.m[d]
	return h, ok
}

func (c *blobCache) put(d zerosync.Digest, h plumbing.Hash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedBlobs {
		c.m = map[zerosync.Digest]plumbing.Hash{}
	}
	c.m[d] = h
}
