package main

import "testing"

// TestQuickstart runs the whole walk-through: it fails if any edit does not
// arrive or the conflict does not end with both versions kept.
func TestQuickstart(t *testing.T) {
	if err := run(); err != nil {
		t.Fatal(err)
	}
}
