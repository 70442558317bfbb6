package zerosync_test

import (
	"context"
	"testing"

	"github.com/zerosync/zerosync"
)

// folder adds the NameFolder ability, folding case in every directory.
type folder struct{ *tree }

func (folder) FoldsNames(context.Context, string) (zerosync.Folding, error) {
	return zerosync.Folding{Case: true}, nil
}

func TestFoldsNamesThroughWrappers(t *testing.T) {
	ctx := context.Background()
	base := &tree{snap: zerosync.Snapshot{}}
	f, err := zerosync.FoldsNames(ctx, wrapper{wrapper{folder{base}}}, "")
	if err != nil || f != (zerosync.Folding{Case: true}) {
		t.Fatalf("FoldsNames through wrappers: %v, %v", f, err)
	}
	f, err = zerosync.FoldsNames(ctx, wrapper{base}, "dir")
	if err != nil || f.Any() {
		t.Fatalf("an endpoint without the ability folds %v (%v); want none", f, err)
	}
}

func TestFoldingString(t *testing.T) {
	for f, want := range map[zerosync.Folding]string{
		{}:                       "none",
		{Case: true}:             "case",
		{Norm: true}:             "normalization",
		{Case: true, Norm: true}: "case and normalization",
	} {
		if got := f.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", f, got, want)
		}
	}
}
