package app

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/zerosync/zerosync/agent"
	"github.com/zerosync/zerosync/transport/ssh/sshtest"
)

// TestMain lets this test binary serve as the agent it uploads to the test
// sshd, and gives the daemons its tests run (run serves a control socket)
// a runtime directory of their own, apart from any real daemon's.
func TestMain(m *testing.M) {
	agent.Handle()
	dir, err := os.MkdirTemp("", "app-runtime-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// No test reads or writes this user's own runtime, configuration,
	// state or cache folders (a daemon of theirs, their engines' files).
	for _, v := range []string{"XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"} {
		sub := filepath.Join(dir, strings.ToLower(v))
		if err := os.Mkdir(sub, 0o700); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Setenv(v, sub)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestPeerOverSSH runs an engine's command line against a folder behind a
// real sshd on a loopback port, reached by a Host alias of ~/.ssh/config:
// the agent is installed on first use, and files cross both ways.
func TestPeerOverSSH(t *testing.T) {
	tmp := t.TempDir()
	srv := sshtest.Start(t, sshtest.WithConfig("SetEnv ZEROSYNC_CACHE_DIR="+filepath.Join(tmp, "remote-cache")))
	home := filepath.Join(tmp, "home")
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	config := fmt.Sprintf("Host testhost\n  HostName %s\n  Port %d\n  User %s\n  IdentityFile %s\n  UserKnownHostsFile %s\n",
		srv.Host, srv.Port, srv.User, srv.KeyFile, srv.KnownHosts)
	if err := os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")

	root, remote := filepath.Join(tmp, "root"), filepath.Join(tmp, "remote")
	os.MkdirAll(root, 0o755)
	os.MkdirAll(remote, 0o755)
	os.WriteFile(filepath.Join(root, "here.txt"), []byte("from here\n"), 0o644)
	os.WriteFile(filepath.Join(remote, "there.txt"), []byte("from there\n"), 0o644)

	app := &App{Name: "ssh-test"}
	var out bytes.Buffer
	args := []string{"--root", root, "--peer", "server=testhost:" + remote, "--state", filepath.Join(tmp, "state", "t.db"), "once"}
	if err := app.Run(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, Err: &out}); err != nil {
		t.Fatalf("once over ssh: %v\n%s\n--- sshd ---\n%s", err, out.String(), srv.Log())
	}
	if b, _ := os.ReadFile(filepath.Join(remote, "here.txt")); string(b) != "from here\n" {
		t.Errorf("remote holds %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "there.txt")); string(b) != "from there\n" {
		t.Errorf("local holds %q", b)
	}
	if _, err := os.Stat(filepath.Join(tmp, "remote-cache")); err != nil {
		t.Errorf("the agent was not installed in the test's cache directory: %v", err)
	}

	// The agent lingers (agent_linger's default), where the host said, and
	// the next command reaches it: sshd starts no command for it.
	t.Cleanup(func() { killLingering(t, filepath.Join(tmp, "remote-cache")) })
	memo, err := os.ReadFile(filepath.Join(tmp, "state", "agent-sockets.json"))
	if sock := agent.SocketPath(filepath.Join(tmp, "remote-cache")); err != nil || sock == "" || !strings.Contains(string(memo), sock) {
		t.Fatalf("the socket's path was not kept for the next command: %q, %v", memo, err)
	}
	started := strings.Count(srv.Log(), "Starting session: command")
	os.WriteFile(filepath.Join(root, "again.txt"), []byte("again\n"), 0o644)
	// A buffer of its own, as a second command has.
	var out2 bytes.Buffer
	if err := app.Run(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out2, Err: &out2}); err != nil {
		t.Fatalf("second once over ssh: %v\n%s", err, out2.String())
	}
	if b, _ := os.ReadFile(filepath.Join(remote, "again.txt")); string(b) != "again\n" {
		t.Errorf("remote holds %q after the second sync", b)
	}
	if n := strings.Count(srv.Log(), "Starting session: command"); n != started {
		t.Errorf("the second command started %d commands on the host, want none (the agent that lingers)", n-started)
	}
}

// killLingering kills the agents that run from cache.
func killLingering(t *testing.T, cache string) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && strings.HasPrefix(exe, cache+"/") {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
