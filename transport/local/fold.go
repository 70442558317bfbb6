//go:build linux

package local

import (
	"context"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
)

var _ zerosync.NameFolder = (*Endpoint)(nil)

// Superblock magic numbers of the file systems whose directories tell
// whether they fold names by an attribute (FS_CASEFOLD_FL), or never do.
const (
	ext4Magic  = 0xef53
	tmpfsMagic = 0x01021994
	f2fsMagic  = 0xf2f52010
	btrfsMagic = 0x9123683e
)

// casefoldFlag is FS_CASEFOLD_FL, the inode attribute of a casefolded
// directory (ext4, f2fs, and tmpfs since Linux 6.13).
const casefoldFlag = 0x40000000

// maxFoldCache bounds the directories whose answer is remembered; past it
// the cache starts again.
const maxFoldCache = 4096

// foldCache remembers how each directory (by device and inode) compares
// names. A directory keeps its behaviour for life on every file system that
// has a per-directory one (ext4 and tmpfs casefold, WSL's per-directory case
// sensitivity), as long as it holds anything.
type foldCache struct {
	mu sync.Mutex
	m  map[[2]uint64]zerosync.Folding
}

func (c *foldCache) get(k [2]uint64) (zerosync.Folding, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.m[k]
	return f, ok
}

func (c *foldCache) put(k [2]uint64, f zerosync.Folding) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxFoldCache {
		c.m = map[[2]uint64]zerosync.Folding{}
	}
	c.m[k] = f
}

// FoldsNames tells how the directory dir compares names; see
// [zerosync.NameFolder]. A directory that does not exist yet is answered
// for its nearest existing ancestor.
//
// On ext4, f2fs and tmpfs the directory's casefold attribute answers (a
// casefolded directory folds case and normalization); btrfs never folds.
// Elsewhere (a Windows drive under WSL, exFAT, FAT, a FUSE or network file
// system) the directory is probed once: a file with a fresh temp name (see
// [zerosync.TempPrefix]) holding an accented letter is made in it, then
// looked up with its letters in upper case and with the accent decomposed,
// and removed. The answer is kept for the directory's life; a directory
// that cannot be probed (read-only, full) is an error, and nothing is
// remembered.
func (e *Endpoint) FoldsNames(ctx context.Context, dir string) (zerosync.Folding, error) {
	f, err := e.foldsNames(ctx, dir)
	if err != nil {
		return zerosync.Folding{}, e.perr("folds names", dir, err)
	}
	return f, nil
}

func (e *Endpoint) foldsNames(ctx context.Context, dir string) (zerosync.Folding, error) {
	if err := ctx.Err(); err != nil {
		return zerosync.Folding{}, err
	}
	if dir != "" {
		if err := zerosync.CheckPath(dir); err != nil {
			return zerosync.Folding{}, err
		}
	}
	rootfd, err := e.openRoot()
	if err != nil {
		return zerosync.Folding{}, err
	}
	defer unix.Close(rootfd)
	fd, dir, err := openExisting(rootfd, dir)
	if err != nil {
		return zerosync.Folding{}, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return zerosync.Folding{}, err
	}
	key := [2]uint64{st.Dev, st.Ino}
	if f, ok := e.folds.get(key); ok {
		return f, nil
	}
	f, known := attrFolding(fd)
	if !known {
		if f, err = e.probeFolding(fd, dir); err != nil {
			return zerosync.Folding{}, err
		}
	}
	e.folds.put(key, f)
	if f.Any() {
		e.log.DebugContext(ctx, "directory folds names", "dir", dir, "folds", f.String())
	}
	return f, nil
}

// openExisting opens the directory dir beneath rootfd or, when it does not
// exist, its nearest existing ancestor, and returns the descriptor and the
// path it opened.
func openExisting(rootfd int, dir string) (int, string, error) {
	for {
		fd, err := openDir(rootfd, dir)
		if err == nil {
			return fd, dir, nil
		}
		if dir == "" || !errnoIs(err, unix.ENOENT) && !errnoIs(err, unix.ENOTDIR) {
			return -1, dir, err
		}
		dir = zerosync.Parent(dir)
	}
}

// attrFolding answers for file systems whose directories carry their
// behaviour as an attribute, or never fold; known is false elsewhere.
func attrFolding(fd int) (f zerosync.Folding, known bool) {
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return f, false
	}
	switch uint32(sfs.Type) {
	case btrfsMagic:
		return f, true
	case ext4Magic, tmpfsMagic, f2fsMagic:
		flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
		if err != nil {
			return f, false
		}
		fold := flags&casefoldFlag != 0
		return zerosync.Folding{Case: fold, Norm: fold}, true
	}
	return f, false
}

// The probe's accented letter, precomposed (NFC) and decomposed (NFD).
const (
	probeNFC = "\u00e9"
	probeNFD = "e\u0301"
)

// probeFolding makes a probe file in fd (the directory dir) and looks it up
// by its case and normalization variants. A file system that refuses the
// accented name is probed for case alone.
func (e *Endpoint) probeFolding(fd int, dir string) (zerosync.Folding, error) {
	var b [8]byte
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	base := zerosync.TempPrefix + "fold-" + hex.EncodeToString(b[:]) + "-"
	f, err := e.probeName(fd, dir, base+probeNFC, true)
	if errnoIs(err, unix.EILSEQ) || errnoIs(err, unix.EINVAL) {
		f, err = e.probeName(fd, dir, base+"x", false)
	}
	return f, err
}

// probeName makes name in fd, looks up its variants, and removes it.
func (e *Endpoint) probeName(fd int, dir, name string, norm bool) (zerosync.Folding, error) {
	p := joinPath(dir, name)
	e.addInflight(p)
	defer e.dropInflight(p)
	tfd, err := openatRetry(fd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return zerosync.Folding{}, err
	}
	unix.Close(tfd)
	var f zerosync.Folding
	var st unix.Stat_t
	f.Case, err = exists(fd, asciiUpper(name), &st)
	if err == nil && norm {
		f.Norm, err = exists(fd, strings.Replace(name, probeNFC, probeNFD, 1), &st)
	}
	if rerr := unix.Unlinkat(fd, name, 0); rerr != nil && !errnoIs(rerr, unix.ENOENT) {
		err = errors.Join(err, rerr)
	}
	return f, err
}

// exists reports whether name is present in fd.
func exists(fd int, name string, st *unix.Stat_t) (bool, error) {
	err := lstatAt(fd, name, st)
	switch {
	case err == nil:
		return true, nil
	case errnoIs(err, unix.ENOENT), errnoIs(err, unix.EILSEQ), errnoIs(err, unix.EINVAL):
		return false, nil
	}
	return false, err
}

// asciiUpper upper-cases the ASCII letters of s, leaving the rest.
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
