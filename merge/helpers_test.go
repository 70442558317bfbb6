package merge

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// fakeContent is a ContentReader over fixed bodies. A nil base means no base
// is known; errs, when set, are returned instead of a body.
type fakeContent struct {
	base, ours, theirs []byte
	errs               map[zerosync.Version]error
	reads              []zerosync.Version
}

func (f *fakeContent) ReadVersion(ctx context.Context, v zerosync.Version, limit int64) ([]byte, error) {
	f.reads = append(f.reads, v)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := f.errs[v]; err != nil {
		return nil, err
	}
	var b []byte
	switch v {
	case zerosync.VersionBase:
		if f.base == nil {
			return nil, zerosync.ErrNoBase
		}
		b = f.base
	case zerosync.VersionOurs:
		b = f.ours
	case zerosync.VersionTheirs:
		b = f.theirs
	default:
		return nil, fmt.Errorf("unknown version %d", v)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: version %d is %d bytes", zerosync.ErrTooLarge, v, len(b))
	}
	return b, nil
}

// file returns a file entry for body.
func file(body string, mode fs.FileMode, mtime time.Time) *zerosync.Entry {
	return &zerosync.Entry{Kind: zerosync.KindFile, Mode: mode, Size: int64(len(body)),
		Digest: digest.Sum([]byte(body)), ModTime: mtime}
}

// textConflict builds a file-vs-file conflict at path. An empty base string
// still counts as a base; use noBase for none.
func textConflict(path, base, ours, theirs string) zerosync.Conflict {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return zerosync.Conflict{
		Path:    path,
		Base:    file(base, 0o644, t0),
		Ours:    file(ours, 0o644, t0.Add(time.Minute)),
		Theirs:  file(theirs, 0o644, t0.Add(2*time.Minute)),
		Hosts:   [2]string{"alpha", "beta"},
		Content: &fakeContent{base: []byte(base), ours: []byte(ours), theirs: []byte(theirs)},
	}
}

// noBase removes the base of c: no ancestor entry and no body.
func noBase(c zerosync.Conflict) zerosync.Conflict {
	c.Base = nil
	c.Content.(*fakeContent).base = nil
	return c
}

// mustResolve resolves c with r and fails the test unless r decides.
func mustResolve(t *testing.T, r zerosync.Resolver, c zerosync.Conflict) zerosync.Resolution {
	t.Helper()
	res, err := r.Resolve(context.Background(), c)
	if err != nil {
		t.Fatalf("Resolve(%s): %v", c.Path, err)
	}
	return res
}

// mustPass resolves c with r and fails the test unless r passes; it returns
// the pass error for further checks.
func mustPass(t *testing.T, r zerosync.Resolver, c zerosync.Conflict) error {
	t.Helper()
	res, err := r.Resolve(context.Background(), c)
	if !errors.Is(err, zerosync.ErrPass) {
		t.Fatalf("Resolve(%s) = %+v, %v; want a pass", c.Path, res, err)
	}
	return err
}

// lines joins ls, each followed by eol.
func lines(eol string, ls ...string) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l + eol)
	}
	return b.String()
}

func fsMode(m uint32) fs.FileMode { return fs.FileMode(m) }
