package ssh

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func newHostKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func checkKey(t *testing.T, hk *hostKeys, name string, direct bool, key ssh.PublicKey) (*HostKeyError, error) {
	t.Helper()
	var refused *HostKeyError
	cb, _, err := hk.callback(name, direct, &refused)
	if err != nil {
		t.Fatal(err)
	}
	err = cb(name, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}, key)
	return refused, err
}

func newHostKeys(files ...string) *hostKeys {
	return &hostKeys{files: files, mu: &sync.Mutex{}, log: func(string, ...any) {}}
}

func TestHostKeyUnknown(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "known_hosts")
	key := newHostKey(t)
	refused, err := checkKey(t, newHostKeys(file), "127.0.0.1:2222", true, key)
	if refused == nil || !errors.Is(err, ErrUnknownHostKey) || errors.Is(err, ErrHostKeyChanged) {
		t.Fatalf("got %v, want an unknown host key", err)
	}
	msg := err.Error()
	for _, want := range []string{
		ssh.FingerprintSHA256(key),
		"ssh-keyscan -t ed25519 -p 2222 127.0.0.1 >> " + file,
		"WithTrustOnFirstUse",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Error("checking a key wrote the known_hosts file")
	}
	refused.Alias = "server"
	if msg := refused.Error(); !strings.Contains(msg, "host key of server ([127.0.0.1]:2222) is unknown") {
		t.Errorf("the alias is not shown:\n%s", msg)
	}

	// Through a jump host ssh-keyscan cannot reach it: the line is given.
	_, err = checkKey(t, newHostKeys(file), "10.0.0.7:22", false, key)
	line := knownhosts.Line([]string{"10.0.0.7"}, key)
	if err == nil || !strings.Contains(err.Error(), "echo '"+line+"' >> "+file) {
		t.Errorf("jumped host: %v", err)
	}
}

func TestHostKeyChanged(t *testing.T) {
	file := filepath.Join(t.TempDir(), "known_hosts")
	old, offered := newHostKey(t), newHostKey(t)
	content := "# comment\n" + knownhosts.Line([]string{"example.com"}, old) + "\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	hk := newHostKeys(file)
	hk.tofu = filepath.Join(t.TempDir(), "tofu")
	refused, err := checkKey(t, hk, "example.com:22", true, offered)
	if refused == nil || !errors.Is(err, ErrHostKeyChanged) {
		t.Fatalf("got %v, want a changed host key", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"HOST KEY CHANGED",
		ssh.FingerprintSHA256(offered),
		ssh.FingerprintSHA256(old),
		file + ":2",
		"ssh-keygen -R 'example.com'",
		"ssh-keyscan -t ed25519 example.com >> ",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "-p 22") {
		t.Errorf("the default port is spelt out:\n%s", msg)
	}
	if _, err := os.Stat(hk.tofu); !errors.Is(err, os.ErrNotExist) {
		t.Error("trust on first use recorded a changed key")
	}
	after, _ := os.ReadFile(file)
	if string(after) != content {
		t.Error("known_hosts changed")
	}
	// The known key passes.
	if _, err := checkKey(t, hk, "example.com:22", true, old); err != nil {
		t.Errorf("known key refused: %v", err)
	}
}

func TestHostKeyRevoked(t *testing.T) {
	file := filepath.Join(t.TempDir(), "known_hosts")
	key := newHostKey(t)
	if err := os.WriteFile(file, []byte("@revoked * "+string(ssh.MarshalAuthorizedKey(key))), 0o600); err != nil {
		t.Fatal(err)
	}
	refused, err := checkKey(t, newHostKeys(file), "example.com:22", true, key)
	if refused == nil || !refused.Revoked || !errors.Is(err, ErrHostKeyChanged) {
		t.Fatalf("got %v, want a revoked key", err)
	}
}

func TestTrustOnFirstUseCallback(t *testing.T) {
	dir := t.TempDir()
	tofu := filepath.Join(dir, "sub", "known_hosts")
	key, other := newHostKey(t), newHostKey(t)
	hk := newHostKeys(tofu)
	hk.tofu = tofu
	if _, err := checkKey(t, hk, "127.0.0.1:2222", true, key); err != nil {
		t.Fatalf("first use: %v", err)
	}
	b, err := os.ReadFile(tofu)
	if err != nil {
		t.Fatal(err)
	}
	if want := knownhosts.Line([]string{"[127.0.0.1]:2222"}, key) + "\n"; string(b) != want {
		t.Errorf("recorded %q, want %q", b, want)
	}
	// Now known: the same key passes without another line, another key
	// is refused.
	if _, err := checkKey(t, hk, "127.0.0.1:2222", true, key); err != nil {
		t.Fatalf("second use: %v", err)
	}
	if _, err := checkKey(t, hk, "127.0.0.1:2222", true, other); !errors.Is(err, ErrHostKeyChanged) {
		t.Fatalf("changed key after first use: %v", err)
	}
	b2, _ := os.ReadFile(tofu)
	if string(b2) != string(b) {
		t.Error("the file changed after the first use")
	}
}

func TestKnownAlgorithms(t *testing.T) {
	file := filepath.Join(t.TempDir(), "known_hosts")
	ed := newHostKey(t)
	if err := os.WriteFile(file, []byte(knownhosts.Line([]string{"[h]:2222"}, ed)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cb, err := knownhosts.New(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := knownAlgorithms(cb, "h:2222"); len(got) != 1 || got[0] != ssh.KeyAlgoED25519 {
		t.Errorf("known host: %v", got)
	}
	if got := knownAlgorithms(cb, "other:22"); got != nil {
		t.Errorf("unknown host: %v", got)
	}
}
