//go:build linux

package local

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
	"github.com/zerosync/zerosync/internal/retention"
)

// pruneEvery is how often, at most, archiving prunes the archive by itself.
const pruneEvery = time.Minute

// A version's ID is the name of its folder in the archive,
// <stamp>-<reason>[-N] (one version per folder). Folders written by older
// releases, <stamp>[-N], may hold several files; a version in such a folder
// is <folder>~<12 hex digits of the digest of its path>.
const idPathSep = "~"

// archivedVersion is one version found in the archive.
type archivedVersion struct {
	zerosync.FileVersion
	folder  string // the stamp folder, a name in the archive directory
	symlink bool   // a symlink kept from a conflict; never listed
}

// parseFolder reads a stamp folder's name: its time, and the reason it
// records ("" for folders of older releases). ok is false for any other
// name.
func parseFolder(name string) (t time.Time, reason zerosync.ArchiveReason, ok bool) {
	if len(name) < len(archiveStamp) {
		return time.Time{}, "", false
	}
	t, err := time.Parse(archiveStamp, name[:len(archiveStamp)])
	if err != nil {
		return time.Time{}, "", false
	}
	rest := name[len(archiveStamp):]
	if rest == "" {
		return t, "", true
	}
	rest, ok = strings.CutPrefix(rest, "-")
	if !ok {
		return time.Time{}, "", false
	}
	word, num, hasNum := strings.Cut(rest, "-")
	if digits(word) && !hasNum {
		return t, "", true // <stamp>-N of an older release
	}
	switch r := zerosync.ArchiveReason(word); r {
	case zerosync.ReasonReplaced, zerosync.ReasonRemoved, zerosync.ReasonConflict:
		if hasNum && !digits(num) {
			return time.Time{}, "", false
		}
		return t, r, true
	}
	return time.Time{}, "", false
}

// digits reports whether s is 1 to 4 decimal digits.
func digits(s string) bool {
	if s == "" || len(s) > 4 {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// pathTag is the part of an ID that tells apart the files of one folder.
func pathTag(p string) string { return digest.Sum([]byte(p)).Short() }

// parseID checks a version ID and splits it into its folder and, for a
// folder of several files, the tag of the path within.
func parseID(id string) (folder, tag string, err error) {
	if err := zerosync.CheckVersionID(id); err != nil {
		return "", "", err
	}
	folder, tag, hasTag := strings.Cut(id, idPathSep)
	if _, _, ok := parseFolder(folder); !ok {
		return "", "", fmt.Errorf("%w: %q is not a version of this archive", zerosync.ErrInvalidPath, id)
	}
	if hasTag && (len(tag) != 12 || strings.Trim(tag, "0123456789abcdef") != "") {
		return "", "", fmt.Errorf("%w: %q is not a version of this archive", zerosync.ErrInvalidPath, id)
	}
	return folder, tag, nil
}

// openArchiveRead opens the archive directory for reading, without making
// it; a missing archive is -1 and no error.
func (e *Endpoint) openArchiveRead(rootfd int) (int, error) {
	var (
		fd  int
		err error
	)
	if e.archiveAbs == "" {
		fd, err = openBeneath(rootfd, e.archiveRel, unix.O_RDONLY|unix.O_DIRECTORY)
	} else {
		fd, err = openatRetry(unix.AT_FDCWD, e.archiveAbs, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	}
	if errnoIs(err, unix.ENOENT) {
		return -1, nil
	}
	if err != nil {
		return -1, fmt.Errorf("open archive: %w", err)
	}
	return fd, nil
}

// list returns every version in the archive afd; with only set, those of
// that folder alone.
func (e *Endpoint) list(ctx context.Context, afd int, only string) ([]archivedVersion, error) {
	var folders []string
	if only != "" {
		folders = []string{only}
	} else {
		names, err := readNames(afd, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("read archive: %w", err)
		}
		folders = names
	}
	var out []archivedVersion
	buf := make([]byte, 16<<10) // one getdents buffer for the whole walk
	for _, f := range folders {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, reason, ok := parseFolder(f)
		if !ok {
			continue
		}
		fd, err := openBeneath(afd, f, unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			if errnoIs(err, unix.ENOENT) || errnoIs(err, unix.ENOTDIR) || errnoIs(err, unix.ELOOP) {
				// Pruned meanwhile, or not a folder the archive made.
				if only != "" {
					return nil, fmt.Errorf("no version %q: %w", only, fs.ErrNotExist)
				}
				continue
			}
			return nil, fmt.Errorf("read archive folder %q: %w", f, err)
		}
		var found []archivedVersion
		err = walkArchived(fd, "", buf, func(p string, st *unix.Stat_t) {
			if zerosync.CheckPath(p) != nil {
				return
			}
			found = append(found, archivedVersion{
				FileVersion: zerosync.FileVersion{Path: p, Time: t, Size: st.Size, Mode: fsPerm(st.Mode), Reason: reason},
				folder:      f,
				symlink:     st.Mode&unix.S_IFMT == unix.S_IFLNK,
			})
		})
		unix.Close(fd)
		if err != nil {
			return nil, fmt.Errorf("read archive folder %q: %w", f, err)
		}
		for i := range found {
			found[i].ID = f
			if len(found) > 1 {
				found[i].ID = f + idPathSep + pathTag(found[i].Path)
			}
			if found[i].symlink {
				found[i].Size = 0
			}
		}
		out = append(out, found...)
	}
	return out, nil
}

// walkArchived calls fn for every regular file and symlink beneath the
// directory fd (whose path is dir), never following a symlink; buf is the
// buffer for reading directories.
func walkArchived(fd int, dir string, buf []byte, fn func(p string, st *unix.Stat_t)) error {
	names, err := readNames(fd, buf, nil)
	if err != nil {
		return err
	}
	for _, n := range names {
		var st unix.Stat_t
		if err := lstatAt(fd, n, &st); err != nil {
			if errnoIs(err, unix.ENOENT) {
				continue
			}
			return err
		}
		p := joinPath(dir, n)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG, unix.S_IFLNK:
			fn(p, &st)
		case unix.S_IFDIR:
			if len(p) > zerosync.MaxPathLen {
				continue
			}
			sub, err := openatRetry(fd, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
			if err != nil {
				return err
			}
			err = walkArchived(sub, p, buf, fn)
			unix.Close(sub)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// Versions returns the versions of path kept in the archive (path "": of
// every path), newest first; see [zerosync.Versioner]. Their digests are not
// recorded (zero); their modes are the files' own.
func (e *Endpoint) Versions(ctx context.Context, path string) ([]zerosync.FileVersion, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if path != "" {
		if err := zerosync.CheckPath(path); err != nil {
			return nil, e.perr("versions", path, err)
		}
	}
	rootfd, err := e.openRoot()
	if err != nil {
		return nil, e.perr("versions", path, err)
	}
	defer unix.Close(rootfd)
	afd, err := e.openArchiveRead(rootfd)
	if err != nil || afd < 0 {
		return nil, e.perrNil("versions", path, err)
	}
	defer unix.Close(afd)
	all, err := e.list(ctx, afd, "")
	if err != nil {
		return nil, e.perr("versions", path, err)
	}
	var out []zerosync.FileVersion
	for _, a := range all {
		if !a.symlink && (path == "" || a.Path == path) {
			out = append(out, a.FileVersion)
		}
	}
	zerosync.SortVersions(out)
	return out, nil
}

// perrNil is perr, or nil when err is nil.
func (e *Endpoint) perrNil(op, p string, err error) error {
	if err == nil {
		return nil
	}
	return e.perr(op, p, err)
}

// OpenVersion returns the content of the version id; see
// [zerosync.Versioner]. The id is checked and looked up among the
// archive's folders; the file is opened beneath the archive without
// following a symlink, and must be a regular file.
func (e *Endpoint) OpenVersion(ctx context.Context, id string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	folder, tag, err := parseID(id)
	if err != nil {
		return nil, e.perr("version", id, err)
	}
	rootfd, err := e.openRoot()
	if err != nil {
		return nil, e.perr("version", id, err)
	}
	defer unix.Close(rootfd)
	afd, err := e.openArchiveRead(rootfd)
	if err == nil && afd < 0 {
		err = fs.ErrNotExist
	}
	if err != nil {
		return nil, e.perr("version", id, err)
	}
	defer unix.Close(afd)
	found, err := e.list(ctx, afd, folder)
	if err != nil {
		return nil, e.perr("version", id, err)
	}
	var v *archivedVersion
	for i := range found {
		if found[i].ID == id {
			v = &found[i]
		}
	}
	if v == nil || (tag == "" && len(found) != 1) {
		return nil, e.perr("version", id, fmt.Errorf("no version %q: %w", id, fs.ErrNotExist))
	}
	if v.symlink {
		return nil, e.perr("version", id, fmt.Errorf("version %q is a symlink, not a file", id))
	}
	fd, err := openBeneath(afd, folder+"/"+v.Path, unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		if errnoIs(err, unix.ENOENT) {
			err = fs.ErrNotExist
		}
		return nil, e.perr("version", id, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, e.perr("version", id, errNotRegular)
	}
	return os.NewFile(uintptr(fd), v.Path), nil
}

// PruneVersions applies the endpoint's retention ([WithRetention]) now; see
// [zerosync.Versioner].
func (e *Endpoint) PruneVersions(ctx context.Context, hold func(zerosync.FileVersion) bool) ([]zerosync.FileVersion, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rootfd, err := e.openRoot()
	if err != nil {
		return nil, e.perr("prune", ".", err)
	}
	defer unix.Close(rootfd)
	afd, err := e.openArchiveRead(rootfd)
	if err != nil || afd < 0 {
		return nil, e.perrNil("prune", ".", err)
	}
	defer unix.Close(afd)
	e.pruneMu.Lock()
	defer e.pruneMu.Unlock()
	gone, err := e.prune(ctx, afd, hold)
	if err != nil {
		return gone, e.perr("prune", ".", err)
	}
	return gone, nil
}

// autoPrune prunes the archive afd after an archiving, unless it was
// pruned less than pruneEvery ago or a prune is under way. It holds the
// versions only a person can release: conflicts, and those of unknown
// reason. A failure (or ctx ending) is logged; the archiving stands.
func (e *Endpoint) autoPrune(ctx context.Context, afd int) {
	if zeroRetention(e.retention) || !e.pruneMu.TryLock() {
		return
	}
	defer e.pruneMu.Unlock()
	now := e.now()
	if !e.lastPrune.IsZero() && now.Sub(e.lastPrune) < pruneEvery && !now.Before(e.lastPrune) {
		return
	}
	e.lastPrune = now
	hold := func(v zerosync.FileVersion) bool {
		return v.Reason == zerosync.ReasonConflict || v.Reason == ""
	}
	if _, err := e.prune(ctx, afd, hold); err != nil {
		e.log.Warn("pruning the archive failed", "err", err)
	}
}

func zeroRetention(r zerosync.Retention) bool {
	return len(r.Steps) == 0 && r.MaxAge == 0 && r.MaxPerPath == 0 && r.MaxBytes == 0
}

// prune removes what the retention selects from the archive afd;
// e.pruneMu is held.
func (e *Endpoint) prune(ctx context.Context, afd int, hold func(zerosync.FileVersion) bool) ([]zerosync.FileVersion, error) {
	all, err := e.list(ctx, afd, "")
	if err != nil {
		return nil, err
	}
	vs := make([]zerosync.FileVersion, len(all))
	byID := make(map[string]archivedVersion, len(all))
	for i, a := range all {
		vs[i] = a.FileVersion
		byID[a.ID] = a
	}
	var gone []zerosync.FileVersion
	for _, v := range retention.Select(vs, e.retention, e.now(), hold) {
		if err := ctx.Err(); err != nil {
			return gone, err
		}
		if err := removeArchived(afd, byID[v.ID]); err != nil {
			return gone, fmt.Errorf("remove version %s: %w", v.ID, err)
		}
		e.log.Info("pruned", "path", v.Path, "version", v.ID)
		gone = append(gone, v)
	}
	return gone, nil
}

// removeArchived removes a version from the archive afd, and the folders
// that held it once they are empty.
func removeArchived(afd int, a archivedVersion) error {
	full := a.folder + "/" + a.Path
	dir, name := splitPath(full)
	pfd, err := openBeneath(afd, dir, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	err = unix.Unlinkat(pfd, name, 0)
	unix.Close(pfd)
	if err != nil && !errnoIs(err, unix.ENOENT) {
		return err
	}
	// Then the folders, deepest first, up to and with the stamp folder.
	for d := dir; d != ""; d = zerosync.Parent(d) {
		parent, base := splitPath(d)
		fd, err := openBeneath(afd, parent, unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			return err
		}
		err = unix.Unlinkat(fd, base, unix.AT_REMOVEDIR)
		unix.Close(fd)
		if errnoIs(err, unix.ENOTEMPTY) || errnoIs(err, unix.EEXIST) || errnoIs(err, unix.ENOENT) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}
