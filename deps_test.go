package zerosync_test

import (
	"os/exec"
	"strings"
	"testing"
)

// goList runs "go list" with args in the module and returns its lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Fields(string(out))
}

// TestDependencies keeps the house in order: plug-ins lean on the root
// package, not on each other, and the example engines use only public
// packages.
func TestDependencies(t *testing.T) {
	const mod = "github.com/zerosync/zerosync/"
	for pkg, banned := range map[string][]string{
		"./transport/ssh":    {"agent", "transport/local", "engine"},
		"./transport/remote": {"agent", "transport/local", "engine"},
		"./transport/local":  {"engine", "transport/remote"},
		"./gitaware":         {"engine", "merge"},
		"./merge/...":        {"engine", "gitaware"},
	} {
		deps := goList(t, "-deps", pkg)
		for _, b := range banned {
			for _, d := range deps {
				if d == mod+b {
					t.Errorf("%s depends on %s", pkg, b)
				}
			}
		}
	}
	for _, d := range goList(t, "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".") {
		if d != strings.TrimSuffix(mod, "/") {
			t.Errorf("the root package depends on %s, outside the standard library", d)
		}
	}
	for _, line := range goList(t, "-f", "{{.ImportPath}}:{{join .Imports \",\"}}", "./examples/...") {
		name, imports, _ := strings.Cut(line, ":")
		for imp := range strings.SplitSeq(imports, ",") {
			if strings.HasPrefix(imp, mod+"internal/") {
				t.Errorf("%s imports %s", name, imp)
			}
		}
	}
}
