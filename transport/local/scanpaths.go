//go:build linux

package local

import (
	"context"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
)

var _ zerosync.PathScanner = (*Endpoint)(nil)

// ScanPaths scans only the given paths, and everything beneath those that
// are directories, with the same rules as [Endpoint.Scan]: the rescan of
// what a watcher reported. Paths that are gone, or whose parent is gone or
// is not a directory, are absent from the result.
func (e *Endpoint) ScanPaths(ctx context.Context, paths []string) (zerosync.Snapshot, []zerosync.Problem, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	for _, p := range paths {
		if err := zerosync.CheckPath(p); err != nil {
			return nil, nil, e.perr("scan", p, err)
		}
	}
	rootfd, err := e.openRoot()
	if err != nil {
		return nil, nil, e.perr("scan", ".", err)
	}
	defer unix.Close(rootfd)
	res, err := e.walk(ctx, rootfd, len(paths), false, func(s *scanner, part *part) error {
		for _, p := range paths {
			dir, name := splitPath(p)
			pfd, err := openDir(rootfd, dir)
			if err != nil {
				if errnoIs(err, unix.ENOENT) || errnoIs(err, unix.ENOTDIR) || errnoIs(err, unix.ELOOP) {
					continue // gone, or its parent is no directory now
				}
				part.probs = append(part.probs, problem(p, err))
				continue
			}
			err = s.visit(part, pfd, nil, p, name)
			unix.Close(pfd)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, e.perr("scan", ".", err)
	}
	if err := e.stillRoot(); err != nil {
		return nil, nil, e.perr("scan", ".", err)
	}
	e.cache.merge(res.next, res.snap, paths)
	return res.snap, res.probs, nil
}
