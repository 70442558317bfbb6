package watch

import "github.com/zerosync/zerosync"

// dirSet is the set of watched directories, as paths relative to the root
// ("" is the root), indexed by parent so that the directories beneath one can
// be found without looking at the others. The zero value is not usable; use
// [newDirSet].
type dirSet struct {
	watched map[string]struct{}
	// kids maps a directory to its watched children; a directory without
	// watched children has no entry.
	kids map[string]map[string]struct{}
}

func newDirSet() *dirSet {
	return &dirSet{watched: make(map[string]struct{}), kids: make(map[string]map[string]struct{})}
}

// Add records rel as watched.
func (s *dirSet) Add(rel string) {
	s.watched[rel] = struct{}{}
	if rel == "" {
		return
	}
	p := zerosync.Parent(rel)
	k := s.kids[p]
	if k == nil {
		k = make(map[string]struct{})
		s.kids[p] = k
	}
	k[rel] = struct{}{}
}

// Has reports whether rel is watched.
func (s *dirSet) Has(rel string) bool {
	_, ok := s.watched[rel]
	return ok
}

// Len returns the number of watched directories.
func (s *dirSet) Len() int { return len(s.watched) }

// RemoveTree forgets rel and every watched directory beneath it, and returns
// them, rel first. It returns nil when rel is not watched. The cost is in
// proportion to the directories removed.
func (s *dirSet) RemoveTree(rel string) []string {
	if !s.Has(rel) {
		return nil
	}
	if rel != "" {
		p := zerosync.Parent(rel)
		delete(s.kids[p], rel)
		if len(s.kids[p]) == 0 {
			delete(s.kids, p)
		}
	}
	out := []string{rel}
	for i := 0; i < len(out); i++ {
		d := out[i]
		delete(s.watched, d)
		for k := range s.kids[d] {
			if s.Has(k) {
				out = append(out, k)
			}
		}
		delete(s.kids, d)
	}
	return out
}

// RemoveAll forgets every directory and returns them, in no order.
func (s *dirSet) RemoveAll() []string {
	out := make([]string, 0, len(s.watched))
	for d := range s.watched {
		out = append(out, d)
	}
	clear(s.watched)
	clear(s.kids)
	return out
}
