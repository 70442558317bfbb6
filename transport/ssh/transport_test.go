package ssh

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/local"
	"github.com/zerosync/zerosync/transport/ssh/sshtest"
)

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// syncPair builds an engine between a local directory and a remote one,
// closed at the end of the test.
func syncPair(t testing.TB, localDir string, remote zerosync.Endpoint, state string) *engine.Engine {
	t.Helper()
	lep, err := local.New(localDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lep.Close() })
	e, err := engine.New(engine.Peer{Name: "laptop", Endpoint: lep}, []engine.Peer{{Name: "server", Endpoint: remote}},
		engine.WithStatePath(state))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func syncOnce(t testing.TB, ctx context.Context, e *engine.Engine) zerosync.Report {
	t.Helper()
	rep, err := e.SyncOnce(ctx)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	if len(rep.Problems) > 0 {
		t.Fatalf("sync problems: %v", rep.Problems)
	}
	return rep
}

func sameTrees(t testing.TB, a, b string) {
	t.Helper()
	ta, tb := tree(t, a), tree(t, b)
	if !slices.Equal(ta, tb) {
		t.Fatalf("trees differ:\n%s\n%v\n%s\n%v", a, ta, b, tb)
	}
}

// TestSyncOverSSH: a local folder and a folder behind sshd converge in
// both directions; the agent is installed on first use and reused by the
// next run.
func TestSyncOverSSH(t *testing.T) {
	ctx := testContext(t)
	f := newFixture(t)
	laptop, server := newDir(t, "laptop"), newDir(t, "server")
	writeFile(t, laptop, ".bashrc", []byte("alias ll='ls -l'\n"))
	writeFile(t, laptop, "scripts/hello.sh", []byte("#!/bin/sh\necho hello\n"))
	if err := os.Chmod(filepath.Join(laptop, "scripts/hello.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("scripts/hello.sh", filepath.Join(laptop, "hello")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, server, "notes.txt", []byte("server notes\n"))
	writeFile(t, server, "deep/er/file.bin", randomBytes(t, 300<<10))
	// Files modified long ago are kept in the agent's stat cache.
	old := time.Now().Add(-time.Hour)
	for _, p := range []string{"notes.txt", "deep/er/file.bin"} {
		if err := os.Chtimes(filepath.Join(server, p), old, old); err != nil {
			t.Fatal(err)
		}
	}
	state := filepath.Join(t.TempDir(), "state.db")

	tr := f.transport(t)
	ep, err := tr.Endpoint(ctx, f.target(), server)
	if err != nil {
		t.Fatal(err)
	}
	if st := tr.Stats(); st.Uploads != 1 || st.Agents != 1 || st.Dials != 1 {
		t.Fatalf("first use: %+v, want one upload, one agent, one dial", st)
	}
	for p, want := range map[string]os.FileMode{f.agentPath(): 0o700, f.cache: 0o700 | os.ModeDir} {
		if st, err := os.Stat(p); err != nil || st.Mode() != want {
			t.Fatalf("installed agent: %s: %v %v, want %v", p, st.Mode(), err, want)
		}
	}
	e := syncPair(t, laptop, ep, state)
	syncOnce(t, ctx, e)
	sameTrees(t, laptop, server)

	// Edits on both sides, a deletion on each.
	writeFile(t, server, "notes.txt", []byte("server notes\nrotate logs\n"))
	writeFile(t, laptop, "new/dir/a.txt", []byte("a"))
	if err := os.Remove(filepath.Join(laptop, "deep/er/file.bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(server, "hello")); err != nil {
		t.Fatal(err)
	}
	syncOnce(t, ctx, e)
	sameTrees(t, laptop, server)
	if b, _ := os.ReadFile(filepath.Join(laptop, "notes.txt")); string(b) != "server notes\nrotate logs\n" {
		t.Fatalf("laptop notes.txt: %q", b)
	}
	for _, gone := range []string{"hello", "deep/er/file.bin"} {
		if _, err := os.Lstat(filepath.Join(server, gone)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived on the server", gone)
		}
		if _, err := os.Lstat(filepath.Join(laptop, gone)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived on the laptop", gone)
		}
	}
	if rep := syncOnce(t, ctx, e); rep.Changed() {
		t.Fatalf("a third cycle changed things: %+v", rep.Applied)
	}
	// The agent keeps its stat cache in the cache directory it was given.
	if ents, err := os.ReadDir(filepath.Join(f.cache, "statcache")); err != nil || len(ents) == 0 {
		t.Errorf("no stat cache in the remote cache directory: %v %v", ents, err)
	}
	e.Close()
	ep.Close()
	tr.Close()

	// A second run, as a new process would: the installed agent is used.
	writeFile(t, server, "later.txt", []byte("later"))
	tr2 := f.transport(t)
	ep2, err := tr2.Endpoint(ctx, f.target(), server)
	if err != nil {
		t.Fatal(err)
	}
	e2 := syncPair(t, laptop, ep2, state)
	rep := syncOnce(t, ctx, e2)
	if len(rep.Applied) != 1 || rep.Applied[0].Path != "later.txt" {
		t.Fatalf("second run applied %v", rep.Applied)
	}
	sameTrees(t, laptop, server)
	if st := tr2.Stats(); st.Uploads != 0 || st.Agents != 1 || st.Dials != 1 {
		t.Fatalf("second run: %+v, want no upload", st)
	}
}

// TestConnectionReuse: endpoints on several roots and several cycles share
// one TCP connection and one agent.
func TestConnectionReuse(t *testing.T) {
	ctx := testContext(t)
	f := newFixture(t)
	p := startProxy(t, f.srv.Addr)
	f.trust(t, p.Addr())
	tr := f.transport(t)
	const endpoints, cycles = 4, 3
	hub := newDir(t, "hub")
	hubEP, err := local.New(hub)
	if err != nil {
		t.Fatal(err)
	}
	defer hubEP.Close()
	var peers []engine.Peer
	var roots []string
	for i := range endpoints {
		root := newDir(t, "spoke")
		writeFile(t, root, "from-"+string(rune('a'+i))+".txt", []byte{byte(i)})
		ep, err := tr.Endpoint(ctx, f.target()[:strings.LastIndexByte(f.target(), '@')+1]+p.Addr(), root)
		if err != nil {
			t.Fatal(err)
		}
		defer ep.Close()
		peers = append(peers, engine.Peer{Name: "spoke" + string(rune('a'+i)), Endpoint: ep})
		roots = append(roots, root)
	}
	e, err := engine.New(engine.Peer{Name: "hub", Endpoint: hubEP}, peers, engine.WithStatePath(filepath.Join(t.TempDir(), "state.db")))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for c := range cycles {
		writeFile(t, hub, "cycle.txt", []byte{byte(c)})
		syncOnce(t, ctx, e)
	}
	for _, r := range roots {
		sameTrees(t, hub, r)
	}
	if got := len(tree(t, hub)); got != endpoints+1 {
		t.Fatalf("hub holds %d entries", got)
	}
	if st := tr.Stats(); st.Dials != 1 || st.Agents != 1 || st.Reconnects != 0 {
		t.Fatalf("stats %+v, want one dial and one agent", st)
	}
	if n := p.accepted.Load(); n != 1 {
		t.Fatalf("the proxy saw %d connections, want 1", n)
	}
}

// hintLine returns the indented command line of an error message that
// follows the line containing after.
func hintLine(t *testing.T, msg, after string) string {
	t.Helper()
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		if strings.Contains(l, after) && i+1 < len(lines) {
			return strings.TrimSpace(lines[i+1])
		}
	}
	t.Fatalf("no line after %q in:\n%s", after, msg)
	return ""
}

// assertNothingInstalled checks that nothing reached the remote side.
func (f *fixture) assertNothingInstalled(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(f.cache); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the remote cache directory was made: %v", err)
	}
}

// TestUnknownHostKey: an unknown host is refused with its fingerprint and
// the ssh-keyscan line; running that line, as a user would, lets the next
// attempt in.
func TestUnknownHostKey(t *testing.T) {
	ctx := testContext(t)
	f := newFixture(t)
	known := filepath.Join(t.TempDir(), "known_hosts")
	tr := f.transport(t, WithKnownHosts(known))
	_, err := tr.Endpoint(ctx, f.target(), newDir(t, "r"))
	var herr *HostKeyError
	if !errors.As(err, &herr) || !errors.Is(err, ErrUnknownHostKey) {
		t.Fatalf("got %v, want an unknown host key", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, ssh.FingerprintSHA256(f.srv.HostKey)) {
		t.Fatalf("message lacks the fingerprint:\n%s", msg)
	}
	cmd := hintLine(t, msg, "trust it with")
	want := "ssh-keyscan -t ed25519 -p " + strings.TrimPrefix(f.srv.Addr, "127.0.0.1:") + " 127.0.0.1 >> " + known
	if cmd != want {
		t.Fatalf("suggested %q, want %q", cmd, want)
	}
	if _, err := os.Stat(known); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("known_hosts was written")
	}
	f.assertNothingInstalled(t)

	out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	if _, err := f.transport(t, WithKnownHosts(known)).Endpoint(ctx, f.target(), newDir(t, "r")); err != nil {
		t.Fatalf("after ssh-keyscan: %v", err)
	}
}

// TestChangedHostKey: a host whose key is not the known one is refused
// with both fingerprints; nothing is written.
func TestChangedHostKey(t *testing.T) {
	ctx := testContext(t)
	f := newFixture(t)
	old := sshtest.WriteKey(t, filepath.Join(t.TempDir(), "old"), "ed25519")
	known := filepath.Join(t.TempDir(), "known_hosts")
	content := "[127.0.0.1]:" + strings.TrimPrefix(f.srv.Addr, "127.0.0.1:") + " " + string(ssh.MarshalAuthorizedKey(old))
	if err := os.WriteFile(known, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	tofu := filepath.Join(t.TempDir(), "tofu")
	tr := f.transport(t, WithKnownHosts(known), WithTrustOnFirstUse(tofu))
	_, err := tr.Endpoint(ctx, f.target(), newDir(t, "r"))
	if !errors.Is(err, ErrHostKeyChanged) {
		t.Fatalf("got %v, want a changed host key", err)
	}
	msg := err.Error()
	for _, want := range []string{"HOST KEY CHANGED", ssh.FingerprintSHA256(f.srv.HostKey), ssh.FingerprintSHA256(old), "ssh-keygen -R"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if b, _ := os.ReadFile(known); string(b) != content {
		t.Error("known_hosts changed")
	}
	if _, err := os.Stat(tofu); !errors.Is(err, os.ErrNotExist) {
		t.Error("trust on first use recorded a changed key")
	}
	f.assertNothingInstalled(t)
}

// TestWrongUserKey: a key the host does not accept is a clear error naming
// the key offered; nothing is installed.
func TestWrongUserKey(t *testing.T) {
	ctx := testContext(t)
	f := newFixture(t)
	wrong := filepath.Join(t.TempDir(), "id_wrong")
	pub := sshtest.WriteKey(t, wrong, "ecdsa")
	tr, err := New(WithSelfInstall(), WithConfigFile("none"), WithKnownHosts(f.srv.KnownHosts), WithIdentityFile(wrong),
		WithAgentSocket(""), WithRemoteCacheDir(f.cache))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	_, err = tr.Endpoint(ctx, f.target(), newDir(t, "r"))
	var aerr *AuthError
	if !errors.As(err, &aerr) || !errors.Is(err, ErrAuth) {
		t.Fatalf("got %v, want an authentication error", err)
	}
	msg := err.Error()
	for _, want := range []string{ssh.FingerprintSHA256(pub), wrong, "ssh-copy-id -i " + wrong + ".pub"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	f.assertNothingInstalled(t)
}

// TestTrustOnFirstUse: with the option, an unknown host is accepted and
// recorded, and the record serves later transports without the option.
func TestTrustOnFirstUse(t *testing.T) {
	ctx := testContext(t)
	f := newFixture(t)
	known := filepath.Join(t.TempDir(), "ssh", "known_hosts")
	tr := f.transport(t, WithKnownHosts(known), WithTrustOnFirstUse(known))
	if _, err := tr.Endpoint(ctx, f.target(), newDir(t, "r")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(known)
	if err != nil || !strings.Contains(string(b), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(f.srv.HostKey)))) {
		t.Fatalf("known_hosts after first use: %q %v", b, err)
	}
	if _, err := f.transport(t, WithKnownHosts(known)).Endpoint(ctx, f.target(), newDir(t, "r")); err != nil {
		t.Fatalf("later use: %v", err)
	}
}

// TestKeyTypes: ed25519, ecdsa and rsa key files all log in.
func TestKeyTypes(t *testing.T) {
	ctx := testContext(t)
	f := newFixture(t)
	for _, kind := range []string{"ed25519", "ecdsa", "rsa"} {
		t.Run(kind, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "id_"+kind)
			f.srv.Authorize(t, sshtest.WriteKey(t, file, kind))
			tr, err := New(WithSelfInstall(), WithConfigFile("none"), WithKnownHosts(f.srv.KnownHosts), WithIdentityFile(file),
				WithAgentSocket(""), WithRemoteCacheDir(f.cache))
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			if _, err := tr.Endpoint(ctx, f.target(), newDir(t, "r")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSSHAgentAuth: a key held only by the ssh agent logs in.
func TestSSHAgentAuth(t *testing.T) {
	ctx := testContext(t)
	f := newFixture(t)
	priv, pub := newEd25519(t)
	f.srv.Authorize(t, pub)
	sock := serveAgent(t, priv)
	tr, err := New(WithSelfInstall(), WithConfigFile("none"), WithKnownHosts(f.srv.KnownHosts), WithAgentSocket(sock), WithRemoteCacheDir(f.cache))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	tr.cfg.home = t.TempDir() // no default key files
	if _, err := tr.Endpoint(ctx, f.target(), newDir(t, "r")); err != nil {
		t.Fatal(err)
	}
}

// TestSSHConfig: an alias with HostName, Port, User, IdentityFile and
// UserKnownHostsFile resolves; ProxyJump goes through the jump host.
func TestSSHConfig(t *testing.T) {
	ctx := testContext(t)
	f := newFixture(t)
	p := startProxy(t, f.srv.Addr)
	port := strings.TrimPrefix(f.srv.Addr, "127.0.0.1:")
	proxyPort := strings.TrimPrefix(p.Addr(), "127.0.0.1:")
	f.trust(t, p.Addr())
	conf := filepath.Join(t.TempDir(), "config")
	text := `
Host myserver
    HostName 127.0.0.1
    Port ` + port + `
    User ` + f.srv.User + `
    IdentityFile ` + f.srv.KeyFile + `
    UserKnownHostsFile ` + f.srv.KnownHosts + `

# The jump host is reached through the test's proxy, so the proxy sees
# whether the jump is taken.
Host jumpbox
    HostName 127.0.0.1
    Port ` + proxyPort + `
    User ` + f.srv.User + `
    IdentityFile ` + f.srv.KeyFile + `
    UserKnownHostsFile ` + f.srv.KnownHosts + `

Host behind
    HostName 127.0.0.1
    Port ` + port + `
    User ` + f.srv.User + `
    IdentityFile ` + f.srv.KeyFile + `
    UserKnownHostsFile ` + f.srv.KnownHosts + `
    ProxyJump jumpbox
`
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	// No known_hosts or key options: the configuration supplies them.
	newTr := func() *Transport {
		tr, err := New(WithSelfInstall(), WithConfigFile(conf), WithKnownHosts(filepath.Join(t.TempDir(), "none")), WithAgentSocket(""), WithRemoteCacheDir(f.cache))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tr.Close() })
		return tr
	}
	tr := newTr()
	root := newDir(t, "r")
	writeFile(t, root, "x", []byte("x"))
	ep, err := tr.Endpoint(ctx, "myserver", root)
	if err != nil {
		t.Fatal(err)
	}
	if snap, _, err := ep.Scan(ctx); err != nil || snap.Get("x") == nil {
		t.Fatalf("scan through the alias: %v %v", snap, err)
	}
	if ep.Target() != f.srv.User+"@"+f.srv.Addr {
		t.Errorf("target %q", ep.Target())
	}
	if p.accepted.Load() != 0 {
		t.Fatal("the direct alias went through the proxy")
	}

	tr2 := newTr()
	ep2, err := tr2.Endpoint(ctx, "behind", root)
	if err != nil {
		t.Fatal(err)
	}
	if snap, _, err := ep2.Scan(ctx); err != nil || snap.Get("x") == nil {
		t.Fatalf("scan through the jump host: %v %v", snap, err)
	}
	if n := p.accepted.Load(); n != 1 {
		t.Fatalf("the jump host saw %d connections, want 1", n)
	}
	if st := tr2.Stats(); st.Dials != 1 {
		t.Fatalf("dials %d through one jump, want 1", st.Dials)
	}
}

// TestDefaults: with HOME pointing at a fresh home, ~/.ssh/config,
// ~/.ssh/known_hosts and ~/.ssh/id_ed25519 are found without options.
func TestDefaults(t *testing.T) {
	ctx := testContext(t)
	f := newFixture(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	dot := filepath.Join(home, ".ssh")
	if err := os.Mkdir(dot, 0o700); err != nil {
		t.Fatal(err)
	}
	copyFile(t, f.srv.KeyFile, filepath.Join(dot, "id_ed25519"))
	copyFile(t, f.srv.KnownHosts, filepath.Join(dot, "known_hosts"))
	port := strings.TrimPrefix(f.srv.Addr, "127.0.0.1:")
	cfg := "Host testbox\n    HostName 127.0.0.1\n    Port " + port + "\n    User " + f.srv.User + "\n"
	if err := os.WriteFile(filepath.Join(dot, "config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	tr, err := New(WithSelfInstall(), WithRemoteCacheDir(f.cache))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := tr.Endpoint(ctx, "testbox", newDir(t, "r")); err != nil {
		t.Fatal(err)
	}
}

// TestCipherNegotiated: the cipher preference reaches the server: AES-GCM
// when the CPU has AES instructions, chacha20-poly1305 otherwise.
func TestCipherNegotiated(t *testing.T) {
	ctx := testContext(t)
	f := newFixture(t, sshtest.WithConfig("LogLevel DEBUG1"))
	for _, aes := range []bool{true, false} {
		tr := f.transport(t)
		tr.hasAESGCM = aes
		if _, err := tr.Endpoint(ctx, f.target(), newDir(t, "r")); err != nil {
			t.Fatal(err)
		}
		tr.Close()
	}
	log := f.srv.Log()
	var got []string
	for l := range strings.SplitSeq(log, "\n") {
		if _, c, ok := strings.Cut(l, "kex: client->server cipher: "); ok {
			got = append(got, strings.Fields(c)[0])
		}
	}
	want := []string{"aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com"}
	if !slices.Equal(got, want) {
		t.Fatalf("negotiated %v, want %v", got, want)
	}
	if cpuHasAESGCM() != ciphersStartWithGCM() {
		t.Error("the default preference does not follow the CPU")
	}
}

func ciphersStartWithGCM() bool {
	tr, err := New(WithConfigFile("none"), WithKnownHosts("/nonexistent"))
	if err != nil {
		return false
	}
	return strings.HasPrefix(ciphers(tr.hasAESGCM)[0], "aes")
}

// TestInstallRefused: a host of another platform, a program that cannot
// serve as the agent, and a cache directory that cannot be made each give
// an error that says how to install the agent by hand; nothing is
// installed.
func TestInstallRefused(t *testing.T) {
	ctx := testContext(t)
	f := newFixture(t)
	t.Run("platform", func(t *testing.T) {
		tr := f.transport(t)
		tr.platform = func() string { return "plan9/mips" }
		_, err := tr.Endpoint(ctx, f.target(), newDir(t, "r"))
		var aerr *AgentError
		if !errors.As(err, &aerr) || aerr.Platform != localPlatform() || aerr.Path != f.agentPath() {
			t.Fatalf("got %#v", err)
		}
		for _, want := range []string{"plan9/mips", "GOOS=" + strings.Replace(localPlatform(), "/", " GOARCH=", 1), f.agentPath(), "Install it by hand"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message lacks %q:\n%v", want, err)
			}
		}
		if _, err := os.Stat(f.agentPath()); !errors.Is(err, os.ErrNotExist) {
			t.Error("an agent was installed")
		}
	})
	t.Run("not-an-agent", func(t *testing.T) {
		tr := f.transport(t)
		tr.handled = func() bool { return false }
		_, err := tr.Endpoint(ctx, f.target(), newDir(t, "r"))
		var aerr *AgentError
		if !errors.As(err, &aerr) || !strings.Contains(err.Error(), "does not call agent.Handle()") {
			t.Fatalf("got %v", err)
		}
		if _, err := os.Stat(f.agentPath()); !errors.Is(err, os.ErrNotExist) {
			t.Error("an agent was installed")
		}
	})
	t.Run("does-not-start", func(t *testing.T) {
		// A copy that cannot serve on the host, as one linked against
		// another C library: the error says the program is linked to
		// this machine's C library and how to build one that is not.
		tr := f.transport(t)
		tr.executable = func() (string, error) { return "/bin/true", nil }
		_, err := tr.Endpoint(ctx, f.target(), newDir(t, "r"))
		var aerr *AgentError
		if !errors.As(err, &aerr) {
			t.Fatalf("got %v, want an AgentError", err)
		}
		for _, want := range []string{"the agent just installed does not work", "linked against this machine's C library", "CGO_ENABLED=0 go build"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message lacks %q:\n%v", want, err)
			}
		}
	})
	t.Run("cache-cannot-be-made", func(t *testing.T) {
		blocker := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(blocker, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(blocker, "cache")
		tr := f.transport(t, WithRemoteCacheDir(dir))
		_, err := tr.Endpoint(ctx, f.target(), newDir(t, "r"))
		var aerr *AgentError
		if !errors.As(err, &aerr) {
			t.Fatalf("got %v", err)
		}
		for _, want := range []string{"Not a directory", filepath.Join(dir, "agent-"), "Install it by hand", "chmod 700"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message lacks %q:\n%v", want, err)
			}
		}
	})
}

// TestAgentReplaced: an installed agent that does not speak the protocol,
// or announces another version, is replaced by this program.
func TestAgentReplaced(t *testing.T) {
	ctx := testContext(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for name, script := range map[string]string{
		"garbage":       "#!/bin/sh\necho 'this is not an agent'\nsleep 1\n",
		"other-version": "#!/bin/sh\n" + fakeVersionEnv + "=0.0.1+proto1 exec '" + exe + "' \"$@\"\n",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			if err := os.MkdirAll(f.cache, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f.agentPath(), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			tr := f.transport(t)
			root := newDir(t, "r")
			writeFile(t, root, "x", []byte("x"))
			ep, err := tr.Endpoint(ctx, f.target(), root)
			if err != nil {
				t.Fatal(err)
			}
			if snap, _, err := ep.Scan(ctx); err != nil || snap.Get("x") == nil {
				t.Fatalf("scan: %v %v", snap, err)
			}
			if st := tr.Stats(); st.Uploads != 1 {
				t.Fatalf("uploads %d, want 1", st.Uploads)
			}
			got, _ := os.Stat(f.agentPath())
			want, _ := os.Stat(exe)
			if got == nil || want == nil || got.Size() != want.Size() {
				t.Fatal("the agent was not replaced by this program")
			}
		})
	}
}

// TestMissingRoot: a root that does not exist on the host is
// ErrRootMissing, never an empty tree.
func TestMissingRoot(t *testing.T) {
	ctx := testContext(t)
	f := newFixture(t)
	tr := f.transport(t)
	_, err := tr.Endpoint(ctx, f.target(), filepath.Join(t.TempDir(), "absent"))
	if !errors.Is(err, zerosync.ErrRootMissing) {
		t.Fatalf("got %v, want ErrRootMissing", err)
	}
}

// TestBackoff: after a failed attempt, calls within the backoff fail at
// once with the last error, without touching the network.
func TestBackoff(t *testing.T) {
	ctx := testContext(t)
	f := newFixture(t)
	p := startProxy(t, "127.0.0.1:1") // nothing listens there
	f.trust(t, p.Addr())
	tr := f.transport(t, WithBackoff(time.Hour, time.Hour))
	target := f.srv.User + "@" + p.Addr()
	_, err1 := tr.Endpoint(ctx, target, "/")
	if err1 == nil {
		t.Fatal("reached a host that is not there")
	}
	_, err2 := tr.Endpoint(ctx, target, "/")
	if err2 == nil || !strings.Contains(err2.Error(), "next attempt in") {
		t.Fatalf("second attempt: %v", err2)
	}
	if n := p.accepted.Load(); n != 1 {
		t.Fatalf("%d connection attempts, want 1", n)
	}
}

// TestClose: after Close every call fails, and closing twice is fine.
func TestClose(t *testing.T) {
	ctx := testContext(t)
	f := newFixture(t)
	tr := f.transport(t)
	ep, err := tr.Endpoint(ctx, f.target(), newDir(t, "r"))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ep.Scan(ctx); err == nil {
		t.Fatal("scan after close succeeded")
	}
	if _, err := tr.Endpoint(ctx, f.target(), newDir(t, "r")); err == nil {
		t.Fatal("endpoint after close succeeded")
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ep.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the agent to exit", func() bool { return len(f.agentPIDs(t)) == 0 })
}

func TestNewValidates(t *testing.T) {
	bad := []Option{
		WithLogger(nil), WithConfigFile(""), WithKnownHosts(), WithKnownHosts(""), WithTrustOnFirstUse(""),
		WithIdentityFile(""), WithKeepalive(-1, 3), WithKeepalive(time.Second, 0), WithDialTimeout(0),
		WithBackoff(0, time.Second), WithBackoff(time.Second, time.Millisecond), WithRemoteCacheDir(""),
		WithRemoteCacheDir("a\nb"), nil,
	}
	for i, o := range bad {
		if _, err := New(o); err == nil {
			t.Errorf("option %d accepted", i)
		}
	}
	if _, err := New(WithKeepalive(0, 0)); err != nil {
		t.Errorf("keepalives off: %v", err)
	}
}
