// Package control lets a person, or a script, see and steer a running
// engine: a [Server] serves one [engine.Engine] on a UNIX socket, and a
// [Client] speaks to it. The command line of an engine is such a client
// whenever its daemon runs, so it never opens the state a daemon holds.
//
// # The socket
//
// A daemon listens at [SocketPath] (under $XDG_RUNTIME_DIR), in a
// directory of its user's alone: [Listen] refuses one that another user
// owns or could enter, makes the socket mode 0600, accepts connections from
// its user (and root) only, replaces a socket left by a daemon that died,
// and refuses to start beside a live one ([ErrRunning]). There is no TCP
// listener; reaching the daemon of another host is the SSH connection's
// job.
//
// # The API
//
// HTTP/1.1 over the socket, JSON in and out; the types of this package are
// its schema. Failures answer 4xx or 5xx with an [Error]:
// {"error": ..., "advice": ..., "code": ...}.
//
//	GET    /v1/hello                          Hello
//	GET    /v1/status                         Status
//	GET    /v1/events                         a stream of Event, one JSON object a line (NDJSON)
//	POST   /v1/pause                          Status
//	POST   /v1/resume                         Status
//	POST   /v1/flush                          FlushResponse: a cycle now, and its report (409 paused while paused)
//	GET    /v1/plan                           Plan
//	GET    /v1/conflicts                      Conflicts
//	GET    /v1/conflicts/{peer}/{number}      ConflictDetail
//	POST   /v1/conflicts/{peer}/{number}/apply   ApplyRequest -> ApplyResponse
//	GET    /v1/versions[?path=PATH]           Versions
//	POST   /v1/versions/restore               RestoreRequest -> ApplyResponse
//	GET    /v1/staged                         Staged
//	GET    /v1/staged/{id}                    StagedDetail
//	POST   /v1/staged/apply                   StagedRequest -> StagedResponse
//	POST   /v1/staged/reject                  StagedRequest -> StagedResponse
//	POST   /v1/peers                          AttachRequest -> PeerStatus
//	DELETE /v1/peers/{name}                   OK
//	POST   /v1/adopt                          AdoptRequest -> OK
//	POST   /v1/confirm-deletions              OK
//	POST   /v1/stop                           OK (202): the engine's Run returns
//	POST   /v1/settings                       SetRequest -> SetResponse: a setting for every host (see Everywhere)
//	GET    /v1/settings                       []SettingStatus
//	POST   /v1/commands/{name}                CommandRequest -> CommandResponse: the engine's own command, run in the daemon
//	GET    /metrics                           Prometheus metrics, text format
//
// Names from the trees are [Path]s, which carry any bytes. Every answer is
// safe to print on a terminal: characters that are not printable are
// written as \u escapes.
//
// Each reader of the event stream has a bounded queue; the engine never
// waits for one. A reader that falls behind gets a last event of kind
// [EventDropped] and the stream ends.
//
// # Why HTTP and JSON
//
// net/http with encoding/json is the standard library: no code generator,
// no schema compiler, no new dependency beside the Prometheus client the
// metrics need anyway, and the metrics ride the same socket. A person can
// read and debug the API with curl --unix-socket, a script with jq. The
// event stream is plain NDJSON over a chunked answer, which every HTTP
// client reads; gRPC would bring streaming too, at the price of protobuf
// code generation and HTTP/2 for a handful of local calls, and net/rpc has
// neither contexts nor streams.
package control
