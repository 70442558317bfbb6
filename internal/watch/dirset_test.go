package watch

import (
	"slices"
	"testing"
)

func TestDirSetRemoveTree(t *testing.T) {
	s := newDirSet()
	for _, d := range []string{"", "a", "a/b", "a/b/c", "a/x", "ab", "ab/c", "z"} {
		s.Add(d)
	}
	got := s.RemoveTree("a")
	if len(got) == 0 || got[0] != "a" {
		t.Fatalf("RemoveTree(a) = %q; want a first", got)
	}
	slices.Sort(got)
	wantPaths(t, got, "a", "a/b", "a/b/c", "a/x")
	for _, d := range []string{"", "ab", "ab/c", "z"} {
		if !s.Has(d) {
			t.Errorf("%q lost by RemoveTree(a)", d) // "ab" shares a's prefix but is not beneath it
		}
	}
	if s.Has("a/b") || s.Len() != 4 {
		t.Errorf("after RemoveTree(a): Has(a/b) = %v, Len = %d; want false, 4", s.Has("a/b"), s.Len())
	}
	if got := s.RemoveTree("a"); got != nil {
		t.Errorf("second RemoveTree(a) = %q; want nil", got)
	}

	s.Add("a") // watched again: it must not bring back its old children
	wantPaths(t, s.RemoveTree("a"), "a")

	got = s.RemoveTree("")
	slices.Sort(got)
	wantPaths(t, got, "", "ab", "ab/c", "z")
	if s.Len() != 0 || len(s.kids) != 0 {
		t.Errorf("after RemoveTree of the root: Len = %d, kids = %v; want empty", s.Len(), s.kids)
	}
}

func TestDirSetRemoveAll(t *testing.T) {
	s := newDirSet()
	for _, d := range []string{"", "a", "a/b"} {
		s.Add(d)
	}
	got := s.RemoveAll()
	slices.Sort(got)
	wantPaths(t, got, "", "a", "a/b")
	if s.Len() != 0 || s.Has("a") || len(s.kids) != 0 {
		t.Errorf("set not empty after RemoveAll")
	}
}
