package gitaware

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"
)

// gitDirName is the name of a repository's metadata: a directory, or in a
// linked worktree or a submodule a file naming the directory.
const gitDirName = ".git"

// isGitName reports whether a path component names repository metadata.
// Case variants are refused too, as git itself refuses them in trees.
func isGitName(name string) bool { return strings.EqualFold(name, gitDirName) }

// hasGitComponent reports whether any component of p names repository
// metadata: such a path is never synced.
func hasGitComponent(p string) bool {
	start := 0
	for i := 0; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		if i-start == 4 && isGitName(p[start:i]) {
			return true
		}
		start = i + 1
	}
	return false
}

// endsInGit reports whether the last component of p names repository
// metadata.
func endsInGit(p string) bool {
	n := len(p)
	return n >= 4 && (n == 4 || p[n-5] == '/') && isGitName(p[n-4:])
}

// location is where a repository's metadata lives on this host.
type location struct {
	work     string // absolute worktree directory
	gitDir   string // the .git directory, or a linked worktree's own one
	common   string // objects, refs, config, info: gitDir unless a worktree
	worktree bool   // a linked worktree of another repository
}

// locate finds the repository whose worktree is work; ok is false when work
// holds no .git.
func locate(work string) (loc location, ok bool, err error) {
	dotGit := filepath.Join(work, gitDirName)
	st, err := os.Lstat(dotGit)
	if errors.Is(err, fs.ErrNotExist) {
		return loc, false, nil
	}
	if err != nil {
		return loc, false, err
	}
	loc.work = work
	switch {
	case st.IsDir():
		loc.gitDir = dotGit
	case st.Mode().IsRegular():
		b, err := os.ReadFile(dotGit)
		if err != nil {
			return loc, true, err
		}
		line, _, _ := strings.Cut(string(b), "\n")
		dir, found := strings.CutPrefix(strings.TrimSpace(line), "gitdir:")
		dir = strings.TrimSpace(dir)
		if !found || dir == "" {
			return loc, true, fmt.Errorf("%s: not a gitdir file", dotGit)
		}
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(work, dir)
		}
		loc.gitDir = filepath.Clean(dir)
	default:
		return loc, true, fmt.Errorf("%s is a %v, not a directory or a gitdir file", dotGit, st.Mode().Type())
	}
	loc.common = loc.gitDir
	if b, err := os.ReadFile(filepath.Join(loc.gitDir, "commondir")); err == nil {
		c := strings.TrimSpace(string(b))
		if !filepath.IsAbs(c) {
			c = filepath.Join(loc.gitDir, c)
		}
		loc.common, loc.worktree = filepath.Clean(c), true
	} else if !errors.Is(err, fs.ErrNotExist) {
		return loc, true, err
	}
	return loc, true, nil
}

// open returns a go-git repository over loc. The caller holds loc's lock
// while using it, and drops it after the cycle: a repository is opened
// afresh each cycle, so packs fetched in between are seen.
func (loc location) open() (*git.Repository, error) {
	var rfs = osfs.New(loc.gitDir)
	if loc.common != loc.gitDir {
		rfs = dotgit.NewRepositoryFilesystem(osfs.New(loc.gitDir), osfs.New(loc.common))
	}
	st := filesystem.NewStorage(rfs, cache.NewObjectLRU(4*cache.MiByte))
	return git.Open(st, nil)
}

// operations are the markers git leaves in a repository's own directory
// while an operation waits for a person, in the order they are reported.
var operations = []struct{ file, name, finish string }{
	{"rebase-merge", "rebase", "git rebase --continue or --abort"},
	{"rebase-apply", "rebase or am", "git rebase --continue or --abort (git am --continue or --abort)"},
	{"MERGE_HEAD", "merge", "commit or git merge --abort"},
	{"CHERRY_PICK_HEAD", "cherry-pick", "git cherry-pick --continue or --abort"},
	{"REVERT_HEAD", "revert", "git revert --continue or --abort"},
	{"sequencer", "cherry-pick or revert", "git cherry-pick --continue or --abort"},
	{"BISECT_LOG", "bisect", "git bisect reset"},
}

// operation returns the operation under way in the repository, if any, and
// how to finish it.
func (loc location) operation() (name, finish string, err error) {
	for _, op := range operations {
		_, err := os.Lstat(filepath.Join(loc.gitDir, op.file))
		if err == nil {
			return op.name, op.finish, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", "", err
		}
	}
	return "", "", nil
}

// head is a repository's HEAD.
type head struct {
	hash   plumbing.Hash // zero before the first commit
	branch string        // short branch name; empty when detached
}

// public returns the head as [Head].
func (h head) public() Head {
	out := Head{Branch: h.branch}
	if !h.hash.IsZero() {
		out.Commit = h.hash.String()
	}
	return out
}

// String describes the head for people, as [Head.String].
func (h head) String() string { return h.public().String() }

// readHead returns the HEAD of r.
func readHead(r *git.Repository) (head, error) {
	var h head
	ref, err := r.Storer.Reference(plumbing.HEAD)
	if err != nil {
		return h, fmt.Errorf("read HEAD: %w", err)
	}
	if ref.Type() == plumbing.SymbolicReference {
		h.branch = ref.Target().Short()
	}
	res, err := r.Reference(plumbing.HEAD, true)
	switch {
	case errors.Is(err, plumbing.ErrReferenceNotFound):
		return h, nil // unborn branch
	case err != nil:
		return h, fmt.Errorf("resolve HEAD: %w", err)
	}
	h.hash = res.Hash()
	return h, nil
}

// tracked is what a repository's index says, read once per change of the
// index file.
type tracked struct {
	entries  map[string]*index.Entry // by path relative to the worktree
	gitlinks []string                // submodule paths, sorted
	mtime    time.Time               // of the index file: racy-clean limit
	// missing: the repository has no index file (yet): a fresh
	// repository, or a clone whose checkout has not written it.
	missing bool
}

// has reports whether rel is tracked.
func (t *tracked) has(rel string) bool {
	_, ok := t.entries[rel]
	return ok
}

// inGitlink reports whether rel is a submodule or lies beneath one.
func (t *tracked) inGitlink(rel string) bool {
	for _, g := range t.gitlinks {
		if rel == g || (len(rel) > len(g) && rel[len(g)] == '/' && rel[:len(g)] == g) {
			return true
		}
	}
	return false
}

// indexKey identifies one version of an index file.
type indexKey struct {
	path      string
	size      int64
	mtime     int64
	ino, ctim uint64
}

// indexCache keeps decoded index files, by file version.
type indexCache struct {
	mu sync.Mutex
	m  map[string]cachedIndex
}

type cachedIndex struct {
	key indexKey
	t   *tracked
}

// read returns the index of the repository at loc.
func (c *indexCache) read(loc location) (*tracked, error) {
	file := filepath.Join(loc.gitDir, "index")
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return &tracked{entries: map[string]*index.Entry{}, missing: true}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	key := statKey(file, st)
	c.mu.Lock()
	if ci, ok := c.m[file]; ok && ci.key == key {
		c.mu.Unlock()
		return ci.t, nil
	}
	c.mu.Unlock()

	var idx index.Index
	if err := index.NewDecoder(bufio.NewReaderSize(f, 1<<16)).Decode(&idx); err != nil {
		return nil, fmt.Errorf("read index %s: %w", file, err)
	}
	t := &tracked{entries: make(map[string]*index.Entry, len(idx.Entries)), mtime: st.ModTime()}
	for _, e := range idx.Entries {
		if e.Mode == filemode.Submodule {
			t.gitlinks = append(t.gitlinks, e.Name)
		}
		t.entries[e.Name] = e
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]cachedIndex{}
	}
	c.m[file] = cachedIndex{key: key, t: t}
	c.mu.Unlock()
	return t, nil
}

// repoConfig is what the classification needs from a repository's config.
type repoConfig struct {
	fileMode     bool   // core.fileMode: the executable bit counts
	excludesFile string // core.excludesFile, "" when unset
}

// readConfig reads the settings of r that classification honours.
func readConfig(r *git.Repository) (repoConfig, error) {
	rc := repoConfig{fileMode: true}
	cfg, err := r.Config()
	if err != nil {
		return rc, fmt.Errorf("read config: %w", err)
	}
	core := cfg.Raw.Section("core")
	if v := core.Option("filemode"); v != "" {
		rc.fileMode = parseBool(v, true)
	}
	rc.excludesFile = core.Option("excludesfile")
	return rc, nil
}

// parseBool reads a git boolean.
func parseBool(v string, def bool) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "on", "1":
		return true
	case "false", "no", "off", "0", "":
		return false
	}
	return def
}

// expandHome replaces a leading "~/" with the user's home directory.
func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}

// statKey identifies the version of file that st describes: size, times and
// inode, so a rewrite within one clock tick is still seen.
func statKey(file string, st fs.FileInfo) indexKey {
	k := indexKey{path: file, size: st.Size(), mtime: st.ModTime().UnixNano()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		k.ino = sys.Ino
		k.ctim = uint64(sys.Ctim.Sec)*1e9 + uint64(sys.Ctim.Nsec)
	}
	return k
}
