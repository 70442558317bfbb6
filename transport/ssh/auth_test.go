package ssh

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/zerosync/zerosync/transport/ssh/sshtest"
)

// serveAgent runs an in-process ssh agent holding keys on a Unix socket
// and returns the socket's path.
func serveAgent(t testing.TB, keys ...any) string {
	t.Helper()
	kr := agent.NewKeyring()
	for _, k := range keys {
		if err := kr.Add(agent.AddedKey{PrivateKey: k}); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				agent.ServeAgent(kr, c)
			}()
		}
	}()
	return sock
}

func newEd25519(t testing.TB) (ed25519.PrivateKey, ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return priv, s.PublicKey()
}

func fingerprints(kr *keyring) []string {
	var out []string
	for _, s := range kr.signers {
		out = append(out, ssh.FingerprintSHA256(s.PublicKey()))
	}
	return out
}

func TestKeysDefaults(t *testing.T) {
	home := t.TempDir()
	sshDir := filepath.Join(home, ".ssh")
	if err := os.Mkdir(sshDir, 0o700); err != nil {
		t.Fatal(err)
	}
	ed := sshtest.WriteKey(t, filepath.Join(sshDir, "id_ed25519"), "ed25519")
	rsa := sshtest.WriteKey(t, filepath.Join(sshDir, "id_rsa"), "rsa")
	c := &config{home: home}
	kr := c.keys(&hostConfig{})
	want := []string{ssh.FingerprintSHA256(ed), ssh.FingerprintSHA256(rsa)}
	if got := fingerprints(kr); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("offered %v, want %v", got, want)
	}
	if len(kr.skipped) != 0 {
		t.Errorf("a missing default key was reported: %v", kr.skipped)
	}
	if kr.pubFile != filepath.Join(sshDir, "id_ed25519.pub") {
		t.Errorf("suggested public key %q", kr.pubFile)
	}
}

func TestKeysConfigured(t *testing.T) {
	dir := t.TempDir()
	ecdsa := sshtest.WriteKey(t, filepath.Join(dir, "ecdsa"), "ecdsa")
	opt := sshtest.WriteKey(t, filepath.Join(dir, "opt"), "ed25519")
	// A key protected by a passphrase.
	priv, encPub := newEd25519(t)
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	enc := filepath.Join(dir, "encrypted")
	if err := os.WriteFile(enc, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &config{home: t.TempDir(), identities: []string{filepath.Join(dir, "opt")}}
	h := &hostConfig{identities: []string{filepath.Join(dir, "ecdsa"), enc, filepath.Join(dir, "missing")}}
	kr := c.keys(h)
	want := []string{ssh.FingerprintSHA256(opt), ssh.FingerprintSHA256(ecdsa)}
	if got := fingerprints(kr); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("offered %v, want %v (option first)", got, want)
	}
	skipped := strings.Join(kr.skipped, "\n")
	if !strings.Contains(skipped, "ssh-add "+enc) || !strings.Contains(skipped, "missing") {
		t.Errorf("skipped: %s", skipped)
	}

	// The agent holds the encrypted key: it is offered through the agent,
	// also with IdentitiesOnly; another agent key is not.
	other, otherPub := newEd25519(t)
	c.agentSock = serveAgent(t, priv, other)
	h.identitiesOnly = true
	kr = c.keys(h)
	defer kr.closer()
	got := strings.Join(fingerprints(kr), ",")
	if !strings.Contains(got, ssh.FingerprintSHA256(encPub)) || strings.Contains(got, ssh.FingerprintSHA256(otherPub)) {
		t.Errorf("IdentitiesOnly with an agent: offered %s", got)
	}
	h.identitiesOnly = false
	kr2 := c.keys(h)
	defer kr2.closer()
	if got := strings.Join(fingerprints(kr2), ","); !strings.Contains(got, ssh.FingerprintSHA256(otherPub)) {
		t.Errorf("without IdentitiesOnly every agent key is offered: %s", got)
	}
	if !strings.Contains(strings.Join(kr2.offered, ";"), "(ssh agent)") {
		t.Errorf("offered %v", kr2.offered)
	}
}

func TestAuthErrorMessage(t *testing.T) {
	err := &AuthError{User: "bob", Host: "[10.0.0.1]:2222", Offered: []string{"ED25519 SHA256:abc (/k)"}, Err: errors.New("ssh: unable to authenticate"), pubFile: "/k.pub", port: "2222"}
	if !errors.Is(err, ErrAuth) {
		t.Error("not ErrAuth")
	}
	msg := err.Error()
	for _, want := range []string{"SHA256:abc", "ssh-copy-id -i /k.pub -p 2222 bob@10.0.0.1", "WithIdentityFile"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	none := (&AuthError{User: "bob", Host: "h"}).Error()
	if !strings.Contains(none, "no key") {
		t.Errorf("no keys: %s", none)
	}
}
