package watch

import (
	"strings"
	"testing"
)

// TestDeepTree: a tree 2,000 folders deep (paths near the length limit) is
// watched to the bottom, and an edit there is reported.
func TestDeepTree(t *testing.T) {
	root := t.TempDir()
	rel := strings.TrimSuffix(strings.Repeat("d/", 2000), "/")
	mkdir(t, root, rel)
	s := start(t, root, Options{}, nil)
	write(t, root, rel+"/f", "x")
	s.until(rel + "/f")
}
