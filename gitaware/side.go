package gitaware

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// repoSet is the set of repository directories of a pair (both sides
// together), relative to the sync root, and answers which repository a path
// belongs to. It is used from one goroutine.
type repoSet struct {
	dirs   map[string]bool
	sorted []string // dirs, parents before children
	memo   map[string]innermost
}

type innermost struct {
	dir string
	ok  bool
}

func newRepoSet(dirs ...map[string]location) *repoSet {
	s := &repoSet{dirs: map[string]bool{}, memo: map[string]innermost{}}
	for _, m := range dirs {
		for d := range m {
			s.dirs[d] = true
		}
	}
	for d := range s.dirs {
		s.sorted = append(s.sorted, d)
	}
	slices.Sort(s.sorted)
	return s
}

// of returns the innermost repository that holds path p (a repository's
// own directory belongs to the repository around it).
func (s *repoSet) of(p string) (string, bool) {
	return s.at(zerosync.Parent(p))
}

// enclosing returns the repository around repository dir d, if any.
func (s *repoSet) enclosing(d string) (string, bool) {
	if d == "" {
		return "", false
	}
	return s.of(d)
}

// at returns the innermost repository whose worktree contains directory d
// (d itself when it is one).
func (s *repoSet) at(d string) (string, bool) {
	if s.dirs[d] {
		return d, true
	}
	if d == "" {
		return "", false
	}
	if r, ok := s.memo[d]; ok {
		return r.dir, r.ok
	}
	dir, ok := s.at(zerosync.Parent(d))
	s.memo[d] = innermost{dir, ok}
	return dir, ok
}

// rel returns p relative to repository directory dir.
func rel(dir, p string) string {
	if dir == "" {
		return p
	}
	return p[len(dir)+1:]
}

// discover finds the repositories of one side: the directories holding
// .git. The snapshot's .git entries name them; with a root directory each
// is then located on disk. When the snapshot holds no .git at all (a filter
// hid them), every directory of the snapshot is looked at on disk instead.
// Without a root, locations are empty.
func discover(ctx context.Context, root string, snap zerosync.Snapshot) (map[string]location, map[string]error, error) {
	found := map[string]location{}
	errs := map[string]error{}
	named := map[string]bool{}
	for p := range snap {
		if endsInGit(p) && !hasGitComponent(zerosync.Parent(p)) {
			named[zerosync.Parent(p)] = true
		}
	}
	if root == "" {
		for dir := range named {
			found[dir] = location{}
		}
		return found, errs, nil
	}
	check := func(dir string) {
		loc, ok, err := locate(filepath.Join(root, filepath.FromSlash(dir)))
		switch {
		case err != nil:
			found[dir] = loc
			errs[dir] = err
		case ok:
			found[dir] = loc
		}
	}
	check("")
	if len(named) > 0 {
		for dir := range named {
			if dir != "" {
				check(dir)
			}
		}
		return found, errs, nil
	}
	n := 0
	for p, e := range snap {
		if e.Kind != zerosync.KindDir || hasGitComponent(p) {
			continue
		}
		if n++; n%1024 == 0 && ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		check(p)
	}
	return found, errs, nil
}

// sideRepo is one repository on one side, as read in one cycle.
type sideRepo struct {
	dir    string
	loc    location
	repo   *git.Repository // use under the project's lock for loc.common
	head   head
	op     string // operation in progress
	finish string // how to finish it
	idx    *tracked
	cfg    repoConfig
	rules  *rules
	err    error // the repository could not be read
}

// side is one tree of a pair in one cycle.
type side struct {
	root  string // absolute; "" when the endpoint is not a local directory
	snap  zerosync.Snapshot
	locs  map[string]location
	repos map[string]*sideRepo // by directory
}

// readSide discovers and reads the repositories of one tree; set holds the
// repository directories of both sides, to assign .gitignore files.
func (p *Project) readSide(ctx context.Context, sd *side, set *repoSet, errs map[string]error) error {
	sd.repos = map[string]*sideRepo{}
	for dir, loc := range sd.locs {
		r := &sideRepo{dir: dir, loc: loc, err: errs[dir]}
		sd.repos[dir] = r
		if sd.root == "" || r.err != nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		r.err = p.loadRepo(r)
	}
	if sd.root == "" {
		return nil
	}
	// Every .gitignore of a readable repository, shallower first; the rules
	// order them.
	var ignores []string
	for q, e := range sd.snap {
		if e.Kind != zerosync.KindFile || q != ".gitignore" && !strings.HasSuffix(q, "/.gitignore") || hasGitComponent(q) {
			continue
		}
		ignores = append(ignores, q)
	}
	slices.SortFunc(ignores, func(a, b string) int {
		return cmp.Or(cmp.Compare(strings.Count(a, "/"), strings.Count(b, "/")), strings.Compare(a, b))
	})
	var fsRoot *os.Root
	defer func() {
		if fsRoot != nil {
			fsRoot.Close()
		}
	}()
	for _, q := range ignores {
		dir, ok := set.of(q)
		r := sd.repos[dir]
		if !ok || r == nil || r.err != nil {
			continue
		}
		if fsRoot == nil {
			var err error
			if fsRoot, err = os.OpenRoot(sd.root); err != nil {
				return err
			}
		}
		relDir := zerosync.Parent(rel(dir, q))
		ps, err := p.gitignore(fsRoot, sd.root, q, sd.snap[q].Digest)
		if err == nil && r.rules.count+len(ps) > maxRepoPatterns {
			err = fmt.Errorf("the repository's .gitignore files hold more than %d patterns", maxRepoPatterns)
		}
		if err != nil {
			p.log.WarnContext(ctx, "gitignore unreadable", "root", sd.root, "path", q, "err", err)
			continue
		}
		r.rules.dirs[relDir] = append(r.rules.dirs[relDir], ps...)
		r.rules.count += len(ps)
	}
	return nil
}

// loadRepo reads HEAD, the operation under way, the index, the config and
// the repository-wide ignore rules of r.
func (p *Project) loadRepo(r *sideRepo) error {
	unlock := p.lock(r.loc.common)
	defer unlock()
	repo, err := r.loc.open()
	if err != nil {
		return err
	}
	r.repo = repo
	if r.head, err = readHead(repo); err != nil {
		return err
	}
	if r.op, r.finish, err = r.loc.operation(); err != nil {
		return err
	}
	if r.idx, err = p.indexes.read(r.loc); err != nil {
		return err
	}
	if r.op == "" && r.idx.missing && !r.head.hash.IsZero() {
		// HEAD names a commit but nothing is checked out yet: a clone (or
		// a checkout) is writing the worktree. Writing into it now would
		// make git stop on "untracked files would be overwritten".
		r.op, r.finish = "clone or checkout", "let it end; if none runs, git checkout makes the index"
	}
	if r.cfg, err = readConfig(repo); err != nil {
		return err
	}
	var base []gitignore.Pattern
	excludes := p.excludes
	if r.cfg.excludesFile != "" {
		excludes = expandHome(r.cfg.excludesFile)
	}
	for _, f := range []string{excludes, filepath.Join(r.loc.common, "info", "exclude")} {
		if f == "" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		ps, _ := parsePatterns(b, 0) // this host's own files: no limit
		base = append(base, ps...)
	}
	r.rules = newRules(base, p.override)
	return nil
}

// maxIgnoreFile bounds the size of a .gitignore file that is read.
const maxIgnoreFile = 1 << 20

// maxRepoPatterns bounds the patterns of all the .gitignore files of one
// repository on one side: the shallower files are read first, and a file
// that would pass the bound is left out (with a warning), as an unreadable
// one is.
const maxRepoPatterns = 50_000

// gitignore returns the patterns of the .gitignore at path q of a tree; they
// match paths relative to q's directory. A file of more than
// [maxIgnorePatterns] patterns is an error.
func (p *Project) gitignore(fsRoot *os.Root, root, q string, d zerosync.Digest) ([]gitignore.Pattern, error) {
	key := patternKey{file: filepath.Join(root, q), digest: d}
	if ps, ok := p.patterns.get(key); ok {
		return ps, nil
	}
	f, err := fsRoot.Open(filepath.FromSlash(q))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxIgnoreFile))
	if err != nil {
		return nil, err
	}
	ps, err := parsePatterns(b, maxIgnorePatterns)
	if err != nil {
		return nil, err
	}
	if digest.Sum(b) == d {
		p.patterns.put(key, ps)
	}
	return ps, nil
}
