// Package remote serves a [zerosync.Endpoint] over a byte stream and
// reaches it from the other end: the protocol of the zerosync agent, which
// runs on a remote host (over an SSH exec channel, say) and serves its
// local directories to an engine elsewhere.
//
// The agent calls [Serve] with the connection and a function that opens
// the endpoint for a root (typically local.New). The engine's side calls
// [Dial] on the same connection, then [Client.Endpoint] for each root; the
// returned [Endpoint] is an ordinary [zerosync.Endpoint] with the optional
// abilities [zerosync.Copier], [zerosync.Archiver], [zerosync.Watcher],
// [zerosync.BatchApplier],
// [zerosync.Identifier], [zerosync.Locator] and [DeltaOpener]. The connection is any [io.ReadWriteCloser]: an SSH
// channel, a pipe to a child process, a net.Pipe in tests.
//
// # Handshake
//
// Each side first writes the 8 bytes "zerosync". The client then sends a
// hello frame (the protocol versions it speaks, its version string, the
// capabilities it offers: zstd compression, delta transfer, keepalives,
// root identities, resumable pushes) and the agent answers with the version both will speak
// (the highest they share) and the capabilities both offer, or with version
// 0 and the range it speaks, which ends the connection with a
// *[VersionError] on both sides. The magic and the hello frames keep their
// layout in every protocol version; new abilities come as capabilities, so
// that a side that lacks one is simply not asked for it. The handshake must
// be complete within [WithHandshakeTimeout] on both sides.
//
// # Frames
//
// After the magic everything is frames: a 4-byte big-endian length, then a
// type byte, a stream id (uvarint) and the payload. The length is checked
// against the receiver's limit ([WithMaxFrame]) before anything is
// allocated; no side sends a frame over 144 KiB. Type bit 0x80 marks a
// payload compressed with zstd (its length as a uvarint, then one zstd
// frame, never expanding past the limit); content, scans and deltas are
// compressed when both sides agreed, the sender's writes leave slower than
// about 64 MiB/s (on a faster link compressing costs more time than it
// saves), and a payload shrinks by an eighth or more; a stream whose data
// does not compress stops trying for a while.
//
// Payloads are hand-written binary: uvarints, length-prefixed strings and
// fixed-size digests, like the state database's codec. Every length and
// count is checked against a limit and against the bytes left before
// anything is allocated, and every decoder is fuzzed. A generated codec
// (protobuf, msgpack) would add a dependency and a schema step for a dozen
// small messages without taking away the limit checks, which are the part
// that matters with an untrusted peer.
//
// # Streams
//
// Each request opens a stream (ids chosen by the client, never reused),
// and everything about it carries the stream's id, so many requests are in
// flight at once (at most 128) and frames of different streams
// interleave: content travels in chunks of 128 KiB, and a large transfer
// never holds up a small one. Each stream and direction has a window of
// 1 MiB, returned by window frames as the receiver consumes; a peer that
// sends past it is cut off. A client call whose context ends sends a cancel
// frame; the agent cancels the context of that request's work.
//
// Requests and what follows them (client frames, then agent frames):
//
//	open-root   root                    result (handle, abilities) | error
//	close-root  handle                  result | error
//	scan        handle, generation      scan-chunk* scan-end | error
//	scan-paths  handle, paths           scan-chunk* scan-end | error
//	open        handle, path            open-ok (size) data* end | error
//	apply       handle, op; data* end   result | error
//	apply-delta handle, op              signatures+ | error
//	            then delta* end         result | error
//	apply-resume handle, op             signatures+ | error
//	            then delta* end         result | error
//	open-delta  handle, path; signatures+
//	                                    open-ok (size) delta* end | error
//	copy        handle, source, op      result | error
//	keep        handle, path, entry, note; data* end
//	                                    result (copy path) | error
//	watch       handle                  hint* error (until cancelled)
//	root-id     handle                  result (replica, file system) | error
//	mark-root   handle                  result (replica, file system) | error
//	control     engine; data* [end]     open-ok (0) data* end | error
//	apply-batch handle, ops, bytes; data* end
//	                                    data* result (failures) | error
//
// An error frame carries the error's text and which sentinel errors it
// wrapped (those of package zerosync, fs.ErrNotExist and a few others), so
// errors.Is works across the wire ([RemoteError]). A goaway frame on stream
// 0 says why a side closes the connection. Ping and pong frames carry the
// keepalives (below).
//
// # Deadlines
//
// No peer may stall the other: a process stopped mid-reply, a link gone
// quiet without closing, an agent trickling its answer a byte a second.
// Progress is counted in whole frames, never in bytes, so a frame trickled
// in counts only once it is complete. With [WithKeepalive] (by default a
// ping after 10s of silence, a deadline of 30s):
//
//   - each side pings (stream 0) when it has received nothing for the
//     interval, and drops a peer that sent no whole frame for the timeout;
//     a healthy idle connection carries a ping and a pong every interval;
//   - each side drops a peer that takes nothing it writes for the timeout
//     (writes go out in pieces of 32 KiB, each of which must move);
//   - on the client, a call that waits on the agent (for a frame of its
//     request, or for credit to send more) pings the request's stream after
//     the interval without progress; the agent answers while it still works
//     on the request, so a long first scan or a slow fsync is not a stall.
//     With no whole frame of the request for the timeout, the call fails
//     with an error wrapping [ErrStalled] and [ErrClosed] that names the
//     host and the operation ("scan server1:.: no progress for 30s: ..."),
//     and the connection is dropped, for the transport to reconnect.
//
// A trickle cannot defeat this: a peer sending a byte a second never
// completes a frame of its answer in time, and cannot answer a ping while
// it is inside one. The limit is deliberate: a peer that keeps answering
// pings in time is taken as working (the honest agent does exactly that
// while its disk is slow), so only the caller's context bounds a request's
// total time. The timeout also sets the slowest link a connection
// tolerates: a full frame (144 KiB) must arrive within it, about 5 KiB/s
// with the default. Without keepalives (an older peer) only the write
// deadline applies.
//
// # Bandwidth limit
//
// [WithBandwidthLimit] holds one side's connection to a number of bytes a
// second each way, as rsync's --bwlimit does; the peer need not know of
// it. Every frame that side writes waits for its turn in a token bucket
// (golang.org/x/time/rate), and so does reading the next frame after one
// came in. The limit is the limited side's doing, so it never counts
// against the peer: a write waiting for its turn is not a write that does
// not move; the content, deltas and signatures that side sends go in
// frames the link carries in a quarter of the keepalive interval, so the
// peer still sees whole frames, and pings and pongs pass, within its
// deadlines; and that side's deadlines on the peer grow by the time the
// limit takes to let in what the peer may have queued ahead of its next
// frame (2 MiB, an SSH channel's window). The least limit is 4 KiB/s
// ([MinBandwidthLimit]): slower, a peer that knows nothing of it would see
// a 32 KiB piece of its own writes stand still for its 30s deadline.
//
// # Scans
//
// The agent scans with its own endpoint, stat cache included, and sends the
// snapshot as sorted paths with prefix compression and binary entries. It
// numbers the snapshots it sends and keeps the last; a client that holds
// that generation gets only the changes since (see [Endpoint.Scan]), so a
// scan of an unchanged tree moves a few dozen bytes however large the tree.
//
// Still, a whole-tree scan costs the agent a stat of every entry. A
// running engine whose peer is watched asks instead for the paths the
// agent's watcher named (a scan-paths request, [Endpoint.ScanPaths]): the
// agent's endpoint rescans those alone, and its stat cache takes what it
// found, so a cycle costs both sides and the wire what changed. An agent
// of an older version, which does not offer path scans in the handshake,
// is asked for its whole tree instead, cut down on the client.
//
// # Delta transfer
//
// Updates of large files move as deltas in both directions, as in rsync:
// the side holding the old content sends block signatures (a rolling
// 32-bit weak checksum and the first bytes of an XXH64 hash per block,
// seeded at random for each signature, as rsync seeds its checksums);
// the side holding the new content finds those blocks in it at any offset
// and sends copy and literal instructions. The block size is the square
// root of the file's size times the 9 bytes a block sum about takes
// (48 KiB for 256 MiB), from 2 KiB to 64 KiB, which balances the
// signature against the literal data around a change. Each signatures
// frame says how many bytes of strong hash it keeps, 4 to 8: pushing, the
// agent keeps as few as make a false block match improbable for that file
// (about one file in a million, as rsync chooses them: 5 bytes for
// 256 MiB); pulling, the client keeps 8. Pushing ([Endpoint.Apply] of an
// update), the agent rebuilds the new content from its old file and the
// instructions and hands it to its endpoint's Apply, which checks size and
// digest and writes atomically as for any content; a rebuilt file whose
// digest differs (a false match) replaces nothing, and the client sends
// the file whole instead, at once when its content can be read again from
// the start, else from the next try on. Pulling ([Endpoint.OpenDelta]),
// the client rebuilds it from content it holds.
//
// # Resuming a cut transfer
//
// A large file whose transfer was cut resumes where it stopped, in both
// directions, on the delta machinery: the receiving endpoint keeps what
// arrived ([zerosync.PartialKeeper]; the local endpoint keeps it beside
// the file under a reserved name, for a day), and the next transfer of
// the same content is a delta against what was kept followed by the old
// file, if any. Pushing a file of 1 MiB or more, the client asks with
// apply-resume (with the resume capability): the agent signs its base, the
// partial first, and the client sends what the signature lacks, so a
// 32 MiB push cut at 24 MiB sends the last 8 MiB and at most one block
// more. Pulling, the engine gives [Endpoint.OpenDelta] the same base on
// its side. What was kept is never trusted: a block of it is used only
// where its strong hash matches the sender's content, and the rebuilt file
// is checked against its digest before it takes the file's place, so a
// partial that changed or was tampered with costs bytes, never
// correctness. Resuming costs a push of 1 MiB or more a round trip before
// its content, for the signatures.
//
// # Batches
//
// With the batch capability, [Endpoint.ApplyBatch] sends the ops of a
// batch that need no more than 256 KiB of content each in apply-batch
// requests: the request declares the number of ops (at most 1024) and the
// bytes of their records (at most 8 MiB), and data frames carry the
// records, each an op followed by exactly the content its new entry
// declares. The agent reads the whole batch, checks every path, and hands
// the ops to its endpoint's ApplyBatch, which makes them durable together
// (the local endpoint: one sync of the files, one of each directory); it
// answers with data frames naming each op that failed (its index and its
// error) and a result counting them, so errors stay per op. A client
// sends several requests at once, and larger files in apply requests of
// their own at the same time; the agent holds at most 4 batches of a
// connection in memory and lets the others wait under flow control. A
// peer that declares more ops or bytes than allowed, sends more or less
// than it declared, or whose records do not parse is refused with an
// error wrapping [ErrProtocol]. An agent without the capability gets an
// apply request for each op, several in flight.
//
// # Control
//
// With the control capability (an agent offers it only when built with
// [WithControl]), a control request names an engine ([ValidEngineName]: a
// plain name, checked on both sides); the agent connects to that engine's
// daemon on its host, through the dialer it was given (the agent's own
// user's control socket, nothing a client names), answers open-ok with
// size 0, and relays data frames both ways until the daemon closes its
// side (end) or the client abandons the stream. [Client.DialControl]
// returns it as a net.Conn, over which a control client speaks HTTP to the
// daemon of another host.
//
// # Trust
//
// Neither side trusts the other. The agent checks every path with
// [zerosync.CheckPath] before its endpoint sees it and cuts content off
// past its declared size; its endpoint confines and verifies every write.
// The client checks paths before sending them, validates every snapshot it
// receives ([zerosync.Snapshot.Validate]), checks content read against the
// declared size and content sent against its declared size and digest, and
// caps the entries of a snapshot ([WithMaxEntries]). A root identity from
// the agent is checked too: a replica ID that [zerosync.CheckReplicaID]
// refuses, or a file system identity over 256 bytes or not printable, is
// refused; the replica ID is always made by the agent's own endpoint, on
// its host. A peer that breaks the protocol is disconnected with an error
// wrapping [ErrProtocol] that says what was wrong.
package remote
