package ssh

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// ErrAuth is wrapped by an [*AuthError]: the host refused every key.
var ErrAuth = errors.New("authentication failed")

// AuthError is a host that accepted none of the keys offered.
type AuthError struct {
	// User and Host are who logged in where ("user", "host:port").
	User, Host string
	// Alias is the host as the target named it; it is only shown.
	Alias string
	// Offered describes each key offered, in order: its type, its SHA256
	// fingerprint and where it came from.
	Offered []string
	// Skipped describes key files that could not be used, and why.
	Skipped []string
	// Err is the SSH library's error.
	Err error
	// pubFile is a public key file to suggest for ssh-copy-id.
	pubFile string
	port    string
}

// Unwrap returns [ErrAuth] and the library's error.
func (e *AuthError) Unwrap() []error { return []error{ErrAuth, e.Err} }

func (e *AuthError) Error() string {
	var b strings.Builder
	host, _ := splitKeyName(e.Host)
	name := e.Host
	if e.Alias != "" && e.Alias != host {
		name = e.Alias + " (" + e.Host + ")"
	}
	if len(e.Offered) == 0 {
		fmt.Fprintf(&b, "ssh: no key to log in to %s as %s: no ssh agent ($SSH_AUTH_SOCK) and no usable key file", name, e.User)
	} else {
		fmt.Fprintf(&b, "ssh: %s refused every key offered for user %s: %s", name, e.User, strings.Join(e.Offered, "; "))
	}
	if len(e.Skipped) > 0 {
		fmt.Fprintf(&b, " (not usable: %s)", strings.Join(e.Skipped, "; "))
	}
	b.WriteString(".\nAuthorize a key on the host")
	if e.pubFile != "" {
		p := ""
		if e.port != "22" {
			p = " -p " + e.port
		}
		fmt.Fprintf(&b, " (for example: ssh-copy-id -i %s%s %s@%s)", e.pubFile, p, e.User, host)
	}
	b.WriteString(", or name the right key with IdentityFile in ~/.ssh/config or ssh.WithIdentityFile.")
	return b.String()
}

// keyring is the keys offered to one host, with where each came from.
type keyring struct {
	signers []ssh.Signer
	offered []string
	skipped []string
	pubFile string
	closer  func()
}

// keys gathers the keys for h: files named by options, the agent's keys,
// then the files the configuration names (or the default ~/.ssh/id_*).
// With IdentitiesOnly, agent keys are offered only when they match one of
// those files. The caller calls closer when the handshake is done.
func (c *config) keys(h *hostConfig) *keyring {
	kr := &keyring{closer: func() {}}
	seen := map[string]bool{}
	add := func(s ssh.Signer, from string) {
		fp := ssh.FingerprintSHA256(s.PublicKey())
		if seen[fp] {
			return
		}
		seen[fp] = true
		kr.signers = append(kr.signers, s)
		kr.offered = append(kr.offered, fmt.Sprintf("%s %s (%s)", keyType(s.PublicKey()), fp, from))
	}

	files := append([]string(nil), c.identities...)
	explicit := len(h.identities) > 0
	if explicit {
		files = append(files, h.identities...)
	} else {
		for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			files = append(files, filepath.Join(c.home, ".ssh", n))
		}
	}
	// Public halves of the files, for IdentitiesOnly matching of agent keys.
	var filePubs []ssh.PublicKey
	var fileSigners []ssh.Signer
	var fileFrom []string
	for i, f := range files {
		isDefault := !explicit && i >= len(c.identities)
		b, err := os.ReadFile(f)
		if err != nil {
			if !(isDefault && errors.Is(err, os.ErrNotExist)) {
				kr.skipped = append(kr.skipped, err.Error())
			}
			continue
		}
		s, err := ssh.ParsePrivateKey(b)
		var pm *ssh.PassphraseMissingError
		switch {
		case errors.As(err, &pm):
			if pm.PublicKey != nil {
				filePubs = append(filePubs, pm.PublicKey)
			}
			kr.skipped = append(kr.skipped, fmt.Sprintf("%s: protected by a passphrase; add it to the ssh agent with ssh-add %s", f, f))
			continue
		case err != nil:
			kr.skipped = append(kr.skipped, fmt.Sprintf("%s: %v", f, err))
			continue
		}
		filePubs = append(filePubs, s.PublicKey())
		fileSigners = append(fileSigners, s)
		fileFrom = append(fileFrom, f)
		if kr.pubFile == "" {
			kr.pubFile = f + ".pub"
		}
	}

	// Keys named by options go first: they are the caller's choice.
	for i, f := range fileFrom {
		if slices.Contains(c.identities, f) {
			add(fileSigners[i], f)
		}
	}
	if c.agentSock != "" {
		conn, err := net.Dial("unix", c.agentSock)
		if err != nil {
			kr.skipped = append(kr.skipped, fmt.Sprintf("ssh agent at %s: %v", c.agentSock, err))
		} else {
			kr.closer = func() { conn.Close() }
			signers, err := agent.NewClient(conn).Signers()
			if err != nil {
				kr.skipped = append(kr.skipped, fmt.Sprintf("ssh agent: %v", err))
			}
			for _, s := range signers {
				if h.identitiesOnly && !containsKey(filePubs, s.PublicKey()) {
					continue
				}
				add(s, "ssh agent")
			}
		}
	}
	for i, f := range fileFrom {
		if !slices.Contains(c.identities, f) {
			add(fileSigners[i], f)
		}
	}
	return kr
}

func containsKey(keys []ssh.PublicKey, k ssh.PublicKey) bool {
	for _, x := range keys {
		if string(x.Marshal()) == string(k.Marshal()) {
			return true
		}
	}
	return false
}
