package app

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
)

// TestTreeFilter: the paths in a chosen tree pass (through the patterns),
// the folders above one are walked, the rest is left out; a list set
// takes effect at the next cycle's start only.
func TestTreeFilter(t *testing.T) {
	pats, err := engine.NewPatterns(nil, []string{"*.tmp"})
	require.NoError(t, err)
	f := newTreeFilter(pats, []string{"app", "work/lib"})
	for p, want := range map[string]zerosync.Verdict{
		"app":              zerosync.Include,
		"app/main.go":      zerosync.Include,
		"app/x.tmp":        zerosync.Exclude,
		"apple":            zerosync.Exclude,
		"work":             zerosync.Descend,
		"work/lib/lib.go":  zerosync.Include,
		"work/other":       zerosync.Exclude,
		"work/notes.txt":   zerosync.Exclude,
		"TODO":             zerosync.Exclude,
		"work/libs/lib.go": zerosync.Exclude,
	} {
		kind := zerosync.KindFile
		if filepath.Ext(p) == "" && p != "TODO" {
			kind = zerosync.KindDir
		}
		assert.Equal(t, want, f.Match(p, kind, false), "%s", p)
	}
	f.set([]string{"other"})
	assert.Equal(t, zerosync.Include, f.Match("app/main.go", zerosync.KindFile, false), "the cycle under way keeps its trees")
	f.observe(zerosync.Event{Kind: zerosync.EventCycleStart})
	assert.Equal(t, zerosync.Exclude, f.Match("app/main.go", zerosync.KindFile, false), "the next cycle follows the new list")
	f.set(nil)
	f.observe(zerosync.Event{Kind: zerosync.EventCycleStart})
	assert.Equal(t, zerosync.Include, f.Match("app/main.go", zerosync.KindFile, false), "no trees: the whole root")
}

// TestWriteTrees: the trees are written to the configuration file, its
// comments kept, whether the key was there, spans lines, or is missing;
// a missing file is written as init writes it.
func TestWriteTrees(t *testing.T) {
	dir := t.TempDir()
	env := &Env{App: &App{Name: "proj", Trees: true}, Root: filepath.Join(dir, "src"), ConfigPath: filepath.Join(dir, "cfg", "proj.toml"),
		Log: slog.New(slog.DiscardHandler)}
	require.NoError(t, env.writeTrees([]string{"app"}))
	cfg, err := ReadConfig(env.ConfigPath)
	require.NoError(t, err)
	assert.Equal(t, []string{"app"}, cfg.Trees)
	b, _ := os.ReadFile(env.ConfigPath)
	assert.Contains(t, string(b), "# trees are the directories below the root", "init's comments")

	for name, text := range map[string]string{
		"one line":    "# mine\nroot = \"/src\"\ntrees = [\"x\"]\n\n[[peer]]\nname = \"s\"\nlocation = \"/s\"\n",
		"lines":       "# mine\nroot = \"/src\"\ntrees = [\n  \"x\",\n  \"y\",\n]\n# after\n[[peer]]\nname = \"s\"\nlocation = \"/s\"\n",
		"missing":     "# mine\nroot = \"/src\"\n\n[[peer]]\nname = \"s\"\nlocation = \"/s\"\n",
		"no tables":   "# mine\nroot = \"/src\"\n",
		"inline only": "# mine\nroot = \"/src\"\npeer = [{name = \"s\", location = \"/s\"}]\n",
	} {
		require.NoError(t, os.WriteFile(env.ConfigPath, []byte(text), 0o600))
		require.NoError(t, env.writeTrees([]string{"app", "work/lib"}), name)
		cfg, err := ReadConfig(env.ConfigPath)
		require.NoError(t, err, name)
		assert.Equal(t, []string{"app", "work/lib"}, cfg.Trees, name)
		assert.Equal(t, "/src", cfg.Root, name)
		b, _ := os.ReadFile(env.ConfigPath)
		assert.Contains(t, string(b), "# mine", "%s: the comments kept:\n%s", name, b)
		if name != "no tables" {
			require.Len(t, cfg.Peers, 1, name)
		}
	}
	require.NoError(t, os.WriteFile(env.ConfigPath, []byte("trees = [\"../up\"]\n"), 0o600))
	_, err = ReadConfig(env.ConfigPath)
	assert.ErrorContains(t, err, "tree \"../up\"", "a tree outside the root is refused")
}

// TestTreesOnlyWhereChosen: an engine that syncs its whole root refuses a
// configuration file that chooses trees, rather than ignore them.
func TestTreesOnlyWhereChosen(t *testing.T) {
	h := newHost(t, "whole")
	cfg := filepath.Join(h.dir, "whole.toml")
	require.NoError(t, os.WriteFile(cfg, []byte("trees = [\"app\"]\n"), 0o600))
	_, _, err := h.cli("--config", cfg, "status")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "syncs its whole root, not chosen trees")
	_, _, err = h.cli("--config", cfg, "trees", "list")
	require.Error(t, err, "no trees command")
}

// TestTreeInsideRepositoryRefused: a tree inside a git repository is
// refused, naming the repository to add instead; the repository itself,
// and a folder holding repositories, are taken.
func TestTreeInsideRepositoryRefused(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "src")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "work", "app", ".git"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "work", "app", "cmd", "tool"), 0o755))
	var out strings.Builder
	env := &Env{App: &App{Name: "proj", Trees: true}, Root: root, ConfigPath: filepath.Join(dir, "cfg", "proj.toml"),
		Log: slog.New(slog.DiscardHandler), Streams: Streams{Out: &out, Err: &out}}
	err := env.treesCmd(t.Context(), []string{"add", "work/app/cmd/tool"})
	require.Error(t, err)
	assert.Equal(t, 2, ExitCode(err), "a usage error")
	assert.Contains(t, err.Error(), "tree work/app/cmd/tool is inside the git repository work/app,")
	assert.Contains(t, err.Error(), "add the repository instead: proj trees add work/app")
	_, err = os.Stat(env.ConfigPath)
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing written")

	require.NoError(t, env.treesCmd(t.Context(), []string{"add", "work/app", "work"}), "the repository, and a folder holding repositories")
	cfg, err := ReadConfig(env.ConfigPath)
	require.NoError(t, err)
	assert.Equal(t, []string{"work", "work/app"}, cfg.Trees)
}
