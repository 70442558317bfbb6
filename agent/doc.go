// Package agent is the far end of a remote transport: a program that
// serves the trees of its host over its standard input and output, so a
// transport such as transport/ssh can reach them by running it on the host.
//
// # Any program is an agent
//
// There is no separate agent binary. Every program that embeds zerosync
// calls [Handle] first thing in main:
//
//	func main() {
//		agent.Handle()
//		// ... the program itself
//	}
//
// When the program was started with [Arg] as its first argument, Handle
// serves the protocol of transport/remote on standard input and output and
// exits; otherwise it returns at once and the program carries on. So a
// transport can copy the running program to a host whose platform matches
// and start it there as the agent. Test binaries call Handle in TestMain,
// so the test binary itself can serve as the agent.
//
// # Files on the host
//
// Roots are opened with transport/local. A relative root, or one starting
// with "~/", is taken relative to the home directory of the user the agent
// runs as. Each root's stat cache is kept in the cache directory ([CacheDir]):
// $ZEROSYNC_CACHE_DIR when it is set, else the user's cache directory
// ($XDG_CACHE_HOME or ~/.cache) followed by "zerosync". The agent itself is
// installed in the same directory as agent-<Version>.
//
// # Lingering
//
// Started with [LingerArg] ("--linger=10m") after [Arg], the agent serves
// its session as usual and, when it ends, leaves behind a process of its
// own, outside the SSH session, that listens on [SocketPath] in the cache
// directory (agent-<Version>.sock, owner-only) and serves later sessions
// that come through it, from processes of the same user (or root) only (the
// kernel's peer credentials are checked); a lock file beside it keeps a
// second agent from lingering there too. A client reaches it through sshd's
// stream-local forwarding, with no shell and no agent started. That process
// ends once no session has been under way for the given time, or when its
// socket is removed or taken over; one that was killed leaves its socket,
// which the next agent to linger replaces.
package agent
