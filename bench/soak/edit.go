package main

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine/enginetest"
	"github.com/zerosync/zerosync/internal/digest"
)

// The paths a person edits: few enough that edits collide often. Files
// named big* are mostly large, so updates travel as deltas and a cut can
// land in the middle of one.
var (
	dirNames  = []string{"d", "d/e", "f"}
	fileNames = []string{"a", "b", "d/a", "d/c", "d/e/a", "f/x", "big", "d/big"}
	// moveNames are only ever reached by a rename (and left by one, or
	// removed).
	moveNames = []string{"g", "d/g", "f/g/h"}
	anyNames  = slices.Concat(fileNames, dirNames, moveNames)
)

// version is one content a person wrote, with what the driver saw of it.
// Every content is unique (its first line names it), so a digest names one
// version.
type version struct {
	id     int
	digest zerosync.Digest
	size   int
	author int    // the replica where it was written
	path   string // where its author has it (renames move it)
	seq    int    // the sequence that wrote it
	// last: it is still the last version its author wrote at path (a
	// later write there makes it an earlier version).
	last bool
	// destroyed: its author removed or overwrote it while holding it: a
	// person's choice, not a loss.
	destroyed bool
	// holders is the set of replicas (bit i for ri) that hold it as far as
	// the driver knows: its author from the write, and every replica whose
	// tree held it after a cycle. A replica leaves the set when its person
	// removes or overwrites it there; the engine removing or replacing it
	// does not, since the engine must keep what it replaces. A version
	// whose every holder's person removed it is gone by their choice.
	holders uint8
	// seen is the set of replicas whose tree held it (bit i for ri), as
	// observed after each cycle; elsewhere is the first sequence after which
	// a replica other than its author held it (0: never), lastSeen the last
	// sequence after which any tree held it.
	seen      uint8
	elsewhere int
	lastSeen  int
	// lost is the sequence after which a check found it nowhere (0: not
	// lost).
	lost int
}

func (v *version) String() string {
	return fmt.Sprintf("v%d (%s, %d bytes, written on r%d at %q in sequence %d)", v.id, v.digest.Short(), v.size, v.author, v.path, v.seq)
}

// model is the person's side of the replicas: the edits, and the record of
// every version written.
type model struct {
	rng      *rand.Rand
	reps     []*enginetest.Dir
	seq      int
	versions []*version
	byDigest map[zerosync.Digest]*version
	// lastAt is the last version each replica's person wrote at a path.
	lastAt map[loc]*version
	ops    map[string]int
	// written counts the bytes of every version written.
	written int64
	logf    func(format string, args ...any)
}

// loc is a path on one replica.
type loc struct {
	r    int
	path string
}

func newModel(rng *rand.Rand, reps []*enginetest.Dir, logf func(string, ...any)) *model {
	return &model{rng: rng, reps: reps, byDigest: map[zerosync.Digest]*version{}, lastAt: map[loc]*version{}, ops: map[string]int{}, logf: logf}
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// full returns the file-system path of p on replica r.
func (m *model) full(r int, p string) string {
	return filepath.Join(m.reps[r].Root(), filepath.FromSlash(p))
}

// kind returns what p is on replica r: 'f', 'd', 'l', or 0 when absent.
func (m *model) kind(r int, p string) byte {
	e := m.reps[r].Lstat(p)
	if e == nil {
		return 0
	}
	switch e.Kind {
	case zerosync.KindDir:
		return 'd'
	case zerosync.KindSymlink:
		return 'l'
	}
	return 'f'
}

// filesUnder returns the digest of every file at or beneath p on replica r,
// reserved names left out, by path.
func (m *model) filesUnder(r int, p string) map[string]zerosync.Digest {
	out := map[string]zerosync.Digest{}
	if m.reps[r].Lstat(p) == nil {
		return out
	}
	root := m.full(r, p)
	filepath.WalkDir(root, func(fp string, de fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(m.reps[r].Root(), fp)
		rel = filepath.ToSlash(rel)
		if zerosync.IsReserved(rel) {
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if de.Type().IsRegular() {
			if b, err := os.ReadFile(fp); err == nil {
				out[rel] = digest.Sum(b)
			}
		}
		return nil
	})
	return out
}

// destroy records that replica r's person removes or overwrites whatever is
// at or beneath p: the versions there are gone from r by their choice, and
// those they wrote themselves are destroyed.
func (m *model) destroy(r int, p string) {
	for _, d := range m.filesUnder(r, p) {
		if v := m.byDigest[d]; v != nil {
			if v.holders&(1<<r) != 0 && v.author != r {
				m.logf("    r%d's person removes their copy of v%d (written on r%d)", r, v.id, v.author)
			}
			v.holders &^= 1 << r
			if v.author == r {
				v.destroyed = true
			}
		}
	}
}

// write writes a new version at p on replica r, creating parents; false
// when the write is refused (p is a directory, a parent is a file).
func (m *model) write(r int, p string) bool {
	if m.kind(r, p) == 'd' {
		return false
	}
	for q := zerosync.Parent(p); q != ""; q = zerosync.Parent(q) {
		if k := m.kind(r, q); k != 0 && k != 'd' {
			return false
		}
	}
	data := m.content(r, p)
	m.destroy(r, p)
	mode := pick(m.rng, []fs.FileMode{0o644, 0o644, 0o600, 0o755})
	if err := m.reps[r].WriteFile(p, data, mode); err != nil {
		m.logf("    r%d write %s refused: %v", r, p, err)
		return false
	}
	v := &version{id: len(m.versions) + 1, digest: digest.Sum(data), size: len(data), author: r, path: p, seq: m.seq, last: true, holders: 1 << r}
	if old := m.lastAt[loc{r, p}]; old != nil {
		old.last = false
	}
	m.lastAt[loc{r, p}] = v
	m.versions = append(m.versions, v)
	m.byDigest[v.digest] = v
	m.written += int64(v.size)
	m.logf("    r%d write %s v%d (%d bytes, %s)", r, p, v.id, v.size, v.digest.Short())
	return true
}

// content returns the bytes of the next version, written on replica r at
// p. Its first line names it. Large ones are edits of what r holds at p
// when that is large too, so they travel as deltas.
func (m *model) content(r int, p string) []byte {
	head := fmt.Sprintf("%s%d by r%d at %s\n", versionHead, len(m.versions)+1, r, p)
	big := strings.HasPrefix(path.Base(p), "big") && m.rng.IntN(3) > 0 || m.rng.IntN(50) == 0
	if !big {
		b := []byte(head)
		for range m.rng.IntN(300) {
			b = append(b, byte('a'+m.rng.IntN(26)))
		}
		return b
	}
	size := 130<<10 + m.rng.IntN(170<<10)
	var body []byte
	if old, err := os.ReadFile(m.full(r, p)); err == nil && len(old) > 64<<10 {
		if i := strings.IndexByte(string(old[:min(len(old), 256)]), '\n'); i >= 0 {
			old = old[i+1:]
		}
		body = old[:min(len(old), size)]
	}
	for len(body) < size {
		body = binary.LittleEndian.AppendUint64(body, m.rng.Uint64())
	}
	body = body[:size]
	for range 1 + m.rng.IntN(4) {
		at, n := m.rng.IntN(size), 1+m.rng.IntN(2000)
		for i := at; i < min(at+n, size); i++ {
			body[i] = byte(m.rng.Uint32())
		}
	}
	return append([]byte(head), body...)
}

// moved records that replica r's person moved from to to: the versions they
// wrote that moved with it are now at to.
func (m *model) moved(r int, from, to string) {
	for l, v := range m.lastAt {
		if l.r != r || !(l.path == from || strings.HasPrefix(l.path, from+"/")) {
			continue
		}
		np := to + strings.TrimPrefix(l.path, from)
		if got := m.filesUnder(r, np)[np]; got != v.digest {
			continue // the engine had replaced it: it stays owed where it was
		}
		delete(m.lastAt, l)
		if old := m.lastAt[loc{r, np}]; old != nil {
			old.last = false
		}
		v.path = np
		m.lastAt[loc{r, np}] = v
	}
}

// free returns a name that is absent on replica r, when one of a few tries
// finds one.
func (m *model) free(r int) string {
	var p string
	for range 4 {
		if p = pick(m.rng, anyNames); m.kind(r, p) == 0 {
			break
		}
	}
	return p
}

// present returns a name that is present on replica r, when one of a few
// tries finds one.
func (m *model) present(r int) string {
	var p string
	for range 4 {
		if p = pick(m.rng, anyNames); m.kind(r, p) != 0 {
			break
		}
	}
	return p
}

// edit makes one random change on a random replica, as a person would; one
// in six is a pair of edits of the same path on two replicas. An edit the
// tree refuses (a rename onto an existing path, a write beneath a file) is a
// person's failed command: nothing changes.
func (m *model) edit() {
	r := m.rng.IntN(len(m.reps))
	if m.rng.IntN(6) == 0 {
		m.concurrent(r)
		return
	}
	rep := m.reps[r]
	switch op := m.rng.IntN(20); {
	case op < 8: // create or modify a file
		if m.write(r, pick(m.rng, fileNames)) {
			m.ops["write"]++
		}
	case op < 10: // delete a file or a tree
		p := pick(m.rng, anyNames)
		m.destroy(r, p)
		if rep.Remove(p) == nil {
			m.ops["remove"]++
			m.logf("    r%d rm -rf %s", r, p)
		}
	case op < 12: // rename, mostly to a free name
		from, to := m.present(r), m.free(r)
		if rep.Rename(from, to) == nil {
			m.moved(r, from, to)
			m.ops["rename"]++
			m.logf("    r%d mv %s %s", r, from, to)
		}
	case op < 13: // mkdir
		p := pick(m.rng, dirNames)
		if m.kind(r, p) == 0 && rep.Mkdir(p, 0o755) == nil {
			m.ops["mkdir"]++
			m.logf("    r%d mkdir %s", r, p)
		}
	case op < 14: // a file becomes a directory
		p := pick(m.rng, fileNames)
		if m.kind(r, p) == 'f' {
			m.destroy(r, p)
			rep.Remove(p)
			m.write(r, p+"/in")
			m.ops["file to dir"]++
			m.logf("    r%d file->dir %s", r, p)
		}
	case op < 15: // a directory becomes a file
		p := pick(m.rng, dirNames)
		if m.kind(r, p) == 'd' {
			m.destroy(r, p)
			rep.Remove(p)
			m.write(r, p)
			m.ops["dir to file"]++
			m.logf("    r%d dir->file %s", r, p)
		}
	case op < 17: // chmod
		p := pick(m.rng, anyNames)
		mode := pick(m.rng, []fs.FileMode{0o644, 0o755, 0o600, 0o700})
		if rep.Chmod(p, mode) == nil {
			m.ops["chmod"]++
			m.logf("    r%d chmod %v %s", r, mode, p)
		}
	case op < 18: // a symlink, in place of whatever was there
		p := pick(m.rng, anyNames)
		m.destroy(r, p)
		rep.Remove(p)
		target := pick(m.rng, []string{"a", "../t0", "d/nowhere"})
		if rep.Symlink(target, p) == nil {
			m.ops["symlink"]++
			m.logf("    r%d ln -s %s %s", r, target, p)
		}
	default: // an edit of a file in a large file's place, and the reverse
		p := pick(m.rng, []string{"big", "d/big", "a"})
		if m.write(r, p) {
			m.ops["write"]++
		}
	}
}

// concurrent edits one path on replica r and on another replica before
// either is synced: both write it, or one writes and the other deletes or
// renames it.
func (m *model) concurrent(r int) {
	o := (r + 1 + m.rng.IntN(len(m.reps)-1)) % len(m.reps)
	p := pick(m.rng, fileNames)
	m.logf("    concurrent edits of %s on r%d and r%d:", p, r, o)
	ok := m.write(r, p)
	switch m.rng.IntN(4) {
	case 0:
		m.destroy(o, p)
		ok = m.reps[o].Remove(p) == nil && ok
		m.logf("    r%d rm -rf %s", o, p)
	case 1:
		to := m.free(o)
		if m.reps[o].Rename(p, to) == nil {
			m.moved(o, p, to)
			m.logf("    r%d mv %s %s", o, p, to)
		}
	default:
		ok = m.write(o, p) && ok
	}
	if ok {
		m.ops["concurrent"]++
	}
}
