//go:build linux

package local

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func readVersion(t *testing.T, e *Endpoint, id string) []byte {
	t.Helper()
	rc, err := e.OpenVersion(t.Context(), id)
	must(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	must(t, err)
	return b
}

// replace writes data over p through Apply, archiving what was there.
func replace(t *testing.T, e *Endpoint, p string, data []byte) {
	t.Helper()
	s := scanOK(t, e)
	must(t, e.Apply(t.Context(), zerosync.Op{Path: p, Old: s.Get(p), New: fileEntry(data, 0o640), Archive: true}, bytes.NewReader(data)))
}

func TestVersionsListAndOpen(t *testing.T) {
	e, root := newEndpoint(t)
	writeFile(t, filepath.Join(root, "d", "f"), []byte("v1"), 0o600)
	replace(t, e, "d/f", []byte("v2"))
	replace(t, e, "d/f", []byte("v3"))
	s := scanOK(t, e)
	must(t, e.Apply(t.Context(), zerosync.Op{Path: "d/f", Old: s.Get("d/f"), Archive: true}, nil))
	writeFile(t, filepath.Join(root, "g"), []byte("mine"), 0o644)
	theirs := []byte("theirs")
	_, err := e.KeepConflict(t.Context(), "g", *fileEntry(theirs, 0o644), bytes.NewReader(theirs), "b")
	must(t, err)

	vs, err := e.Versions(t.Context(), "d/f")
	must(t, err)
	if len(vs) != 3 {
		t.Fatalf("versions of d/f: %+v, want 3", vs)
	}
	want := []struct {
		data   string
		reason zerosync.ArchiveReason
	}{{"v3", zerosync.ReasonRemoved}, {"v2", zerosync.ReasonReplaced}, {"v1", zerosync.ReasonReplaced}}
	for i, v := range vs {
		if err := zerosync.CheckVersionID(v.ID); err != nil {
			t.Fatal(err)
		}
		if got := readVersion(t, e, v.ID); string(got) != want[i].data || v.Reason != want[i].reason || v.Size != int64(len(got)) || v.Path != "d/f" {
			t.Errorf("version %d: %+v holds %q, want %q %s", i, v, got, want[i].data, want[i].reason)
		}
		if i > 0 && v.Time.After(vs[i-1].Time) {
			t.Errorf("versions not newest first: %+v", vs)
		}
	}
	if vs[2].Mode != 0o600 {
		t.Errorf("first version has mode %v, want 0600", vs[2].Mode)
	}
	all, err := e.Versions(t.Context(), "")
	must(t, err)
	if len(all) != 4 || all[0].Path != "g" || all[0].Reason != zerosync.ReasonConflict {
		t.Fatalf("all versions: %+v", all)
	}
	if got := readVersion(t, e, all[0].ID); string(got) != "theirs" {
		t.Fatalf("conflict version holds %q", got)
	}
	if _, err := e.Versions(t.Context(), "../x"); !errors.Is(err, zerosync.ErrInvalidPath) {
		t.Fatalf("Versions(../x): %v", err)
	}
	if vs, err := e.Versions(t.Context(), "never"); err != nil || len(vs) != 0 {
		t.Fatalf("Versions(never) = %v, %v", vs, err)
	}
}

func TestVersionsOfAnEmptyArchive(t *testing.T) {
	e, root := newEndpoint(t)
	vs, err := e.Versions(t.Context(), "")
	if err != nil || len(vs) != 0 {
		t.Fatalf("Versions = %v, %v", vs, err)
	}
	if _, err := os.Stat(filepath.Join(root, ".zerosync")); !os.IsNotExist(err) {
		t.Fatalf("listing made the state folder: %v", err)
	}
	if _, err := e.OpenVersion(t.Context(), "20260101T000000.000000000Z-replaced"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenVersion in an empty archive: %v", err)
	}
}

// TestOpenVersionRefusesForeignIDs: an ID from a person or a peer reads
// nothing outside the archive, whatever it says.
func TestOpenVersionRefusesForeignIDs(t *testing.T) {
	e, root := newEndpoint(t)
	writeFile(t, filepath.Join(root, "f"), []byte("v1"), 0o644)
	replace(t, e, "f", []byte("v2"))
	outside := filepath.Join(filepath.Dir(root), "secret")
	writeFile(t, outside, []byte("secret"), 0o644)
	arch := filepath.Join(root, ".zerosync", "archive")
	// A folder that looks like a version but is a symlink out of the root.
	must(t, os.Symlink(filepath.Dir(root), filepath.Join(arch, "20250101T000000.000000000Z-replaced")))
	// A folder holding a symlink to the secret.
	must(t, os.MkdirAll(filepath.Join(arch, "20250102T000000.000000000Z-removed"), 0o700))
	must(t, os.Symlink(outside, filepath.Join(arch, "20250102T000000.000000000Z-removed", "secret")))
	for _, id := range []string{
		"", ".", "..", "../secret", "/etc/passwd", "f", "x/../../secret", "20250101T000000.000000000Z-replaced/secret",
		"20250101T000000.000000000Z-replaced", "20250102T000000.000000000Z-removed", "20250101T000000.000000000Z-bogus",
		"20250101T000000.000000000Z-replaced~../../x", "20250101T000000.000000000Z-replaced~0123456789ab", "-rf", "a\x00b",
		string(bytes.Repeat([]byte("9"), 200)),
	} {
		rc, err := e.OpenVersion(t.Context(), id)
		if err == nil {
			b, _ := io.ReadAll(rc)
			rc.Close()
			t.Errorf("OpenVersion(%q) read %q", id, b)
		}
	}
	vs, err := e.Versions(t.Context(), "")
	must(t, err)
	if len(vs) != 1 || vs[0].Path != "f" {
		t.Fatalf("planted entries listed as versions: %+v", vs)
	}
}

func TestOlderArchiveFoldersAreVersions(t *testing.T) {
	e, root := newEndpoint(t)
	arch := filepath.Join(root, ".zerosync", "archive")
	// A release before versioning: <stamp>/<path>, several paths per folder.
	writeFile(t, filepath.Join(arch, "20250101T000000.000000000Z", "a"), []byte("old a"), 0o644)
	writeFile(t, filepath.Join(arch, "20250101T000000.000000000Z", "d", "b"), []byte("old b"), 0o644)
	writeFile(t, filepath.Join(arch, "20250101T000000.000000000Z-1", "a"), []byte("older a"), 0o644)
	vs, err := e.Versions(t.Context(), "")
	must(t, err)
	if len(vs) != 3 {
		t.Fatalf("versions: %+v", vs)
	}
	got := map[string]string{}
	for _, v := range vs {
		if v.Reason != "" {
			t.Errorf("%+v: an old folder records no reason", v)
		}
		got[v.Path+" "+string(readVersion(t, e, v.ID))] = v.ID
	}
	for _, k := range []string{"a old a", "d/b old b", "a older a"} {
		if _, ok := got[k]; !ok {
			t.Errorf("no version %q in %v", k, got)
		}
	}
}

// TestPruneByPolicy: versions thin out as they age, by the endpoint's
// retention, on a fake clock.
func TestPruneByPolicy(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	r := zerosync.Retention{Steps: []zerosync.RetentionStep{{Age: time.Hour, Every: time.Hour}}, MaxAge: 4 * time.Hour}
	e, root := newEndpoint(t, WithRetention(r))
	e.now = clock.now
	writeFile(t, filepath.Join(root, "f"), []byte("v0"), 0o644)
	// A version every 10 minutes for 5 hours (30 of them); archiving
	// prunes as it goes, at most once a minute.
	for i := 1; i <= 30; i++ {
		clock.advance(10 * time.Minute)
		replace(t, e, "f", []byte{'v', byte('0' + i/10), byte('0' + i%10)})
	}
	vs, err := e.Versions(t.Context(), "f")
	must(t, err)
	// Now is 5h. Versions archived at 4h10 .. 5h00 are younger than an
	// hour: all kept (6). Older: one an hour from the oldest kept, at most
	// 4 hours old: 1h10, 2h10, 3h10 (3). The one of 0h10 grew too old.
	if len(vs) != 9 {
		t.Fatalf("%d versions after pruning: %+v", len(vs), vs)
	}
	for _, v := range vs {
		if age := clock.now().Sub(v.Time); age > 4*time.Hour {
			t.Errorf("version of age %v survived a maximum age of 4h", age)
		}
	}
	if got := readVersion(t, e, vs[0].ID); string(got) != "v29" {
		t.Fatalf("newest version holds %q", got)
	}

	// Much later: only the newest remains, whatever its age.
	clock.advance(100 * 24 * time.Hour)
	gone, err := e.PruneVersions(t.Context(), nil)
	must(t, err)
	if len(gone) != 8 {
		t.Fatalf("pruned %d, want 8", len(gone))
	}
	vs, err = e.Versions(t.Context(), "")
	must(t, err)
	if len(vs) != 1 || string(readVersion(t, e, vs[0].ID)) != "v29" {
		t.Fatalf("after a long time: %+v", vs)
	}
	// Pruned folders are gone from the disk too.
	left, err := os.ReadDir(filepath.Join(root, ".zerosync", "archive"))
	must(t, err)
	if len(left) != 1 {
		t.Fatalf("archive holds %d folders, want 1", len(left))
	}
}

// TestPruneHoldsConflicts: archiving prunes on its own but never a
// conflict's version; PruneVersions releases those not held.
func TestPruneHoldsConflicts(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	e, root := newEndpoint(t, WithRetention(zerosync.Retention{MaxPerPath: 1}))
	e.now = clock.now
	writeFile(t, filepath.Join(root, "g"), []byte("mine"), 0o644)
	for i := range 3 {
		clock.advance(2 * time.Minute)
		theirs := []byte{'t', byte('0' + i)}
		_, err := e.KeepConflict(t.Context(), "g", *fileEntry(theirs, 0o644), bytes.NewReader(theirs), "b")
		must(t, err)
	}
	clock.advance(2 * time.Minute)
	replace(t, e, "g", []byte("new"))
	vs, err := e.Versions(t.Context(), "g")
	must(t, err)
	if len(vs) != 4 {
		t.Fatalf("archiving pruned a conflict's version: %+v", vs)
	}
	hold := func(v zerosync.FileVersion) bool { return string(readVersion(t, e, v.ID)) == "t1" }
	gone, err := e.PruneVersions(t.Context(), hold)
	must(t, err)
	if len(gone) != 2 {
		t.Fatalf("pruned %+v, want t0 and t2", gone)
	}
	vs, err = e.Versions(t.Context(), "g")
	must(t, err)
	var left []string
	for _, v := range vs {
		left = append(left, string(readVersion(t, e, v.ID)))
	}
	if len(left) != 2 || left[0] != "mine" || left[1] != "t1" {
		t.Fatalf("left %q, want the newest and the held one", left)
	}
}

func TestRetentionOptionIsChecked(t *testing.T) {
	root := newRoot(t)
	if _, err := New(root, WithRetention(zerosync.Retention{MaxBytes: -1})); err == nil {
		t.Fatal("a negative size cap was accepted")
	}
}

// TestKeepConflictFailingArchiveLeavesNoCopy: a conflict copy that cannot
// be archived is not made, so retrying makes no pile of copies.
func TestKeepConflictFailingArchiveLeavesNoCopy(t *testing.T) {
	e, root := newEndpoint(t)
	writeFile(t, filepath.Join(root, "g"), []byte("mine"), 0o644)
	// The archive cannot be made: a file holds its place (read-only
	// folders do not stop root).
	writeFile(t, filepath.Join(root, ".zerosync", "archive"), []byte("in the way"), 0o644)
	theirs := []byte("theirs")
	for range 5 {
		if _, err := e.KeepConflict(t.Context(), "g", *fileEntry(theirs, 0o644), bytes.NewReader(theirs), "b"); err == nil {
			t.Fatal("KeepConflict succeeded without an archive")
		}
	}
	names, err := os.ReadDir(root)
	must(t, err)
	if len(names) != 2 {
		t.Fatalf("root holds %v, want g and the state folder only", names)
	}
	if left := tempFiles(t, root); len(left) != 0 {
		t.Fatalf("temp files left: %q", left)
	}
}

// FuzzOpenVersion feeds arbitrary version IDs to OpenVersion over an
// archive planted with symlinks that lead out of it: nothing outside the
// archive is ever read, and nothing panics.
func FuzzOpenVersion(f *testing.F) {
	for _, id := range []string{
		"", ".", "..", "../secret", "/etc/passwd", "20250101T000000.000000000Z-replaced",
		"20250102T000000.000000000Z-removed", "20250103T000000.000000000Z-conflict-1",
		"20250103T000000.000000000Z~0123456789ab", "20250101T000000.000000000Z-replaced/../../secret",
		"20250104T000000.000000000Z", "20250104T000000.000000000Z-7",
	} {
		f.Add(id)
	}
	top := f.TempDir()
	root := filepath.Join(top, "root")
	secret := filepath.Join(top, "secret")
	writeFile(f, secret, []byte("outside the archive"), 0o644)
	writeFile(f, filepath.Join(root, "f"), []byte("v1"), 0o644)
	arch := filepath.Join(root, ".zerosync", "archive")
	must(f, os.MkdirAll(arch, 0o700))
	must(f, os.Symlink(top, filepath.Join(arch, "20250101T000000.000000000Z-replaced")))
	must(f, os.MkdirAll(filepath.Join(arch, "20250102T000000.000000000Z-removed"), 0o700))
	must(f, os.Symlink(secret, filepath.Join(arch, "20250102T000000.000000000Z-removed", "f")))
	must(f, os.MkdirAll(filepath.Join(arch, "20250103T000000.000000000Z-conflict-1"), 0o700))
	must(f, os.Symlink(top, filepath.Join(arch, "20250103T000000.000000000Z-conflict-1", "d")))
	writeFile(f, filepath.Join(arch, "20250104T000000.000000000Z", "f"), []byte("archived"), 0o644)
	e, err := New(root)
	must(f, err)
	f.Cleanup(func() { e.Close() })
	f.Fuzz(func(t *testing.T, id string) {
		rc, err := e.OpenVersion(t.Context(), id)
		if err != nil {
			return
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != "archived" {
			t.Fatalf("OpenVersion(%q) read %q", id, b)
		}
	})
}

// BenchmarkPruneVersions10k is one prune pass over an archive of 10,000
// versions (100 files of 100 versions each, all kept by the per-file cap
// and the size cap): the walk of the archive that archiving repeats at
// most once a minute.
func BenchmarkPruneVersions10k(b *testing.B) {
	e, root := newEndpoint(b, WithRetention(zerosync.Retention{MaxPerPath: 100, MaxBytes: 1 << 30}))
	arch := filepath.Join(root, ".zerosync", "archive")
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10_000 {
		folder := t0.Add(time.Duration(i)*time.Second).Format(archiveStamp) + "-replaced"
		writeFile(b, filepath.Join(arch, folder, "d", fmt.Sprintf("f%03d", i%100)), []byte("x"), 0o644)
	}
	e.now = func() time.Time { return t0.Add(3 * time.Hour) }
	for b.Loop() {
		gone, err := e.PruneVersions(b.Context(), nil)
		if err != nil || len(gone) != 0 {
			b.Fatal(err, len(gone))
		}
	}
}
