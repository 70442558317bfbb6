package unnamed

import (
	"os"
	"testing"
)

// TestCreate: the file is readable and writable and leaves nothing in its
// folder.
func TestCreate(t *testing.T) {
	dir := t.TempDir()
	f, err := Create(dir, "x-*")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte("hello"), 0); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 5)
	if _, err := f.ReadAt(b, 0); err != nil || string(b) != "hello" {
		t.Fatalf("read back %q, %v", b, err)
	}
	if names, err := os.ReadDir(dir); err != nil || len(names) != 0 {
		t.Fatalf("folder holds %v (%v), want nothing", names, err)
	}
	if _, err := Create(dir+"/missing", "x-*"); err == nil {
		t.Fatal("a file made in a missing folder")
	}
}
