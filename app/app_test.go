package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// syncBuffer is a bytes.Buffer safe for a daemon writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunFollowsPauseFlags(t *testing.T) {
	tmp := t.TempDir()
	root, peer := filepath.Join(tmp, "root"), filepath.Join(tmp, "peer")
	os.Mkdir(root, 0o755)
	os.Mkdir(peer, 0o755)
	os.WriteFile(filepath.Join(root, "first"), []byte("1"), 0o644)
	app := &App{Name: "test"}
	args := func(more ...string) []string {
		return append([]string{"--root", root, "--peer", "p=" + peer, "--state", filepath.Join(tmp, "state", "test.db")}, more...)
	}
	var out syncBuffer
	s := Streams{In: strings.NewReader(""), Out: &out, Err: &out}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, args("run"), s) }()
	wait := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s:\n%s", what, out.String())
			}
		}
	}
	exists := func(p string) bool { _, err := os.Stat(filepath.Join(peer, p)); return err == nil }
	wait("the first sync", func() bool { return exists("first") })

	var quiet bytes.Buffer
	if err := app.Run(ctx, args("pause", "--all"), Streams{Out: &quiet, Err: &quiet}); err != nil {
		t.Fatal(err)
	}
	wait("the daemon to pause", func() bool { return strings.Contains(out.String(), "paused") })
	os.WriteFile(filepath.Join(root, "second"), []byte("2"), 0o644)
	time.Sleep(300 * time.Millisecond)
	if exists("second") {
		t.Fatal("synced while paused")
	}
	if err := app.Run(ctx, args("resume", "--all"), Streams{Out: &quiet, Err: &quiet}); err != nil {
		t.Fatal(err)
	}
	wait("the sync after resume", func() bool { return exists("second") })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestSharedChainMergesConfigsByKey edits one line of a JSON file on both
// hosts, a different key each: the shared chain merges the two keys, which
// a line merge cannot.
func TestSharedChainMergesConfigsByKey(t *testing.T) {
	tmp := t.TempDir()
	root, peer := filepath.Join(tmp, "root"), filepath.Join(tmp, "peer")
	require.NoError(t, os.Mkdir(root, 0o755))
	require.NoError(t, os.Mkdir(peer, 0o755))
	write := func(dir, body string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "settings.json"), []byte(body), 0o644))
	}
	once := func() string {
		var out bytes.Buffer
		args := []string{"--root", root, "--peer", "p=" + peer, "--state", filepath.Join(tmp, "state", "test.db"), "once"}
		require.NoError(t, (&App{Name: "test"}).Run(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, Err: &out}), out.String())
		return out.String()
	}
	write(root, `{"tabSize": 4, "theme": "light"}`+"\n")
	once()
	write(root, `{"tabSize": 2, "theme": "light"}`+"\n")
	write(peer, `{"tabSize": 4, "theme": "dark"}`+"\n")
	out := once()
	assert.Contains(t, out, "structured")
	for _, dir := range []string{root, peer} {
		got, err := os.ReadFile(filepath.Join(dir, "settings.json"))
		require.NoError(t, err)
		assert.Equal(t, `{"tabSize": 2, "theme": "dark"}`+"\n", string(got), "%s\n%s", dir, out)
	}
}

func TestRemoteLocation(t *testing.T) {
	for loc, want := range map[string][3]string{
		"ssh://me@server:2222/srv/site": {"me@server:2222", "/srv/site", "remote"},
		"ssh://server/~/dotfiles":       {"server", "dotfiles", "remote"},
		"server:dotfiles":               {"server", "dotfiles", "remote"},
		"server:":                       {"server", "~", "remote"},
		"ssh://me@server/~/":            {"me@server", "~", "remote"},
		"me@server:/abs/path":           {"me@server", "/abs/path", "remote"},
		"/mnt/server/home":              {"", "", "local"},
		"./rel:odd":                     {"", "", "local"},
		"dir/with:colon":                {"", "", "local"},
	} {
		target, root, ok := remoteLocation(loc)
		got := [3]string{target, root, map[bool]string{true: "remote", false: "local"}[ok]}
		if got != want {
			t.Errorf("remoteLocation(%q) = %v, want %v", loc, got, want)
		}
	}
}

// TestNamesEscaped: file names that hold escape sequences and newlines, and
// a peer name that does, are printed escaped by every command: in a plan,
// in a report's changes, conflicts and problems, and in the review queue.
func TestNamesEscaped(t *testing.T) {
	const (
		forged = "Applied: fake"
		evil   = "evil\x1b[2J\n" + forged
		peer   = "srv\x1b]0;owned\a"
	)
	tmp := t.TempDir()
	root, dir := filepath.Join(tmp, "root"), filepath.Join(tmp, "peer")
	require.NoError(t, os.Mkdir(root, 0o755))
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, evil), []byte("one\ntwo\nthree\n"), 0o644))
	require.NoError(t, os.Symlink("target\x1b[31m\nproblem fake", filepath.Join(root, "link\n"+forged)))
	// A FIFO is never synced: the scan reports it as a problem.
	require.NoError(t, unix.Mkfifo(filepath.Join(root, "fifo\r\x1b[1A"+forged), 0o644))

	app := &App{Name: "test"}
	run := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		all := append([]string{"--root", root, "--peer", peer + "=" + dir, "--state", filepath.Join(tmp, "state", "test.db")}, args...)
		err := app.Run(context.Background(), all, Streams{In: strings.NewReader(""), Out: &out, Err: &out})
		if ExitCode(err) == ExitAttention {
			err = nil // once left the FIFO's problem or the conflict for a person, as it should
		}
		require.NoError(t, err, "%v\n%s", args, out.String())
		s := out.String()
		for _, r := range s {
			require.False(t, (r < 0x20 && r != '\n') || r == 0x7f, "%v printed the control character %U:\n%q", args, r, s)
		}
		for line := range strings.Lines(s) {
			require.NotContains(t, []string{forged, "problem fake"}, strings.TrimSpace(line), "%v printed a forged line:\n%s", args, s)
			require.False(t, strings.HasPrefix(line, forged), "%v printed a forged line:\n%s", args, s)
		}
		return s
	}

	out := run("plan")
	assert.Contains(t, out, strconv.Quote(evil))
	assert.Contains(t, out, strconv.Quote(peer))

	out = run("once")
	assert.Contains(t, out, strconv.Quote(evil))
	assert.Contains(t, out, strconv.Quote("link\n"+forged))
	assert.Contains(t, out, "problem "+strconv.Quote("fifo\r\x1b[1A"+forged))
	got, err := os.ReadFile(filepath.Join(dir, evil))
	require.NoError(t, err)
	assert.Equal(t, "one\ntwo\nthree\n", string(got), "the file synced under its real name")

	// Both sides edit the same line: a conflict kept both ways, with a
	// conflict copy whose name holds the escapes too.
	require.NoError(t, os.WriteFile(filepath.Join(root, evil), []byte("one\nTWO here\nthree\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, evil), []byte("one\nTWO there\nthree\n"), 0o644))
	out = run("once")
	assert.Contains(t, out, "conflict "+strconv.Quote(evil))
	assert.Contains(t, out, "other version kept as \"evil\\x1b[2J\\nApplied: fake.zs-conflict-")

	out = run("conflicts", "list")
	assert.Contains(t, out, strconv.Quote(evil))
	assert.Contains(t, out, strconv.Quote(peer)+"#1")
	out = run("conflicts", "show", "1")
	assert.Contains(t, out, "conflict "+strconv.Quote(peer)+"#1: "+strconv.Quote(evil))
	out = run("status")
	assert.Contains(t, out, "peer "+strconv.Quote(peer))
}
