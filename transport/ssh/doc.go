// Package ssh reaches trees on other hosts over SSH: a [Transport] runs the
// zerosync agent (see package agent) on each host through an SSH exec
// channel and speaks the protocol of transport/remote with it, so every
// [Endpoint] is a [zerosync.Endpoint] for a directory over there.
//
// # Connections
//
// A transport keeps one SSH connection per host (per user, address and
// ProxyJump chain), shared by every endpoint on that host and reused by
// every cycle, as OpenSSH's ControlMaster does, and one agent session on
// it serving every root. Keepalive requests (keepalive@openssh.com) notice
// a dead connection ([WithKeepalive]); the next call reconnects, and
// failed attempts are spaced out ([WithBackoff]). An agent that dies on a
// live connection is restarted over the same connection. An agent that
// stalls on a live connection (stopped, hung on a disk, trickling its
// answers) is caught by the agent protocol's own deadlines
// ([WithAgentKeepalive]; by default dropped after 30s without progress):
// its session is dropped with its connection, and the next call dials
// again. Endpoints survive a reconnect; a call in flight when the
// connection died fails with an error wrapping [ErrDisconnected].
//
// A bandwidth limit ([WithBandwidthLimit], per host
// [WithHostBandwidthLimit]) holds each host's connection to a number of
// bytes a second each way, as rsync's --bwlimit does: the agent protocol's
// traffic, whose deadlines allow for it, and the agent's copy when it is
// installed. A large file whose transfer a dropped connection cut resumes
// over the next one where it stopped (see "Resuming a cut transfer" in
// transport/remote): the agent keeps what it received of a push, and the
// local endpoint what it received of a pull.
//
// Endpoints tell where their root is ([Endpoint.Location]: the target and
// root as given) and read and mark the root's identity through the agent
// ([Endpoint.RootID], [Endpoint.MarkRoot]), so an engine notices a root
// replaced on the host.
//
// # Offering a tree to a host that cannot connect here
//
// [Transport.Offer] turns the connection around for a host behind NAT or
// a firewall: it connects to the hub and asks its sshd to listen on a
// UNIX socket there (remote stream-local forwarding), and serves every
// connection made to that socket, reconnecting with backoff when the
// connection drops and clearing a stale socket left by a killed session.
// Package transport/dialin builds both ends of a spoke that dials in on
// it.
//
// # Configuration and authentication
//
// Targets are "[user@]host[:port]" or a Host alias of ~/.ssh/config, whose
// HostName, Port, User, IdentityFile, IdentitiesOnly, ProxyJump,
// UserKnownHostsFile and HostKeyAlias are honoured; ProxyCommand and Match
// are not supported. Keys come from the ssh agent ($SSH_AUTH_SOCK) and
// from key files (ed25519, ecdsa, rsa; ~/.ssh/id_* by default). A host
// that refuses every key is an [*AuthError] listing the keys offered.
//
// # Host keys
//
// Host keys are checked against known_hosts (~/.ssh/known_hosts and
// /etc/ssh/ssh_known_hosts by default). An unknown or changed key is a
// [*HostKeyError] showing the SHA256 fingerprint and the command that
// trusts the key; nothing is sent to such a host. Keys are accepted on first
// use only with [WithTrustOnFirstUse].
//
// # Ciphers
//
// AES-GCM is preferred on CPUs with AES instructions, where it is the
// fastest cipher the SSH library has; chacha20-poly1305 otherwise.
//
// # The agent
//
// The transport runs <cache>/agent-<version> on the host, where <cache> is
// $ZEROSYNC_CACHE_DIR, else $XDG_CACHE_HOME/zerosync, else
// ~/.cache/zerosync, as the host's shell expands them ([WithRemoteCacheDir]
// overrides it). When the agent is missing or reports another version in
// the handshake, the transport copies its own executable there over the
// same connection, provided the host's uname matches this program's
// GOOS/GOARCH and the program calls agent.Handle first thing in main. The
// copy lands in a temp file that nobody may run; the host checks its
// length and its SHA-256 (with sha256sum, shasum, sha256 or openssl)
// against this program's, deletes it on a mismatch, and only then makes
// it executable and renames it into place. Otherwise an [*AgentError]
// says how to install the agent by hand.
//
// The agent's directory is made owner-only (0700). A directory, or an
// agent, that another user owns or may write to is never run from: the
// directory is refused with an [*AgentError] naming it, the agent file
// is replaced.
//
// The scripts that probe the host, install and start the agent run
// through the user's login shell, whose start-up files may print a
// banner or take a while. Their answers are lines tagged with a random
// token new for each run, so nothing a start-up file prints is taken for
// one; what else the host printed shows, cut short and quoted, in the
// error when a step fails.
package ssh
