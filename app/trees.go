package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
)

// Trees: an engine that syncs several trees below its root ([App.Trees],
// the project engine: ~/src/app, ~/src/lib) syncs only the directories
// its trees list names, each at the same place below every host's root;
// with none listed it syncs the whole root. "trees add" and "trees remove"
// change the list live, as Mutagen creates and terminates sessions: the
// running daemon starts syncing an added tree at once and stops syncing a
// removed one from its next cycle, and the configuration file (trees)
// keeps the list for the next start. A removed tree's files stay as they
// are on every host, and its common state is kept: added again, it goes
// on where it stopped. A tree is a folder the engine's views see whole:
// for the project engine, a repository or a folder holding repositories,
// not a folder inside one (whose repository the view would not see, as
// with a root inside a repository).

// treeFilter is the engine's filter when it syncs chosen trees: a path is
// synced when it lies in one of the trees (and the patterns let it
// through); the folders above a tree are walked, nothing else is synced.
// The trees a cycle follows are fixed when it starts ([treeFilter.observe]),
// so the three trees of a pair are always narrowed alike: a tree removed
// in the middle of a cycle never looks deleted on one side only.
type treeFilter struct {
	// pats are the engine's include and exclude patterns; nil for none.
	pats zerosync.Filter
	// next is the list set last; cur the one the cycle under way follows.
	next, cur atomic.Pointer[[]string]
	// edit is held by a trees command changing the list, so that two at
	// once do not lose one's change, in the list or in the file.
	edit sync.Mutex
}

var _ zerosync.Filter = (*treeFilter)(nil)

// newTreeFilter returns the filter of trees (checked, sorted) and pats.
func newTreeFilter(pats zerosync.Filter, trees []string) *treeFilter {
	f := &treeFilter{pats: pats}
	f.set(trees)
	f.cur.Store(f.next.Load())
	return f
}

// set makes trees the list the next cycle follows.
func (f *treeFilter) set(trees []string) {
	t := slices.Clone(trees)
	f.next.Store(&t)
}

// trees returns the list set last.
func (f *treeFilter) trees() []string { return slices.Clone(*f.next.Load()) }

// observe takes the list set last when a cycle starts; the engine calls it
// with its cycle lock held, as it calls Match.
func (f *treeFilter) observe(ev zerosync.Event) {
	if ev.Kind == zerosync.EventCycleStart {
		f.cur.Store(f.next.Load())
	}
}

// Match implements [zerosync.Filter].
func (f *treeFilter) Match(p string, kind zerosync.Kind, inside bool) zerosync.Verdict {
	if trees := *f.cur.Load(); len(trees) > 0 {
		in, above := false, false
		for _, t := range trees {
			if p == t || strings.HasPrefix(p, t+"/") {
				in = true
				break
			}
			above = above || strings.HasPrefix(t, p+"/")
		}
		if !in {
			if !above || kind != zerosync.KindDir {
				return zerosync.Exclude
			}
			if f.pats != nil && f.pats.Match(p, kind, false) == zerosync.Exclude {
				return zerosync.Exclude
			}
			return zerosync.Descend
		}
	}
	if f.pats == nil {
		return zerosync.Include
	}
	return f.pats.Match(p, kind, inside)
}

// checkTree checks a tree as the configuration file gives it: a clean
// relative slash path below the root, not a name zerosync keeps.
func checkTree(t string) error {
	if err := zerosync.CheckPath(t); err != nil {
		return fmt.Errorf("tree %q: want a directory below the root, such as app or work/lib: %w", t, err)
	}
	return nil
}

// treeArg reads a tree as a person types it: relative to the root, or a
// path beneath the root (~/src/app), with or without a trailing slash.
func (env *Env) treeArg(arg string) (string, error) {
	t := arg
	if filepath.IsAbs(t) || strings.HasPrefix(t, "~/") {
		abs, err := expandHome(t)
		if err != nil {
			return "", err
		}
		rel, err := filepath.Rel(env.Root, abs)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
			return "", usageErrorf("tree %s is not below the root %s", Name(arg), Name(env.Root))
		}
		t = rel
	}
	t = strings.TrimRight(filepath.ToSlash(t), "/")
	if err := checkTree(t); err != nil {
		return "", usageError(err)
	}
	return t, nil
}

// treesUsage is the help of the trees command.
const treesUsage = `List, add or remove the trees this engine syncs: directories below the
root, each synced at the same place below every host's root. With none
listed, the whole root is synced.

  trees list          the trees synced
  trees add DIR...    sync DIR too (relative to the root, or a path beneath it)
  trees remove DIR... stop syncing DIR; its files stay as they are everywhere

The running daemon starts syncing an added tree at once, without a
restart, and stops syncing a removed one from its next cycle; the
configuration file keeps the list (trees) for the next start. Without a
daemon, only the file changes.

With --everywhere, add or remove sets the list it makes here on every
host the engine reaches, as pause --everywhere does: each host's daemon
(or configuration file) takes it, a host that cannot be reached gets it
when it is next reached, and status lists the hosts that have not. The
list set last wins on every host.`

// treesCommand is the trees subcommand; it runs in the daemon while one
// runs.
var treesCommand = Command{Usage: "list | add DIR... | remove DIR... [--everywhere]  the trees below the root this engine syncs, live and in the configuration (on every host)",
	Daemon: true, Run: func(ctx context.Context, env *Env, args []string) error { return env.treesCmd(ctx, args) }}

// treesCmd is trees list, add and remove.
func (env *Env) treesCmd(ctx context.Context, args []string) error {
	usage := usageErrorf("usage: %s trees list | add DIR... | remove DIR... [--everywhere]", env.App.Name)
	everywhere := slices.Contains(args, "--everywhere")
	args = slices.DeleteFunc(slices.Clone(args), func(a string) bool { return a == "--everywhere" })
	if len(args) == 0 || everywhere && args[0] == "list" {
		return usage
	}
	if everywhere {
		// The list is made here and set on every host, this one included
		// (applyTreesSetting takes the edit lock).
		next, _, err := env.editTrees(args, usage)
		if err != nil {
			return err
		}
		value, err := json.Marshal(next)
		if err != nil {
			return err
		}
		return env.SetEverywhere(ctx, settingTrees, string(value))
	}
	if env.trees != nil {
		env.trees.edit.Lock()
		defer env.trees.edit.Unlock()
	}
	cur := env.chosenTrees()
	out := env.Streams.Out
	switch args[0] {
	case "list":
		if len(args) != 1 {
			return usage
		}
		if len(cur) == 0 {
			fmt.Fprintf(out, "no trees chosen: the whole root %s is synced\n", Name(env.Root))
		}
		for _, t := range cur {
			fmt.Fprintln(out, Name(t))
		}
		return nil
	case "add", "remove":
	default:
		return usage
	}
	next, names, err := env.editTrees(args, usage)
	if err != nil {
		return err
	}
	if err := env.writeTrees(next); err != nil {
		return err
	}
	verb := "added"
	if args[0] == "remove" {
		verb = "removed"
	}
	for _, t := range names {
		fmt.Fprintf(out, "%s tree %s\n", verb, Name(t))
	}
	fmt.Fprintf(out, "wrote trees to %s\n", Name(env.ConfigPath))
	if len(cur) == 0 {
		fmt.Fprintf(out, "only the trees listed are synced from now on, no longer the whole root\n")
	}
	if env.running == nil {
		fmt.Fprintf(out, "no daemon of %s is running: the next %s run follows the trees\n", env.App.Name, env.App.Name)
		return nil
	}
	env.trees.set(next)
	if args[0] == "remove" {
		fmt.Fprintf(out, "the running daemon stops syncing them from its next cycle; their files stay as they are on every host\n")
		return nil
	}
	rep, err := env.running.Flush(ctx)
	switch {
	case errors.Is(err, zerosync.ErrPaused):
		fmt.Fprintf(out, "the running daemon is paused: it syncs them when resumed (%s resume)\n", env.App.Name)
	case err != nil:
		fmt.Fprintf(out, "the running daemon syncs them now; its sync failed: %s\n", Text(err.Error()))
	default:
		fmt.Fprintf(out, "the running daemon syncs them now: %d change(s) synced\n", len(rep.Applied))
	}
	return nil
}

// editTrees returns the list of trees that args (add or remove, then the
// trees as a person types them) make of the list synced now, sorted, and
// the trees args name; usage is the error of a command line without trees.
func (env *Env) editTrees(args []string, usage error) (next, names []string, err error) {
	if len(args) < 2 || args[0] != "add" && args[0] != "remove" {
		return nil, nil, usage
	}
	cur := env.chosenTrees()
	for _, a := range args[1:] {
		t, err := env.treeArg(a)
		if err != nil {
			return nil, nil, err
		}
		names = append(names, t)
	}
	next = slices.Clone(cur)
	if args[0] == "add" {
		for _, t := range names {
			if repo, ok := env.repositoryAbove(t); ok {
				return nil, nil, usageErrorf("tree %s is inside the git repository %s, which a tree's view would not see (its ignore rules, its tracked files); add the repository instead: %s trees add %s",
					Name(t), Name(repo), env.App.Name, Name(repo))
			}
			if slices.Contains(next, t) {
				return nil, nil, fmt.Errorf("tree %s is synced already (%s trees list)", Name(t), env.App.Name)
			}
			next = append(next, t)
		}
	} else {
		for _, t := range names {
			i := slices.Index(next, t)
			if i < 0 {
				return nil, nil, fmt.Errorf("no tree %s is synced (%s trees list)", Name(t), env.App.Name)
			}
			next = slices.Delete(next, i, i+1)
		}
		if len(next) == 0 {
			return nil, nil, fmt.Errorf("the last tree cannot be removed: with no trees the whole root would be synced; add another tree first, or empty trees in %s and restart the daemon", Name(env.ConfigPath))
		}
	}
	slices.Sort(next)
	return next, names, nil
}

// applyTreesSetting makes value (a JSON array of trees, set by trees
// add|remove --everywhere on some host) this host's list: written to the
// configuration file and, when daemon is the running daemon's engine,
// followed from its next cycle, which it asks for at once (a flush, not
// waited for) so that an added tree is synced.
func (env *Env) applyTreesSetting(ctx context.Context, daemon *engine.Engine, value string) error {
	var trees []string
	if err := json.Unmarshal([]byte(value), &trees); err != nil {
		return fmt.Errorf("trees=%q: %w", value, err)
	}
	if len(trees) == 0 {
		return fmt.Errorf("trees=%q: no trees", value)
	}
	for _, t := range trees {
		if err := checkTree(t); err != nil {
			return err
		}
	}
	slices.Sort(trees)
	trees = slices.Compact(trees)
	if env.trees != nil {
		env.trees.edit.Lock()
		defer env.trees.edit.Unlock()
	}
	if slices.Equal(env.chosenTrees(), trees) {
		return nil
	}
	if err := env.writeTrees(trees); err != nil {
		return err
	}
	if daemon == nil || env.trees == nil {
		return nil
	}
	env.trees.set(trees)
	go func() {
		// Bounded: a flush is answered when Run ends, too.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Hour)
		defer cancel()
		if _, err := daemon.Flush(ctx); err != nil && !errors.Is(err, zerosync.ErrPaused) {
			env.Log.Warn("syncing the trees set on every host", "err", err)
		}
	}()
	return nil
}

// repositoryAbove returns the folder above tree t (a path below the
// root, not t itself) that holds a git repository on this host, if any.
func (env *Env) repositoryAbove(t string) (string, bool) {
	for d := zerosync.Parent(t); d != ""; d = zerosync.Parent(d) {
		if _, err := os.Lstat(filepath.Join(env.Root, filepath.FromSlash(d), ".git")); err == nil {
			return d, true
		}
	}
	return "", false
}

// chosenTrees are the trees synced now: the running daemon's, or the
// configuration file's.
func (env *Env) chosenTrees() []string {
	if env.trees != nil {
		return env.trees.trees()
	}
	if env.Config != nil {
		return slices.Clone(env.Config.Trees)
	}
	return nil
}

// treesLine matches the line that starts the top-level trees key.
var treesLine = regexp.MustCompile(`^\s*trees\s*=`)

// writeTrees writes trees to the configuration file, keeping the rest of
// it, comments included; a missing file is written as init writes it.
func (env *Env) writeTrees(trees []string) error {
	path := env.ConfigPath
	old, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		root := env.Root
		if def, err := expandHome(env.App.DefaultRoot); err == nil && def == env.Root {
			root = configRoot(env.App.DefaultRoot, env.Root)
		}
		if old, err = env.configText(root, env.Peers); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	cfg, err := parseConfig(path, old)
	if err != nil {
		return fmt.Errorf("%w; fix it, then add or remove the tree again", err)
	}
	value, err := tomlValue(trees)
	if err != nil {
		return err
	}
	text := setTopKey(string(old), treesLine, "trees = "+value+"\n")
	return env.writeConfigEdit(path, text, cfg,
		func(got *Config) bool { return slices.Equal(got.Trees, trees) },
		func(c *Config) { c.Trees = trees })
}

// setTopKey replaces the top-level key whose first line key matches in
// text, a TOML file, by line (a whole line, newline included); without
// one, line goes before the first table.
func setTopKey(text string, key *regexp.Regexp, line string) string {
	lines := strings.SplitAfter(text, "\n")
	for i, l := range lines {
		if tableHeader.MatchString(l) {
			break
		}
		if !key.MatchString(l) {
			continue
		}
		end := i + 1
		// An array over several lines ends at the line closing it.
		for depth := strings.Count(l, "[") - strings.Count(l, "]"); depth > 0 && end < len(lines); end++ {
			depth += strings.Count(lines[end], "[") - strings.Count(lines[end], "]")
		}
		return strings.Join(slices.Concat(lines[:i], []string{line}, lines[end:]), "")
	}
	i := slices.IndexFunc(lines, tableHeader.MatchString)
	if i < 0 {
		return strings.TrimRight(text, "\n") + "\n" + line
	}
	return strings.Join(slices.Concat(lines[:i], []string{line, "\n"}, lines[i:]), "")
}
