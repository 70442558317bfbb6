// Package dialin syncs with hosts that the hub cannot reach: a spoke
// behind NAT or a firewall opens the SSH connection to the hub itself and
// offers its tree over it, and the hub syncs with that tree as with any
// peer.
//
// # How it works
//
// On the spoke, [Server] serves one tree with the agent's protocol (see
// package agent; the hub may open that tree and nothing else), and the SSH
// transport's Offer (transport/ssh) connects to the hub's sshd, with the
// usual verified host keys and user keys, and asks it to listen on a UNIX
// socket on the hub (OpenSSH's remote stream-local forwarding, as "ssh -R
// SOCKET:..." does). Every connection made to that socket on the hub
// reaches the spoke's Server through the SSH connection. Offer reconnects
// with backoff when the connection drops.
//
// On the hub, an [Endpoint] ([New]) dials that socket and speaks the
// protocol of transport/remote over it: it is a [zerosync.Endpoint] with
// the same optional abilities as the SSH transport's endpoints (content
// as deltas, copies, conflict copies, watching, root identity, location
// "dialin:NAME"). While the spoke is away every call fails with an
// [*AwayError] ("spoke laptop has not dialed in"), never with an empty
// tree; when the spoke dials in again the next call reconnects, and a
// running watch asks the engine for a full rescan, so the spoke catches
// up.
//
// # The socket
//
// The socket lives in a directory on the hub that only the hub's user may
// use: [New] makes it (mode 0700) when it is missing and refuses one that
// is a symbolic link, belongs to another user or lets others in. The
// conventional path is [SocketPath]:
//
//	$XDG_RUNTIME_DIR/zerosync/dialin/ENGINE/SPOKE.sock
//
// The spoke cannot know the hub's $XDG_RUNTIME_DIR (usually
// /run/user/UID, with the hub user's UID), so both sides are given the
// path explicitly: the hub by its engine and spoke names or a path, the
// spoke by the path on the hub. The spoke logs in to the hub's sshd as the
// user that runs the hub's engine, so that the socket is that user's; the
// hub also checks, on every connection, that the process accepting on the
// socket runs as its own user.
//
// # The hub's sshd
//
// Remote stream-local forwarding must be allowed (AllowStreamLocalForwarding,
// "yes" by default; an authorized_keys line with "restrict" forbids it).
// When a spoke's connection dies without closing the forwarding (the spoke
// lost power, its process was killed), the socket is left behind, and
// sshd refuses to listen over it unless its sshd_config says
//
//	StreamLocalBindUnlink yes
//
// Without that line, Offer removes a stale socket itself (one nothing
// accepts on) through a shell command on the hub, which needs a login
// shell there: a key restricted to a forced command cannot do it, and
// then the hub's user must remove the socket, or sshd_config must have the
// line above.
package dialin
