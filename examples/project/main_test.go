package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerosync/zerosync/app"
)

// TestRepositories is the project engine's smoke test, on a real
// repository cloned to both sides: tracked files cross in git-only mode, untracked ones after
// "mode all", and the history can list a synced file.
func TestRepositories(t *testing.T) {
	tmp := t.TempDir()
	root, peer := filepath.Join(tmp, "root"), filepath.Join(tmp, "peer")
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(p, c string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(root, "app", "main.go"), "package main\n")
	write(filepath.Join(root, "app", ".gitignore"), "build/\n")
	git(filepath.Join(root, "app"), "init", "-q")
	git(filepath.Join(root, "app"), "add", ".")
	git(filepath.Join(root, "app"), "commit", "-q", "-m", "first")
	os.MkdirAll(peer, 0o755)
	git(peer, "clone", "-q", filepath.Join(root, "app"), "app")
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
