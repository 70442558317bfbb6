package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// sshd is a private OpenSSH server on a loopback port with its own host key
// and one client key, started for one benchmark run and stopped with
// [sshd.Close]. Clients reach it through a counting proxy, so every tool's
// bytes on the wire are measured the same way.
type sshd struct {
	dir        string // keys, config, known_hosts
	port       int    // sshd's own port
	user       string
	key        string // client private key
	knownHosts string
	cmd        *exec.Cmd
	done       chan error
	proxy      *proxy
	stderr     lockedBuffer
}

// startSSHD starts sshd in dir (which must exist) and a counting proxy in
// front of it. It needs the sshd binary (Debian: openssh-server); a
// missing binary is an error, never a skipped workload.
func startSSHD(ctx context.Context, dir string) (*sshd, error) {
	bin, err := findSSHD()
	if err != nil {
		return nil, err
	}
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(dir, " \t'\"\\") {
		return nil, fmt.Errorf("sshd: work folder %q must not contain spaces or quotes (rsync and unison split ssh arguments on spaces)", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &sshd{dir: dir, user: u.Username, key: filepath.Join(dir, "client_ed25519"), knownHosts: filepath.Join(dir, "known_hosts")}
	hostKey := filepath.Join(dir, "host_ed25519")
	for _, k := range []string{hostKey, s.key} {
		if out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "zerosync-bench", "-f", k).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("ssh-keygen: %w: %s", err, out)
		}
	}
	pub, err := os.ReadFile(s.key + ".pub")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		// sshd refuses to start without its privilege separation folder,
		// which a fresh machine (or a container) may not have yet.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			return nil, fmt.Errorf("sshd: privilege separation folder: %w", err)
		}
	}

	// A free port: the kernel picks one, sshd takes it over. Another process
	// could take it in between; then sshd fails to bind and we try again.
	for attempt := 0; ; attempt++ {
		s.port, err = freePort()
		if err != nil {
			return nil, err
		}
		err = s.start(ctx, bin, hostKey)
		if err == nil {
			break
		}
		if attempt == 4 {
			return nil, err
		}
	}
	hostPub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		s.Close()
		return nil, err
	}
	s.proxy, err = newProxy(net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)))
	if err != nil {
		s.Close()
		return nil, err
	}
	f := strings.Fields(string(hostPub))
	known := fmt.Sprintf("[127.0.0.1]:%d %s %s\n[127.0.0.1]:%d %s %s\n", s.port, f[0], f[1], s.proxy.port(), f[0], f[1])
	if err := os.WriteFile(s.knownHosts, []byte(known), 0o600); err != nil {
		s.Close()
		return nil, err
	}
	// The server is up when a client gets through, proxy included.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := exec.CommandContext(ctx, "ssh", s.sshArgs(true, "", "true")...).CombinedOutput()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			s.Close()
			return nil, fmt.Errorf("sshd: no login through the proxy: %w: %s; sshd said: %s", err, out, s.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s, nil
}

func (s *sshd) start(ctx context.Context, bin, hostKey string) error {
	conf := sshdConfig("127.0.0.1", s.port, hostKey, filepath.Join(s.dir, "sshd.pid"), filepath.Join(s.dir, "authorized_keys"), s.user)
	confPath := filepath.Join(s.dir, "sshd_config")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return err
	}
	// Not CommandContext: the server outlives the context of one call and
	// is stopped by Close.
	s.stderr.Reset()
	s.cmd = exec.Command(bin, "-D", "-e", "-f", confPath)
	s.cmd.Stderr = &s.stderr
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("sshd: %w", err)
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.cmd.Wait() }()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	deadline := time.Now().Add(5 * time.Second)
	for {
		select {
		case err := <-s.done:
			s.cmd = nil
			return fmt.Errorf("sshd exited: %v: %s", err, s.stderr.String())
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			s.Close()
			return fmt.Errorf("sshd did not listen on %s: %s", addr, s.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sshdConfig is the configuration of one of the harness's servers: keys
// only, no PAM, one host key, listening on addr:port.
func sshdConfig(addr string, port int, hostKey, pidFile, authorizedKeys, user string) string {
	root := "no"
	if user == "root" {
		root = "prohibit-password"
	}
	return strings.Join([]string{
		"Port " + strconv.Itoa(port),
		"ListenAddress " + addr,
		"HostKey " + hostKey,
		"PidFile " + pidFile,
		"AuthorizedKeysFile " + authorizedKeys,
		"PermitRootLogin " + root,
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"StrictModes no",
		"PrintMotd no",
		"PrintLastLog no",
		"UseDNS no",
		"MaxStartups 64",
		"MaxSessions 64",
		"LogLevel ERROR",
		"Subsystem sftp internal-sftp",
		"",
	}, "\n")
}

// Close stops the proxy and the server.
func (s *sshd) Close() error {
	if s.proxy != nil {
		s.proxy.Close()
	}
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(3 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
	return nil
}

// host is the login the tools use: user@127.0.0.1.
func (s *sshd) host() string { return s.user + "@127.0.0.1" }

// opts are the ssh client options every tool uses: this server's key and
// known hosts only, no user configuration, no prompts. viaProxy picks the
// proxy's port (counted) or sshd's own (direct).
func (s *sshd) opts(viaProxy bool) []string {
	port := s.port
	if viaProxy {
		port = s.proxy.port()
	}
	return []string{
		"-F", "/dev/null",
		"-p", strconv.Itoa(port),
		"-i", s.key,
		"-o", "IdentitiesOnly=yes",
		"-o", "UserKnownHostsFile=" + s.knownHosts,
		"-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes",
		"-o", "LogLevel=ERROR",
		"-o", "ControlMaster=no",
		"-o", "ControlPath=none",
	}
}

// sshArgs is a whole ssh command line's arguments: options, an optional
// cipher, the host and the remote command.
func (s *sshd) sshArgs(viaProxy bool, cipher string, remote ...string) []string {
	args := s.opts(viaProxy)
	if cipher != "" {
		args = append(args, "-c", cipher)
	}
	return append(append(args, s.host()), remote...)
}

// command is the ssh command for rsync's -e and unison's -sshargs (which
// split it on spaces).
func (s *sshd) command() string { return "ssh " + strings.Join(s.opts(true), " ") }

func findSSHD() (string, error) {
	if p, err := exec.LookPath("sshd"); err == nil {
		return filepath.Abs(p)
	}
	for _, p := range []string{"/usr/sbin/sshd", "/usr/local/sbin/sshd"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("sshd not found: install the openssh-server package")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
