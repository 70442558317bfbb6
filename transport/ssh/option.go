package ssh

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/zerosync/zerosync/internal/bwlimit"
	"github.com/zerosync/zerosync/internal/option"
	"github.com/zerosync/zerosync/transport/remote"
)

// Option configures a [Transport]; see [New].
type Option func(*config) error

type config struct {
	log  *slog.Logger
	home string // the local home directory, for ~ and the defaults

	// configFiles are the ssh_config files read in order, first value
	// wins; nil means the defaults.
	configFiles []string
	// knownHosts are the known_hosts files; nil means the defaults.
	knownHosts []string
	// tofu, when set, is the known_hosts file that unknown host keys are
	// appended to.
	tofu string
	// identities are key files tried before those the ssh configuration
	// names.
	identities []string
	// agentSock is the ssh-agent socket; "" disables the agent.
	agentSock string

	keepalive    time.Duration
	keepaliveMax int
	dialTimeout  time.Duration
	backoffMin   time.Duration
	backoffMax   time.Duration

	// remoteCacheDir overrides the agent's cache directory on every host.
	remoteCacheDir string

	// agentKeepalive, when set, are the agent protocol's keepalive
	// interval and timeout ([WithAgentKeepalive]).
	agentKeepalive *[2]time.Duration

	// selfInstall: this program serves as the agent ([WithSelfInstall]).
	selfInstall bool

	// bwlimit is every host's bandwidth limit, hostBWLimit the limits of
	// hosts named apart, in bytes a second; 0 is none.
	bwlimit     int64
	hostBWLimit map[string]int64

	// spill is where the protocol clients keep each tree's last scan
	// between whole scans ([WithSpill]); "": in memory.
	spill string

	// later: Endpoint connects in the background ([WithConnectLater]).
	later bool

	// linger is how long agents stay after their last session
	// ([WithAgentLinger]); memoDir keeps where they do; reach: agents that
	// linger are reached ([WithLingeringAgents]).
	linger  time.Duration
	memoDir string
	reach   bool
}

// WithLogger sets the logger; the default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return option.Logger(&c.log, l) }
}

// WithSelfInstall says that the running program serves as the agent (its
// main calls agent.Handle first): a host with no agent of this version gets
// a copy of the program's executable, checked by its SHA-256 before it
// runs. Without it, such a host is an error that says how to install the
// agent by hand.
func WithSelfInstall() Option {
	return func(c *config) error { c.selfInstall = true; return nil }
}

// WithConfigFile reads the ssh configuration (Host aliases, HostName,
// Port, User, IdentityFile, IdentitiesOnly, ProxyJump, UserKnownHostsFile,
// HostKeyAlias) from file instead of ~/.ssh/config followed by
// /etc/ssh/ssh_config. The name "none" reads no configuration at all, as
// with ssh -F none.
func WithConfigFile(file string) Option {
	return func(c *config) error {
		if file == "" {
			return errors.New("empty ssh config file name")
		}
		if file == "none" {
			c.configFiles = []string{}
			return nil
		}
		c.configFiles = []string{c.expandHome(file)}
		return nil
	}
}

// WithKnownHosts verifies host keys against files instead of
// ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts. A UserKnownHostsFile in
// the ssh configuration for a host still takes precedence for that host.
// Files that do not exist hold no keys.
func WithKnownHosts(files ...string) Option {
	return func(c *config) error {
		if len(files) == 0 {
			return errors.New("no known_hosts file")
		}
		c.knownHosts = c.knownHosts[:0:0]
		for _, f := range files {
			if f == "" {
				return errors.New("empty known_hosts file name")
			}
			c.knownHosts = append(c.knownHosts, c.expandHome(f))
		}
		return nil
	}
}

// WithTrustOnFirstUse accepts the key of a host that no known_hosts file
// knows and appends it to file (created if needed), which is also read as
// a known_hosts file. A host whose known key changed is still refused.
// Without this option an unknown host is an error.
func WithTrustOnFirstUse(file string) Option {
	return func(c *config) error {
		if file == "" {
			return errors.New("empty known_hosts file name for trust on first use")
		}
		c.tofu = c.expandHome(file)
		return nil
	}
}

// WithIdentityFile offers the private keys in files (OpenSSH or PEM
// format: ed25519, ecdsa, rsa) to every host, before the keys of the ssh
// agent and those the ssh configuration names. A key file protected by a
// passphrase is used only through the ssh agent.
func WithIdentityFile(files ...string) Option {
	return func(c *config) error {
		for _, f := range files {
			if f == "" {
				return errors.New("empty identity file name")
			}
			c.identities = append(c.identities, c.expandHome(f))
		}
		return nil
	}
}

// WithAgentSocket uses the ssh agent listening on the Unix socket path
// instead of $SSH_AUTH_SOCK; "" uses no agent.
func WithAgentSocket(path string) Option {
	return func(c *config) error {
		c.agentSock = path
		return nil
	}
}

// WithKeepalive sends a keepalive@openssh.com request every interval and
// closes a connection whose last max requests went unanswered, so a dead
// connection is noticed within about interval*(max+1). The default is
// every 15s, at most 3 missed. An interval of zero disables keepalives.
func WithKeepalive(interval time.Duration, max int) Option {
	return func(c *config) error {
		if interval < 0 || (interval > 0 && max < 1) {
			return fmt.Errorf("keepalive: interval %v and count %d", interval, max)
		}
		c.keepalive, c.keepaliveMax = interval, max
		return nil
	}
}

// WithAgentKeepalive sets the deadlines of the agent protocol on this side
// (see remote.WithKeepalive): a ping to the agent after interval of
// silence, and an agent session dropped when the agent sends no whole
// frame for timeout, takes nothing for timeout, or leaves a call waiting
// on it without progress for timeout. That call fails with an error
// wrapping [ErrDisconnected] and remote.ErrStalled; the next call starts a
// new agent session. SSH keepalives ([WithKeepalive]) watch the
// connection; these watch the agent process at its end, which can stall
// on a live connection. The default is remote's: every 10s, dropped after
// 30s. interval must be below timeout, and timeout at most 24h; both zero
// turns them off.
func WithAgentKeepalive(interval, timeout time.Duration) Option {
	return func(c *config) error {
		if !(interval == 0 && timeout == 0) && (interval <= 0 || timeout <= interval || timeout > 24*time.Hour) {
			return fmt.Errorf("agent keepalive: interval %v and timeout %v (want 0 < interval < timeout <= 24h, or both 0)", interval, timeout)
		}
		c.agentKeepalive = &[2]time.Duration{interval, timeout}
		return nil
	}
}

// WithDialTimeout bounds connecting to a host: the TCP connection and the
// SSH handshake of every hop. The default is 30s.
func WithDialTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return errors.New("dial timeout must be positive")
		}
		c.dialTimeout = d
		return nil
	}
}

// WithConnectLater makes [Transport.Endpoint] return as soon as the target
// is resolved, with the connection started in the background instead of
// made: the endpoint's first call waits for it, and fails with its error
// when it failed (the next call tries again, after the backoff of
// [WithBackoff]). Meanwhile the caller does its own work: an engine opens
// its state and scans its own tree while the peers connect, every peer at
// once; and a peer that cannot be reached fails its own pair's cycles, not
// the opening of the engine, so the other peers still sync. By default
// Endpoint connects first and returns the connection's error.
func WithConnectLater() Option {
	return func(c *config) error {
		c.later = true
		return nil
	}
}

// WithBackoff spaces the attempts to reach a host that failed: after a
// failed attempt the next one is made no sooner than min later, doubling
// after each further failure up to max. A call that comes sooner fails at
// once with the last error. The first attempt after a working connection
// died is never delayed. The default is 1s to 1m.
func WithBackoff(min, max time.Duration) Option {
	return func(c *config) error {
		if min <= 0 || max < min {
			return fmt.Errorf("backoff: min %v, max %v", min, max)
		}
		c.backoffMin, c.backoffMax = min, max
		return nil
	}
}

// WithRemoteCacheDir sets zerosync's cache directory on every host: where
// the agent is installed (as agent-<version>) and keeps its stat caches.
// The default is $ZEROSYNC_CACHE_DIR on the host if set, else
// $XDG_CACHE_HOME/zerosync, else ~/.cache/zerosync. A relative dir is
// relative to the remote home directory.
func WithRemoteCacheDir(dir string) Option {
	return func(c *config) error {
		if dir == "" || strings.ContainsRune(dir, 0) || strings.ContainsAny(dir, "\n") {
			return fmt.Errorf("bad remote cache directory %q", dir)
		}
		c.remoteCacheDir = dir
		return nil
	}
}

// expandHome replaces a leading ~ with the local home directory.
func (c *config) expandHome(p string) string {
	if p == "~" {
		return c.home
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(c.home, p[2:])
	}
	return p
}

// WithBandwidthLimit holds the connection to each host to bytesPerSecond
// bytes a second in each direction, as rsync's --bwlimit does: the agent
// protocol's traffic (see remote.WithBandwidthLimit, which keeps the
// protocol's deadlines working under the limit) and the copy of the agent
// when it is installed. Each host has a limit of its own; the SSH
// handshake and keepalives, a few KiB, are not held to it. 0, the
// default, is no limit; otherwise bytesPerSecond must be at least
// remote.MinBandwidthLimit (4 KiB/s). [WithHostBandwidthLimit] sets the
// limit of one host.
func WithBandwidthLimit(bytesPerSecond int64) Option {
	return func(c *config) error {
		if err := checkBandwidth(bytesPerSecond); err != nil {
			return err
		}
		c.bwlimit = bytesPerSecond
		return nil
	}
}

// WithSpill keeps the last snapshot of each remote tree, the base of the
// next scan's diff (about 80 bytes a path), in an unnamed file in dir
// between two whole scans instead of in memory (see remote.WithSpill);
// dir is a folder of this host, such as the engine's state folder.
func WithSpill(dir string) Option {
	return func(c *config) error { return option.NonEmpty(&c.spill, "spill folder", dir) }
}

// WithHostBandwidthLimit sets the bandwidth limit of the host of target
// ("[user@]host[:port]" as [Transport.Endpoint] takes it; the limit holds
// for every target with that host, a Host alias of the ssh configuration
// or a host name, whatever its user and port), in place of
// [WithBandwidthLimit]'s; 0 lifts the limit for that host. Given for the
// same host more than once, the strictest limit holds.
func WithHostBandwidthLimit(target string, bytesPerSecond int64) Option {
	return func(c *config) error {
		t, err := parseTarget(target)
		if err != nil {
			return fmt.Errorf("bandwidth limit: %w", err)
		}
		if err := checkBandwidth(bytesPerSecond); err != nil {
			return fmt.Errorf("host %s: %w", t.host, err)
		}
		if c.hostBWLimit == nil {
			c.hostBWLimit = map[string]int64{}
		}
		if old, ok := c.hostBWLimit[t.host]; ok && (bytesPerSecond == 0 || old != 0 && old < bytesPerSecond) {
			bytesPerSecond = old
		}
		c.hostBWLimit[t.host] = bytesPerSecond
		return nil
	}
}

// checkBandwidth refuses a limit the agent protocol would refuse.
func checkBandwidth(n int64) error {
	if n != 0 && (n < remote.MinBandwidthLimit || n > bwlimit.MaxRate) {
		return fmt.Errorf("bandwidth limit of %d bytes a second out of range (0 for none, or %s to %s)",
			n, bwlimit.Format(remote.MinBandwidthLimit), bwlimit.Format(bwlimit.MaxRate))
	}
	return nil
}

// bandwidth returns the limit of the host named alias.
func (c *config) bandwidth(alias string) int64 {
	if n, ok := c.hostBWLimit[alias]; ok {
		return n
	}
	return c.bwlimit
}

// WithAgentLinger asks every agent this transport starts to stay on its
// host for d after its session ends, serving later sessions of the same
// user through a UNIX socket in its cache directory (owner-only, and only
// connections from the user's own processes are taken), which a later
// process reaches with [WithLingeringAgents]. The host says where that
// socket is when the agent starts; memo, when not "", is a folder of this
// host (such as the engine's state folder) where those paths are kept for
// the next process. 0, the default, leaves nothing behind.
func WithAgentLinger(d time.Duration, memo string) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("agent linger %v is negative", d)
		}
		if d > 0 && d < time.Second {
			return fmt.Errorf("agent linger %v is under a second", d)
		}
		c.linger, c.memoDir = d, memo
		return nil
	}
}

// WithLingeringAgents reaches the agent that lingers on a host
// ([WithAgentLinger]), when there is one, before starting one: through
// sshd's stream-local forwarding ("AllowStreamLocalForwarding", allowed by
// default), with no shell, no start-up files, no start script and no new
// agent, which is most of the time a short command takes to reach a host,
// as ssh's ControlPersist keeps a connection. When no agent answers there,
// one is started as usual.
//
// It suits a process that syncs and ends, not a running engine: sshd turns
// off Nagle's algorithm on its end of the connection (TCP_NODELAY) only
// when it runs a command, so over a connection that ran none the agent's
// small answers (and sshd's window adjustments) may wait for this side's
// delayed acknowledgements, up to 40 ms each on Linux. Measured through a
// TCP proxy on loopback: a running engine's propagation of a change from
// the far side 6.5 ms at the median with its own agent, 14.6 ms through a
// lingering one (60 ms at the 90th percentile); a first sync of 282 MiB
// about 10 % slower; a no-op sync of a process that starts cold 90 ms
// faster.
func WithLingeringAgents() Option {
	return func(c *config) error { c.reach = true; return nil }
}
