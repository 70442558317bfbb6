//go:build linux

package local

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
)

// archiveStamp names the folder of one archiving, in UTC.
const archiveStamp = "20060102T150405.000000000Z"

// openArchive opens (creating it) the archive directory.
func (e *Endpoint) openArchive(rootfd int) (int, error) {
	if e.archiveAbs == "" {
		if strings.HasPrefix(e.archiveRel, zerosync.StateDirName+"/") {
			// The state folder first, with the .gitignore that keeps the
			// archive out of a repository the root may be.
			sfd, err := openStateDir(rootfd)
			if err != nil {
				return -1, err
			}
			unix.Close(sfd)
		}
		return mkdirAllAt(rootfd, e.archiveRel, 0o700)
	}
	if err := os.MkdirAll(e.archiveAbs, 0o700); err != nil {
		return -1, err
	}
	return openatRetry(unix.AT_FDCWD, e.archiveAbs, unix.O_RDONLY|unix.O_DIRECTORY, 0)
}

// archive keeps the file name in dirfd as <archive>/<stamp>-<reason>/<p>:
// a hard link when the archive is on the same file system, a copy
// otherwise. Each archiving gets a folder of its own (made exclusively, with
// a numeric suffix when the stamp is taken), so a folder's name identifies
// one version. It returns the archived path relative to the archive
// directory, and syncs the archive before returning, so the content
// survives a crash that follows. Then it prunes the archive by the
// endpoint's retention, at most once per [pruneEvery].
func (e *Endpoint) archive(ctx context.Context, rootfd, dirfd int, name, p string, reason zerosync.ArchiveReason) (string, error) {
	afd, err := e.openArchive(rootfd)
	if err != nil {
		return "", fmt.Errorf("open archive: %w", err)
	}
	defer unix.Close(afd)
	dir, base := splitPath(p)
	sub, err := e.newVersionFolder(afd, reason)
	if err != nil {
		return "", err
	}
	rel, err := e.archiveInto(afd, sub, dirfd, name, dir, base)
	if err != nil {
		return "", fmt.Errorf("archive %s: %w", p, err)
	}
	e.log.Info("archived", "path", p, "as", rel)
	e.autoPrune(ctx, afd)
	return rel, nil
}

// newVersionFolder makes a new version folder in the archive afd, named
// by the time and reason, and returns its name.
func (e *Endpoint) newVersionFolder(afd int, reason zerosync.ArchiveReason) (string, error) {
	stamp := e.now().UTC().Format(archiveStamp) + "-" + string(reason)
	for i := 0; ; i++ {
		sub := stamp
		if i > 0 {
			sub = fmt.Sprintf("%s-%d", stamp, i)
		}
		err := unix.Mkdirat(afd, sub, 0o700)
		if errnoIs(err, unix.EEXIST) && i < 1000 {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("archive %s: %w", sub, err)
		}
		return sub, nil
	}
}

// archiveLinks archives the files that the staged ops of a batch replace
// (each path once) into one new version folder of the archive afd, linked
// (or copied): one folder and one chain of parents for the batch instead
// of one for each file. It does not make them durable: the caller syncs
// the archive's file system (one syncfs) before the first rename. A file
// that could not be archived has its error in errs; the error returned is
// one that leaves all of them unarchived.
func (e *Endpoint) archiveLinks(afd int, ss []*staged, errs []error) error {
	sub, err := e.newVersionFolder(afd, zerosync.ReasonReplaced)
	if err != nil {
		return err
	}
	sfd, err := openatRetry(afd, sub, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("archive %s: %w", sub, err)
	}
	defer unix.Close(sfd)
	for _, s := range ss {
		dir, base := splitPath(s.op.Path)
		dfd, err := keepAt(sfd, dir, base, s.dir.fd, s.name)
		if err == nil {
			unix.Close(dfd)
		}
		if err != nil {
			errs[s.i] = fmt.Errorf("archive before replacing: archive %s: %w", s.op.Path, err)
			continue
		}
		e.log.Info("archived", "path", s.op.Path, "as", joinPath(sub, s.op.Path))
	}
	return nil
}

// keepAt links name in dirfd to dir/base beneath the version folder sfd,
// making dir and the folders above it as needed, or copies the bytes on
// another file system or where links are refused. It returns dir open.
func keepAt(sfd int, dir, base string, dirfd int, name string) (int, error) {
	dfd, err := mkdirAllAt(sfd, dir, 0o700)
	if err != nil {
		return -1, err
	}
	err = unix.Linkat(dirfd, name, dfd, base, 0)
	if err != nil && !errnoIs(err, unix.ENOENT) {
		err = copyFileAt(dirfd, name, dfd, base)
	}
	if err != nil {
		unix.Close(dfd)
		return -1, err
	}
	return dfd, nil
}

// archiveInto keeps name in dirfd as sub/dir/base in the archive afd
// ([keepAt]), where sub is a fresh folder, and makes it durable: the folder
// holding it, and every folder above it up to the archive (sub and the
// folders beneath it are new).
func (e *Endpoint) archiveInto(afd int, sub string, dirfd int, name, dir, base string) (string, error) {
	sfd, err := openatRetry(afd, sub, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return "", err
	}
	dfd, err := keepAt(sfd, dir, base, dirfd, name)
	unix.Close(sfd)
	if err != nil {
		return "", err
	}
	defer unix.Close(dfd)
	// The folders made on the way are entries of their parents: each
	// parent up to the archive itself is synced too, all at once (the file
	// system commits them together).
	fds := []int{dfd}
	for d := joinPath(sub, dir); d != ""; {
		d = zerosync.Parent(d)
		fd := afd
		if d != "" {
			if fd, err = openBeneath(afd, d, unix.O_RDONLY|unix.O_DIRECTORY); err != nil {
				return "", err
			}
			defer unix.Close(fd)
		}
		fds = append(fds, fd)
	}
	if err := syncAll(fds, fsyncDir); err != nil {
		return "", err
	}
	return joinPath(joinPath(sub, dir), base), nil
}

// copyFileAt copies the regular file (or symlink, as a symlink) name in
// srcfd to a new file name in dstfd, synced.
func copyFileAt(srcfd int, name string, dstfd int, dst string) error {
	var st unix.Stat_t
	if err := lstatAt(srcfd, name, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		t, err := readlinkAt(srcfd, name)
		if err != nil {
			return err
		}
		return unix.Symlinkat(t, dstfd, dst)
	}
	in, err := openatRetry(srcfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	src := os.NewFile(uintptr(in), name)
	defer src.Close()
	if err := unix.Fstat(in, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return errNotRegular
	}
	out, err := openatRetry(dstfd, dst, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW, uint32(st.Mode&0o777))
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(out), dst)
	defer f.Close()
	_, err = io.Copy(f, src)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		// A disk that filled up midway: no torn copy stays behind.
		unix.Unlinkat(dstfd, dst, 0)
	}
	return err
}

// KeepConflict writes content (e's bytes, checked against e's size and
// digest) as a conflict copy beside path, named
// <base>.zs-conflict-<UTC stamp>-<note><ext> with the note reduced to
// letters, digits, '-', '_' and '.', and archives it under path (a version
// of path, [zerosync.ReasonConflict]). The archive comes first: when it
// fails, no copy is made. A symlink
// entry makes a symlink copy. The copy's name is reserved, so it is never
// synced; it returns the copy's path.
func (e *Endpoint) KeepConflict(ctx context.Context, p string, ent zerosync.Entry, content io.Reader, note string) (string, error) {
	cp, err := e.keepConflict(ctx, p, ent, content, note)
	if err != nil {
		return "", e.perr("keep", p, err)
	}
	return cp, nil
}

func (e *Endpoint) keepConflict(ctx context.Context, p string, ent zerosync.Entry, content io.Reader, note string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := zerosync.CheckPath(p); err != nil {
		return "", err
	}
	if err := validEntry(&ent); err != nil {
		return "", err
	}
	if ent.Kind == zerosync.KindDir {
		return "", fmt.Errorf("%w: a conflict copy is a file or a symlink", errInvalidEntry)
	}
	rootfd, err := e.openRoot()
	if err != nil {
		return "", err
	}
	defer unix.Close(rootfd)
	dir, name := splitPath(p)
	pfd, err := openDir(rootfd, dir)
	if err != nil {
		return "", parentErr(dir, err)
	}
	defer unix.Close(pfd)
	var t *tempFile
	if ent.Kind == zerosync.KindFile {
		t, err = e.receive(ctx, pfd, dir, &ent, content)
	} else {
		t, err = e.newTemp(pfd, dir, func(n string) error { return unix.Symlinkat(ent.Target, pfd, n) })
	}
	if err != nil {
		return "", err
	}
	defer t.discard()
	// The archive first: a copy that could not be archived is never made
	// visible, so a failing archive leaves nothing behind to pile up.
	if _, err := e.archive(ctx, rootfd, pfd, t.name, p, zerosync.ReasonConflict); err != nil {
		return "", err
	}
	stamp := e.now().UTC().Format("20060102-150405.000")
	for i := 0; ; i++ {
		cname := conflictName(name, stamp, note, i)
		err := renameNoReplace(pfd, t.name, cname)
		if errnoIs(err, unix.EEXIST) && i < 1000 {
			continue
		}
		if err != nil {
			return "", err
		}
		t.done()
		if err := fsyncDir(pfd); err != nil {
			return "", err
		}
		return joinPath(dir, cname), nil
	}
}

// conflictName returns the name of the i-th conflict copy of base made at
// stamp with note, at most [zerosync.MaxNameLen] bytes long.
func conflictName(base, stamp, note string, i int) string {
	ext := path.Ext(base)
	if ext == base || len(ext) > 16 {
		ext = ""
	}
	stem := strings.TrimSuffix(base, ext)
	clean := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return '_'
	}, note)
	if len(clean) > 40 {
		clean = clean[:40]
	}
	tail := zerosync.ConflictMarker + stamp + "-" + clean
	if i > 0 {
		tail += fmt.Sprintf("-%d", i)
	}
	tail += ext
	if over := len(stem) + len(tail) - zerosync.MaxNameLen; over > 0 {
		cut := len(stem) - over
		for cut > 0 && !utf8.RuneStart(stem[cut]) {
			cut--
		}
		stem = stem[:cut]
	}
	return stem + tail
}
