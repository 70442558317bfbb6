package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// node is one entry of a tree as the driver sees it.
type node struct {
	kind   byte // 'f', 'd' or 'l'
	mode   fs.FileMode
	digest zerosync.Digest
	target string
}

func (n node) String() string {
	switch n.kind {
	case 'd':
		return fmt.Sprintf("dir %v", n.mode)
	case 'l':
		return "-> " + n.target
	}
	return fmt.Sprintf("file %v %s", n.mode, n.digest.Short())
}

// view is one replica's tree: what is synced, the conflict copies, and
// the temp files, by path.
type view struct {
	tree   map[string]node
	copies map[string]zerosync.Digest
	temps  []string
}

// hasher hashes files, remembering the digests of files whose inode, size
// and times did not move since (and are more than a few seconds old, so a
// write within one tick of the clock cannot hide).
type hasher struct {
	cache map[string]hashed
}

type hashed struct {
	ino, size, mtime, ctime int64
	d                       zerosync.Digest
}

func newHasher() *hasher { return &hasher{cache: map[string]hashed{}} }

func (h *hasher) sum(p string) (zerosync.Digest, error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return zerosync.Digest{}, err
	}
	key := hashed{ino: int64(st.Ino), size: st.Size, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}
	if c, ok := h.cache[p]; ok && c.ino == key.ino && c.size == key.size && c.mtime == key.mtime && c.ctime == key.ctime {
		return c.d, nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return zerosync.Digest{}, err
	}
	key.d = digest.Sum(b)
	if time.Since(time.Unix(0, key.ctime)) > 3*time.Second {
		h.cache[p] = key
	}
	return key.d, nil
}

// look reads the tree of the replica at root, leaving out its .zerosync
// folder.
func look(root string, h *hasher) (view, error) {
	v := view{tree: map[string]node{}, copies: map[string]zerosync.Digest{}}
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		name := de.Name()
		switch {
		case name == zerosync.StateDirName:
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		case strings.HasPrefix(name, zerosync.TempPrefix):
			v.temps = append(v.temps, rel)
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		case strings.Contains(name, zerosync.ConflictMarker):
			if de.Type().IsRegular() {
				d, err := h.sum(p)
				if err != nil {
					return err
				}
				v.copies[rel] = d
			}
			return nil
		}
		info, err := de.Info()
		if err != nil {
			return err
		}
		switch {
		case de.IsDir():
			v.tree[rel] = node{kind: 'd', mode: info.Mode().Perm()}
		case de.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			v.tree[rel] = node{kind: 'l', target: t}
		case de.Type().IsRegular():
			d, err := h.sum(p)
			if err != nil {
				return err
			}
			v.tree[rel] = node{kind: 'f', mode: info.Mode().Perm(), digest: d}
		}
		return nil
	})
	return v, err
}

// stateFiles returns the digest of every regular file beneath root's
// .zerosync folder (the archive, and whatever else the library keeps
// there), and the temp files in it, by path relative to root.
func stateFiles(root string, h *hasher) (map[string]zerosync.Digest, []string, error) {
	out := map[string]zerosync.Digest{}
	var temps []string
	base := filepath.Join(root, zerosync.StateDirName)
	err := filepath.WalkDir(base, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			if p == base && os.IsNotExist(err) {
				return filepath.SkipDir
			}
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(de.Name(), zerosync.TempPrefix) {
			temps = append(temps, rel)
			return nil
		}
		if de.Type().IsRegular() {
			d, err := h.sum(p)
			if err != nil {
				return err
			}
			out[rel] = d
		}
		return nil
	})
	return out, temps, err
}

// sameTrees returns "" when every view holds the same tree as the first,
// and otherwise the first difference.
func sameTrees(views []view) string {
	for i := 1; i < len(views); i++ {
		a, b := views[0].tree, views[i].tree
		for p, n := range a {
			if m, ok := b[p]; !ok {
				return fmt.Sprintf("%q is %s on r0, absent on r%d", p, n, i)
			} else if m != n {
				return fmt.Sprintf("%q is %s on r0, %s on r%d", p, n, m, i)
			}
		}
		for p, m := range b {
			if _, ok := a[p]; !ok {
				return fmt.Sprintf("%q is absent on r0, %s on r%d", p, m, i)
			}
		}
	}
	return ""
}

// observe looks at every replica after a cycle: it records where each
// version is, and returns the files that hold content no one wrote (torn,
// mixed or made up), as findings.
func (m *model) observe(h *hasher) ([]view, []string, error) {
	views := make([]view, len(m.reps))
	var foreign []string
	for r, rep := range m.reps {
		v, err := look(rep.Root(), h)
		if err != nil {
			return nil, nil, fmt.Errorf("reading r%d: %w", r, err)
		}
		views[r] = v
		for p, n := range v.tree {
			if n.kind == 'f' {
				foreign = append(foreign, m.sighting(r, p, n.digest, true)...)
			}
		}
		for p, d := range v.copies {
			foreign = append(foreign, m.sighting(r, p, d, false)...)
		}
	}
	return views, foreign, nil
}

// sighting records that replica r holds digest d at p, in its tree or as
// a conflict copy.
func (m *model) sighting(r int, p string, d zerosync.Digest, inTree bool) []string {
	v := m.byDigest[d]
	if v == nil {
		return []string{fmt.Sprintf("r%d %q holds content no one wrote (%s) after sequence %d: torn, mixed or made up", r, p, d.Short(), m.seq)}
	}
	if !inTree {
		return nil
	}
	v.seen |= 1 << r
	v.holders |= 1 << r
	v.lastSeen = m.seq
	if r != v.author && v.elsewhere == 0 {
		v.elsewhere = m.seq
	}
	return nil
}

// kept returns every digest some replica keeps (its tree, its conflict
// copies, its .zerosync folder), and the findings: archived files that hold
// content no one wrote, and temp files in .zerosync.
func (m *model) kept(views []view, h *hasher) (map[zerosync.Digest]bool, []string, []string, error) {
	out := map[zerosync.Digest]bool{}
	var foreign, temps []string
	for r, rep := range m.reps {
		for _, n := range views[r].tree {
			if n.kind == 'f' {
				out[n.digest] = true
			}
		}
		for _, d := range views[r].copies {
			out[d] = true
		}
		files, t, err := stateFiles(rep.Root(), h)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("reading r%d: %w", r, err)
		}
		for _, p := range t {
			temps = append(temps, fmt.Sprintf("r%d %q", r, p))
		}
		for p, d := range files {
			out[d] = true
			// The library may keep files of its own there; one that starts
			// as a version does but is none is a torn or mixed copy.
			if m.byDigest[d] == nil && looksLikeVersion(filepath.Join(rep.Root(), filepath.FromSlash(p))) {
				foreign = append(foreign, fmt.Sprintf("r%d %q holds content no one wrote (%s): a torn copy of a version", r, p, d.Short()))
			}
		}
	}
	return out, foreign, temps, nil
}

// replicas names the replicas of a set (bit i for ri): "r1 and r2".
func replicas(set uint8) string {
	var names []string
	for r := range 8 {
		if set&(1<<r) != 0 {
			names = append(names, fmt.Sprintf("r%d", r))
		}
	}
	return strings.Join(names, " and ")
}

// lossKind says how a version came to be found nowhere.
type lossKind int

const (
	// neverSynced: no other replica's tree ever held it, so the engine
	// replaced or deleted content the other side never knew without
	// archiving it. Always a failure.
	neverSynced lossKind = iota
	// syncedReplaced: another replica's tree held it, then a change from
	// elsewhere replaced or deleted it everywhere. Without versioning the
	// engine keeps nothing of such a version.
	syncedReplaced
	// authorRemoved: its author removed or overwrote it after another
	// replica got it, and a replica whose person kept it lost it: the
	// removal (or the new version) travelled there without the engine
	// keeping the copy it removed or replaced. With versioning the
	// replicas keep what the engine removes.
	authorRemoved
)

// versionHead starts every version's content.
const versionHead = "soak version "

// looksLikeVersion reports whether the file at p starts as a version does.
func looksLikeVersion(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, len(versionHead))
	n, _ := f.Read(b)
	return string(b[:n]) == versionHead
}

// loss is a version found nowhere.
type loss struct {
	v    *version
	kind lossKind
	// last: it was the last version its author wrote at its path when it
	// was found missing.
	last bool
}

func (l loss) String() string {
	var kind string
	switch l.kind {
	case neverSynced:
		kind = "never synced anywhere: the engine must have archived it"
	case syncedReplaced:
		kind = fmt.Sprintf("synced (on another replica after sequence %d), then replaced or deleted without a kept version", l.v.elsewhere)
	case authorRemoved:
		kind = fmt.Sprintf("synced (on another replica after sequence %d), then removed by its author; %s held it and did not keep it when the removal reached it", l.v.elsewhere, replicas(l.v.holders&^(1<<l.v.author)))
	}
	which := "the last version its author wrote there"
	if !l.last {
		which = "an earlier version (its author wrote there again)"
	}
	seen := fmt.Sprintf("last seen in a tree after sequence %d", l.v.lastSeen)
	if l.v.lastSeen == 0 {
		seen = "never seen in a tree after a cycle"
	}
	return fmt.Sprintf("%s, %s; %s, found missing after sequence %d; %s", l.v, which, seen, l.v.lost, kind)
}

// lose finds the versions no replica keeps any more, and returns those
// newly lost. A version is not owed when the person of every replica that
// held it removed or overwrote it there (its author before any other
// replica had it, or each replica's person their own copy): no engine
// replaced or removed it anywhere, so there was nothing to keep.
func (m *model) lose(kept map[zerosync.Digest]bool) []loss {
	var out []loss
	for _, v := range m.versions {
		if v.lost != 0 || kept[v.digest] || v.holders == 0 {
			continue
		}
		v.lost = m.seq
		l := loss{v: v, kind: neverSynced, last: v.last}
		switch {
		case v.destroyed:
			l.kind = authorRemoved
		case v.elsewhere != 0:
			l.kind = syncedReplaced
		}
		out = append(out, l)
	}
	return out
}
