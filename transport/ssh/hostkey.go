package ssh

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Sentinels to branch on with [errors.Is]; a [*HostKeyError] wraps one.
var (
	// ErrUnknownHostKey: no known_hosts file knows the host.
	ErrUnknownHostKey = errors.New("unknown host key")
	// ErrHostKeyChanged: the host offered a key other than the one a
	// known_hosts file holds for it, or a revoked key.
	ErrHostKeyChanged = errors.New("host key changed")
)

// HostKeyError is a host key that could not be verified. Nothing was sent
// to the host: not the user name, not a key.
type HostKeyError struct {
	// Host is the name the key was looked up under, as known_hosts
	// writes it ("example.com" or "[127.0.0.1]:2222").
	Host string
	// Alias is the host as the target named it (a Host alias of the ssh
	// configuration, say); it is only shown.
	Alias string
	// Key is the key the host offered.
	Key ssh.PublicKey
	// Known are the keys known_hosts holds for Host; empty when the host
	// is unknown.
	Known []knownhosts.KnownKey
	// Revoked is set when Key is marked @revoked.
	Revoked bool
	// Files are the known_hosts files consulted; the first is where the
	// suggested commands write.
	Files []string
	// Direct is set when the host is reached without ProxyJump, so
	// ssh-keyscan can reach it.
	Direct bool
}

// Fingerprint returns the SHA256 fingerprint of the offered key, as ssh
// shows it ("SHA256:...").
func (e *HostKeyError) Fingerprint() string { return ssh.FingerprintSHA256(e.Key) }

// Unwrap returns [ErrUnknownHostKey] or [ErrHostKeyChanged].
func (e *HostKeyError) Unwrap() error {
	if len(e.Known) == 0 && !e.Revoked {
		return ErrUnknownHostKey
	}
	return ErrHostKeyChanged
}

func (e *HostKeyError) Error() string {
	file := "~/.ssh/known_hosts"
	if len(e.Files) > 0 {
		file = e.Files[0]
	}
	if len(e.Known) > 0 && e.Known[0].Filename != "" {
		// The new key replaces the old one in the file that held it.
		file = e.Known[0].Filename
	}
	host, port := splitKeyName(e.Host)
	scan := fmt.Sprintf("ssh-keyscan -t %s %s >> %s", shortType(e.Key), host, file)
	if port != "22" {
		scan = fmt.Sprintf("ssh-keyscan -t %s -p %s %s >> %s", shortType(e.Key), port, host, file)
	}
	if !e.Direct {
		// ssh-keyscan cannot go through a jump host: give the line itself.
		scan = fmt.Sprintf("echo '%s' >> %s", knownhosts.Line([]string{e.Host}, e.Key), file)
	}
	name := e.Host
	if h, _ := splitKeyName(e.Host); e.Alias != "" && e.Alias != h {
		name = e.Alias + " (" + e.Host + ")"
	}
	var b strings.Builder
	switch {
	case e.Revoked:
		fmt.Fprintf(&b, "ssh: host %s offered %s key %s, which known_hosts marks as revoked; refusing to connect", name, keyType(e.Key), e.Fingerprint())
		return b.String()
	case len(e.Known) == 0:
		fmt.Fprintf(&b, "ssh: host key of %s is unknown: %s key %s.\n", name, keyType(e.Key), e.Fingerprint())
		fmt.Fprintf(&b, "Check that fingerprint with the host's owner (on the host: ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub), then trust it with:\n", shortType(e.Key))
		fmt.Fprintf(&b, "    %s\n", scan)
		b.WriteString("or build the transport with ssh.WithTrustOnFirstUse(knownHostsFile) to add unknown keys automatically.")
	default:
		fmt.Fprintf(&b, "ssh: HOST KEY CHANGED for %s: it offered %s key %s, but", name, keyType(e.Key), e.Fingerprint())
		for i, k := range e.Known {
			if i > 0 {
				b.WriteString(" and")
			}
			fmt.Fprintf(&b, " %s:%d holds %s key %s", k.Filename, k.Line, keyType(k.Key), ssh.FingerprintSHA256(k.Key))
		}
		b.WriteString(".\nSomeone may be intercepting the connection. If the host's key really changed, remove the old key and trust the new one with:\n")
		fmt.Fprintf(&b, "    ssh-keygen -R '%s' -f %s && %s", e.Host, file, scan)
	}
	return b.String()
}

// splitKeyName splits "[host]:port" or "host" as known_hosts writes them.
func splitKeyName(name string) (host, port string) {
	if h, p, err := net.SplitHostPort(name); err == nil {
		return h, p
	}
	return name, "22"
}

// keyType names a key's type the way fingerprints are shown: ED25519,
// ECDSA, RSA.
func keyType(k ssh.PublicKey) string {
	switch t := k.Type(); {
	case t == ssh.KeyAlgoED25519:
		return "ED25519"
	case strings.HasPrefix(t, "ecdsa-"):
		return "ECDSA"
	case t == ssh.KeyAlgoRSA:
		return "RSA"
	default:
		return t
	}
}

// shortType is the key type as host key files name it.
func shortType(k ssh.PublicKey) string {
	switch keyType(k) {
	case "ED25519":
		return "ed25519"
	case "ECDSA":
		return "ecdsa"
	case "RSA":
		return "rsa"
	}
	return k.Type()
}

// hostKeys verifies host keys against a set of known_hosts files, and,
// with trust on first use, records unknown ones.
type hostKeys struct {
	files []string // read; may not exist
	tofu  string   // "" or the file unknown keys are appended to
	mu    *sync.Mutex
	log   func(msg string, args ...any)
}

// callback returns a host key callback for a host reached directly (or
// not), reading the files afresh, and the host key algorithms to ask for
// (those known_hosts holds for the host, so the host offers a key that can
// be verified; nil when it is unknown). When the callback refuses a key,
// *refused holds the [HostKeyError].
func (hk *hostKeys) callback(name string, direct bool, refused **HostKeyError) (ssh.HostKeyCallback, []string, error) {
	var existing []string
	for _, f := range hk.files {
		if _, err := os.Stat(f); err == nil {
			existing = append(existing, f)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("ssh: known_hosts: %w", err)
		}
	}
	var check ssh.HostKeyCallback
	if len(existing) > 0 {
		cb, err := knownhosts.New(existing...)
		if err != nil {
			return nil, nil, fmt.Errorf("ssh: known_hosts: %w", err)
		}
		check = cb
	} else {
		check = func(string, net.Addr, ssh.PublicKey) error { return &knownhosts.KeyError{} }
	}
	algos := knownAlgorithms(check, name)
	cb := func(_ string, remote net.Addr, key ssh.PublicKey) error {
		err := check(name, remote, key)
		if err == nil {
			return nil
		}
		herr := &HostKeyError{Host: knownhosts.Normalize(name), Key: key, Files: hk.writeFiles(), Direct: direct}
		var kerr *knownhosts.KeyError
		var rerr *knownhosts.RevokedError
		switch {
		case errors.As(err, &rerr):
			herr.Revoked = true
		case errors.As(err, &kerr):
			herr.Known = kerr.Want
			if len(kerr.Want) == 0 && hk.tofu != "" {
				if err := hk.remember(name, key); err != nil {
					return err
				}
				hk.log("trusted the key of a new host on first use", "host", herr.Host, "key", keyType(key), "fingerprint", herr.Fingerprint(), "file", hk.tofu)
				return nil
			}
		default:
			return fmt.Errorf("ssh: known_hosts: %w", err)
		}
		*refused = herr
		return herr
	}
	return cb, algos, nil
}

// writeFiles lists the files with the one unknown keys belong in first.
func (hk *hostKeys) writeFiles() []string {
	if hk.tofu == "" {
		return hk.files
	}
	out := []string{hk.tofu}
	for _, f := range hk.files {
		if f != hk.tofu {
			out = append(out, f)
		}
	}
	return out
}

// remember appends the key of host name to the trust-on-first-use file.
func (hk *hostKeys) remember(name string, key ssh.PublicKey) error {
	hk.mu.Lock()
	defer hk.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(hk.tofu), 0o700); err != nil {
		return fmt.Errorf("ssh: trust on first use: %w", err)
	}
	f, err := os.OpenFile(hk.tofu, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("ssh: trust on first use: %w", err)
	}
	_, err = f.WriteString(knownhosts.Line([]string{knownhosts.Normalize(name)}, key) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("ssh: trust on first use: %w", err)
	}
	return nil
}

// knownAlgorithms returns the host key algorithms of the keys check knows
// for name, found by offering it a key it cannot know; nil when it knows
// none.
func knownAlgorithms(check ssh.HostKeyCallback, name string) []string {
	err := check(name, &net.TCPAddr{IP: net.IPv4zero}, probeKey)
	var kerr *knownhosts.KeyError
	if !errors.As(err, &kerr) || len(kerr.Want) == 0 {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			algos = append(algos, a)
		}
	}
	for _, k := range kerr.Want {
		if k.Key.Type() == ssh.KeyAlgoRSA {
			add(ssh.KeyAlgoRSASHA512)
			add(ssh.KeyAlgoRSASHA256)
		}
		add(k.Key.Type())
	}
	return algos
}

// probeKey is a key no known_hosts file holds: an ed25519 key whose bytes
// are all zero.
var probeKey = func() ssh.PublicKey {
	k, err := ssh.ParsePublicKey(append([]byte("\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20"), make([]byte, 32)...))
	if err != nil {
		panic(err)
	}
	return k
}()
