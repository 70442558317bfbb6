package ssh

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	sshconfig "github.com/kevinburke/ssh_config"
)

// maxHops bounds a ProxyJump chain.
const maxHops = 8

// target is a parsed "[user@]host[:port]"; empty fields were not given.
type target struct {
	user string
	host string
	port int
}

func (t target) String() string {
	s := t.host
	if t.port != 0 {
		s = net.JoinHostPort(t.host, strconv.Itoa(t.port))
	}
	if t.user != "" {
		s = t.user + "@" + s
	}
	return s
}

// parseTarget parses "[user@]host[:port]", "[user@][ipv6]:port" or an
// ssh:// URL of the same shape.
func parseTarget(s string) (target, error) {
	var t target
	bad := func(why string) (target, error) {
		return target{}, fmt.Errorf("ssh: target %q: %s (want [user@]host[:port])", s, why)
	}
	rest := strings.TrimPrefix(s, "ssh://")
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return bad("empty")
	}
	if strings.ContainsAny(rest, " \t\r\n/\x00") {
		return bad("contains a space, slash or control character")
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		t.user, rest = rest[:i], rest[i+1:]
		if t.user == "" {
			return bad("empty user")
		}
	}
	switch {
	case strings.HasPrefix(rest, "["):
		h, p, err := net.SplitHostPort(rest)
		if err != nil {
			if !strings.HasSuffix(rest, "]") {
				return bad(err.Error())
			}
			h, p = rest[1:len(rest)-1], ""
		}
		t.host = h
		if p != "" {
			n, err := parsePort(p)
			if err != nil {
				return bad(err.Error())
			}
			t.port = n
		}
	case strings.Count(rest, ":") == 1:
		h, p, _ := strings.Cut(rest, ":")
		n, err := parsePort(p)
		if err != nil {
			return bad(err.Error())
		}
		t.host, t.port = h, n
	default:
		// A bare IPv6 address, or a plain host name.
		t.host = rest
	}
	if t.host == "" {
		return bad("empty host")
	}
	if strings.HasPrefix(t.host, "-") {
		return bad("host starts with '-'")
	}
	return t, nil
}

func parsePort(p string) (int, error) {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("bad port %q", p)
	}
	return n, nil
}

// hostConfig is everything needed to reach one host: the target after the
// ssh configuration was applied.
type hostConfig struct {
	alias    string // the host as the caller named it
	user     string
	hostname string // what to connect to
	port     int
	// identities are the key files the configuration names, expanded.
	identities     []string
	identitiesOnly bool
	// knownHosts are the files UserKnownHostsFile names, expanded; nil
	// means the transport's defaults.
	knownHosts []string
	// hostKeyAlias, when set, is the name host keys are looked up under.
	hostKeyAlias string
	// jump are the ProxyJump hops, first hop first.
	jump []*hostConfig
}

// addr is the host:port to connect to.
func (h *hostConfig) addr() string {
	return net.JoinHostPort(h.hostname, strconv.Itoa(h.port))
}

// keyName is the address the host's key is looked up under in known_hosts.
func (h *hostConfig) keyName() string {
	if h.hostKeyAlias != "" {
		return net.JoinHostPort(h.hostKeyAlias, strconv.Itoa(h.port))
	}
	return h.addr()
}

// String names the host for logs and errors: user@host:port, with the hops.
func (h *hostConfig) String() string {
	s := h.user + "@" + h.addr()
	for i := len(h.jump) - 1; i >= 0; i-- {
		s += " via " + h.jump[i].user + "@" + h.jump[i].addr()
	}
	return s
}

// key identifies a connection: two targets with the same key share one.
func (h *hostConfig) key() string {
	s := h.user + "@" + h.addr()
	for _, j := range h.jump {
		s = j.key() + ">" + s
	}
	return s
}

// sshConfig is the ssh configuration files read in order; the first value
// found wins, as with OpenSSH.
type sshConfig []*sshconfig.Config

// loadSSHConfig reads files; a missing file is skipped. Match blocks,
// which the parser does not support, are left out, and a note says so.
func loadSSHConfig(files []string) (sshConfig, []string, error) {
	var out sshConfig
	var notes []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("ssh config: %w", err)
		}
		b, skipped := dropMatchBlocks(b)
		if skipped > 0 {
			notes = append(notes, fmt.Sprintf("%s: %d Match block(s) not supported and ignored", f, skipped))
		}
		c, err := sshconfig.DecodeBytes(b)
		if err != nil {
			return nil, nil, fmt.Errorf("ssh config %s: %w", f, err)
		}
		out = append(out, c)
	}
	return out, notes, nil
}

// dropMatchBlocks blanks every Match block of an ssh configuration (from a
// Match line to the next Host or Match line), keeping line numbers.
func dropMatchBlocks(b []byte) ([]byte, int) {
	lines := strings.Split(string(b), "\n")
	n, in := 0, false
	for i, l := range lines {
		word, _, _ := strings.Cut(strings.TrimSpace(l), " ")
		word, _, _ = strings.Cut(word, "=")
		word, _, _ = strings.Cut(word, "\t")
		switch strings.ToLower(word) {
		case "match":
			in = true
			n++
		case "host":
			in = false
		}
		if in {
			lines[i] = ""
		}
	}
	if n == 0 {
		return b, 0
	}
	return []byte(strings.Join(lines, "\n")), n
}

// get returns the first value of key for alias.
func (sc sshConfig) get(alias, key string) (v string, err error) {
	defer recoverMatch(&err)
	for _, c := range sc {
		v, err := c.Get(alias, key)
		if err != nil {
			return "", fmt.Errorf("ssh config: %s: %w", key, err)
		}
		if v != "" {
			return v, nil
		}
	}
	return "", nil
}

// getAll returns every value of key for alias, in order.
func (sc sshConfig) getAll(alias, key string) (vs []string, err error) {
	defer recoverMatch(&err)
	for _, c := range sc {
		all, err := c.GetAll(alias, key)
		if err != nil {
			return nil, fmt.Errorf("ssh config: %s: %w", key, err)
		}
		vs = append(vs, all...)
	}
	return vs, nil
}

// recoverMatch turns the panic the config parser raises on a Match block
// into an error.
func recoverMatch(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("ssh config: unsupported directive: %v", r)
	}
}

// resolve applies the ssh configuration to target s.
func (c *config) resolve(sc sshConfig, s string) (*hostConfig, error) {
	return c.resolveHop(sc, s, 0)
}

func (c *config) resolveHop(sc sshConfig, s string, depth int) (*hostConfig, error) {
	t, err := parseTarget(s)
	if err != nil {
		return nil, err
	}
	alias := t.host
	h := &hostConfig{alias: alias, user: t.user, hostname: alias, port: t.port}
	get := func(key string) string {
		if err != nil {
			return ""
		}
		var v string
		v, err = sc.get(alias, key)
		return v
	}
	if v := get("HostName"); v != "" {
		h.hostname = expandTokens(v, map[byte]string{'h': alias})
	}
	if h.user == "" {
		h.user = get("User")
	}
	if h.user == "" {
		u, uerr := user.Current()
		if uerr != nil {
			return nil, fmt.Errorf("ssh: %s: no user given and the local user is unknown: %w", s, uerr)
		}
		h.user = u.Username
	}
	if h.port == 0 {
		if v := get("Port"); v != "" {
			n, perr := parsePort(v)
			if perr != nil {
				return nil, fmt.Errorf("ssh config: host %s: %w", alias, perr)
			}
			h.port = n
		}
	}
	if h.port == 0 {
		h.port = 22
	}
	h.hostKeyAlias = get("HostKeyAlias")
	h.identitiesOnly = strings.EqualFold(get("IdentitiesOnly"), "yes")
	if v := get("ProxyCommand"); v != "" && !strings.EqualFold(v, "none") {
		return nil, fmt.Errorf("ssh config: host %s: ProxyCommand is not supported; use ProxyJump", alias)
	}
	jump := get("ProxyJump")
	khosts := get("UserKnownHostsFile")
	if err != nil {
		return nil, err
	}
	tokens := c.tokens(h)
	ids, err := sc.getAll(alias, "IdentityFile")
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		h.identities = append(h.identities, c.expandPath(id, tokens))
	}
	if khosts != "" && !strings.EqualFold(khosts, "none") {
		for f := range strings.FieldsSeq(khosts) {
			h.knownHosts = append(h.knownHosts, c.expandPath(f, tokens))
		}
	}
	if jump != "" && !strings.EqualFold(jump, "none") {
		if depth > 0 {
			// A hop's own ProxyJump is not followed: the chain is the
			// one the target names.
			return h, nil
		}
		hops := strings.Split(jump, ",")
		if len(hops) > maxHops {
			return nil, fmt.Errorf("ssh config: host %s: more than %d ProxyJump hops", alias, maxHops)
		}
		for _, hop := range hops {
			j, err := c.resolveHop(sc, strings.TrimSpace(hop), depth+1)
			if err != nil {
				return nil, fmt.Errorf("ssh config: host %s: ProxyJump: %w", alias, err)
			}
			h.jump = append(h.jump, j)
		}
	}
	return h, nil
}

// tokens are the values of the % tokens of IdentityFile and
// UserKnownHostsFile for h.
func (c *config) tokens(h *hostConfig) map[byte]string {
	m := map[byte]string{
		'd': c.home,
		'h': h.hostname,
		'n': h.alias,
		'p': strconv.Itoa(h.port),
		'r': h.user,
	}
	if u, err := user.Current(); err == nil {
		m['u'] = u.Username
		m['i'] = u.Uid
	}
	if hn, err := os.Hostname(); err == nil {
		m['l'] = hn
	}
	return m
}

// expandPath expands a leading ~ and the % tokens of a file name, and
// makes a relative name relative to ~/.ssh, as OpenSSH does.
func (c *config) expandPath(p string, tokens map[byte]string) string {
	p = strings.Trim(p, `"`)
	p = c.expandHome(expandTokens(p, tokens))
	if !filepath.IsAbs(p) {
		p = filepath.Join(c.home, ".ssh", p)
	}
	return p
}

// expandTokens replaces %x with tokens[x] and %% with %; unknown tokens
// are kept as they are.
func expandTokens(s string, tokens map[byte]string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		if s[i] == '%' {
			b.WriteByte('%')
			continue
		}
		if v, ok := tokens[s[i]]; ok {
			b.WriteString(v)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(s[i])
	}
	return b.String()
}
