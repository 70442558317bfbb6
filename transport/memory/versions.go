package memory

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/retention"
)

// version describes an archived entry as a [zerosync.FileVersion].
func (a Archived) version() zerosync.FileVersion {
	return zerosync.FileVersion{ID: a.ID, Path: a.Path, Time: a.Time, Size: int64(len(a.Data)), Mode: a.Mode, Digest: a.Digest, Reason: a.Reason}
}

// Versions returns the files kept in the archive for path ("" for every
// path), newest first; see [zerosync.Versioner].
func (m *Endpoint) Versions(ctx context.Context, path string) ([]zerosync.FileVersion, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if path != "" {
		if err := zerosync.CheckPath(path); err != nil {
			return nil, m.perr("versions", path, err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []zerosync.FileVersion
	for _, a := range m.archive {
		if a.Symlink == "" && (path == "" || a.Path == path) {
			out = append(out, a.version())
		}
	}
	zerosync.SortVersions(out)
	return out, nil
}

// OpenVersion returns the content of the version id.
func (m *Endpoint) OpenVersion(ctx context.Context, id string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := zerosync.CheckVersionID(id); err != nil {
		return nil, m.perr("version", id, err)
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(id, "v"), 10, 64)
	if !strings.HasPrefix(id, "v") || err != nil || n == 0 {
		return nil, m.perr("version", id, fmt.Errorf("%w: %q is not a version of this archive", zerosync.ErrInvalidPath, id))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.archive {
		if a.ID == id {
			if a.Symlink != "" {
				return nil, m.perr("version", id, fmt.Errorf("version %q is a symlink, not a file", id))
			}
			return io.NopCloser(bytes.NewReader(a.Data)), nil
		}
	}
	return nil, m.perr("version", id, fmt.Errorf("no version %q: %w", id, fs.ErrNotExist))
}

// PruneVersions applies the endpoint's retention ([WithRetention]) at the
// logical clock's time.
func (m *Endpoint) PruneVersions(ctx context.Context, hold func(zerosync.FileVersion) bool) ([]zerosync.FileVersion, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := m.keep.Check(); err != nil {
		return nil, m.perr("prune", ".", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.prune(hold), nil
}

// prune removes what the retention selects; m.mu is held. An invalid
// retention prunes nothing.
func (m *Endpoint) prune(hold func(zerosync.FileVersion) bool) []zerosync.FileVersion {
	if m.keep.Check() != nil || len(m.archive) == 0 {
		return nil
	}
	vs := make([]zerosync.FileVersion, len(m.archive))
	for i, a := range m.archive {
		vs[i] = a.version()
	}
	gone := retention.Select(vs, m.keep, m.clock, hold)
	if len(gone) == 0 {
		return nil
	}
	drop := map[string]bool{}
	for _, v := range gone {
		drop[v.ID] = true
	}
	m.archive = slices.DeleteFunc(m.archive, func(a Archived) bool { return drop[a.ID] })
	return gone
}

// Advance moves the logical clock forward by d, as time passing: archived
// versions age (see [WithRetention]).
func (m *Endpoint) Advance(d time.Duration) {
	m.mu.Lock()
	if d > 0 {
		m.clock = m.clock.Add(d)
	}
	m.mu.Unlock()
}
