package gitaware

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// History keeps the versions of the files a tree syncs, in a bare git
// repository of its own (never the user's): after each cycle that changed
// something, [History.Record] commits the changed paths as the tree now
// holds them. A file enters the history the first time a cycle changes it.
// [History.Log] lists a file's versions, [History.Restore] puts one back
// into the tree, from where the next cycle carries it to the peers.
//
// Build one with [NewHistory] or [Project.History]. Its methods are safe for
// concurrent use.
type History struct {
	dir   string
	ep    zerosync.Endpoint
	root  string
	log   *slog.Logger
	limit int64

	mu   sync.Mutex
	repo *git.Repository
	head plumbing.Hash
	tree *hnode // the files as of head; nil until loaded
}

// NewHistory returns the history of the tree behind ep, which must be a
// local directory (an endpoint with a Root method), kept in the bare
// repository dir, created if missing. dir must lie outside the tree, or
// beneath a name the sync reserves, or it would be synced.
func NewHistory(dir string, ep zerosync.Endpoint, opts ...Option) (*History, error) {
	c := defaults()
	if err := c.apply(opts); err != nil {
		return nil, err
	}
	h := &History{dir: dir, ep: ep, log: c.log, limit: c.historyLimit}
	if ep == nil {
		return nil, errors.New("gitaware: nil endpoint")
	}
	if h.root = rootOf(ep); h.root == "" {
		return nil, fmt.Errorf("gitaware: history: %w", ErrNoDirectory)
	}
	if r, err := filepath.Rel(h.root, dir); err == nil && r != ".." && !strings.HasPrefix(r, "../") && !zerosync.IsReserved(filepath.ToSlash(r)) {
		return nil, fmt.Errorf("gitaware: history directory %s lies in the synced tree", dir)
	}
	repo, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.PlainInitWithOptions(dir, &git.PlainInitOptions{Bare: true,
			InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")}})
	}
	if err != nil {
		return nil, fmt.Errorf("gitaware: history repository: %w", err)
	}
	h.repo = repo
	return h, nil
}

// History returns the history of the tree behind ep, kept under the
// project's state directory ([WithStateDir]), one repository per tree.
func (p *Project) History(ep zerosync.Endpoint, opts ...Option) (*History, error) {
	if p.stateDir == "" {
		return nil, errors.New("gitaware: a history needs a state directory (WithStateDir)")
	}
	root := rootOf(ep)
	if root == "" {
		return nil, fmt.Errorf("gitaware: history: %w", ErrNoDirectory)
	}
	sum := sha256.Sum256([]byte(root))
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, filepath.Base(root))
	dir := filepath.Join(p.stateDir, "history", name+"-"+hex.EncodeToString(sum[:6])+".git")
	return NewHistory(dir, ep, append([]Option{WithLogger(p.log)}, opts...)...)
}

// Observe records a cycle's changes when it ends; pass it to
// engine.WithObserver (from a function that also calls other observers, if
// any). It runs on the engine's goroutine, and its cost grows with what the
// cycle changed. Failures are logged.
func (h *History) Observe(ev zerosync.Event) {
	if ev.Kind != zerosync.EventCycleEnd || ev.Report == nil || !ev.Report.Changed() {
		return
	}
	if err := h.Record(context.Background(), *ev.Report); err != nil {
		h.log.Warn("history not recorded", "err", err)
	}
}

// Record commits the paths the report changed, as the tree holds them now:
// a file or symlink with its content, a path gone (or now a directory) as
// removed. It commits nothing when nothing differs from the last version.
func (h *History) Record(ctx context.Context, rep zerosync.Report) error {
	seen := map[string]bool{}
	var paths []string
	for _, a := range rep.Applied {
		if !seen[a.Path] {
			seen[a.Path] = true
			paths = append(paths, a.Path)
		}
	}
	for _, c := range rep.Conflicts {
		if !seen[c.Path] {
			seen[c.Path] = true
			paths = append(paths, c.Path)
		}
	}
	if len(paths) == 0 {
		return nil
	}
	slices.Sort(paths)

	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.load(); err != nil {
		return err
	}
	fsRoot, err := os.OpenRoot(h.root)
	if err != nil {
		return fmt.Errorf("gitaware: history: %w", err)
	}
	defer fsRoot.Close()
	var lines []string
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		if zerosync.CheckPath(p) != nil || hasGitComponent(p) {
			continue
		}
		line, err := h.take(fsRoot, p)
		if err != nil {
			h.log.WarnContext(ctx, "history: path not recorded", "path", p, "err", err)
			continue
		}
		if line != "" {
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return h.commit(rep.End, lines)
}

// take records the current state of path p into the tree and returns a
// line for the commit message, or "" when nothing changed.
func (h *History) take(fsRoot *os.Root, p string) (string, error) {
	name := filepath.FromSlash(p)
	st, err := fsRoot.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return h.tree.remove(p), nil
	case err != nil:
		return "", err
	}
	var (
		mode filemode.FileMode
		body io.Reader
	)
	switch {
	case st.Mode().IsRegular():
		if st.Size() > h.limit {
			return "", fmt.Errorf("%d bytes, over the history limit of %d", st.Size(), h.limit)
		}
		f, err := fsRoot.Open(name)
		if err != nil {
			return "", err
		}
		defer f.Close()
		mode, body = filemode.Regular, io.LimitReader(f, h.limit+1)
		if st.Mode().Perm()&0o100 != 0 {
			mode = filemode.Executable
		}
	case st.Mode()&fs.ModeSymlink != 0:
		target, err := fsRoot.Readlink(name)
		if err != nil {
			return "", err
		}
		mode, body = filemode.Symlink, strings.NewReader(target)
	case st.IsDir():
		return h.tree.remove(p), nil // a directory's files are recorded for themselves
	default:
		return "", nil
	}
	hash, err := h.storeBlob(body)
	if err != nil {
		return "", err
	}
	return h.tree.set(p, mode, hash), nil
}

// storeBlob writes content as a blob, unless the repository has it.
func (h *History) storeBlob(r io.Reader) (plumbing.Hash, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if int64(len(b)) > h.limit {
		return plumbing.ZeroHash, fmt.Errorf("grew past the history limit of %d bytes", h.limit)
	}
	hash := plumbing.ComputeHash(plumbing.BlobObject, b)
	if h.repo.Storer.HasEncodedObject(hash) == nil {
		return hash, nil
	}
	obj := h.repo.Storer.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(b); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return h.repo.Storer.SetEncodedObject(obj)
}

// historySignature signs the history's commits.
func historySignature(when time.Time) object.Signature {
	return object.Signature{Name: "zerosync", Email: "history@zerosync.invalid", When: when}
}

// commit writes the tree and a commit on top of the current head.
func (h *History) commit(when time.Time, lines []string) error {
	if when.IsZero() {
		when = time.Now()
	}
	treeHash, err := h.tree.write(h.repo)
	if err != nil {
		return fmt.Errorf("gitaware: history tree: %w", err)
	}
	msg := fmt.Sprintf("sync: %d path(s)\n\n", len(lines))
	const maxLines = 200
	for i, l := range lines {
		if i == maxLines {
			msg += fmt.Sprintf("... and %d more\n", len(lines)-maxLines)
			break
		}
		msg += l + "\n"
	}
	c := &object.Commit{Author: historySignature(when), Committer: historySignature(when), Message: msg, TreeHash: treeHash}
	if !h.head.IsZero() {
		c.ParentHashes = []plumbing.Hash{h.head}
	}
	obj := h.repo.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return err
	}
	hash, err := h.repo.Storer.SetEncodedObject(obj)
	if err != nil {
		return err
	}
	if err := h.repo.Storer.SetReference(plumbing.NewHashReference(h.branch(), hash)); err != nil {
		return err
	}
	h.head = hash
	return nil
}

// branch is the reference the history commits to: HEAD's branch.
func (h *History) branch() plumbing.ReferenceName {
	if ref, err := h.repo.Storer.Reference(plumbing.HEAD); err == nil && ref.Type() == plumbing.SymbolicReference {
		return ref.Target()
	}
	return plumbing.NewBranchReferenceName("main")
}

// load reads the head and its tree, unless the tree in memory is the
// head's (another History on the same directory may have committed).
func (h *History) load() error {
	ref, err := h.repo.Reference(plumbing.HEAD, true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		h.head, h.tree = plumbing.ZeroHash, newHnode()
		return nil
	}
	if err != nil {
		return fmt.Errorf("gitaware: history head: %w", err)
	}
	if h.tree != nil && ref.Hash() == h.head {
		return nil
	}
	c, err := h.repo.CommitObject(ref.Hash())
	if err != nil {
		return fmt.Errorf("gitaware: history head: %w", err)
	}
	t, err := c.Tree()
	if err != nil {
		return err
	}
	n, err := loadHnode(t)
	if err != nil {
		return err
	}
	h.head, h.tree = ref.Hash(), n
	return nil
}

// Version is one version of a file in a [History].
type Version struct {
	// ID names the version: the hex hash of the history commit that
	// recorded it. [History.Restore] takes it, or a unique prefix of it.
	ID   string
	Time time.Time
	// Deleted is set when the version is the file's removal.
	Deleted bool
	// Kind is the kind of entry (a file or a symlink) unless Deleted.
	Kind zerosync.Kind
	// Executable is set for a file with its execute bit.
	Executable bool
	// Size is the length of the content (of a symlink: of its target).
	Size int64
}

// Log returns the versions of the file at path, newest first: every
// recorded commit that changed it.
func (h *History) Log(ctx context.Context, path string) ([]Version, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	vs, _, err := h.versions(ctx, path)
	return vs, err
}

// fileState is a path's entry in one commit.
type fileState struct {
	present bool
	mode    filemode.FileMode
	hash    plumbing.Hash
}

// versions walks the history from the head along first parents.
func (h *History) versions(ctx context.Context, path string) ([]Version, []fileState, error) {
	if err := zerosync.ValidPath(path); err != nil {
		return nil, nil, err
	}
	ref, err := h.repo.Reference(plumbing.HEAD, true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	type step struct {
		c  *object.Commit
		st fileState
	}
	var steps []step
	for hash := ref.Hash(); !hash.IsZero(); {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		c, err := h.repo.CommitObject(hash)
		if err != nil {
			return nil, nil, err
		}
		t, err := c.Tree()
		if err != nil {
			return nil, nil, err
		}
		var st fileState
		if e, err := t.FindEntry(path); err == nil && e.Mode != filemode.Dir {
			st = fileState{present: true, mode: e.Mode, hash: e.Hash}
		}
		steps = append(steps, step{c, st})
		hash = plumbing.ZeroHash
		if len(c.ParentHashes) > 0 {
			hash = c.ParentHashes[0]
		}
	}
	var (
		vs     []Version
		states []fileState
	)
	for i, s := range steps {
		var prev fileState
		if i+1 < len(steps) {
			prev = steps[i+1].st
		}
		if s.st == prev {
			continue
		}
		v := Version{ID: s.c.Hash.String(), Time: s.c.Committer.When, Deleted: !s.st.present}
		if s.st.present {
			v.Kind, v.Executable = zerosync.KindFile, s.st.mode == filemode.Executable
			if s.st.mode == filemode.Symlink {
				v.Kind = zerosync.KindSymlink
			}
			if sz, err := h.repo.Storer.EncodedObjectSize(s.st.hash); err == nil {
				v.Size = sz
			}
		}
		vs = append(vs, v)
		states = append(states, s.st)
	}
	return vs, states, nil
}

// SplitVersion splits "PATH@VERSION", as people write a version of a file,
// at its last "@".
func SplitVersion(s string) (path, version string, err error) {
	i := strings.LastIndexByte(s, '@')
	if i <= 0 || i == len(s)-1 {
		return "", "", fmt.Errorf("gitaware: %q is not PATH@VERSION", s)
	}
	return s[:i], s[i+1:], nil
}

// Restore puts version (a [Version.ID] or a unique prefix of at least four
// hex digits) of the file at path back into the tree, atomically, through
// the endpoint: the current content, if any, is archived first, and
// missing directories are created. A version that is a removal removes the
// file. The next cycle carries the change to the peers. A version the
// history does not hold is an error wrapping [ErrNoHistory]; a file changed
// while it was restored is one wrapping [zerosync.ErrChanged].
func (h *History) Restore(ctx context.Context, path, version string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := zerosync.CheckPath(path); err != nil {
		return err
	}
	vs, states, err := h.versions(ctx, path)
	if err != nil {
		return err
	}
	pick := -1
	if len(version) >= 4 {
		for i, v := range vs {
			if strings.HasPrefix(v.ID, strings.ToLower(version)) {
				if pick >= 0 {
					return fmt.Errorf("gitaware: version %q of %s is ambiguous", version, path)
				}
				pick = i
			}
		}
	}
	if pick < 0 {
		return fmt.Errorf("gitaware: %s@%s: %w", path, version, ErrNoHistory)
	}
	st := states[pick]

	cur, err := h.current(path)
	if err != nil {
		return err
	}
	op := zerosync.Op{Path: path, Old: cur}
	var content io.Reader
	if st.present {
		blob, err := h.repo.BlobObject(st.hash)
		if err != nil {
			return err
		}
		rc, err := blob.Reader()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		ne := &zerosync.Entry{ModTime: time.Now()}
		if st.mode == filemode.Symlink {
			ne.Kind, ne.Target = zerosync.KindSymlink, string(b)
		} else {
			ne.Kind, ne.Size, ne.Digest, ne.Mode = zerosync.KindFile, int64(len(b)), digest.Sum(b), 0o644
			if cur != nil && cur.Kind == zerosync.KindFile {
				ne.Mode = cur.Mode.Perm()
			}
			if st.mode == filemode.Executable {
				ne.Mode |= (ne.Mode & 0o444) >> 2
			} else {
				ne.Mode &^= 0o111
			}
			content = bytes.NewReader(b)
		}
		op.New = ne
	}
	switch {
	case op.New == nil && op.Old == nil:
		return nil
	case op.Old != nil && op.Old.Kind == zerosync.KindDir:
		return fmt.Errorf("gitaware: restore %s: %w: a directory is in the way", path, zerosync.ErrChanged)
	case op.New != nil && op.Old != nil && op.New.Same(op.Old):
		return nil
	}
	op.Archive = op.Old != nil && op.Old.Kind == zerosync.KindFile
	if op.New != nil {
		if err := h.mkdirs(ctx, zerosync.Parent(path)); err != nil {
			return err
		}
	}
	if err := h.ep.Apply(ctx, op, content); err != nil {
		return fmt.Errorf("gitaware: restore %s: %w", path, err)
	}
	h.log.InfoContext(ctx, "restored from history", "path", path, "version", vs[pick].ID[:12])
	return nil
}

// current describes path as the tree holds it now (nil: absent).
func (h *History) current(path string) (*zerosync.Entry, error) {
	fsRoot, err := os.OpenRoot(h.root)
	if err != nil {
		return nil, err
	}
	defer fsRoot.Close()
	name := filepath.FromSlash(path)
	st, err := fsRoot.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	e := &zerosync.Entry{ModTime: st.ModTime()}
	switch {
	case st.Mode().IsRegular():
		f, err := fsRoot.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		d, n, err := digest.ReadAll(f)
		if err != nil {
			return nil, err
		}
		e.Kind, e.Mode, e.Size, e.Digest = zerosync.KindFile, st.Mode().Perm(), n, d
	case st.Mode()&fs.ModeSymlink != 0:
		t, err := fsRoot.Readlink(name)
		if err != nil {
			return nil, err
		}
		e.Kind, e.Target = zerosync.KindSymlink, t
	case st.IsDir():
		e.Kind, e.Mode = zerosync.KindDir, st.Mode().Perm()
	default:
		return nil, fmt.Errorf("gitaware: restore %s: %w: the path holds a %v", path, zerosync.ErrChanged, st.Mode().Type())
	}
	return e, nil
}

// mkdirs creates dir and its missing parents through the endpoint.
func (h *History) mkdirs(ctx context.Context, dir string) error {
	if dir == "" {
		return nil
	}
	cur, err := h.current(dir)
	if err != nil {
		return err
	}
	if cur != nil {
		if cur.Kind != zerosync.KindDir {
			return fmt.Errorf("gitaware: restore: %w: %s is a %s", zerosync.ErrChanged, dir, cur.Kind)
		}
		return nil
	}
	if err := h.mkdirs(ctx, zerosync.Parent(dir)); err != nil {
		return err
	}
	return h.ep.Apply(ctx, zerosync.Op{Path: dir, New: &zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755, ModTime: time.Now()}}, nil)
}
