package ssh

import (
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	good := []struct {
		in   string
		want target
	}{
		{"host", target{host: "host"}},
		{"alice@host", target{user: "alice", host: "host"}},
		{"alice@host:2222", target{user: "alice", host: "host", port: 2222}},
		{"host:22", target{host: "host", port: 22}},
		{"[::1]:2222", target{host: "::1", port: 2222}},
		{"bob@[::1]", target{host: "::1", user: "bob"}},
		{"::1", target{host: "::1"}},
		{"ssh://carol@example.com:2200", target{user: "carol", host: "example.com", port: 2200}},
		{"me@corp@host", target{user: "me@corp", host: "host"}},
	}
	for _, c := range good {
		got, err := parseTarget(c.in)
		if err != nil || got != c.want {
			t.Errorf("parseTarget(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	bad := []string{"", "@host", "host:", "host:0", "host:65536", "host:x", "user@", "a b", "host/path", "-oProxyCommand=x", "[::1]:99999", "host\x00"}
	for _, in := range bad {
		if got, err := parseTarget(in); err == nil {
			t.Errorf("parseTarget(%q) = %+v, want an error", in, got)
		}
	}
}

// writeConfig writes an ssh config file and returns a config that reads it.
func writeConfig(t *testing.T, text string) (*config, sshConfig) {
	t.Helper()
	home := t.TempDir()
	file := filepath.Join(home, ".ssh", "config")
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &config{home: home}
	sc, _, err := loadSSHConfig([]string{file, filepath.Join(home, "missing")})
	if err != nil {
		t.Fatal(err)
	}
	return c, sc
}

func TestResolveAlias(t *testing.T) {
	c, sc := writeConfig(t, `
Host box
    HostName 10.1.2.3
    Port 2222
    User deploy
    IdentityFile ~/.ssh/box_key
    IdentityFile keys/%r@%h
    IdentitiesOnly yes
    UserKnownHostsFile ~/.ssh/box_hosts /etc/other_hosts
    HostKeyAlias boxkey

Host *.corp
    HostName %h.example.net
    User corp

Host *
    User fallback
`)
	h, err := c.resolve(sc, "box")
	if err != nil {
		t.Fatal(err)
	}
	if h.hostname != "10.1.2.3" || h.port != 2222 || h.user != "deploy" || !h.identitiesOnly || h.hostKeyAlias != "boxkey" {
		t.Fatalf("resolved %+v", h)
	}
	wantIDs := []string{filepath.Join(c.home, ".ssh/box_key"), filepath.Join(c.home, ".ssh/keys/deploy@10.1.2.3")}
	if strings.Join(h.identities, ",") != strings.Join(wantIDs, ",") {
		t.Errorf("identities %v, want %v", h.identities, wantIDs)
	}
	wantKH := []string{filepath.Join(c.home, ".ssh/box_hosts"), "/etc/other_hosts"}
	if strings.Join(h.knownHosts, ",") != strings.Join(wantKH, ",") {
		t.Errorf("known hosts %v, want %v", h.knownHosts, wantKH)
	}
	if h.addr() != "10.1.2.3:2222" || h.keyName() != "boxkey:2222" {
		t.Errorf("addr %s, key name %s", h.addr(), h.keyName())
	}

	// What the target says wins over the configuration.
	h, err = c.resolve(sc, "root@box:22")
	if err != nil {
		t.Fatal(err)
	}
	if h.user != "root" || h.port != 22 || h.hostname != "10.1.2.3" {
		t.Errorf("explicit user and port: %+v", h)
	}

	h, err = c.resolve(sc, "db.corp")
	if err != nil {
		t.Fatal(err)
	}
	if h.hostname != "db.corp.example.net" || h.user != "corp" || h.port != 22 {
		t.Errorf("pattern: %+v", h)
	}

	h, err = c.resolve(sc, "elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	if h.hostname != "elsewhere" || h.user != "fallback" || h.knownHosts != nil || h.identities != nil {
		t.Errorf("unconfigured host: %+v", h)
	}
}

func TestResolveDefaultUser(t *testing.T) {
	c, sc := writeConfig(t, "")
	h, err := c.resolve(sc, "somewhere")
	if err != nil {
		t.Fatal(err)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if h.user != u.Username || h.port != 22 {
		t.Errorf("defaults: %+v", h)
	}
}

func TestResolveProxyJump(t *testing.T) {
	c, sc := writeConfig(t, `
Host inner
    HostName 192.168.0.5
    ProxyJump bastion,ops@relay:2200

Host bastion
    HostName bastion.example.com
    User jumper
    Port 2022
    ProxyJump ignored-when-a-hop

Host direct
    ProxyJump none
`)
	h, err := c.resolve(sc, "alice@inner")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.jump) != 2 {
		t.Fatalf("hops %v", h.jump)
	}
	if j := h.jump[0]; j.user != "jumper" || j.addr() != "bastion.example.com:2022" || j.jump != nil {
		t.Errorf("first hop %+v", j)
	}
	if j := h.jump[1]; j.user != "ops" || j.addr() != "relay:2200" {
		t.Errorf("second hop %+v", j)
	}
	if got := h.String(); got != "alice@192.168.0.5:22 via ops@relay:2200 via jumper@bastion.example.com:2022" {
		t.Errorf("String() = %q", got)
	}
	if !strings.HasPrefix(h.key(), "ops@relay:2200>") && !strings.Contains(h.key(), "jumper@bastion.example.com:2022") {
		t.Errorf("key %q does not name the hops", h.key())
	}
	d, err := c.resolve(sc, "direct")
	if err != nil || d.jump != nil {
		t.Errorf("ProxyJump none: %+v, %v", d, err)
	}
	if d.key() == h.key() {
		t.Error("different routes share a key")
	}
}

func TestResolveRefuses(t *testing.T) {
	c, sc := writeConfig(t, `
Host piped
    ProxyCommand nc %h %p

Host badport
    Port 99999
`)
	for _, target := range []string{"piped", "badport"} {
		if _, err := c.resolve(sc, target); err == nil {
			t.Errorf("resolve(%q) succeeded", target)
		}
	}
}

// TestMatchBlocksIgnored: Match blocks, which the parser cannot read, are
// left out with a note instead of making the whole file unusable.
func TestMatchBlocksIgnored(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config")
	text := "Host a\n    User ua\nMatch host b exec \"true\"\n    User ub\n  Port 2\nmatch=all\n  User z\nHost c\n    User uc\n"
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	sc, notes, err := loadSSHConfig([]string{file})
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "2 Match block(s)") {
		t.Errorf("notes %v", notes)
	}
	c := &config{home: t.TempDir()}
	for host, user := range map[string]string{"a": "ua", "c": "uc"} {
		h, err := c.resolve(sc, host)
		if err != nil || h.user != user {
			t.Errorf("%s: %+v %v", host, h, err)
		}
	}
	if h, err := c.resolve(sc, "b"); err != nil || h.user == "ub" || h.port != 22 {
		t.Errorf("b took a Match block's values: %+v %v", h, err)
	}
}

func TestExpandTokens(t *testing.T) {
	got := expandTokens("%d/%r@%h:%p %% %z", map[byte]string{'d': "/home/u", 'r': "bob", 'h': "host", 'p': "22"})
	if want := "/home/u/bob@host:22 % %z"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
