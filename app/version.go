package app

import (
	"runtime/debug"
	"strings"
)

// version says which build of the program this is: the module version it
// was built at (go install ...@v1.2.3), or "(devel)" with the commit and
// whether the tree held changes, and the Go release. It is "unknown" when the
// binary carries no build information.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	return describeBuild(bi)
}

// describeBuild is [version] of given build information.
func describeBuild(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "unknown"
	}
	parts := []string{v}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" && !strings.Contains(v, rev[:min(12, len(rev))]) {
		rev = rev[:min(12, len(rev))]
		if modified == "true" {
			rev += " (modified)"
		}
		parts = append(parts, "commit "+rev)
	}
	if bi.GoVersion != "" {
		parts = append(parts, bi.GoVersion)
	}
	return strings.Join(parts, ", ")
}
