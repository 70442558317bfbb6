package memory_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
	"github.com/zerosync/zerosync/transport/memory"
)

func TestVersionsPruneOnTheLogicalClock(t *testing.T) {
	ctx := context.Background()
	m := memory.New(memory.WithRetention(zerosync.Retention{MaxAge: time.Hour}))
	if err := m.WriteFile("f", []byte("v0"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		data := []byte{'v', byte('0' + i)}
		old := m.Lstat("f")
		if err := m.Apply(ctx, zerosync.Op{Path: "f", Old: old, New: &zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: 2, Digest: digest.Sum(data)}, Archive: true}, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := m.Versions(ctx, "f")
	if err != nil || len(vs) != 3 {
		t.Fatalf("Versions = %+v, %v", vs, err)
	}
	rc, err := m.OpenVersion(ctx, vs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	if string(b) != "v2" || vs[0].Reason != zerosync.ReasonReplaced || vs[0].Digest != digest.Sum(b) {
		t.Fatalf("newest version %+v holds %q", vs[0], b)
	}
	m.Advance(2 * time.Hour)
	gone, err := m.PruneVersions(ctx, nil)
	if err != nil || len(gone) != 2 {
		t.Fatalf("PruneVersions = %+v, %v; want the two older versions", gone, err)
	}
	if vs, _ := m.Versions(ctx, ""); len(vs) != 1 || len(m.Archive()) != 1 {
		t.Fatalf("after pruning: %+v", vs)
	}
	bad := memory.New(memory.WithRetention(zerosync.Retention{MaxPerPath: -1}))
	if _, err := bad.PruneVersions(ctx, nil); err == nil {
		t.Fatal("an invalid retention pruned")
	}
}
