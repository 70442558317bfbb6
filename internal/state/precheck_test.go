package state

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync"
)

// fill writes enough base entries that the file spans many pages.
func fill(t *testing.T, db *DB, n int) {
	t.Helper()
	c := Change{Base: map[string]*zerosync.Entry{}}
	for i := range n {
		c.Base[fmt.Sprintf("dir/file-%05d-%s", i, strings.Repeat("x", 40))] = file(fmt.Sprint(i), 0o644)
	}
	c.Base["dir"] = dir(0o755)
	require.NoError(t, db.Pair("peer").Commit(context.Background(), c))
}

func TestOpenTruncatedIsCorruptNotACrash(t *testing.T) {
	for _, frac := range []float64{0.5, 0.25} {
		t.Run(fmt.Sprint(frac), func(t *testing.T) {
			db, path := openDB(t)
			fill(t, db, 3000)
			require.NoError(t, db.Close())
			st, err := os.Stat(path)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(path, int64(float64(st.Size())*frac)))

			_, err = Open(path)
			require.ErrorIs(t, err, ErrCorrupt)
			require.Contains(t, err.Error(), "truncated")

			to, err := MoveAside(path)
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(filepath.Base(to), "state.db.corrupt-"), to)
			db2, err := Open(path)
			require.NoError(t, err)
			defer db2.Close()
			base, err := db2.Pair("peer").Base(context.Background())
			require.NoError(t, err)
			require.Empty(t, base)
		})
	}
}

// TestOpenTruncatedAnywhere cuts a database at every page boundary: Open
// either reads it whole or says it is corrupt, and never faults.
func TestOpenTruncatedAnywhere(t *testing.T) {
	db, path := openDB(t)
	fill(t, db, 2000)
	require.NoError(t, db.Close())
	whole, err := os.ReadFile(path)
	require.NoError(t, err)
	cut := filepath.Join(t.TempDir(), "cut.db")
	for n := 0; n < len(whole); n += 4096 {
		require.NoError(t, os.WriteFile(cut, whole[:n], 0o600))
		db, err := Open(cut)
		if err != nil {
			require.ErrorIs(t, err, ErrCorrupt, "cut at %d", n)
			continue
		}
		_, err = db.Pair("peer").Base(context.Background())
		if n > 0 {
			require.NoError(t, err, "cut at %d opened but does not read", n)
		}
		require.NoError(t, db.Close())
	}
}

func TestOpenEmptyFileMakesANewDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	db, err := Open(path)
	require.NoError(t, err)
	require.NoError(t, db.Close())
}

func TestOpenGarbageIsCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	require.NoError(t, os.WriteFile(path, []byte(strings.Repeat("not a database ", 1000)), 0o600))
	_, err := Open(path)
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestResetBaseKeepsJournalAndMeta(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	p := db.Pair("peer")
	require.NoError(t, p.Commit(ctx, Change{
		Base:    map[string]*zerosync.Entry{"a": file("a", 0o644)},
		Bodies:  map[zerosync.Digest][]byte{file("a", 0o644).Digest: []byte("a")},
		Journal: []Record{{Path: "a", Op: "create", Side: zerosync.Theirs}},
	}))
	require.NoError(t, p.SetMeta(ctx, "k", "v"))
	require.NoError(t, p.ResetBase(ctx))
	base, err := p.Base(ctx)
	require.NoError(t, err)
	require.Empty(t, base)
	_, ok, err := p.Body(ctx, file("a", 0o644).Digest)
	require.NoError(t, err)
	require.False(t, ok)
	j, err := p.Journal(ctx, 0, 0)
	require.NoError(t, err)
	require.Len(t, j, 1)
	v, ok, err := p.Meta(ctx, "k")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "v", v)
	// A later commit starts from nothing.
	require.NoError(t, p.Commit(ctx, Change{Base: map[string]*zerosync.Entry{"b": file("b", 0o644)}}))
	base, err = p.Base(ctx)
	require.NoError(t, err)
	require.Len(t, base, 1)
}

func TestDBMeta(t *testing.T) {
	db, _ := openDB(t)
	ctx := context.Background()
	_, ok, err := db.Meta(ctx, "engine")
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, db.SetMeta(ctx, "engine", "dots"))
	db = reopen(t, db)
	v, ok, err := db.Meta(ctx, "engine")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "dots", v)
	require.ErrorIs(t, db.SetMeta(ctx, "format", "9"), ErrInvalid)
}
