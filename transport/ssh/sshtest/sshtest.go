// Package sshtest starts a real OpenSSH sshd on a loopback port for tests,
// with its own host key, its own authorized keys and a client key that may
// log in as the current user.
//
// # Requirements
//
// The server is /usr/sbin/sshd from openssh-server. It needs the privilege
// separation directory /run/sshd, which [Start] creates when it is missing
// and the test runs as root. A server that cannot start fails the test with
// sshd's own log; it is never skipped.
//
// # Isolation
//
// The server listens on 127.0.0.1 only (or, with [WithNetns], on an
// address inside a network namespace the test made), keeps its
// configuration, keys, pid file and authorized keys in a temporary
// directory, and is stopped when the test ends. It does not read the system's sshd configuration or host keys.
// The remote side of a session is the current user with the real home
// directory, as with any sshd, unless [WithHome] gives the sessions
// another $HOME, whose shell start-up files the test then writes.
package sshtest

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Path is the sshd binary the server runs. sshd insists on an absolute path.
const Path = "/usr/sbin/sshd"

// Server is a running sshd. Its fields are read-only.
type Server struct {
	// Host and Port are where the server listens; Addr is "Host:Port".
	Host string
	Port int
	Addr string
	// User is the user tests log in as: the current user.
	User string
	// Dir is the server's temporary directory.
	Dir string
	// HostKey is the server's host key.
	HostKey ssh.PublicKey
	// KeyFile is a private key (ed25519, OpenSSH format, no passphrase)
	// that the server accepts for User.
	KeyFile string
	// KnownHosts is a known_hosts file naming the server's host key for
	// Host:Port, written by Start.
	KnownHosts string

	authorized string
	netns      string
	cmd        *exec.Cmd
	log        *syncBuffer
	done       chan struct{}
	stopOnce   sync.Once
}

// Option configures a [Server].
type Option func(*options)

type options struct {
	extra   []string
	hostKey string
	netns   string
	host    string
}

// WithConfig adds lines to the server's sshd_config, before its own, so
// they win (sshd takes the first value of a keyword).
func WithConfig(lines ...string) Option {
	return func(o *options) { o.extra = append(o.extra, lines...) }
}

// WithHome sets $HOME of every session to dir (sshd_config SetEnv), so
// the login shell reads its start-up files (~/.bashrc, ~/.profile) and
// the remote side keeps its per-user files there instead of in the
// current user's real home directory. dir must exist.
func WithHome(dir string) Option {
	return func(o *options) { o.extra = append(o.extra, "SetEnv "+strconv.Quote("HOME="+dir)) }
}

// WithHostKeyFile makes the server use an existing private host key instead
// of a fresh one, so two servers can share a key, or a test can change it.
func WithHostKeyFile(file string) Option {
	return func(o *options) { o.hostKey = file }
}

// WithNetns runs the server inside the network namespace ns (with "ip
// netns exec", which needs root), listening on host, an address of that
// namespace. The test makes the namespace, and removes it after the
// server stopped (register its removal before Start, so it runs after).
func WithNetns(ns, host string) Option {
	return func(o *options) { o.netns, o.host = ns, host }
}

// Start starts a server and stops it when the test ends. Every failure to
// start ends the test with t.Fatal and the server's log.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if _, err := os.Stat(Path); err != nil {
		t.Fatalf("sshtest: %s is needed (install openssh-server): %v", Path, err)
	}
	if err := privsepDir(); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatalf("sshtest: current user: %v", err)
	}
	dir := t.TempDir()
	s := &Server{Host: "127.0.0.1", User: u.Username, Dir: dir, authorized: filepath.Join(dir, "authorized_keys"), netns: o.netns}
	if o.host != "" {
		s.Host = o.host
	}

	hostKeyFile := o.hostKey
	if hostKeyFile == "" {
		hostKeyFile = filepath.Join(dir, "ssh_host_ed25519_key")
		s.HostKey = WriteKey(t, hostKeyFile, "ed25519")
	} else {
		s.HostKey = readPublic(t, hostKeyFile)
	}
	var clientPub ssh.PublicKey
	s.KeyFile = filepath.Join(dir, "id_ed25519")
	clientPub = WriteKey(t, s.KeyFile, "ed25519")
	s.Authorize(t, clientPub)

	// A free port can be taken by someone else between the probe and
	// sshd's bind; try a few.
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("sshtest: %v", err)
		}
		s.Port = port
		s.Addr = net.JoinHostPort(s.Host, strconv.Itoa(port))
		if lastErr = s.start(hostKeyFile, o.extra); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("sshtest: sshd did not start: %v\n--- sshd log ---\n%s", lastErr, s.Log())
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("--- sshd log ---\n%s", s.Log())
		}
	})

	s.KnownHosts = filepath.Join(dir, "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, s.HostKey) + "\n"
	if err := os.WriteFile(s.KnownHosts, []byte(line), 0o600); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	return s
}

func (s *Server) start(hostKeyFile string, extra []string) error {
	conf := filepath.Join(s.Dir, "sshd_config")
	// sshd takes the first value of a keyword, so the caller's lines go
	// first.
	lines := append([]string(nil), extra...)
	lines = append(lines,
		"ListenAddress "+s.Addr,
		"HostKey "+hostKeyFile,
		"PidFile "+filepath.Join(s.Dir, "sshd.pid"),
		"AuthorizedKeysFile "+s.authorized,
		"StrictModes no",
		"UsePAM no",
		"PermitRootLogin prohibit-password",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"AllowTcpForwarding yes",
		"AcceptEnv ZEROSYNC_*",
		"MaxStartups 100",
		"MaxSessions 50",
		"LogLevel VERBOSE",
	)
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	s.log = &syncBuffer{}
	s.done = make(chan struct{})
	s.stopOnce = sync.Once{}
	cmd := exec.Command(Path, "-D", "-e", "-f", conf)
	if s.netns != "" {
		cmd = exec.Command("ip", "netns", "exec", s.netns, Path, "-D", "-e", "-f", conf)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd.Stdout = pw
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return fmt.Errorf("start %s: %w", Path, err)
	}
	pw.Close()
	s.cmd = cmd
	ready := make(chan struct{})
	var readyOnce sync.Once
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			s.log.WriteLine(line)
			if strings.Contains(line, "Server listening on") {
				readyOnce.Do(func() { close(ready) })
			}
		}
		pr.Close()
	}()
	exited := make(chan error, 1)
	go func() {
		exited <- cmd.Wait()
		close(s.done)
	}()
	select {
	case <-ready:
		return nil
	case err := <-exited:
		return fmt.Errorf("sshd exited: %v", err)
	case <-time.After(20 * time.Second):
		s.Stop()
		return errors.New("sshd did not report listening within 20s")
	}
}

// Stop stops the server; established sessions end when their client
// closes them. It is safe to call more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.cmd == nil || s.cmd.Process == nil {
			return
		}
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	})
}

// PID returns the process id of the listening sshd; the sessions it
// serves are its children.
func (s *Server) PID() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Log returns what sshd logged so far.
func (s *Server) Log() string {
	if s.log == nil {
		return ""
	}
	return s.log.String()
}

// Authorize lets key log in as User.
func (s *Server) Authorize(t testing.TB, key ssh.PublicKey) {
	t.Helper()
	f, err := os.OpenFile(s.authorized, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	defer f.Close()
	if _, err := f.Write(ssh.MarshalAuthorizedKey(key)); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
}

// WriteKey writes a new private key of kind "ed25519", "ecdsa" or "rsa" to
// file in OpenSSH format, without a passphrase, with the public key beside
// it in file+".pub", and returns the public key.
func WriteKey(t testing.TB, file, kind string) ssh.PublicKey {
	t.Helper()
	var priv any
	var err error
	switch kind {
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "ecdsa":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("sshtest: unknown key kind %q", kind)
	}
	if err != nil {
		t.Fatalf("sshtest: generate %s key: %v", kind, err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "zerosync-test")
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	if err := os.WriteFile(file+".pub", ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	return signer.PublicKey()
}

func readPublic(t testing.TB, keyFile string) ssh.PublicKey {
	t.Helper()
	b, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	signer, err := ssh.ParsePrivateKey(b)
	if err != nil {
		t.Fatalf("sshtest: host key %s: %v", keyFile, err)
	}
	return signer.PublicKey()
}

// privsepDir makes sure sshd's privilege separation directory exists.
func privsepDir() error {
	const dir = "/run/sshd"
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s is missing and only root can create it", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer is a log safe for concurrent use, capped at 1 MiB.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) WriteLine(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() < 1<<20 {
		b.b.WriteString(s)
		b.b.WriteByte('\n')
	}
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
