package gitaware

import (
	"slices"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// hnode is a directory of the history's tree, in memory: a changed path
// rewrites only the tree objects of its directories.
type hnode struct {
	entries map[string]*hentry
	hash    plumbing.Hash // of the tree object; zero when it must be written
}

// hentry is a file (or symlink) with its blob, or a directory.
type hentry struct {
	mode filemode.FileMode
	hash plumbing.Hash
	dir  *hnode
}

func newHnode() *hnode { return &hnode{entries: map[string]*hentry{}} }

// loadHnode reads a tree object and everything beneath it.
func loadHnode(t *object.Tree) (*hnode, error) {
	n := &hnode{entries: make(map[string]*hentry, len(t.Entries)), hash: t.Hash}
	for _, e := range t.Entries {
		if e.Mode == filemode.Dir {
			sub, err := t.Tree(e.Name)
			if err != nil {
				return nil, err
			}
			d, err := loadHnode(sub)
			if err != nil {
				return nil, err
			}
			n.entries[e.Name] = &hentry{mode: filemode.Dir, dir: d}
			continue
		}
		n.entries[e.Name] = &hentry{mode: e.Mode, hash: e.Hash}
	}
	return n, nil
}

// set records a file at p and returns a line for the commit message, or ""
// when p already held it.
func (n *hnode) set(p string, mode filemode.FileMode, hash plumbing.Hash) string {
	parts := strings.Split(p, "/")
	cur := n
	path := []*hnode{n}
	for _, name := range parts[:len(parts)-1] {
		e := cur.entries[name]
		if e == nil || e.dir == nil {
			e = &hentry{mode: filemode.Dir, dir: newHnode()}
			cur.entries[name] = e
		}
		cur = e.dir
		path = append(path, cur)
	}
	last := parts[len(parts)-1]
	old := cur.entries[last]
	if old != nil && old.dir == nil && old.mode == mode && old.hash == hash {
		return ""
	}
	cur.entries[last] = &hentry{mode: mode, hash: hash}
	for _, d := range path {
		d.hash = plumbing.ZeroHash
	}
	if old == nil {
		return "A " + p
	}
	return "M " + p
}

// remove forgets p (and, for a directory, everything beneath it) and
// returns a line for the commit message, or "" when p was not there.
// Directories left empty go too.
func (n *hnode) remove(p string) string {
	parts := strings.Split(p, "/")
	path := []*hnode{n}
	cur := n
	for _, name := range parts[:len(parts)-1] {
		e := cur.entries[name]
		if e == nil || e.dir == nil {
			return ""
		}
		cur = e.dir
		path = append(path, cur)
	}
	if _, ok := cur.entries[parts[len(parts)-1]]; !ok {
		return ""
	}
	delete(cur.entries, parts[len(parts)-1])
	for i := len(path) - 1; i >= 0; i-- {
		path[i].hash = plumbing.ZeroHash
		if i > 0 && len(path[i].entries) == 0 {
			delete(path[i-1].entries, parts[i-1])
		}
	}
	return "D " + p
}

// write stores the tree objects that changed and returns the root's hash.
func (n *hnode) write(r *git.Repository) (plumbing.Hash, error) {
	if !n.hash.IsZero() {
		return n.hash, nil
	}
	t := &object.Tree{}
	for name, e := range n.entries {
		te := object.TreeEntry{Name: name, Mode: e.mode, Hash: e.hash}
		if e.dir != nil {
			h, err := e.dir.write(r)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			te.Mode, te.Hash = filemode.Dir, h
		}
		t.Entries = append(t.Entries, te)
	}
	// Git orders a tree's entries by name, a directory's name as if it
	// ended in a slash.
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	slices.SortFunc(t.Entries, func(a, b object.TreeEntry) int { return strings.Compare(key(a), key(b)) })
	obj := r.Storer.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	h, err := r.Storer.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	n.hash = h
	return h, nil
}
