package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
