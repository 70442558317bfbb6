package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/transport/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// trees makes a root holding one file and an empty peer, and returns the
// global flags that name them and a state database.
func trees(t *testing.T) (root, peer string, globals []string) {
	t.Helper()
	tmp := t.TempDir()
	root, peer = filepath.Join(tmp, "root"), filepath.Join(tmp, "peer")
	require.NoError(t, os.MkdirAll(root, 0o755))
	require.NoError(t, os.MkdirAll(peer, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "notes.txt"), []byte("one\ntwo\nthree\n"), 0o644))
	return root, peer, []string{"--root", root, "--peer", "server=" + peer, "--state", filepath.Join(tmp, "state", "test.db")}
}

// cli runs the command line of a and returns its standard output, its
// standard error, and its error.
func cli(a *App, args ...string) (string, string, error) {
	var out, errs bytes.Buffer
	err := a.Run(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, Err: &errs})
	return out.String(), errs.String(), err
}

// TestGlobalFlagsAnywhere: the global flags work before the subcommand,
// after it, and mixed, for the subcommands cobra parses and for those
// that read their own arguments (conflicts, an engine's own).
func TestGlobalFlagsAnywhere(t *testing.T) {
	root, _, globals := trees(t)
	a := &App{Name: "test"}
	_, errs, err := cli(a, append(globals, "once")...)
	require.NoError(t, err, errs)

	status := func(args ...string) statusJSON {
		t.Helper()
		out, errs, err := cli(a, args...)
		require.NoError(t, err, "%v\n%s", args, errs)
		var st statusJSON
		require.NoError(t, json.Unmarshal([]byte(out), &st), out)
		return st
	}
	before := status(append(append([]string{}, globals...), "--json", "status")...)
	after := status(append([]string{"status", "--json"}, globals...)...)
	mixed := status(globals[0], globals[1], "status", globals[2], globals[3], "--json", globals[4], globals[5])
	assert.Equal(t, root, before.Root)
	assert.Equal(t, before, after)
	assert.Equal(t, before, mixed)
	require.Len(t, before.Peers, 1)
	assert.Equal(t, "server", before.Peers[0].Name)

	for _, args := range [][]string{
		append(append([]string{}, globals...), "conflicts", "list"),
		append([]string{"conflicts", "list"}, globals...),
		append([]string{"conflicts"}, append(append([]string{}, globals...), "list")...),
		append([]string{"--json", "conflicts"}, append(append([]string{}, globals...), "list")...),
	} {
		out, errs, err := cli(a, args...)
		require.NoError(t, err, "%v\n%s", args, errs)
		assert.True(t, strings.Contains(out, "no conflicts") || strings.Contains(out, `"conflicts": []`), "%v:\n%s", args, out)
	}

	// An engine's own subcommand gets its arguments without the global
	// flags, in order, and an Env built from them.
	var got []string
	var env *Env
	own := &App{Name: "own", Commands: map[string]Command{"echo": {Usage: "ARGS  print them", Run: func(_ context.Context, e *Env, args []string) error {
		got, env = args, e
		return nil
	}}}}
	_, errs, err = cli(own, "echo", "a", "--root", root, "-b", "--peer=p=/x", "--", "--root", "c")
	require.NoError(t, err, errs)
	assert.Equal(t, []string{"a", "-b", "--", "--root", "c"}, got)
	assert.Equal(t, root, env.Root)
	assert.Equal(t, []Peer{{Name: "p", Location: "/x"}}, env.Peers)
}

// TestHelp: --help, -h and "help CMD" print help on standard output and
// succeed, for every kind of subcommand; the help names the exit statuses.
func TestHelp(t *testing.T) {
	a := &App{Name: "test", Summary: "a test engine", Commands: map[string]Command{
		"mode": {Usage: "[git-only|all]  show or switch the mode", Run: func(context.Context, *Env, []string) error { return errors.New("ran") }},
	}}
	for args, want := range map[string]string{
		"--help":                "Exit status:",
		"-h":                    "3  once finished, but left problems",
		"help":                  "install-service",
		"help status":           `--json prints {"engine", "root", "paused"`,
		"status --help":         `"conflicts_waiting"`,
		"once --help":           "--confirm-deletions",
		"conflicts --help":      "conflicts apply (--ours | --theirs | --merged FILE)",
		"help conflicts":        "conflicts show ID",
		"conflicts list --help": "conflicts list [--json]",
		"versions -h":           "versions restore PATH ID",
		"staged --help":         "staged reject (ID... | --all)",
		"mode --help":           "show or switch the mode",
		"--root /nowhere -h":    "Syncing:",
	} {
		out, errs, err := cli(a, strings.Fields(args)...)
		require.NoError(t, err, "%s\n%s", args, errs)
		assert.Contains(t, out, want, args)
		assert.Equal(t, ExitOK, ExitCode(err))
	}
}

// TestUsageErrors: a mistake in the command line is an error whose exit
// status is 2, naming the mistake; a misspelt command gets a suggestion.
func TestUsageErrors(t *testing.T) {
	_, _, globals := trees(t)
	a := &App{Name: "test"}
	for args, want := range map[string]string{
		"":                            "no command given",
		"stauts":                      `unknown command "stauts"; did you mean status?`,
		"status --bogus":              "unknown flag: --bogus",
		"--bogus status":              "unknown flag: --bogus",
		"plan extra":                  `takes no arguments, got "extra"`,
		"adopt a b":                   "at most one peer",
		"pause --json":                "--json: test pause prints no JSON",
		"status --peer nameless":      "want NAME=WHERE",
		"conflicts":                   "no subcommand",
		"conflicts bogus":             `unknown subcommand "bogus"`,
		"conflicts show":              "want one ID",
		"conflicts list --ours":       "--ours is a flag of apply",
		"conflicts apply --json 1":    "--json is a flag of list",
		"conflicts apply --ours":      "at least one ID",
		"conflicts --root":            "flag needs an argument: --root",
		"versions":                    "usage: versions list",
		"versions list a b":           "usage: versions list",
		"--peer a=/x --peer a=/y run": `two peers are called "a"`,
	} {
		all := strings.Fields(args)
		if !strings.Contains(args, "--peer") {
			all = append(append([]string{}, globals...), all...)
		}
		_, _, err := cli(a, all...)
		require.Error(t, err, args)
		assert.Equal(t, ExitUsage, ExitCode(err), "%s: %v", args, err)
		assert.Contains(t, err.Error(), want, args)
	}
	// What Main prints for it: the error and where to find help.
	var w bytes.Buffer
	_, _, err := cli(a, "stauts")
	assert.Equal(t, ExitUsage, a.exit(&w, err))
	assert.Equal(t, "test: unknown command \"stauts\"; did you mean status?\ntest: see: test --help\n", w.String())
}

// TestExitAttention: once that leaves a conflict for review exits with
// status 3, and Main says which command shows it; once with nothing left
// exits 0.
func TestExitAttention(t *testing.T) {
	root, peer, globals := trees(t)
	a := &App{Name: "test"}
	_, errs, err := cli(a, append(globals, "once")...)
	require.NoError(t, err, errs)
	require.NoError(t, os.WriteFile(filepath.Join(root, "notes.txt"), []byte("one\nTWO here\nthree\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(peer, "notes.txt"), []byte("one\nTWO there\nthree\n"), 0o644))
	out, errs, err := cli(a, append(globals, "once")...)
	require.Error(t, err, out+errs)
	assert.Equal(t, ExitAttention, ExitCode(err))
	require.ErrorIs(t, err, ErrAttention)
	assert.Contains(t, err.Error(), "1 conflict(s) waiting for review")
	var w bytes.Buffer
	assert.Equal(t, ExitAttention, a.exit(&w, err))
	assert.Contains(t, w.String(), "test: review the conflicts waiting with: test conflicts list")

	// Still waiting: the next once says so too, until it is settled.
	_, _, err = cli(a, append(globals, "once")...)
	assert.Equal(t, ExitAttention, ExitCode(err))
	_, errs, err = cli(a, append(globals, "conflicts", "apply", "--ours", "--non-interactive", "server#1")...)
	require.NoError(t, err, errs)
	_, errs, err = cli(a, append(globals, "once")...)
	require.NoError(t, err, errs)

	assert.Equal(t, ExitOK, ExitCode(nil))
	assert.Equal(t, ExitFailure, ExitCode(errors.New("any")))
	assert.Equal(t, ExitUsage, ExitCode(fmt.Errorf("wrapped: %w", usageErrorf("x"))))
}

// TestVersionAndCompletion: --version prints the build; completion writes
// a script for bash, zsh and fish, and completes an engine's subcommands
// and the words of conflicts.
func TestVersionAndCompletion(t *testing.T) {
	a := &App{Name: "notes"}
	out, _, err := cli(a, "--version")
	require.NoError(t, err)
	assert.Regexp(t, `^notes version \S`, out)

	for _, shell := range []string{"bash", "zsh", "fish"} {
		out, errs, err := cli(a, "completion", shell)
		require.NoError(t, err, errs)
		assert.Contains(t, out, "notes", shell)
	}
	out, _, err = cli(a, "__complete", "sta")
	require.NoError(t, err)
	assert.Contains(t, out, "status")
	out, _, err = cli(a, "__complete", "conflicts", "ap")
	require.NoError(t, err)
	assert.Contains(t, out, "apply")
	out, _, err = cli(a, "__complete", "once", "--conf")
	require.NoError(t, err)
	assert.Contains(t, out, "--confirm-deletions")
}

func TestDescribeBuild(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"},
	}}
	assert.Equal(t, "(devel), commit 0123456789ab (modified), go1.26.8", describeBuild(bi))
	bi = &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}}
	assert.Equal(t, "v1.2.3, go1.26.8", describeBuild(bi))
	assert.Equal(t, "unknown", describeBuild(&debug.BuildInfo{}))
}

func TestTakeGlobals(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	root := fs.String("root", "", "")
	verbose := fs.BoolP("verbose", "v", false, "")
	fs.Bool("json", false, "")
	rest, help, err := takeGlobals(fs, []string{"list", "--root=/a", "-v", "--json", "x", "--", "--root", "/b", "-h"})
	require.NoError(t, err)
	assert.False(t, help)
	assert.Equal(t, []string{"list", "--json", "x", "--", "--root", "/b", "-h"}, rest)
	assert.Equal(t, "/a", *root)
	assert.True(t, *verbose)
	_, help, err = takeGlobals(fs, []string{"show", "--help"})
	require.NoError(t, err)
	assert.True(t, help)
	_, _, err = takeGlobals(fs, []string{"--root"})
	assert.ErrorContains(t, err, "needs an argument")
}

// TestAdviceNamesCommands: what Main prints for an unknown host key names
// commands to type, not an option of the Go package.
func TestAdviceNamesCommands(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	key, err := gossh.NewPublicKey(pub)
	require.NoError(t, err)
	hk := &ssh.HostKeyError{Host: "[127.0.0.1]:2222", Key: key, Files: []string{"/home/me/.ssh/known_hosts"}, Direct: true}
	require.Contains(t, hk.Error(), "ssh.WithTrustOnFirstUse", "the library's message names the option; the command's must not")
	err = fmt.Errorf("peer server: %w", hk)
	var w bytes.Buffer
	(&App{Name: "test"}).exit(&w, err)
	assert.NotContains(t, w.String(), "ssh.With")
	assert.Contains(t, w.String(), "ssh-keyscan -t ed25519 -p 2222 127.0.0.1 >> /home/me/.ssh/known_hosts")
	assert.Contains(t, w.String(), gossh.FingerprintSHA256(key))
}

// TestLockedStateAdvice: a command that finds the state held by a running
// engine says how to stop it.
func TestLockedStateAdvice(t *testing.T) {
	root, peer, globals := trees(t)
	state := globals[5]
	var logs bytes.Buffer
	env := &Env{App: &App{Name: "test"}, Root: root, Peers: []Peer{{Name: "server", Location: peer}},
		State: state, StateDir: filepath.Dir(state), Streams: Streams{Out: &logs, Err: &logs}, Log: newLogger(&logs, false)}
	_, closeAll, err := env.Engine(context.Background())
	require.NoError(t, err)
	defer closeAll()
	_, _, err = cli(env.App, append(globals, "status")...)
	require.Error(t, err)
	assert.Equal(t, "a running test (test run, or its service) holds the state: stop it first (systemctl --user stop zerosync-test.service), then run the command again", Advice("test", err))
}
