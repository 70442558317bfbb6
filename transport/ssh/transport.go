package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zerosync/zerosync/transport/remote"
)

// Transport reaches trees on other hosts over SSH. It keeps one connection
// per host, shared by every endpoint on that host and reused by every
// cycle, and reconnects when one dies. Build one with [New]; the zero value
// is not usable. Its methods are safe for concurrent use.
type Transport struct {
	cfg       config
	log       *slog.Logger
	hasAESGCM bool

	mu     sync.Mutex
	hosts  map[string]*host
	closed bool
	tofuMu sync.Mutex
	memo   socketMemo // where agents linger

	stats struct {
		dials, agents, uploads, reconnects atomic.Int64
		lingering                          atomic.Int64 // agent sessions through a socket
		sent, received                     atomic.Int64
		keepalives                         atomic.Int64 // answered
	}

	// Test seams: this program's platform, its executable, whether it
	// can serve as the agent, and, when set, a filter of the bytes of the
	// agent on their way to a host.
	platform   func() string
	executable func() (string, error)
	handled    func() bool
	upload     func(io.Reader) io.Reader

	// libc is whether this program is linked against the C library,
	// found once ([Transport.linkedLibc]).
	libcOnce sync.Once
	libc     bool
}

// New returns a transport. The local home directory ($HOME) supplies the
// defaults: ~/.ssh/config, ~/.ssh/known_hosts and the keys ~/.ssh/id_*; the
// ssh agent is the one $SSH_AUTH_SOCK names.
func New(opts ...Option) (*Transport, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		home = ""
	}
	cfg := config{
		log:          slog.New(slog.DiscardHandler),
		home:         home,
		agentSock:    os.Getenv("SSH_AUTH_SOCK"),
		keepalive:    15 * time.Second,
		keepaliveMax: 3,
		dialTimeout:  30 * time.Second,
		backoffMin:   time.Second,
		backoffMax:   time.Minute,
	}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("ssh: nil option")
		}
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("ssh: %w", err)
		}
	}
	if cfg.configFiles == nil {
		if home == "" {
			return nil, errors.New("ssh: no home directory ($HOME) for ~/.ssh/config; use WithConfigFile")
		}
		cfg.configFiles = []string{filepath.Join(home, ".ssh", "config"), "/etc/ssh/ssh_config"}
	}
	if cfg.knownHosts == nil {
		if home == "" {
			return nil, errors.New("ssh: no home directory ($HOME) for ~/.ssh/known_hosts; use WithKnownHosts")
		}
		cfg.knownHosts = []string{filepath.Join(home, ".ssh", "known_hosts"), "/etc/ssh/ssh_known_hosts"}
	}
	return &Transport{
		cfg:        cfg,
		log:        cfg.log,
		hasAESGCM:  cpuHasAESGCM(),
		hosts:      map[string]*host{},
		platform:   localPlatform,
		executable: os.Executable,
		handled:    func() bool { return cfg.selfInstall },
		memo:       socketMemo{dir: cfg.memoDir},
	}, nil
}

// Endpoint returns the tree at root on the host target: "[user@]host[:port]"
// or a Host alias of the ssh configuration. root is a path on the host; a
// relative one (or "~/...") is taken from the remote user's home directory.
// The root must exist: a missing root is an error wrapping
// [zerosync.ErrRootMissing].
//
// Endpoint connects, installing the agent when the host lacks it, and
// opens the root, so every error of set-up (an unknown host key, a refused
// key, a host whose platform differs) shows here. The endpoint outlives its
// connection: a call after the connection died reconnects. Its location
// ([Endpoint.Location]) is target and root as given.
func (t *Transport) Endpoint(ctx context.Context, target, root string) (*Endpoint, error) {
	if root == "" {
		return nil, errors.New("ssh: empty root")
	}
	sc, notes, err := loadSSHConfig(t.cfg.configFiles)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		t.log.WarnContext(ctx, "ssh config", "note", n)
	}
	hc, err := t.cfg.resolve(sc, target)
	if err != nil {
		return nil, err
	}
	h, err := t.host(hc)
	if err != nil {
		return nil, err
	}
	given, _ := parseTarget(target) // resolve parsed it already
	e := &Endpoint{h: h, root: root, where: given.String()}
	if t.cfg.later {
		e.connectInBackground()
		return e, nil
	}
	if _, _, err := e.inner(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// host returns the connection for hc, making it on first use.
func (t *Transport) host(hc *hostConfig) (*host, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, errClosed
	}
	k := hc.key()
	h := t.hosts[k]
	if h == nil {
		h = &host{t: t, hc: hc, log: t.log.With("host", hc.String())}
		t.hosts[k] = h
	}
	return h, nil
}

// remoteOptions are the options of the protocol client for host h.
func (t *Transport) remoteOptions(h *host) []remote.Option {
	opts := []remote.Option{
		remote.WithLogger(h.log),
		remote.WithVersion(remote.AgentVersion),
		remote.WithName(h.hc.alias),
		remote.WithHost(h.hc.alias),
	}
	if k := t.cfg.agentKeepalive; k != nil {
		opts = append(opts, remote.WithKeepalive(k[0], k[1]))
	}
	if r := t.cfg.bandwidth(h.hc.alias); r > 0 {
		opts = append(opts, remote.WithBandwidthLimit(r))
	}
	if t.cfg.spill != "" {
		opts = append(opts, remote.WithSpill(t.cfg.spill))
	}
	return opts
}

// Close closes every connection; every endpoint's later calls fail. It is
// safe to call more than once.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	hosts := t.hosts
	t.hosts = nil
	t.mu.Unlock()
	for _, h := range hosts {
		h.close()
	}
	return nil
}

// close ends the host's agent and connection.
func (h *host) close() {
	h.mu.Lock()
	h.closed = true
	ag, conn := h.ag, h.conn
	h.mu.Unlock()
	if ag != nil {
		ag.closing.Store(true)
		ag.kill()
	}
	if conn != nil {
		conn.client.Close()
	}
}

// Stats counts what a transport did since it was made.
type Stats struct {
	// Dials is the number of TCP connections opened (to the first hop when
	// there is a ProxyJump).
	Dials int64
	// Agents is the number of agent sessions started.
	Agents int64
	// Uploads is the number of times the agent was installed on a host.
	Uploads int64
	// Reconnects is the number of times a lost agent or connection was
	// replaced.
	Reconnects int64
	// Lingering is the number of agent sessions opened with an agent that
	// lingered on its host ([WithLingeringAgents]), not counted in Agents.
	Lingering int64
	// Sent and Received are the bytes that crossed the TCP connections,
	// encrypted, headers included.
	Sent, Received int64
}

// Stats returns the transport's counters.
func (t *Transport) Stats() Stats {
	return Stats{
		Dials:      t.stats.dials.Load(),
		Agents:     t.stats.agents.Load(),
		Uploads:    t.stats.uploads.Load(),
		Reconnects: t.stats.reconnects.Load(),
		Lingering:  t.stats.lingering.Load(),
		Sent:       t.stats.sent.Load(),
		Received:   t.stats.received.Load(),
	}
}
