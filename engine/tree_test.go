package engine

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync"
)

// TestBeneath: the paths strictly beneath any of a few folders, or of
// many (where a set replaces the prefix comparisons), and never a path
// that only shares a prefix of the name.
func TestBeneath(t *testing.T) {
	s := snap("a", dir(), "a/x", file("1"), "a/b", dir(), "a/b/y", file("2"), "ab", dir(), "ab/z", file("3"), "c", file("4"))
	collect := func(dirs []string) []string {
		var out []string
		beneath(hold(s), dirs, func(p string) { out = append(out, p) })
		slices.Sort(out)
		return out
	}
	require.Equal(t, []string{"a/b", "a/b/y", "a/x"}, collect([]string{"a"}))
	require.Equal(t, []string{"a/b/y", "ab/z"}, collect([]string{"a/b", "ab"}))
	require.Empty(t, collect(nil))
	many := []string{"a/b"}
	for i := range 40 {
		many = append(many, fmt.Sprintf("none%d", i))
	}
	require.Equal(t, []string{"a/b/y"}, collect(many))
}

// TestScopeTakesContentOfParentPath: a pending folder that is also the
// parent of another pending path brings what lies beneath it, whatever the
// order of the paths.
func TestScopeTakesContentOfParentPath(t *testing.T) {
	s := snap("a", dir(), "a/x", file("1"), "a/y", file("2"), "b", file("3"))
	for _, paths := range [][]string{{"a/x", "a"}, {"a", "a/x"}} {
		in := scope(paths, hold(s), hold(zerosync.Snapshot{}), hold(s))
		require.Equal(t, []string{"a", "a/x", "a/y"}, slices.Sorted(maps.Keys(in)), "paths %q", paths)
	}
}

// TestHide: a hidden path takes what lies beneath it, not a path that only
// shares a prefix of its name, with a few hidden paths or many.
func TestHide(t *testing.T) {
	s := snap("a", dir(), "a/x", file("1"), "ab", file("2"), "c", dir(), "c/y", file("3"))
	got := hide(s, map[string]bool{"a": true}, map[string]bool{"c/y": true})
	require.Equal(t, []string{"ab", "c"}, slices.Sorted(maps.Keys(got)))
	many := map[string]bool{"a": true}
	for i := range 40 {
		many[fmt.Sprintf("none%d", i)] = true
	}
	got = hide(s, many, map[string]bool{"c/y": true})
	require.Equal(t, []string{"ab", "c"}, slices.Sorted(maps.Keys(got)))
}
