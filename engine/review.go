package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// Choice is how a person settles a conflict waiting for review.
type Choice struct {
	// Keep is VersionOurs or VersionTheirs; ignored when Merged is set.
	Keep zerosync.Version
	// Merged, when not nil, is new content for the file.
	Merged []byte
	// Force applies the choice even when the file changed since the
	// conflict was queued (what is replaced is archived all the same).
	Force bool
}

// ErrReviewChanged: the file of a queued conflict changed since it was
// queued; apply with Choice.Force, or look again.
var ErrReviewChanged = errors.New("file changed since the conflict was queued")

// Review returns one queued conflict of a peer.
func (e *Engine) Review(ctx context.Context, peer string, id uint64) (ReviewItem, error) {
	p, err := e.pairNamed(peer)
	if err != nil {
		return ReviewItem{}, err
	}
	items, err := p.store.Reviews(ctx)
	if err != nil {
		return ReviewItem{}, err
	}
	for _, it := range items {
		if it.ID == id {
			return it, nil
		}
	}
	return ReviewItem{}, fmt.Errorf("engine: no conflict %d waiting for review with %s", id, peer)
}

// ReviewContent returns the versions of a queued file conflict, for showing
// a diff: base (nil when unknown), the file as it is in our tree now, and
// the version kept aside (the conflict copy).
func (e *Engine) ReviewContent(ctx context.Context, peer string, id uint64) (base, current, other []byte, err error) {
	it, err := e.Review(ctx, peer, id)
	if err != nil {
		return nil, nil, nil, err
	}
	base = it.BaseBody
	if current, err = readAll(ctx, e.local.Endpoint, it.Path); err != nil && !isNotExist(err) {
		return nil, nil, nil, err
	}
	if it.CopyPath != "" {
		cs, ok := zerosync.As[zerosync.ConflictStore](e.local.Endpoint)
		if !ok {
			return nil, nil, nil, fmt.Errorf("engine: %s cannot read conflict copies", e.local.Name)
		}
		rc, err := cs.OpenConflict(ctx, it.CopyPath)
		switch {
		case isNotExist(err):
			// The copy is gone (a person removed it): the archive kept
			// it when it was made, and pruning holds it while the
			// conflict waits.
			if other, err = e.archivedOther(ctx, it); err != nil {
				return nil, nil, nil, fmt.Errorf("engine: conflict copy %q is gone, and the archive does not hold its content: %w", it.CopyPath, err)
			}
		case err != nil:
			return nil, nil, nil, err
		default:
			defer rc.Close()
			if other, err = io.ReadAll(rc); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	return base, current, other, nil
}

// archivedOther reads the version a queued conflict kept aside from our
// archive: a version of its path with that version's digest.
func (e *Engine) archivedOther(ctx context.Context, it ReviewItem) ([]byte, error) {
	other := it.Theirs
	if it.Archive["kept"] == zerosync.Theirs.String() {
		other = it.Ours
	}
	vr, ok := zerosync.As[zerosync.Versioner](e.local.Endpoint)
	if other == nil || other.Kind != zerosync.KindFile || !ok {
		return nil, fs.ErrNotExist
	}
	vs, err := vr.Versions(ctx, it.Path)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		if v.Size != other.Size || (!v.Digest.IsZero() && v.Digest != other.Digest) {
			continue
		}
		rc, err := vr.OpenVersion(ctx, v.ID)
		if err != nil {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(rc, other.Size+1))
		rc.Close()
		if err == nil && digest.Sum(b) == other.Digest {
			return b, nil
		}
	}
	return nil, fs.ErrNotExist
}

// SettleReview applies a person's choice for a queued conflict to our tree
// and removes it from the queue; the next cycle carries the result to the
// peer like any other change. Keeping the version that is already in the
// tree only drops the conflict copy.
func (e *Engine) SettleReview(ctx context.Context, peer string, id uint64, ch Choice) error {
	e.cycle.Lock()
	defer e.cycle.Unlock()
	p, err := e.pairNamed(peer)
	if err != nil {
		return err
	}
	it, err := e.Review(ctx, peer, id)
	if err != nil {
		return err
	}
	cur, err := e.localEntry(ctx, it.Path)
	if err != nil {
		return err
	}
	kept := it.Ours
	if it.Archive["kept"] == zerosync.Theirs.String() {
		kept = it.Theirs
	}
	if !ch.Force && !cur.Same(kept) {
		return fmt.Errorf("engine: %s: %w (now %s, queued with %s); apply with force to replace it anyway", it.Path, ErrReviewChanged, cur, kept)
	}

	var want *zerosync.Entry
	var content []byte
	mode := fileMode(cur, kept)
	switch {
	case ch.Merged != nil:
		content = ch.Merged
	case ch.Keep == zerosync.VersionTheirs && it.Archive["kept"] != zerosync.Theirs.String(),
		ch.Keep == zerosync.VersionOurs && it.Archive["kept"] == zerosync.Theirs.String():
		other := it.Theirs
		if ch.Keep == zerosync.VersionOurs {
			other = it.Ours
		}
		if other == nil || other.Kind != zerosync.KindFile || it.CopyPath == "" {
			return fmt.Errorf("engine: %s: the other version is not a file kept aside; restore it from the archive by hand", it.Path)
		}
		_, _, content, err = e.ReviewContent(ctx, peer, id)
		if err != nil {
			return err
		}
		if digest.Sum(content) != other.Digest {
			return fmt.Errorf("engine: conflict copy %s: %w", it.CopyPath, zerosync.ErrDigestMismatch)
		}
		mode = other.Mode.Perm()
	}
	if content != nil {
		want = &zerosync.Entry{Kind: zerosync.KindFile, Mode: mode, Size: int64(len(content)), Digest: digest.Sum(content), ModTime: time.Now()}
		if !cur.Same(want) {
			op := zerosync.Op{Path: it.Path, Old: cur, New: want, Archive: true}
			if cur != nil && cur.Kind != zerosync.KindFile {
				return fmt.Errorf("engine: %s is now a %s; settle it by hand", it.Path, cur.Kind)
			}
			if err := e.local.Endpoint.Apply(ctx, op, bytes.NewReader(content)); err != nil {
				return err
			}
		}
	}
	if it.CopyPath != "" {
		if cs, ok := zerosync.As[zerosync.ConflictStore](e.local.Endpoint); ok {
			if err := cs.RemoveConflict(ctx, it.CopyPath); err != nil {
				return err
			}
		}
	}
	e.log.InfoContext(ctx, "conflict settled by a person", "peer", peer, "path", it.Path, "id", id)
	if err := p.store.RemoveReview(ctx, id); err != nil {
		return err
	}
	// The versions the conflict held in the archive may go now, by the
	// retention like any other.
	e.pruneAfterReview(ctx)
	return nil
}

func fileMode(es ...*zerosync.Entry) fs.FileMode {
	for _, e := range es {
		if e != nil && e.Kind == zerosync.KindFile {
			return e.Mode.Perm()
		}
	}
	return 0o644
}

func (e *Engine) pairNamed(peer string) (*pair, error) {
	for _, p := range e.pairList() {
		if p.peer.Name == peer {
			return p, nil
		}
	}
	return nil, fmt.Errorf("engine: no peer named %q", peer)
}

// localEntry scans our tree for one path.
func (e *Engine) localEntry(ctx context.Context, path string) (*zerosync.Entry, error) {
	s, _, err := e.local.Endpoint.Scan(ctx)
	if err != nil {
		return nil, err
	}
	return s.Get(path), nil
}

func readAll(ctx context.Context, ep zerosync.Endpoint, path string) ([]byte, error) {
	rc, err := ep.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
