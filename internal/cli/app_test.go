package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
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

func TestRemoteLocation(t *testing.T) {
	for loc, want := range map[string][3]string{
		"ssh://me@server:2222/srv/site": {"me@server:2222", "/srv/site", "remote"},
		"ssh://server/~/dotfiles":       {"server", "dotfiles", "remote"},
		"server:dotfiles":               {"server", "dotfiles", "remote"},
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
