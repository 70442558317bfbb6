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
	"strings"
	"time"
)

// fleetSSHD is one sshd per host of a [hostNet], each inside its
// namespace on port 22 of the host's address, all with one host key (which
// the client's known_hosts pins for every address) and one client key.
type fleetSSHD struct {
	net        *hostNet
	dir        string
	user       string
	key        string // client private key
	knownHosts string
	procs      []*exec.Cmd
	stderr     []*lockedBuffer
}

// startFleetSSHD starts the servers, with their keys and configurations in
// dir, and returns once every one accepts a login.
func startFleetSSHD(ctx context.Context, hn *hostNet, dir string) (fs *fleetSSHD, err error) {
	bin, err := findSSHD()
	if err != nil {
		return nil, err
	}
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(dir, " \t'\"\\") {
		return nil, fmt.Errorf("fleet: work folder %q must not contain spaces or quotes (rsync splits ssh arguments on spaces)", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return nil, fmt.Errorf("sshd: privilege separation folder: %w", err)
	}
	fs = &fleetSSHD{net: hn, dir: dir, user: u.Username, key: filepath.Join(dir, "client_ed25519"), knownHosts: filepath.Join(dir, "known_hosts")}
	defer func() {
		if err != nil {
			fs.Close()
		}
	}()
	hostKey := filepath.Join(dir, "host_ed25519")
	for _, k := range []string{hostKey, fs.key} {
		if out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "zerosync-bench", "-f", k).CombinedOutput(); err != nil {
			return fs, fmt.Errorf("ssh-keygen: %w: %s", err, out)
		}
	}
	pub, err := os.ReadFile(fs.key + ".pub")
	if err != nil {
		return fs, err
	}
	authorized := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authorized, pub, 0o600); err != nil {
		return fs, err
	}
	hostPub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		return fs, err
	}
	f := strings.Fields(string(hostPub))
	var known strings.Builder
	for _, h := range hn.hosts {
		fmt.Fprintf(&known, "%s %s %s\n", h.addr, f[0], f[1])
	}
	if err := os.WriteFile(fs.knownHosts, []byte(known.String()), 0o600); err != nil {
		return fs, err
	}
	for i, h := range hn.hosts {
		conf := filepath.Join(dir, fmt.Sprintf("sshd_config-%d", i+1))
		text := sshdConfig(h.addr, 22, hostKey, filepath.Join(dir, fmt.Sprintf("sshd-%d.pid", i+1)), authorized, fs.user)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			return fs, err
		}
		// Not CommandContext: the servers outlive one call; Close stops
		// them.
		cmd := hn.exec(h, bin, "-D", "-e", "-f", conf)
		buf := &lockedBuffer{}
		cmd.Stderr = buf
		if err := cmd.Start(); err != nil {
			return fs, fmt.Errorf("sshd in %s: %w", h.ns, err)
		}
		fs.procs = append(fs.procs, cmd)
		fs.stderr = append(fs.stderr, buf)
	}
	deadline := time.Now().Add(20 * time.Second)
	for i, h := range hn.hosts {
		for {
			if err := ctx.Err(); err != nil {
				return fs, err
			}
			c, err := net.DialTimeout("tcp", net.JoinHostPort(h.addr, "22"), 200*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				return fs, fmt.Errorf("sshd in %s did not listen on %s: %v: %s", h.ns, h.addr, err, fs.stderr[i].String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, h := range hn.hosts[:1] {
		args := append(fs.opts(), fs.user+"@"+h.addr, "true")
		if out, err := exec.CommandContext(ctx, "ssh", args...).CombinedOutput(); err != nil {
			return fs, fmt.Errorf("no login to %s: %w: %s", h.addr, err, out)
		}
	}
	return fs, nil
}

// opts are the ssh client options of the fleet's rsync runs: this fleet's
// key and known hosts only, no user configuration, no prompts.
func (fs *fleetSSHD) opts() []string {
	return []string{
		"-F", "/dev/null",
		"-i", fs.key,
		"-o", "IdentitiesOnly=yes",
		"-o", "UserKnownHostsFile=" + fs.knownHosts,
		"-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes",
		"-o", "LogLevel=ERROR",
		"-o", "ControlMaster=no",
		"-o", "ControlPath=none",
	}
}

// Close stops every server (their sessions end with their connections).
func (fs *fleetSSHD) Close() error {
	for _, c := range fs.procs {
		_ = c.Process.Signal(os.Interrupt)
	}
	var errs []error
	for _, c := range fs.procs {
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = c.Process.Kill()
			errs = append(errs, fmt.Errorf("sshd %d did not stop in 3 s: killed", c.Process.Pid))
			<-done
		}
	}
	fs.procs = nil
	return errors.Join(errs...)
}
