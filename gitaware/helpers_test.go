package gitaware_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/gitaware"
	"github.com/zerosync/zerosync/merge"
	"github.com/zerosync/zerosync/transport/local"
)

// gitEnv is an environment for the git command line that reads no config
// of the machine or the user.
func gitEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			env = append(env, kv)
		}
	}
	return append(env,
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_EDITOR=true",
		"GIT_TERMINAL_PROMPT=0",
		"LC_ALL=C",
	)
}

// gitRun runs git in dir and returns its output; ok is false when git
// failed.
func gitRun(t testing.TB, dir string, args ...string) (string, bool) {
	t.Helper()
	all := append([]string{
		"-c", "user.name=t", "-c", "user.email=t@example.invalid",
		"-c", "init.defaultBranch=main", "-c", "protocol.file.allow=always",
		"-c", "core.autocrlf=false", "-c", "commit.gpgsign=false",
		"-c", "advice.detachedHead=false", "-c", "gc.auto=0", "-c", "maintenance.auto=false",
	}, args...)
	cmd := exec.Command("git", all...)
	cmd.Dir = dir
	cmd.Env = gitEnv(home)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// gitCLI runs git in dir and fails the test when git fails.
func gitCLI(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, ok := gitRun(t, dir, args...)
	require.True(t, ok, "git %s in %s: %s", strings.Join(args, " "), dir, out)
	return strings.TrimSpace(out)
}

// home is an empty home directory for every git command of the tests.
var home string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gitaware-home-")
	if err != nil {
		panic(err)
	}
	home = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// write creates or replaces a file beneath root, with its directories.
func write(t testing.TB, root, p, content string) {
	t.Helper()
	full := filepath.Join(root, filepath.FromSlash(p))
	require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
	require.NoError(t, os.WriteFile(full, []byte(content), 0o644))
}

// read returns a file's content, or "<absent>".
func read(root, p string) string {
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
	if err != nil {
		return "<absent>"
	}
	return string(b)
}

// exists reports whether a path exists (without following a last symlink).
func exists(root, p string) bool {
	_, err := os.Lstat(filepath.Join(root, filepath.FromSlash(p)))
	return err == nil
}

// cliRepo makes a repository with the git command line in dir, with files
// committed on main.
func cliRepo(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	gitCLI(t, dir, "init", "-q")
	for p, c := range files {
		write(t, dir, p, c)
	}
	gitCLI(t, dir, "add", "-A")
	gitCLI(t, dir, "commit", "-q", "-m", "initial")
}

// cliClone clones src into dst with the git command line.
func cliClone(t testing.TB, src, dst string) {
	t.Helper()
	gitCLI(t, filepath.Dir(dst), "clone", "-q", src, dst)
}

// goGitRepo makes a repository with go-git in dir, with files committed.
func goGitRepo(t testing.TB, dir string, files map[string]string) *git.Repository {
	t.Helper()
	r, err := git.PlainInit(dir, false)
	require.NoError(t, err)
	for p, c := range files {
		write(t, dir, p, c)
	}
	goGitCommit(t, r, "initial", files)
	return r
}

// goGitCommit stages paths and commits them with go-git.
func goGitCommit(t testing.TB, r *git.Repository, msg string, paths map[string]string) {
	t.Helper()
	wt, err := r.Worktree()
	require.NoError(t, err)
	for p := range paths {
		_, err := wt.Add(p)
		require.NoError(t, err)
	}
	_, err = wt.Commit(msg, &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.invalid", When: time.Now()}})
	require.NoError(t, err)
}

// goGitClone clones src into dst with go-git.
func goGitClone(t testing.TB, src, dst string) *git.Repository {
	t.Helper()
	r, err := git.PlainClone(dst, false, &git.CloneOptions{URL: src})
	require.NoError(t, err)
	return r
}

// project returns a project with a fresh state directory and no global
// excludes file, so the machine's settings do not matter.
func project(t testing.TB, opts ...gitaware.Option) *gitaware.Project {
	t.Helper()
	p, err := gitaware.New(append([]gitaware.Option{gitaware.WithStateDir(t.TempDir()), gitaware.WithExcludesFile("")}, opts...)...)
	require.NoError(t, err)
	return p
}

// pair is an engine syncing two local directories through a project's view.
type pair struct {
	e      *engine.Engine
	a, b   string
	ea, eb *local.Endpoint
	names  [2]string
}

// newPair builds an engine for trees a and b (named by their base names)
// with the project's view and the diff3 resolver on the project's base.
func newPair(t testing.TB, p *gitaware.Project, a, b string, opts ...engine.Option) *pair {
	t.Helper()
	ea, err := local.New(a)
	require.NoError(t, err)
	eb, err := local.New(b)
	require.NoError(t, err)
	pr := &pair{a: a, b: b, ea: ea, eb: eb, names: [2]string{filepath.Base(a), filepath.Base(b)}}
	base := []engine.Option{
		engine.WithStatePath(filepath.Join(t.TempDir(), "state.db")),
		engine.WithView(p.View()),
		engine.WithResolvers(merge.Identical(), must(merge.Diff3(merge.WithBase(p.Base())))),
		engine.WithWatch(false),
	}
	pr.e, err = engine.New(engine.Peer{Name: pr.names[0], Endpoint: ea}, []engine.Peer{{Name: pr.names[1], Endpoint: eb}}, append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		pr.e.Close()
		ea.Close()
		eb.Close()
	})
	return pr
}

// sync runs one cycle and fails the test on an error.
func (pr *pair) sync(t testing.TB) zerosync.Report {
	t.Helper()
	rep, err := pr.e.SyncOnce(context.Background())
	require.NoError(t, err)
	return rep
}

// appliedPaths returns the paths the report applied, as "side:path".
func appliedPaths(rep zerosync.Report) []string {
	var out []string
	for _, a := range rep.Applied {
		out = append(out, a.Side.String()+":"+a.Path)
	}
	return out
}

// holds returns the hold errors among the report's problems.
func holds(rep zerosync.Report) []*gitaware.HoldError {
	var out []*gitaware.HoldError
	for _, pr := range rep.Problems {
		if h, ok := pr.Err.(*gitaware.HoldError); ok {
			out = append(out, h)
		}
	}
	return out
}

// tempRoots returns two fresh directories named a and b.
func tempRoots(t testing.TB) (a, b string) {
	tmp := t.TempDir()
	a, b = filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	return a, b
}

// localEndpoint opens a local endpoint on dir for the test.
func localEndpoint(t testing.TB, dir string) *local.Endpoint {
	t.Helper()
	ep, err := local.New(dir)
	require.NoError(t, err)
	t.Cleanup(func() { ep.Close() })
	return ep
}

// must returns v, panicking on err: for constructors in test set-up.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
