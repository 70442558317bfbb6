package watch

import (
	"slices"
	"testing"
)

// wantPaths fails t unless got holds exactly want, in order.
func wantPaths(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("paths = %q; want %q", got, want)
	}
}
