package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInitThenConfig: init writes a commented configuration with the
// command line's root and peers, and never replaces it; then a command
// with no flags syncs the root and the peers the file gives; --root and
// --peer override them.
func TestInitThenConfig(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(tmp, "config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(tmp, "state"))
	dir := func(name string) string {
		d := filepath.Join(tmp, name)
		require.NoError(t, os.MkdirAll(d, 0o755))
		return d
	}
	root, peer, other, otherPeer := dir("root"), dir("peer"), dir("other"), dir("other-peer")
	require.NoError(t, os.WriteFile(filepath.Join(root, "from-config.txt"), []byte("1"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "skip.log"), []byte("1"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(other, "from-flag.txt"), []byte("2"), 0o644))

	a := &App{Name: "notes", Summary: "notes everywhere", DefaultRoot: "~/notes", Exclude: []string{"*.tmp"}, Rescan: 10 * time.Minute}
	out, errs, err := cli(a, "--root", root, "--peer", "server="+peer, "init")
	require.NoError(t, err, errs)
	path := filepath.Join(tmp, "config", "zerosync", "notes.toml")
	assert.Contains(t, out, "wrote "+path)
	assert.Contains(t, out, "notes plan")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	text := string(b)
	for _, want := range []string{
		`# Configuration of the zerosync engine "notes": notes everywhere.`,
		"root = '" + root + "'", "[[peer]]", "name = 'server'", "location = '" + peer + "'",
		"include none; exclude *.tmp\n", "rescan = '10m0s'", "ai_merge = false", "[deadlines]", "connect = '30s'",
	} {
		assert.Contains(t, text, want)
	}
	for line := range strings.Lines(text) {
		if strings.Contains(line, "=") && !strings.HasPrefix(line, "#") {
			continue
		}
		assert.True(t, line == "\n" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "["), "neither a setting, a table nor a comment: %q", line)
	}
	cfg, err := ReadConfig(path)
	require.NoError(t, err)
	assert.Equal(t, root, cfg.Root)
	assert.Equal(t, []ConfigPeer{{Name: "server", Location: peer}}, cfg.Peers)
	assert.Equal(t, Duration(10*time.Minute), *cfg.Rescan)
	require.NotNil(t, cfg.AIMerge)
	assert.False(t, *cfg.AIMerge)

	// init never replaces the file.
	_, _, err = cli(a, "--root", other, "init")
	require.ErrorContains(t, err, "is there already")
	b2, _ := os.ReadFile(path)
	assert.Equal(t, text, string(b2))

	// An extra exclude pattern, written by a person.
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(text, "exclude = []", `exclude = ["*.log"]`, 1)), 0o600))

	// No flags: the file's root and peer.
	_, errs, err = cli(a, "once")
	require.NoError(t, err, errs)
	assert.FileExists(t, filepath.Join(peer, "from-config.txt"))
	assert.NoFileExists(t, filepath.Join(peer, "skip.log"), "the configuration's exclude pattern")

	// --root and --peer win over the file.
	_, errs, err = cli(a, "once", "--root", other, "--peer", "laptop="+otherPeer)
	require.NoError(t, err, errs)
	assert.FileExists(t, filepath.Join(otherPeer, "from-flag.txt"))
	assert.NoFileExists(t, filepath.Join(peer, "from-flag.txt"), "--peer replaces the file's peers")
	out, errs, err = cli(a, "status", "--root", other)
	require.NoError(t, err, errs)
	assert.Contains(t, out, "tree "+other)
	assert.Contains(t, out, "peer server ("+peer+")", "the file's peers, with the flag's root")
}

// TestInitWithoutPeers: with no peers given, init writes an example, left
// as a comment, and the file is valid.
func TestInitWithoutPeers(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", tmp)
	a := &App{Name: "environment", Summary: "dotfiles", DefaultRoot: "~/", Include: []string{"/.bashrc", "/bin/"}}
	out, errs, err := cli(a, "init")
	require.NoError(t, err, errs)
	assert.Contains(t, out, "add the peers to sync with in it")
	path := filepath.Join(tmp, "zerosync", "environment.toml")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(b), "root = '~/'")
	assert.Contains(t, string(b), "# [[peer]]\n# name = \"server\"\n# location = 'server:'\n")
	assert.Contains(t, string(b), "include /.bashrc /bin/; exclude none")
	cfg, err := ReadConfig(path)
	require.NoError(t, err)
	assert.Empty(t, cfg.Peers)
	_, _, err = cli(a, "plan")
	require.ErrorContains(t, err, "no peers: give --peer NAME=WHERE at least once, or write the peers in "+path)
}

// TestReadConfigErrors: a misspelt setting, a bad duration, a peer without
// a location or two peers of one name are errors naming the file and what
// is wrong.
func TestReadConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for text, want := range map[string]string{
		"roots = '/x'\n":         "unknown setting",
		"rescan = 'soon'\n":      "invalid duration",
		"[[peer]]\nname = 'a'\n": `peer "a" has no location`,
		"[[peer]]\nname='a'\nlocation='/x'\n[[peer]]\nname='a'\nlocation='/y'\n": `two peers are called "a"`,
		"[deadlines]\nconnect = '-1s'\n":                                         "negative duration",
		"root = \n":                                                              ":1:",
		"[retry]\nattempts = -1\n":                                               "retry: -1 attempts",
		"[retry]\nfirst = '10m'\n":                                               "slow 5m0s is shorter than first 10m0s",
	} {
		path := filepath.Join(dir, "c.toml")
		require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
		_, err := ReadConfig(path)
		require.Error(t, err, text)
		assert.Contains(t, err.Error(), path, text)
		assert.Contains(t, err.Error(), want, text)
	}
	// A configuration file named with --config must be there.
	_, _, err := cli(&App{Name: "t"}, "--config", filepath.Join(dir, "missing.toml"), "status")
	assert.ErrorContains(t, err, "missing.toml")
}

// TestRetryConfig: the [retry] table sets the supervision a field at a
// time, the defaults filling the rest; without it the engine keeps its own.
func TestRetryConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.toml")
	require.NoError(t, os.WriteFile(path, []byte("[retry]\nfirst = '100ms'\nattempts = 2\n"), 0o600))
	cfg, err := ReadConfig(path)
	require.NoError(t, err)
	assert.True(t, cfg.Retry.set())
	first, attempts, slow := cfg.Retry.values()
	assert.Equal(t, 100*time.Millisecond, first)
	assert.Equal(t, 2, attempts)
	assert.Equal(t, 5*time.Minute, slow)
	assert.False(t, Retry{}.set())
}
