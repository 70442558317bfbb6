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
package agent
