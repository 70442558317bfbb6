//go:build linux

package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/transport/transporttest"
)

// TestFoldsNamesCaseSensitive: a Linux directory (ext4 or tmpfs without the
// casefold attribute) folds nothing, and is not probed: nothing is written
// in it.
func TestFoldsNamesCaseSensitive(t *testing.T) {
	ctx := context.Background()
	for name, root := range map[string]string{"tempdir": newRoot(t), "tmpfs": transporttest.Tmpfs(t, "size=1m")} {
		t.Run(name, func(t *testing.T) {
			must(t, os.MkdirAll(filepath.Join(root, "sub"), 0o755))
			e, err := New(root)
			require.NoError(t, err)
			defer e.Close()
			before, err := os.Stat(filepath.Join(root, "sub"))
			require.NoError(t, err)
			for _, dir := range []string{"", "sub", "sub/new/deeper"} {
				f, err := e.FoldsNames(ctx, dir)
				require.NoError(t, err, dir)
				assert.False(t, f.Any(), "%q folds %s", dir, f)
			}
			after, err := os.Stat(filepath.Join(root, "sub"))
			require.NoError(t, err)
			assert.Equal(t, before.ModTime(), after.ModTime(), "a directory with an attribute to read was probed")
		})
	}
}

// TestFoldsNamesExFAT: on a real case-insensitive file system the probe finds
// that case is folded (exFAT keeps normalization apart), for the root, a
// directory and one still to be made, and leaves nothing behind.
func TestFoldsNamesExFAT(t *testing.T) {
	ctx := context.Background()
	root := transporttest.ExFAT(t)
	must(t, os.Mkdir(filepath.Join(root, "Docs"), 0o755))
	e, err := New(root)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	for _, dir := range []string{"", "Docs", "Docs/new", "docs"} {
		f, err := e.FoldsNames(ctx, dir)
		require.NoError(t, err, dir)
		assert.Equal(t, zerosync.Folding{Case: true}, f, "%q", dir)
	}
	assert.Empty(t, tempFiles(t, root), "the probe left a file")
	// The answer is kept: a directory probed once is not probed again.
	must(t, os.Chmod(filepath.Join(root, "Docs"), 0o555))
	f, err := e.FoldsNames(ctx, "Docs")
	require.NoError(t, err)
	assert.True(t, f.Case)
}

// TestFoldsNamesRefusesBadPaths: the directory asked about passes the same
// checks as any path, and a closed endpoint answers nothing.
func TestFoldsNamesRefusesBadPaths(t *testing.T) {
	e, _ := newEndpoint(t)
	for _, bad := range []string{"../x", "/etc", "a/../b", zerosync.StateDirName} {
		_, err := e.FoldsNames(context.Background(), bad)
		assert.Error(t, err, bad)
	}
	must(t, e.Close())
	_, err := e.FoldsNames(context.Background(), "")
	assert.True(t, errors.Is(err, os.ErrClosed), "%v", err)
}

// TestApplyCreatesOnExFAT: a file system without hard links or
// RENAME_NOREPLACE still gets files created, and a creation still never
// replaces what is there, under any case.
func TestApplyCreatesOnExFAT(t *testing.T) {
	ctx := context.Background()
	root := transporttest.ExFAT(t)
	e, err := New(root)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	data := []byte("first\n")
	require.NoError(t, e.Apply(ctx, zerosync.Op{Path: "README.md", New: fileEntry(data, 0o644)}, newBytesReader(data)))
	expectBytes(t, filepath.Join(root, "README.md"), data)
	other := []byte("second\n")
	err = e.Apply(ctx, zerosync.Op{Path: "readme.md", New: fileEntry(other, 0o644)}, newBytesReader(other))
	require.ErrorIs(t, err, zerosync.ErrChanged)
	expectBytes(t, filepath.Join(root, "README.md"), data)
	assert.Empty(t, tempFiles(t, root))
}

// BenchmarkFoldsNames: the cost of the question the engine asks for each
// directory it creates names in, on this host's file system (answered from
// an attribute) and on exFAT (a probe the first time, then the cache).
func BenchmarkFoldsNames(b *testing.B) {
	for name, root := range map[string]func() string{"tempdir": func() string { return newRoot(b) }, "exfat": func() string { return transporttest.ExFAT(b) }} {
		b.Run(name, func(b *testing.B) {
			r := root()
			e, err := New(r)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { e.Close() })
			for i := range 64 {
				must(b, os.Mkdir(filepath.Join(r, "d"+strconv.Itoa(i)), 0o755))
			}
			b.Run("first", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					e.folds = foldCache{} // forget the answers
					if _, err := e.FoldsNames(context.Background(), "d"+strconv.Itoa(i%64)); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("cached", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					if _, err := e.FoldsNames(context.Background(), "d"+strconv.Itoa(i%64)); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
