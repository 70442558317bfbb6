package state

import (
	"errors"
	"strings"
	"testing"

	"github.com/zerosync/zerosync"
)

func TestMeta(t *testing.T) {
	db, _ := openDB(t)
	p := db.Pair("p")
	ctx := t.Context()
	if v, ok, err := p.Meta(ctx, "mode"); err != nil || ok || v != "" {
		t.Fatalf("Meta of new pair = %q, %v, %v", v, ok, err)
	}
	for _, v := range []string{"two-way", "git-only", ""} {
		if err := p.SetMeta(ctx, "mode", v); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := p.Meta(ctx, "mode"); err != nil || !ok || got != v {
			t.Fatalf("Meta after SetMeta(%q) = %q, %v, %v", v, got, ok, err)
		}
	}
	if err := p.SetMeta(ctx, "other", strings.Repeat("v", MaxMetaValueLen)); err != nil {
		t.Fatal(err)
	}
	db = reopen(t, db)
	p = db.Pair("p")
	if got, ok, _ := p.Meta(ctx, "mode"); !ok || got != "" {
		t.Errorf("empty value after reopen = %q, %v", got, ok)
	}
	if got, _, _ := p.Meta(ctx, "other"); len(got) != MaxMetaValueLen {
		t.Errorf("long value after reopen has %d bytes", len(got))
	}
	if err := p.DeleteMeta(ctx, "mode"); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteMeta(ctx, "mode"); err != nil {
		t.Errorf("deleting twice: %v", err)
	}
	if err := db.Pair("new").DeleteMeta(ctx, "mode"); err != nil {
		t.Errorf("deleting on a new pair: %v", err)
	}
	if _, ok, _ := p.Meta(ctx, "mode"); ok {
		t.Errorf("mode still set after DeleteMeta")
	}

	for _, k := range []string{"", strings.Repeat("k", MaxMetaKeyLen+1)} {
		if err := p.SetMeta(ctx, k, "v"); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetMeta with key of %d bytes: %v", len(k), err)
		}
		if _, _, err := p.Meta(ctx, k); !errors.Is(err, ErrInvalid) {
			t.Errorf("Meta with key of %d bytes: %v", len(k), err)
		}
	}
	if err := p.SetMeta(ctx, "big", strings.Repeat("v", MaxMetaValueLen+1)); !errors.Is(err, zerosync.ErrTooLarge) {
		t.Errorf("SetMeta with oversized value: %v", err)
	}
}
