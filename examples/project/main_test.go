package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync/app"
	"github.com/zerosync/zerosync/app/apptest"
)

// git runs git in dir, with no user or system configuration.
func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// TestGitOnlyByDefault syncs a repository cloned on two hosts with a fresh
// engine, never told a mode: it is in git-only mode, so edits of tracked
// files cross both ways, and untracked files (in the repository or outside
// any) stay on the host that made them.
func TestGitOnlyByDefault(t *testing.T) {
	h := apptest.NewHosts(t, newApp(), "server")
	root, peer := h.Root, h.Peers["server"]
	repo := filepath.Join(root, "app")
	h.Write(repo, "main.go", "package main\n", 0o644)
	h.Write(repo, "util/util.go", "package util\n", 0o644)
	h.Write(repo, ".gitignore", "build/\n", 0o644)
	git(t, repo, "init", "-q")
	git(t, repo, "add", ".")
	git(t, repo, "commit", "-q", "-m", "first")
	git(t, peer, "clone", "-q", repo, "app")

	require.Equal(t, "git-only\n", h.Run("mode"), "the default mode")
	h.Write(repo, "main.go", "package main\n\nfunc main() {}\n", 0o644)
	h.Write(repo, "notes.txt", "untracked notes\n", 0o644)
	h.Write(repo, ".env.example", "TOKEN=\n", 0o644)
	h.Write(root, "TODO", "outside every repository\n", 0o644)
	h.Write(filepath.Join(peer, "app"), "util/util.go", "package util\n\nconst V = 2\n", 0o644)
	h.Write(filepath.Join(peer, "app"), "scratch/data.csv", "a,b\n", 0o644)

	h.Run("once")
	c, _ := h.Read(peer, "app/main.go")
	assert.Equal(t, "package main\n\nfunc main() {}\n", c, "a tracked edit here crosses")
	c, _ = h.Read(root, "app/util/util.go")
	assert.Equal(t, "package util\n\nconst V = 2\n", c, "a tracked edit there comes back")
	for _, p := range []string{"app/notes.txt", "app/.env.example", "TODO"} {
		_, ok := h.Read(peer, p)
		assert.False(t, ok, "untracked %s crossed in git-only mode", p)
	}
	_, ok := h.Read(root, "app/scratch/data.csv")
	assert.False(t, ok, "the server's untracked scratch/data.csv crossed in git-only mode")
	assert.Contains(t, h.Run("plan"), "0 change(s), 0 conflict(s)")
}

// TestRepositories is the project engine's smoke test, on a real
// repository cloned to both sides: tracked files cross in git-only mode, untracked ones after
// "mode all", and the history can list a synced file.
func TestRepositories(t *testing.T) {
	tmp := t.TempDir()
	root, peer := filepath.Join(tmp, "root"), filepath.Join(tmp, "peer")
	write := func(p, c string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(root, "app", "main.go"), "package main\n")
	write(filepath.Join(root, "app", ".gitignore"), "build/\n")
	git(t, filepath.Join(root, "app"), "init", "-q")
	git(t, filepath.Join(root, "app"), "add", ".")
	git(t, filepath.Join(root, "app"), "commit", "-q", "-m", "first")
	os.MkdirAll(peer, 0o755)
	git(t, peer, "clone", "-q", filepath.Join(root, "app"), "app")
	write(filepath.Join(root, "app", "main.go"), "package main\n\nfunc main() {}\n")
	write(filepath.Join(root, "app", "notes.txt"), "untracked notes\n")
	write(filepath.Join(root, "app", "build", "out.bin"), "ignored\n")

	a := newApp()
	run := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		all := append([]string{"--root", root, "--peer", "server=" + peer, "--state", filepath.Join(tmp, "state", "project.db")}, args...)
		if err := a.Run(context.Background(), all, app.Streams{In: strings.NewReader(""), Out: &out, Err: &out}); err != nil {
			t.Fatalf("project %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	read := func(p string) string { b, _ := os.ReadFile(filepath.Join(peer, "app", p)); return string(b) }

	run("once")
	if got := read("main.go"); got != "package main\n\nfunc main() {}\n" {
		t.Errorf("tracked edit did not cross: %q", got)
	}
	if read("notes.txt") != "" {
		t.Error("an untracked file crossed in git-only mode")
	}
	if out := run("mode", "all"); !strings.Contains(out, "all") {
		t.Fatalf("mode: %s", out)
	}
	run("once")
	if read("notes.txt") != "untracked notes\n" {
		t.Error("the untracked file did not cross in mode all")
	}
	if read("build/out.bin") != "" {
		t.Error("an ignored file crossed")
	}
	if out := run("history", "log", "app/main.go"); !strings.Contains(out, "bytes") {
		t.Errorf("history log:\n%s", out)
	}
}

// clonedRepo makes a repository "app" in this host's tree, committed,
// and clones it into the server's tree.
func clonedRepo(t *testing.T, h *apptest.Hosts) (repo string) {
	t.Helper()
	repo = filepath.Join(h.Root, "app")
	h.Write(repo, "main.go", "package main\n", 0o644)
	h.Write(repo, ".gitignore", "build/\n", 0o644)
	git(t, repo, "init", "-q")
	git(t, repo, "add", ".")
	git(t, repo, "commit", "-q", "-m", "first")
	git(t, h.Peers["server"], "clone", "-q", repo, "app")
	return repo
}

// ownDirs points the runtime and configuration directories at the test's
// own, so a daemon's socket and its configuration file are the test's.
func ownDirs(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("ANTHROPIC_API_KEY", "")
}

// TestCommandsWithDaemon: while project run holds the state, mode, mode
// all, history log and history restore succeed (they run in the daemon)
// and agree with it: the mode it switched to is the one the daemon syncs
// by, the history lists the versions its cycles recorded, and a restore
// reaches the peer through its next cycle. Without the daemon the same
// commands see what it left.
func TestCommandsWithDaemon(t *testing.T) {
	ownDirs(t)
	h := apptest.NewHosts(t, newApp(), "server")
	peer := h.Peers["server"]
	repo := clonedRepo(t, h)
	d := h.Daemon()

	require.Equal(t, "git-only\n", h.Run("mode"), "the daemon's mode\n%s", d.Output())
	h.Write(repo, "notes.txt", "untracked notes\n", 0o644)
	h.Run("flush")
	_, ok := h.Read(peer, "app/notes.txt")
	require.False(t, ok, "an untracked file crossed in git-only mode")

	assert.Contains(t, h.Run("mode", "all"), "mode all for every engine of the project")
	assert.Equal(t, "all\n", h.Run("mode"))
	h.Run("flush")
	c, _ := h.Read(peer, "app/notes.txt")
	assert.Equal(t, "untracked notes\n", c, "the daemon syncs by the mode set through it\n%s", d.Output())

	// Two edits, each synced by the daemon, which records them.
	h.Write(repo, "main.go", "package main\n\nfunc main() {}\n", 0o644)
	h.Run("flush")
	h.Write(repo, "main.go", "package main\n\nfunc main() { println(2) }\n", 0o644)
	h.Run("flush")
	c, _ = h.Read(peer, "app/main.go")
	require.Equal(t, "package main\n\nfunc main() { println(2) }\n", c)
	log := h.Run("history", "log", "app/main.go")
	lines := strings.Split(strings.TrimSpace(log), "\n")
	require.Len(t, lines, 2, "the versions the daemon's cycles recorded:\n%s", log)
	first := strings.Fields(lines[1])[0] // newest first
	out := h.Run("history", "restore", "app/main.go@"+first)
	assert.Contains(t, out, "restored app/main.go@"+first)
	c, _ = h.Read(h.Root, "app/main.go")
	assert.Equal(t, "package main\n\nfunc main() {}\n", c, "restored here")
	c, _ = h.Read(peer, "app/main.go")
	assert.Equal(t, "package main\n\nfunc main() {}\n", c, "the daemon's cycle carried the restore to the peer")

	// --everywhere goes to the daemon's settings for every host (no
	// peer of this test has a daemon to pass it to).
	out = h.Run("mode", "untracked", "--everywhere")
	assert.Contains(t, out, "mode=untracked on every host (setting 1)")
	assert.Contains(t, out, "applied on: this host")
	assert.Equal(t, "untracked\n", h.Run("mode"))
	h.Run("mode", "all")

	// A wrong argument is the same usage error through the daemon.
	_, err := h.Try("mode", "sideways")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unknown mode")

	require.NoError(t, d.Stop(t))
	assert.Equal(t, "all\n", h.Run("mode"), "without a daemon, the mode it left")
	log = h.Run("history", "log", "app/main.go")
	lines = strings.Split(strings.TrimSpace(log), "\n")
	require.Len(t, lines, 3, "without a daemon, the history it recorded, the restore too:\n%s", log)
	second := strings.Fields(lines[1])[0]
	assert.Contains(t, h.Run("history", "restore", "app/main.go@"+second), "restored app/main.go@"+second)
	c, _ = h.Read(peer, "app/main.go")
	assert.Equal(t, "package main\n\nfunc main() { println(2) }\n", c, "a restore without a daemon syncs itself")
}

// TestTreesLive: trees chosen below the root are synced and nothing else;
// a tree added while the daemon runs syncs at once, without a restart,
// and is written to the configuration, so it survives a restart; a
// removed one stops syncing, its files left as they are on both hosts.
func TestTreesLive(t *testing.T) {
	ownDirs(t)
	h := apptest.NewHosts(t, newApp(), "server")
	peer := h.Peers["server"]
	for _, name := range []string{"app", "lib"} {
		repo := filepath.Join(h.Root, name)
		h.Write(repo, name+".go", "package "+name+"\n", 0o644)
		git(t, repo, "init", "-q")
		git(t, repo, "add", ".")
		git(t, repo, "commit", "-q", "-m", "first")
		git(t, peer, "clone", "-q", repo, name)
	}
	assert.Contains(t, h.Run("trees", "list"), "no trees chosen: the whole root")
	out := h.Run("trees", "add", "app/")
	assert.Contains(t, out, "added tree app\n")
	assert.Contains(t, out, "no daemon of project is running")
	assert.Equal(t, "app\n", h.Run("trees", "list"))

	d := h.Daemon()
	edit := func(name, v string) string {
		c := "package " + name + "\n\nconst V = " + v + "\n"
		h.Write(filepath.Join(h.Root, name), name+".go", c, 0o644)
		return c
	}
	at := func(name string) string {
		c, _ := h.Read(peer, name+"/"+name+".go")
		return c
	}
	app1, lib1 := edit("app", "1"), edit("lib", "1")
	h.Run("flush")
	assert.Equal(t, app1, at("app"), "the tree chosen syncs\n%s", d.Output())
	assert.Equal(t, "package lib\n", at("lib"), "a tree not chosen does not")

	out = h.Run("trees", "add", filepath.Join(h.Root, "lib"))
	assert.Contains(t, out, "added tree lib\n")
	assert.Contains(t, out, "the running daemon syncs them now: 1 change(s) synced", "synced by the add itself")
	assert.Equal(t, lib1, at("lib"), "the tree added live syncs without a restart\n%s", d.Output())
	assert.Equal(t, "app\nlib\n", h.Run("trees", "list"), "the daemon's trees")

	// A restart: the trees come from the configuration file.
	require.NoError(t, d.Stop(t))
	cfg, err := app.ReadConfig(filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "zerosync", "project.toml"))
	require.NoError(t, err)
	assert.Equal(t, []string{"app", "lib"}, cfg.Trees)
	d = h.Daemon()
	lib2 := edit("lib", "2")
	h.Run("flush")
	assert.Equal(t, lib2, at("lib"), "the tree added live survived the restart\n%s", d.Output())

	out = h.Run("trees", "remove", "app")
	assert.Contains(t, out, "removed tree app\n")
	edit("app", "2")
	lib3 := edit("lib", "3")
	h.Run("flush")
	assert.Equal(t, app1, at("app"), "a removed tree no longer syncs\n%s", d.Output())
	assert.Equal(t, lib3, at("lib"), "the other tree still does")
	c, _ := h.Read(h.Root, "app/app.go")
	assert.Equal(t, "package app\n\nconst V = 2\n", c, "the removed tree's files stay as they are")
	assert.Equal(t, "lib\n", h.Run("trees", "list"))

	_, err = h.Try("trees", "remove", "lib")
	require.Error(t, err, "the last tree")
	assert.Contains(t, err.Error(), "the last tree cannot be removed")
	_, err = h.Try("trees", "add", "../elsewhere")
	require.Error(t, err)
	assert.Equal(t, app.ExitUsage, app.ExitCode(err))

	require.NoError(t, d.Stop(t))
	cfg, err = app.ReadConfig(filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "zerosync", "project.toml"))
	require.NoError(t, err)
	assert.Equal(t, []string{"lib"}, cfg.Trees, "the removal is in the configuration")
}

// TestRepositoryAppearsLive: a repository cloned below the root on both
// hosts while the daemon runs is found by its next cycle and synced,
// without a restart; one removed on both hosts is gone from its cycles.
func TestRepositoryAppearsLive(t *testing.T) {
	ownDirs(t)
	h := apptest.NewHosts(t, newApp(), "server")
	peer := h.Peers["server"]
	clonedRepo(t, h)
	d := h.Daemon()
	h.Run("flush")

	repo := filepath.Join(h.Root, "tool")
	h.Write(repo, "tool.go", "package tool\n", 0o644)
	git(t, repo, "init", "-q")
	git(t, repo, "add", ".")
	git(t, repo, "commit", "-q", "-m", "first")
	// Cloned beside the tree and moved in whole: a clone made in the tree
	// itself can be seen by a cycle half done (the repository there, its
	// files not yet checked out).
	aside := t.TempDir()
	git(t, aside, "clone", "-q", repo, "tool")
	require.NoError(t, os.Rename(filepath.Join(aside, "tool"), filepath.Join(peer, "tool")))
	h.Write(repo, "tool.go", "package tool\n\nconst V = 1\n", 0o644)
	h.Run("flush")
	c, _ := h.Read(peer, "tool/tool.go")
	assert.Equal(t, "package tool\n\nconst V = 1\n", c, "the new repository's tracked edit crossed\n%s", d.Output())

	require.NoError(t, os.RemoveAll(repo))
	require.NoError(t, os.RemoveAll(filepath.Join(peer, "tool")))
	h.Run("flush")
	assert.Contains(t, h.Run("plan"), "0 change(s), 0 conflict(s)", "a repository gone from both hosts leaves nothing to do")
	h.Write(filepath.Join(h.Root, "app"), "main.go", "package main\n\nfunc main() {}\n", 0o644)
	h.Run("flush")
	c, _ = h.Read(peer, "app/main.go")
	assert.Equal(t, "package main\n\nfunc main() {}\n", c, "the other repository still syncs\n%s", d.Output())
}
