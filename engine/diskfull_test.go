//go:build linux

package engine_test

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/local"
	"github.com/zerosync/zerosync/transport/transporttest"
)

// fullPair builds an engine that syncs the ordinary directory src (ours,
// "src") with dst (theirs, "dst"), whose archive is archive; the state is
// on an ordinary disk.
func fullPair(t *testing.T, src, dst, archive string, opts ...engine.Option) *engine.Engine {
	t.Helper()
	a, err := local.New(src, local.WithName("src"))
	require.NoError(t, err)
	b, err := local.New(dst, local.WithName("dst"), local.WithArchiveDir(archive))
	require.NoError(t, err)
	t.Cleanup(func() { a.Close(); b.Close() })
	e, err := engine.New(engine.Peer{Name: "src", Endpoint: a}, []engine.Peer{{Name: "dst", Endpoint: b}},
		append([]engine.Option{engine.WithStatePath(filepath.Join(t.TempDir(), "state.db"))}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

// syncBounded runs one sync cycle, failing the test if it takes more than a
// minute (a hang) or stops with an error.
func syncBounded(t *testing.T, e *engine.Engine) zerosync.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := e.SyncOnce(ctx)
	require.NoError(t, ctx.Err(), "the cycle hung")
	require.NoError(t, err)
	return rep
}

// syncQuiet runs cycles until one has nothing to do and no problem.
func syncQuiet(t *testing.T, e *engine.Engine) {
	t.Helper()
	var rep zerosync.Report
	for range 4 {
		rep = syncBounded(t, e)
		if len(rep.Applied)+len(rep.Conflicts)+len(rep.Problems) == 0 {
			return
		}
	}
	t.Fatalf("no convergence after 4 cycles; the last one: %d applied, problems %v", len(rep.Applied), rep.Problems)
}

// filesOf reads every file beneath root except the reserved names (the
// archive folder, conflict copies, temp files), and lists the temp files.
func filesOf(t *testing.T, root string) (files map[string]string, temps []string) {
	t.Helper()
	files = map[string]string{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel := filepath.ToSlash(p[len(root)+1:])
		if strings.HasPrefix(d.Name(), zerosync.TempPrefix) {
			temps = append(temps, rel)
		}
		if zerosync.IsReserved(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files[rel] = string(b)
		}
		return nil
	}))
	return files, temps
}

// filesArchived reads every file beneath an archive directory, whatever its
// layout.
func filesArchived(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out = append(out, string(b))
		}
		return err
	}))
	return out
}

func letters(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(r.IntN(26))
	}
	return string(b)
}

func putFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		writeFile(t, root, p, c)
	}
}

// TestDiskFull syncs more than the target's file system holds, for real: a
// tmpfs too small for the tree (in bytes, then in inodes). The cycle
// reports problems and returns; no temp file is left; the source, the
// target's other files and the state of the paths that failed are as they
// were; once there is room, the next cycles converge.
func TestDiskFull(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts, more string // the target's mount options, then with room
		files      func(r *rand.Rand) map[string]string
	}{
		{"bytes", "size=1m", "size=16m", func(r *rand.Rand) map[string]string {
			m := map[string]string{"old/notes.txt": letters(r, 300<<10)} // replaces a kept file
			for i := range 16 {
				m[fmt.Sprintf("new/%02d.bin", i)] = letters(r, 96<<10)
			}
			return m
		}},
		// Eight writes at once each find room when they start, and run
		// out of it midway.
		{"bytes-at-once", "size=1m", "size=16m", func(r *rand.Rand) map[string]string {
			m := map[string]string{}
			for i := range 8 {
				m[fmt.Sprintf("new/%02d.bin", i)] = letters(r, 200<<10)
			}
			return m
		}},
		{"inodes", "size=16m,nr_inodes=24", "size=16m,nr_inodes=4096", func(r *rand.Rand) map[string]string {
			m := map[string]string{}
			for d := range 6 {
				for f := range 5 {
					m[fmt.Sprintf("dir%d/sub/%d.txt", d, f)] = letters(r, 100)
				}
			}
			return m
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(len(tc.name))))
			src := t.TempDir()
			dst := transporttest.Tmpfs(t, tc.opts)
			archive := transporttest.Tmpfs(t, "size=4m")
			e := fullPair(t, src, dst, archive)

			// What both sides hold before the disk fills up.
			kept := map[string]string{"old/notes.txt": letters(r, 20<<10), "old/todo.txt": "call the plumber\n"}
			putFiles(t, src, kept)
			syncQuiet(t, e)
			got, _ := filesOf(t, dst)
			require.Equal(t, kept, got)
			base, err := e.Journal(context.Background(), "dst", 0, 0)
			require.NoError(t, err)
			seq := base[len(base)-1].Seq

			more := tc.files(r)
			putFiles(t, src, more)
			want := map[string]string{}
			for p, c := range kept {
				want[p] = c
			}
			for p, c := range more {
				want[p] = c
			}

			rep := syncBounded(t, e)
			require.NotEmpty(t, rep.Problems, "the target cannot hold everything")
			failed := map[string]bool{}
			for _, p := range rep.Problems {
				assert.Equal(t, zerosync.Theirs, p.Side, "%v", p)
				failed[p.Path] = true
			}
			t.Logf("%d applied, %d problems: %v", len(rep.Applied), len(rep.Problems), rep.Problems)

			// The source is intact.
			got, temps := filesOf(t, src)
			assert.Equal(t, want, got, "the source changed")
			assert.Empty(t, temps)
			// The target holds every file whole, old or new, and no temp.
			got, temps = filesOf(t, dst)
			assert.Empty(t, temps, "temp files left in the target")
			for p, c := range got {
				if c != want[p] && c != kept[p] {
					t.Errorf("%s on the target holds %d bytes that are neither version", p, len(c))
				}
			}
			assert.Equal(t, kept["old/todo.txt"], got["old/todo.txt"])
			// The state moved only for what was written: the failed
			// paths have no record and are still to be copied to the
			// target, never removed from the source.
			recs, err := e.Journal(context.Background(), "dst", seq, 0)
			require.NoError(t, err)
			for _, rec := range recs {
				assert.False(t, failed[rec.Path], "journal records the failed %s: %+v", rec.Path, rec)
			}
			plans, err := e.Plan(context.Background())
			require.NoError(t, err)
			planned := map[string]bool{}
			for _, a := range plans["dst"].Actions {
				require.Equal(t, zerosync.Theirs, a.Side, "the plan changes the source: %v", a)
				require.NotNil(t, a.New, "the plan removes %s", a.Path)
				planned[a.Path] = true
			}
			for p := range failed {
				if _, isFile := want[p]; isFile {
					assert.True(t, planned[p], "%s failed but is not planned again", p)
				}
			}

			// Room again: the next cycles carry the rest.
			transporttest.Remount(t, dst, tc.more)
			syncQuiet(t, e)
			got, temps = filesOf(t, dst)
			assert.Empty(t, temps)
			assert.Equal(t, want, got)
			got, _ = filesOf(t, src)
			assert.Equal(t, want, got)
		})
	}
}

// TestDiskFullArchive replaces a file whose old version must be archived
// (a conflict settled for ours) while the archive's file system is full, for
// real: the file is not replaced, the cycle reports a problem and leaves no
// torn copy in the archive, and once the archive has room the next cycle
// replaces it and keeps the old version.
func TestDiskFullArchive(t *testing.T) {
	src := t.TempDir()
	dst := transporttest.Tmpfs(t, "size=4m")
	archive := transporttest.Tmpfs(t, "size=128k")
	ours := zerosync.ResolverFunc(func(ctx context.Context, c zerosync.Conflict) (zerosync.Resolution, error) {
		return zerosync.Resolution{Keep: zerosync.VersionOurs, By: "ours"}, nil
	})
	e := fullPair(t, src, dst, archive, engine.WithResolvers(ours))
	r := rand.New(rand.NewPCG(2, 2))

	writeFile(t, src, "doc.txt", letters(r, 10<<10))
	syncQuiet(t, e)
	mine, theirs := letters(r, 200<<10), letters(r, 300<<10)
	writeFile(t, src, "doc.txt", mine)
	writeFile(t, dst, "doc.txt", theirs)

	for range 2 {
		rep := syncBounded(t, e)
		require.Len(t, rep.Problems, 1, "the archive cannot hold the old version")
		assert.Equal(t, "doc.txt", rep.Problems[0].Path)
		t.Logf("problem: %v", rep.Problems[0])
		assert.Equal(t, theirs, readFile(dst, "doc.txt"), "replaced without an archive")
		assert.Equal(t, mine, readFile(src, "doc.txt"))
		_, temps := filesOf(t, dst)
		assert.Empty(t, temps, "temp files left in the target")
		for _, c := range filesArchived(t, archive) {
			assert.Equal(t, len(theirs), len(c), "a torn copy in the archive")
		}
		// The state did not move: it is still a conflict.
		plans, err := e.Plan(context.Background())
		require.NoError(t, err)
		require.Len(t, plans["dst"].Conflicts, 1)
		assert.Equal(t, "doc.txt", plans["dst"].Conflicts[0].Path)
	}

	transporttest.Remount(t, archive, "size=4m")
	syncQuiet(t, e)
	assert.Equal(t, mine, readFile(dst, "doc.txt"))
	assert.Contains(t, filesArchived(t, archive), theirs, "the replaced version is archived")
	_, temps := filesOf(t, dst)
	assert.Empty(t, temps)
	assert.Equal(t, mine, readFile(src, "doc.txt"))
}
