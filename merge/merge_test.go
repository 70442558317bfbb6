package merge

import (
	"context"
	"errors"
	"testing"

	"github.com/zerosync/zerosync"
)

// link resolves with its name, or passes, or fails, as told.
func link(name string, outcome error, calls *[]string) zerosync.Resolver {
	return zerosync.ResolverFunc(func(ctx context.Context, c zerosync.Conflict) (zerosync.Resolution, error) {
		*calls = append(*calls, name)
		if outcome != nil {
			return zerosync.Resolution{}, outcome
		}
		return zerosync.Resolution{By: name}, nil
	})
}

func TestChainOrder(t *testing.T) {
	broken := errors.New("broken tool")
	tests := []struct {
		name  string
		links []error // nil: resolves
		by    string
		calls int
		err   error
	}{
		{"first that resolves wins", []error{nil, nil}, "r0", 1, nil},
		{"a pass hands on", []error{zerosync.ErrPass, nil}, "r1", 2, nil},
		{"a wrapped pass hands on", []error{fmtPass("not text"), nil}, "r1", 2, nil},
		{"a failure hands on to a safe fallback", []error{broken, nil}, "r1", 2, nil},
		{"all pass", []error{zerosync.ErrPass, zerosync.ErrPass}, "", 2, zerosync.ErrPass},
		{"all pass, one failed: the failure is kept", []error{broken, zerosync.ErrPass}, "", 2, broken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []string
			var rs []zerosync.Resolver
			for i, outcome := range tt.links {
				rs = append(rs, link("r"+string(rune('0'+i)), outcome, &calls))
			}
			res, err := Chain(rs...).Resolve(context.Background(), zerosync.Conflict{Path: "f"})
			if len(calls) != tt.calls {
				t.Errorf("asked %v, want %d resolvers", calls, tt.calls)
			}
			if tt.err == nil {
				if err != nil || res.By != tt.by {
					t.Fatalf("Resolve = %+v, %v; want by %s", res, err, tt.by)
				}
				return
			}
			if !errors.Is(err, tt.err) || !errors.Is(err, zerosync.ErrPass) {
				t.Fatalf("err = %v; want a pass wrapping %v", err, tt.err)
			}
		})
	}
}

func fmtPass(why string) error { return errors.Join(zerosync.ErrPass, errors.New(why)) }

func TestChainStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls []string
	first := zerosync.ResolverFunc(func(context.Context, zerosync.Conflict) (zerosync.Resolution, error) {
		calls = append(calls, "first")
		cancel()
		return zerosync.Resolution{}, zerosync.ErrPass
	})
	_, err := Chain(first, link("second", nil, &calls)).Resolve(ctx, zerosync.Conflict{})
	if !errors.Is(err, context.Canceled) || len(calls) != 1 {
		t.Fatalf("err = %v after %v; want cancellation after the first", err, calls)
	}
}

func TestIdenticalAndKeepBoth(t *testing.T) {
	same := &zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Digest: zerosync.Digest{1}}
	other := &zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o755, Digest: zerosync.Digest{1}}
	diff := &zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Digest: zerosync.Digest{2}}
	res, err := Identical().Resolve(context.Background(), zerosync.Conflict{Ours: same, Theirs: other})
	if err != nil || res.KeepOther || res.By != "identical" {
		t.Fatalf("Identical on equal content = %+v, %v", res, err)
	}
	if _, err := Identical().Resolve(context.Background(), zerosync.Conflict{Ours: same, Theirs: diff}); !errors.Is(err, zerosync.ErrPass) {
		t.Fatalf("Identical on different content: %v, want a pass", err)
	}
	res, err = KeepBoth(zerosync.VersionTheirs).Resolve(context.Background(), zerosync.Conflict{Ours: same, Theirs: diff})
	if err != nil || !res.KeepOther || res.Keep != zerosync.VersionTheirs {
		t.Fatalf("KeepBoth = %+v, %v", res, err)
	}
}
