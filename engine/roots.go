package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/zerosync/zerosync"
)

// WithFilesystemRoot lets a root be the whole file system ("/"), which is
// refused otherwise: syncing "/" is almost always a slip of the command
// line.
func WithFilesystemRoot() Option {
	return func(e *Engine) error { e.allowFSRoot = true; return nil }
}

// checkRootsApart refuses roots that overlap: one inside another, the same
// directory reached by two paths (a symlink, a bind mount), or "/" without
// [WithFilesystemRoot]. Each cycle would otherwise copy a tree into itself,
// one level deeper every time. Only endpoints that tell their location
// ([zerosync.Locator]) are checked; on this host the paths are resolved
// and compared by device and inode too.
func (e *Engine) checkRootsApart(trees []Peer) error {
	type root struct {
		name string
		loc  zerosync.Location
		real string // this host: symlinks resolved
	}
	var roots []root
	for _, t := range trees {
		l, ok := t.Endpoint.(zerosync.Locator)
		if !ok {
			continue
		}
		r := root{name: t.Name, loc: l.Location()}
		r.real = r.loc.Path
		if r.loc.Host == "" {
			if real, err := filepath.EvalSymlinks(r.loc.Path); err == nil {
				r.real = real
			}
		}
		if (r.real == "/" || r.loc.Path == "/") && !e.allowFSRoot {
			return fmt.Errorf("engine: the root of %s is %s, the whole file system; refusing it without the option to allow it", t.Name, r.loc)
		}
		roots = append(roots, r)
	}
	for i, a := range roots {
		for _, b := range roots[i+1:] {
			if a.loc.Host != b.loc.Host {
				continue
			}
			var inside bool
			switch {
			case a.loc.Host == "":
				inside = within(a.real, b.real) || within(b.real, a.real) || sameDirAbove(a.real, b.real) || sameDirAbove(b.real, a.real)
			default:
				inside = within(a.loc.Path, b.loc.Path) || within(b.loc.Path, a.loc.Path)
			}
			if inside {
				return fmt.Errorf("engine: the roots of %s (%s) and %s (%s) overlap: one is, or is inside, the other; give each tree its own directory",
					a.name, a.loc, b.name, b.loc)
			}
		}
	}
	return nil
}

// within reports whether path inner is dir or beneath it (lexically).
func within(dir, inner string) bool {
	dir, inner = filepath.Clean(dir), filepath.Clean(inner)
	if dir == inner || dir == "/" {
		return true
	}
	return strings.HasPrefix(inner, dir+"/")
}

// sameDirAbove reports whether dir, by device and inode, is inner or one of
// inner's ancestors: the same directory reached through a bind mount.
func sameDirAbove(dir, inner string) bool {
	var d syscall.Stat_t
	if err := syscall.Stat(dir, &d); err != nil {
		return false
	}
	for p := inner; ; p = filepath.Dir(p) {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err == nil && st.Dev == d.Dev && st.Ino == d.Ino {
			return true
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			return false
		}
		if p == "/" || p == "." {
			return false
		}
	}
}
