package enginetest

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// newTestDir returns a directory replica on a fresh directory beneath a
// parent that also holds t0, the target some symlinks name.
func newTestDir(t *testing.T) *Dir {
	t.Helper()
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(parent, "t0"), 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := NewDir(root, Local())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDirActsLikeMemory: random person edits on a directory replica and a
// memory replica succeed or fail together and leave the same contents and
// entries, so the property test means the same on both; no edit reaches
// outside the directory through a symlink.
func TestDirActsLikeMemory(t *testing.T) {
	paths := append(append([]string{}, fileNames...), dirNames...)
	paths = append(paths, "d/e/a/z", "t", "t/in")
	for seed := range uint64(50) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			d, m := newTestDir(t), NewMemory("m")
			outside := filepath.Join(filepath.Dir(d.Root()), "t0")
			var log []string
			for step := range 200 {
				p, q := pick(rng, paths), pick(rng, paths)
				var what string
				var ed, em error
				switch rng.IntN(7) {
				case 0:
					c := []byte(fmt.Sprint("c", step))
					what, ed, em = "write "+p, d.WriteFile(p, c, 0o640), m.WriteFile(p, c, 0o640)
				case 1:
					what, ed, em = "mkdir "+p, d.Mkdir(p, 0o750), m.Mkdir(p, 0o750)
				case 2:
					target := pick(rng, []string{"../t0", "../../t0", "x"})
					what, ed, em = "symlink "+p, d.Symlink(target, p), m.Symlink(target, p)
				case 3:
					what, ed, em = "rm "+p, d.Remove(p), m.Remove(p)
				case 4:
					what, ed, em = "mv "+p+" "+q, d.Rename(p, q), m.Rename(p, q)
				case 5:
					what, ed, em = "chmod "+p, d.Chmod(p, 0o700), m.Chmod(p, 0o700)
				case 6:
					what = "lstat " + p
					de, me := d.Lstat(p), m.Lstat(p)
					if (de == nil) != (me == nil) || de != nil && !de.Same(me) {
						t.Fatalf("%s: dir %v, memory %v\n%v", what, de, me, log)
					}
				}
				log = append(log, what)
				if (ed == nil) != (em == nil) {
					t.Fatalf("%s: dir %v, memory %v\n%v", what, ed, em, log)
				}
				if dc, mc := d.Contents(), m.Contents(); !maps.Equal(dc, mc) {
					t.Fatalf("after %s:\ndir    %v\nmemory %v\n%v", what, dc, mc, log)
				}
			}
			if ents, err := os.ReadDir(outside); err != nil || len(ents) != 0 {
				t.Fatalf("an edit went through a symlink: %v %v", ents, err)
			}
		})
	}
}

// TestDirArchived: the archive and conflict copies anywhere in the tree
// count as kept; reserved names are not contents.
func TestDirArchived(t *testing.T) {
	d := newTestDir(t)
	files := map[string]string{
		".zerosync/archive/20260101T000000.000000000Z/d/a": "archived",
		"d/a.zs-conflict-20260101-000000.000-r1":           "conflict copy",
		"d/a":                                              "live",
		".zerosync/statcache":                              "not kept",
		"d/.zs-tmp-123":                                    "temp",
		".zerosync/other/a.zs-note-1":                      "not kept",
	}
	for p, c := range files {
		full := filepath.Join(d.Root(), p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, b := range d.Archived() {
		got = append(got, string(b))
	}
	slices.Sort(got)
	if want := []string{"archived", "conflict copy"}; !slices.Equal(got, want) {
		t.Errorf("Archived() = %q, want %q", got, want)
	}
	if got, want := d.Contents(), map[string]string{"d": "/", "d/a": "live"}; !maps.Equal(got, want) {
		t.Errorf("Contents() = %v, want %v", got, want)
	}
}

// TestNewDirValidates: a missing root, a file and a nil opener are refused.
func TestNewDirValidates(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"missing": func() error { _, err := NewDir(filepath.Join(dir, "nope"), Local()); return err }(),
		"file":    func() error { _, err := NewDir(file, Local()); return err }(),
		"opener":  func() error { _, err := NewDir(dir, nil); return err }(),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := NewDir(dir, Local()); err != nil {
		t.Errorf("a directory: %v", err)
	}
}
