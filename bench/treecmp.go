package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// listing is a tree as sorted lines "path kind perm digest-or-target", the
// form in which two tools' results are compared. Names the library keeps for
// itself (its state folder, temp files, conflict copies) are left out;
// anything else a tool leaves behind is a difference.
type listing []string

// timeKind says which modification times a tree check compares: the ones
// the tool keeps.
type timeKind uint8

const (
	// timesNone compares no modification time.
	timesNone timeKind = iota
	// timesFilesSeconds compares regular files' times in whole seconds.
	timesFilesSeconds
	// timesFiles compares regular files' times to the nanosecond. (rsync
	// -a, the only tool that could, does not keep folders' times here:
	// a folder's time changes as rsync fills it.)
	timesFiles
)

func (k timeKind) String() string {
	switch k {
	case timesFilesSeconds:
		return "file times (seconds)"
	case timesFiles:
		return "file times"
	}
	return "no times"
}

// digests caches content digests by file identity, so that checking a
// tree after every run rehashes only what changed.
var digests = struct {
	sync.Mutex
	m map[string]digestEntry
}{m: map[string]digestEntry{}}

// digestEntry is a digest and the identity of the file it was taken of:
// any write changes the change time, which no program can set.
type digestEntry struct {
	dev, ino, size   uint64
	mtimeNS, ctimeNS int64
	sum              string
}

// fileDigest returns the content digest of the regular file abs.
func fileDigest(abs string, info fs.FileInfo) (string, error) {
	st, ok := info.Sys().(*syscall.Stat_t)
	var id digestEntry
	if ok {
		id = digestEntry{dev: uint64(st.Dev), ino: st.Ino, size: uint64(st.Size),
			mtimeNS: st.Mtim.Nano(), ctimeNS: st.Ctim.Nano()}
		digests.Lock()
		e, hit := digests.m[abs]
		digests.Unlock()
		if hit && e.dev == id.dev && e.ino == id.ino && e.size == id.size && e.mtimeNS == id.mtimeNS && e.ctimeNS == id.ctimeNS {
			return e.sum, nil
		}
	}
	f, err := os.Open(abs)
	if err != nil {
		return "", err
	}
	sum, _, err := digest.ReadAll(f)
	f.Close()
	if err != nil {
		return "", err
	}
	if ok {
		id.sum = fmt.Sprint(sum)
		digests.Lock()
		digests.m[abs] = id
		digests.Unlock()
	}
	return fmt.Sprint(sum), nil
}

// listTree reads the tree beneath root, with the modification times times
// names.
func listTree(root string, times timeKind) (listing, error) {
	var out listing
	err := filepath.WalkDir(root, func(abs string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if abs == root {
			return nil
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if zerosync.IsReserved(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case info.Mode().IsRegular():
			sum, err := fileDigest(abs, info)
			if err != nil {
				return err
			}
			line := fmt.Sprintf("%s file %o %s", rel, info.Mode().Perm(), sum)
			switch times {
			case timesFilesSeconds:
				line += fmt.Sprintf(" mtime %d", info.ModTime().Unix())
			case timesFiles:
				line += " mtime " + info.ModTime().UTC().Format(time.RFC3339Nano)
			}
			out = append(out, line)
		case info.IsDir():
			out = append(out, fmt.Sprintf("%s dir %o", rel, info.Mode().Perm()))
		case info.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(abs)
			if err != nil {
				return err
			}
			out = append(out, fmt.Sprintf("%s symlink %s", rel, t))
		default:
			out = append(out, fmt.Sprintf("%s other %v", rel, info.Mode()))
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}

// diff describes how got differs from want in at most a few lines; it is
// empty when they are equal.
func (want listing) diff(got listing) string {
	if slices.Equal(want, got) {
		return ""
	}
	w := map[string]bool{}
	for _, l := range want {
		w[l] = true
	}
	g := map[string]bool{}
	for _, l := range got {
		g[l] = true
	}
	var lines []string
	for _, l := range want {
		if !g[l] {
			lines = append(lines, "missing: "+l)
		}
	}
	for _, l := range got {
		if !w[l] {
			lines = append(lines, "extra:   "+l)
		}
	}
	n := len(lines)
	if n > 6 {
		lines = append(lines[:6], fmt.Sprintf("... %d more", n-6))
	}
	return fmt.Sprintf("%d entries expected, %d found; %s", len(want), len(got), strings.Join(lines, "; "))
}
