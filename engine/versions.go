package engine

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// WithVersioning sets whether every file a cycle replaces or removes is
// kept in its endpoint's archive (on by default), as a version that
// [Engine.Versions] lists and [Engine.RestoreVersion] brings back, however
// well the other side knew it. Off, only content the other side never knew
// is archived, which is all rule 1 (no data loss) needs; an old version
// that both sides had synced is then gone once a peer replaces it. How long
// versions stay is the endpoints' retention (for a local directory,
// local.WithRetention): a file removed on a peer keeps its space here until
// then, and an apply whose archiving fails (a full disk) is a problem
// retried next cycle, not a replacement without a version.
func WithVersioning(on bool) Option {
	return func(e *Engine) error { e.noVersions = !on; return nil }
}

// versioned marks, when versioning is on, every action that replaces or
// removes a file to archive it first.
func (e *Engine) versioned(acts []zerosync.Action) {
	if e.noVersions {
		return
	}
	for i := range acts {
		if acts[i].Old != nil && acts[i].Old.Kind == zerosync.KindFile {
			acts[i].Archive = true
		}
	}
}

// versioner returns our endpoint's archive.
func (e *Engine) versioner() (zerosync.Versioner, error) {
	vr, ok := zerosync.As[zerosync.Versioner](e.local.Endpoint)
	if !ok {
		return nil, fmt.Errorf("engine: %s keeps no versions of files", e.local.Name)
	}
	return vr, nil
}

// Versions returns the versions of path kept in our tree's archive, newest
// first; path "" returns those of every path. Our endpoint must be a
// [zerosync.Versioner].
func (e *Engine) Versions(ctx context.Context, path string) ([]zerosync.FileVersion, error) {
	vr, err := e.versioner()
	if err != nil {
		return nil, err
	}
	return vr.Versions(ctx, path)
}

// RestoreVersion writes the version id of path back into our tree, through
// the endpoint's Apply: checked against the file as it is now (a file
// changed meanwhile fails with [zerosync.ErrChanged]), with the current
// content archived first, and the missing folders on the way made. The
// next cycle carries the restored file to the peers like any edit. It
// returns the version restored. An id that is not a version of path is an
// error wrapping [fs.ErrNotExist]; a path that is now a folder or a
// symlink is refused.
func (e *Engine) RestoreVersion(ctx context.Context, path, id string) (zerosync.FileVersion, error) {
	e.cycle.Lock()
	defer e.cycle.Unlock()
	if err := zerosync.CheckPath(path); err != nil {
		return zerosync.FileVersion{}, fmt.Errorf("engine: restore: %w", err)
	}
	if err := zerosync.CheckVersionID(id); err != nil {
		return zerosync.FileVersion{}, fmt.Errorf("engine: restore: %w", err)
	}
	vr, err := e.versioner()
	if err != nil {
		return zerosync.FileVersion{}, err
	}
	vs, err := vr.Versions(ctx, path)
	if err != nil {
		return zerosync.FileVersion{}, err
	}
	var v *zerosync.FileVersion
	for i := range vs {
		if vs[i].ID == id {
			v = &vs[i]
		}
	}
	if v == nil {
		return zerosync.FileVersion{}, fmt.Errorf("engine: no version %s of %q: %w", id, path, fs.ErrNotExist)
	}
	d, n, err := hashVersion(ctx, vr, id)
	if err != nil {
		return *v, err
	}
	if !v.Digest.IsZero() && d != v.Digest {
		return *v, fmt.Errorf("engine: version %s of %q: %w", id, path, zerosync.ErrDigestMismatch)
	}
	snap, _, err := e.local.Endpoint.Scan(ctx)
	if err != nil {
		return *v, err
	}
	cur := snap.Get(path)
	if cur != nil && cur.Kind != zerosync.KindFile {
		return *v, fmt.Errorf("engine: %q is now a %s; move it away to restore the file", path, cur.Kind)
	}
	mode := v.Mode.Perm()
	if mode == 0 {
		mode = fileMode(cur)
	}
	want := &zerosync.Entry{Kind: zerosync.KindFile, Mode: mode, Size: n, Digest: d, ModTime: time.Now()}
	if cur.Same(want) {
		return *v, nil
	}
	changed, err := e.makeParents(ctx, snap, path)
	if err != nil {
		return *v, err
	}
	rc, err := vr.OpenVersion(ctx, id)
	if err != nil {
		return *v, err
	}
	defer rc.Close()
	// What is in the tree now is a version too, whatever the versioning
	// option says: a restore must be undoable.
	if err := e.local.Endpoint.Apply(ctx, zerosync.Op{Path: path, Old: cur, New: want, Archive: true}, rc); err != nil {
		return *v, err
	}
	e.ours.hint(zerosync.Hint{Paths: append(changed, path), Reason: "restore"})
	e.kick()
	e.log.InfoContext(ctx, "version restored", "path", path, "version", id)
	return *v, nil
}

// makeParents makes the folders of path that snap lacks, shallowest first,
// and returns them. A parent that is not a folder is an error.
func (e *Engine) makeParents(ctx context.Context, snap zerosync.Snapshot, path string) ([]string, error) {
	var missing []string
	for dir := zerosync.Parent(path); dir != ""; dir = zerosync.Parent(dir) {
		pe := snap.Get(dir)
		if pe == nil {
			missing = append([]string{dir}, missing...)
			continue
		}
		if pe.Kind != zerosync.KindDir {
			return nil, fmt.Errorf("engine: %q is a %s, so %q cannot be restored beneath it", dir, pe.Kind, path)
		}
		break
	}
	for _, dir := range missing {
		op := zerosync.Op{Path: dir, New: &zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755, ModTime: time.Now()}}
		if err := e.local.Endpoint.Apply(ctx, op, nil); err != nil {
			return nil, err
		}
	}
	return missing, nil
}

// hashVersion reads a version whole and returns its digest and size.
func hashVersion(ctx context.Context, vr zerosync.Versioner, id string) (zerosync.Digest, int64, error) {
	rc, err := vr.OpenVersion(ctx, id)
	if err != nil {
		return zerosync.Digest{}, 0, err
	}
	defer rc.Close()
	h := digest.New()
	n, err := io.Copy(h, &ctxReader{ctx: ctx, r: rc})
	if err != nil {
		return zerosync.Digest{}, 0, fmt.Errorf("engine: read version %s: %w", id, err)
	}
	return h.Sum(), n, nil
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// PruneVersions applies our endpoint's retention to its archive now,
// holding what a conflict waiting for review may still need (the versions
// archived as conflicts, or for no recorded reason, of a path under
// review). It returns the versions removed.
func (e *Engine) PruneVersions(ctx context.Context) ([]zerosync.FileVersion, error) {
	vr, err := e.versioner()
	if err != nil {
		return nil, err
	}
	reviewed := map[string]bool{}
	for _, p := range e.pairList() {
		items, err := p.store.Reviews(ctx)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			reviewed[it.Path] = true
		}
	}
	return vr.PruneVersions(ctx, func(v zerosync.FileVersion) bool {
		return reviewed[v.Path] && (v.Reason == zerosync.ReasonConflict || v.Reason == "")
	})
}

// pruneAfterReview prunes our archive once a review is settled, when our
// endpoint keeps versions; a failure is only logged.
func (e *Engine) pruneAfterReview(ctx context.Context) {
	if _, ok := zerosync.As[zerosync.Versioner](e.local.Endpoint); !ok {
		return
	}
	if _, err := e.PruneVersions(ctx); err != nil {
		e.log.WarnContext(ctx, "pruning the archive failed", "err", err)
	}
}
