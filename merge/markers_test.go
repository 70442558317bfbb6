package merge

import "testing"

func TestHasConflictMarkers(t *testing.T) {
	for _, tt := range []struct {
		text string
		want bool
	}{
		{"", false},
		{"plain\ntext\n", false},
		{"<<<<<<< ours\na\n=======\nb\n>>>>>>> theirs\n", true},
		{"a\n<<<<<<<", true},
		{"a\n>>>>>>> theirs\r\n", true},
		{"||||||| base\n", true},
		{"=======\n", true},
		{"=======\r\n", true},
		{"======= \n", true},
		{"<<<<<<<<< long\n", true},
		{"Title\n========\n", false}, // eight: a heading, not git's separator
		{"======\n", false},
		{"a <<<<<<< b\n", false},
		{" =======\n", false},
		{"x = 1 // =======\n", false},
		{"<<<<<< six\n", false},
	} {
		if got := HasConflictMarkers([]byte(tt.text)); got != tt.want {
			t.Errorf("HasConflictMarkers(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}
