package state

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
	"go.etcd.io/bbolt"
)

func TestOpenCreatesPrivateDirsAndFile(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "a", "b", "state.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{
		{filepath.Join(root, "a"), 0o700},
		{filepath.Join(root, "a", "b"), 0o700},
		{path, 0o600},
	} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		// The process umask can only remove bits, never add them.
		if fi.Mode().Perm()&^c.mode != 0 {
			t.Errorf("%s: mode %v, want at most %v", c.path, fi.Mode().Perm(), c.mode)
		}
	}
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
}

// TestOpenExistingWritesNothing: opening a file that has its buckets only
// reads it (a write transaction would commit, and sync, even unchanged).
func TestOpenExistingWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		db, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("opening an existing state file wrote to it")
	}
}

func TestOpenLockedFailsInsteadOfWaiting(t *testing.T) {
	db, path := openDB(t)
	_, err := Open(path, WithLockTimeout(50*time.Millisecond))
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(path, WithLockTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	db2.Close()
}

func TestOpenRejectsBadArguments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	for name, opts := range map[string][]Option{
		"nil logger":    {WithLogger(nil)},
		"zero timeout":  {WithLockTimeout(0)},
		"negative wait": {WithLockTimeout(-time.Second)},
	} {
		if db, err := Open(path, opts...); err == nil {
			db.Close()
			t.Errorf("%s: Open succeeded", name)
		}
	}
	if _, err := Open(""); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open(\"\"): %v, want ErrInvalid", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a rejected Open created the file: %v", err)
	}
}

func TestOpenRejectsForeignFiles(t *testing.T) {
	for _, size := range []int{1, 4096, 15000} {
		path := filepath.Join(t.TempDir(), "notes.db")
		text := bytes.Repeat([]byte("not a database\n"), size/15+1)[:size]
		if err := os.WriteFile(path, text, 0o600); err != nil {
			t.Fatal(err)
		}
		if db, err := Open(path); !errors.Is(err, ErrCorrupt) {
			if err == nil {
				db.Close()
			}
			t.Errorf("Open of a text file of %d bytes: %v, want ErrCorrupt", size, err)
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, text) {
			t.Errorf("Open changed a text file of %d bytes", size)
		}
	}

	// A bbolt database of another program is refused and left alone.
	path := filepath.Join(t.TempDir(), "other.db")
	other, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = other.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucket([]byte("theirs"))
		return err
	})
	other.Close()
	if err != nil {
		t.Fatal(err)
	}
	if db, err := Open(path); !errors.Is(err, ErrFormat) {
		if err == nil {
			db.Close()
		}
		t.Fatalf("Open of another program's database: %v, want ErrFormat", err)
	}
	other, err = bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketMeta) != nil || tx.Bucket(bucketPairs) != nil {
			t.Errorf("Open added buckets to another program's database")
		}
		return nil
	})
}

func TestOpenOfADirectoryIsNotCorruption(t *testing.T) {
	// A directory where the file should be is an OS error, not corruption.
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path)
	if err == nil || errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open of a directory: %v, want a plain error", err)
	}
}

func TestOpenRejectsOtherFormat(t *testing.T) {
	db, path := openDB(t)
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyFormat, []byte("99"))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err := Open(path); !errors.Is(err, ErrFormat) {
		if err == nil {
			db.Close()
		}
		t.Fatalf("Open: %v, want ErrFormat", err)
	}
}

func TestClosedDB(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("a|b")
	mustCommit(t, p, Change{Base: map[string]*zerosync.Entry{"f": file("x", 0o644)}})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx := t.Context()
	errs := map[string]error{}
	_, errs["Base"] = p.Base(ctx)
	errs["Commit"] = p.Commit(ctx, Change{})
	_, _, errs["Body"] = p.Body(ctx, sum("x"))
	_, errs["Journal"] = p.Journal(ctx, 0, 0)
	_, errs["LastSeq"] = p.LastSeq(ctx)
	_, errs["AddReview"] = p.AddReview(ctx, ReviewItem{Path: "f"})
	_, errs["Reviews"] = p.Reviews(ctx)
	_, _, errs["Meta"] = p.Meta(ctx, "k")
	errs["SetMeta"] = p.SetMeta(ctx, "k", "v")
	_, errs["Pairs"] = db.Pairs(ctx)
	for name, err := range errs {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func TestDefaultDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)

	t.Setenv("XDG_STATE_HOME", "/srv/xdg-state")
	if d, err := DefaultDir(); err != nil || d != "/srv/xdg-state/zerosync" {
		t.Errorf("with XDG_STATE_HOME: %q, %v", d, err)
	}
	for _, v := range []string{"", "relative/state"} {
		t.Setenv("XDG_STATE_HOME", v)
		want := filepath.Join(home, ".local", "state", "zerosync")
		if d, err := DefaultDir(); err != nil || d != want {
			t.Errorf("XDG_STATE_HOME=%q: %q, %v, want %q", v, d, err, want)
		}
	}

	p, err := DefaultPath("main")
	if want := filepath.Join(home, ".local", "state", "zerosync", "main.db"); err != nil || p != want {
		t.Errorf("DefaultPath: %q, %v, want %q", p, err, want)
	}
	for _, bad := range []string{"", ".", "..", "a/b", "a\x00b"} {
		if _, err := DefaultPath(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("DefaultPath(%q): %v, want ErrInvalid", bad, err)
		}
	}
}

func TestPairsAndDelete(t *testing.T) {
	db, _ := openDB(t)
	ctx := t.Context()
	a, b := db.Pair("local:/a|ssh:host:/b"), db.Pair("local:/c|local:/d")
	db.Pair("never used") // a handle alone stores nothing
	mustCommit(t, a, Change{Base: map[string]*zerosync.Entry{"f": file("x", 0o644)}, Journal: []Record{{Path: "f", Op: "create"}}})
	if err := b.SetMeta(ctx, "mode", "git-only"); err != nil {
		t.Fatal(err)
	}
	ids, err := db.Pairs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"local:/a|ssh:host:/b", "local:/c|local:/d"}; !slices.Equal(ids, want) {
		t.Fatalf("Pairs = %q, want %q", ids, want)
	}

	if err := a.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	ids, _ = db.Pairs(ctx)
	if want := []string{"local:/c|local:/d"}; !slices.Equal(ids, want) {
		t.Fatalf("Pairs after Delete = %q, want %q", ids, want)
	}
	if s := mustBase(t, a); len(s) != 0 {
		t.Errorf("base after Delete: %v", s)
	}
	// A deleted pair starts again from nothing.
	recs := []Record{{Path: "g", Op: "create"}}
	mustCommit(t, a, Change{Journal: recs})
	if recs[0].Seq != 1 {
		t.Errorf("first seq after Delete = %d, want 1", recs[0].Seq)
	}
	if v, ok, err := b.Meta(ctx, "mode"); err != nil || !ok || v != "git-only" {
		t.Errorf("other pair's meta after Delete: %q %v %v", v, ok, err)
	}
}

func TestPairIDLimits(t *testing.T) {
	db, _ := openDB(t)
	ctx := t.Context()
	long := strings.Repeat("x", MaxPairIDLen)
	mustCommit(t, db.Pair(long), Change{Base: map[string]*zerosync.Entry{"f": file("x", 0o644)}})
	if s := mustBase(t, db.Pair(long)); len(s) != 1 {
		t.Errorf("longest ID: base has %d entries", len(s))
	}
	for _, id := range []string{"", long + "x"} {
		p := db.Pair(id)
		errs := map[string]error{}
		_, errs["Base"] = p.Base(ctx)
		errs["Commit"] = p.Commit(ctx, Change{})
		_, _, errs["Body"] = p.Body(ctx, sum("x"))
		_, errs["Journal"] = p.Journal(ctx, 0, 0)
		_, errs["LastSeq"] = p.LastSeq(ctx)
		_, errs["TrimJournal"] = p.TrimJournal(ctx, 1)
		_, errs["AddReview"] = p.AddReview(ctx, ReviewItem{})
		_, errs["Reviews"] = p.Reviews(ctx)
		_, _, errs["Review"] = p.Review(ctx, 1)
		_, errs["ReviewCount"] = p.ReviewCount(ctx)
		errs["RemoveReview"] = p.RemoveReview(ctx, 1)
		_, _, errs["Meta"] = p.Meta(ctx, "k")
		errs["SetMeta"] = p.SetMeta(ctx, "k", "v")
		errs["DeleteMeta"] = p.DeleteMeta(ctx, "k")
		errs["Delete"] = p.Delete(ctx)
		for name, err := range errs {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("ID of %d bytes: %s: %v, want ErrInvalid", len(id), name, err)
			}
		}
	}
}
