package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

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
		l, ok := zerosync.As[zerosync.Locator](t.Endpoint)
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
				inside = within(a.real, b.real) || within(b.real, a.real)
				da, pa, oka := fsPath(a.real)
				db, pb, okb := fsPath(b.real)
				if oka && okb && da == db {
					inside = inside || within(pa, pb) || within(pb, pa)
				}
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

// fsPath returns where path lies within its file system: the device of
// the mount holding it and the path from that file system's own root, as
// /proc/self/mountinfo tells. Two paths reaching the same directory
// through a bind mount get the same answer. ok is false when the mount
// table cannot be read.
func fsPath(path string) (dev, inFS string, ok bool) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", "", false
	}
	best := -1
	for line := range strings.SplitSeq(string(data), "\n") {
		// id parent major:minor root mountpoint options ...
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mnt := unescapeMount(f[4])
		if !within(mnt, path) || len(mnt) < best {
			continue
		}
		best = len(mnt)
		rest := strings.TrimPrefix(path, mnt)
		if mnt == "/" {
			rest = path
		}
		dev, inFS = f[2], filepath.Join(unescapeMount(f[3]), rest)
	}
	return dev, inFS, best >= 0
}

// unescapeMount undoes the octal escapes (\040 for a space) of a path in
// the mount table.
func unescapeMount(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
