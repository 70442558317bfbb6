package sshtest

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// TestStart: a started server accepts the client key, verified against the
// known_hosts file it wrote, and runs a command.
func TestStart(t *testing.T) {
	s := Start(t)
	b, err := os.ReadFile(s.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	hk, err := knownhosts.New(s.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ssh.Dial("tcp", s.Addr, &ssh.ClientConfig{
		User:            s.User,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: hk,
	})
	if err != nil {
		t.Fatalf("dial: %v\n%s", err, s.Log())
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.Output("echo hello")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(out)) != "hello" {
		t.Fatalf("output %q", out)
	}
	s.Stop()
	if _, err := ssh.Dial("tcp", s.Addr, &ssh.ClientConfig{User: s.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: hk}); err == nil {
		t.Fatal("a stopped server still accepts connections")
	}
}

// TestWrongKeyRefused: a key that was never authorized cannot log in.
func TestWrongKeyRefused(t *testing.T) {
	s := Start(t)
	other := t.TempDir() + "/other"
	WriteKey(t, other, "rsa")
	b, err := os.ReadFile(other)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	hk, err := knownhosts.New(s.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ssh.Dial("tcp", s.Addr, &ssh.ClientConfig{User: s.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: hk})
	if err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("got %v, want an authentication failure", err)
	}
}

// TestWithHome: sessions see the given $HOME.
func TestWithHome(t *testing.T) {
	home := t.TempDir()
	s := Start(t, WithHome(home))
	b, err := os.ReadFile(s.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	hk, err := knownhosts.New(s.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ssh.Dial("tcp", s.Addr, &ssh.ClientConfig{User: s.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: hk})
	if err != nil {
		t.Fatalf("dial: %v\n%s", err, s.Log())
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	out, err := sess.Output(`echo "home=$HOME"`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "home="+home+"\n") {
		t.Fatalf("output %q, want $HOME %s", out, home)
	}
}
