package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync/app"
	"github.com/zerosync/zerosync/app/apptest"
)

func TestSmoke(t *testing.T) { apptest.Smoke(t, newApp()) }

func TestVersions(t *testing.T) { apptest.Versions(t, newApp()) }

// TestHistoryUnionOnFirstSync syncs two hosts that both have a shell
// history and have never synced: both end with one history holding every
// line of both, and no conflict copy.
func TestHistoryUnionOnFirstSync(t *testing.T) {
	tmp := t.TempDir()
	root, peer := filepath.Join(tmp, "root"), filepath.Join(tmp, "peer")
	ours := "ls\ncd src\nmake\nmake test\n"
	theirs := "ls\ncd src\nvim notes\ngit pull\n"
	for dir, body := range map[string]string{root: ours, peer: theirs} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ".bash_history"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run := func(cmd string) string {
		t.Helper()
		var out bytes.Buffer
		args := []string{"--root", root, "--peer", "peer=" + peer, "--state", filepath.Join(tmp, "state", "environment.db"), cmd}
		if err := newApp().Run(context.Background(), args, app.Streams{In: strings.NewReader(""), Out: &out, Err: &out}); err != nil {
			t.Fatalf("environment %s: %v\n%s", cmd, err, out.String())
		}
		return out.String()
	}
	out := run("once")
	want := "ls\ncd src\nmake\nmake test\nvim notes\ngit pull\n"
	for _, dir := range []string{root, peer} {
		got, err := os.ReadFile(filepath.Join(dir, ".bash_history"))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s holds %q, want %q\n%s", dir, got, want, out)
		}
		names, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if n.Name() != ".bash_history" && n.Name() != ".zerosync" { // .zerosync: the archive
				t.Errorf("%s holds %q besides the history (a conflict copy?)\n%s", dir, n.Name(), out)
			}
		}
	}
	if !strings.Contains(out, "union") {
		t.Errorf("the report does not name the union merge:\n%s", out)
	}
	if out := run("plan"); !strings.Contains(out, "0 change(s), 0 conflict(s)") {
		t.Errorf("plan after the first sync has work:\n%s", out)
	}
}

// TestIncludeList syncs a home folder: the dotfiles, ~/bin and the editor
// configuration the engine lists cross both ways; everything else in the
// home folder (documents, keys, caches, other tools' configuration, editor
// swap and backup files) stays where it is.
func TestIncludeList(t *testing.T) {
	h := apptest.NewHosts(t, newApp(), "server")
	home, server := h.Root, h.Peers["server"]
	listed := map[string]string{
		".bashrc":               "export EDITOR=vim\n",
		".bash_aliases":         "alias ll='ls -l'\n",
		".bash_utils":           "mkcd() { mkdir -p \"$1\" && cd \"$1\"; }\n",
		".bash_profile":         ". ~/.bashrc\n",
		".profile":              "PATH=$HOME/bin:$PATH\n",
		".bash_history":         "ls\n",
		".inputrc":              "set completion-ignore-case on\n",
		".vimrc":                "set number\n",
		".tmux.conf":            "set -g mouse on\n",
		".gitconfig":            "[user]\n\tname = me\n",
		"bin/mkproj":            "#!/bin/sh\necho mkproj\n",
		"bin/lib/common.sh":     "log() { echo \"$@\"; }\n",
		".config/nvim/init.vim": "set nu\n",
	}
	unlisted := map[string]string{
		"Documents/x":            "a document\n",
		".ssh/id_ed25519":        "a private key\n",
		".cache/pip/http/x":      "a cache\n",
		".config/gh/hosts.yml":   "a token\n",
		".local/share/x.db":      "a database\n",
		".bashrc.swp":            "vim swap\n",
		".vimrc~":                "vim backup\n",
		"bin/.mkproj.swp":        "vim swap\n",
		"notes.txt":              "a file in the home folder\n",
		"src/project/.bashrc":    "not the home folder's\n",
		".config/nvim-old/x.vim": "a sibling of a listed folder\n",
	}
	for p, c := range listed {
		h.Write(home, p, c, 0o644)
	}
	for p, c := range unlisted {
		h.Write(home, p, c, 0o644)
	}
	// The server's own files outside the list stay there too.
	h.Write(server, "Downloads/big.iso", "an image\n", 0o644)

	h.Run("once")
	got := h.Tree(server)
	for p, c := range listed {
		assert.Equal(t, c, got[p], "%s is in the list: it should cross", p)
	}
	for p := range unlisted {
		assert.NotContains(t, got, p, "%s is not in the list: it should stay home", p)
	}
	_, ok := h.Read(home, "Downloads/big.iso")
	assert.False(t, ok, "the server's Downloads/big.iso is not in the list: it should stay there")

	// The other way: an edit of a listed file on the server comes home.
	h.Write(server, ".vimrc", "set number\nsyntax on\n", 0o644)
	h.Write(server, "bin/deploy", "#!/bin/sh\necho deploy\n", 0o755)
	h.Write(server, "Documents/y", "a server document\n", 0o644)
	h.Run("once")
	c, _ := h.Read(home, ".vimrc")
	assert.Equal(t, "set number\nsyntax on\n", c)
	c, _ = h.Read(home, "bin/deploy")
	assert.Equal(t, "#!/bin/sh\necho deploy\n", c)
	_, ok = h.Read(home, "Documents/y")
	assert.False(t, ok, "the server's Documents/y is not in the list")
	assert.Contains(t, h.Run("plan"), "0 change(s), 0 conflict(s)")
}

// TestHistoryUnion has both hosts run commands after a sync, so that each
// appends to .bash_history: the next sync keeps both hosts' new lines on
// both hosts, the shared lines once, with no conflict left for review.
func TestHistoryUnion(t *testing.T) {
	h := apptest.NewHosts(t, newApp(), "server")
	home, server := h.Root, h.Peers["server"]
	const shared = "ls -la\ncd /tmp\n"
	h.Write(home, ".bash_history", shared, 0o600)
	h.Run("once")
	c, _ := h.Read(server, ".bash_history")
	require.Equal(t, shared, c, "the first sync should carry the history")

	h.Write(home, ".bash_history", shared+"git status\ngit push\n", 0o600)
	h.Write(server, ".bash_history", shared+"make test\n", 0o600)
	out := h.Run("once")
	want := shared + "git status\ngit push\nmake test\n"
	for _, dir := range []string{home, server} {
		c, _ := h.Read(dir, ".bash_history")
		assert.Equal(t, want, c, "%s: both hosts' new lines, ours first", dir)
		assert.Equal(t, 0o600, int(h.Mode(dir, ".bash_history")), "%s: the history stays private", dir)
	}
	assert.Contains(t, out, "conflict .bash_history: union")
	assert.NotContains(t, out, "other version kept")
	assert.Contains(t, h.Run("conflicts", "list"), "no conflicts")

	// A second round merges against the new base.
	h.Write(server, ".bash_history", want+"htop\n", 0o600)
	h.Write(home, ".bash_history", want+"vim .bashrc\n", 0o600)
	h.Run("once")
	for _, dir := range []string{home, server} {
		c, _ := h.Read(dir, ".bash_history")
		assert.Equal(t, want+"vim .bashrc\nhtop\n", c, dir)
	}
	assert.Contains(t, h.Run("conflicts", "list"), "no conflicts")
}

// TestHistoryUnionFirstSync has two hosts with histories of their own meet
// for the first time: with no base, the history is merged as the union of
// both, every line of each kept, the same on both hosts, with nothing left
// for review.
func TestHistoryUnionFirstSync(t *testing.T) {
	h := apptest.NewHosts(t, newApp(), "server")
	home, server := h.Root, h.Peers["server"]
	h.Write(home, ".bash_history", "ls\ngit status\n", 0o600)
	h.Write(server, ".bash_history", "ls\nmake test\n", 0o600)
	out := h.Run("once")
	c, _ := h.Read(home, ".bash_history")
	s, _ := h.Read(server, ".bash_history")
	assert.Equal(t, c, s, "both hosts should hold the same history")
	for _, line := range []string{"ls", "git status", "make test"} {
		assert.Contains(t, strings.Split(c, "\n"), line, "the union keeps every line")
	}
	assert.NotContains(t, out, "other version kept", "the union should leave no conflict copy")
	assert.Contains(t, h.Run("conflicts", "list"), "no conflicts")
}
