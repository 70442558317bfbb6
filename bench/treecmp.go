package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// listing is a tree as sorted lines "path kind perm digest-or-target", the
// form in which two tools' results are compared. Names the library keeps for
// itself (its state folder, temp files, conflict copies) are left out;
// anything else a tool leaves behind is a difference.
type listing []string

// listTree reads the tree beneath root. Modification times are not listed:
// tools differ in whether they keep a folder's time, and content decides.
func listTree(root string) (listing, error) {
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
			f, err := os.Open(abs)
			if err != nil {
				return err
			}
			sum, _, err := digest.ReadAll(f)
			f.Close()
			if err != nil {
				return err
			}
			out = append(out, fmt.Sprintf("%s file %o %s", rel, info.Mode().Perm(), sum))
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
