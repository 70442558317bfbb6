package merge

import (
	"context"
	"errors"
	"testing"

	"github.com/zerosync/zerosync"
)

func TestStoredBase(t *testing.T) {
	c := textConflict("f", "base\n", "a\n", "b\n")
	b, err := StoredBase(5).Base(context.Background(), c)
	if err != nil || string(b) != "base\n" {
		t.Fatalf("Base = %q, %v", b, err)
	}
	if _, err := StoredBase(4).Base(context.Background(), c); !errors.Is(err, zerosync.ErrTooLarge) {
		t.Errorf("over the limit: err = %v, want ErrTooLarge", err)
	}
	if _, err := StoredBase(5).Base(context.Background(), noBase(c)); !errors.Is(err, zerosync.ErrNoBase) {
		t.Errorf("no base: err = %v, want ErrNoBase", err)
	}
	c.Content = nil
	if _, err := StoredBase(5).Base(context.Background(), c); !errors.Is(err, zerosync.ErrNoBase) {
		t.Errorf("no content reader: err = %v, want ErrNoBase", err)
	}
}
