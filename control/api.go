package control

import "time"

// APIVersion is the version of the API that [Server] serves and [Client]
// speaks; [Dial] refuses a daemon that serves another.
const APIVersion = 1

// Hello answers GET /v1/hello: what the daemon is.
type Hello struct {
	API    int    `json:"api"`
	Engine string `json:"engine"`
	PID    int    `json:"pid"`
	// State is the engine's state database, when the daemon was told
	// ([WithState]): a command line with another one is not this
	// daemon's.
	State string `json:"state,omitempty"`
}

// Status answers GET /v1/status, and POST /v1/pause and /v1/resume.
type Status struct {
	Engine string `json:"engine"`
	// Root is where this host's tree is, and Replica its replica ID
	// (empty before the root was first synced).
	Root    string `json:"root"`
	Replica string `json:"replica,omitempty"`
	Paused  bool   `json:"paused"`
	Running bool   `json:"running"`
	// Cycles counts the cycles since the daemon started.
	Cycles    int       `json:"cycles"`
	LastCycle time.Time `json:"last_cycle,omitzero"`
	// LastError is what the last cycle ended with; empty when it synced.
	LastError string `json:"last_error,omitempty"`
	Advice    string `json:"advice,omitempty"`
	// Conflicts is the number of conflicts waiting for a person, with
	// every peer.
	Conflicts int          `json:"conflicts"`
	Peers     []PeerStatus `json:"peers"`
	// Everywhere are the settings shared with every host (pause
	// --everywhere), and the peers that have not applied them yet.
	Everywhere []SettingStatus `json:"everywhere,omitempty"`
	// Hosts are every host of the fleet, as this host and its peers'
	// daemons know them; only in a status asked with them
	// ([Client.StatusWithHosts]).
	Hosts []HostStatus `json:"hosts,omitempty"`
}

// The states of a peer, as far as the daemon knows.
const (
	// PeerConnected: the pair synced in its last cycle.
	PeerConnected = "connected"
	// PeerRetrying: the pair's last sync failed (the host unreachable,
	// its agent gone); it is retried with backoff (see NextRetry).
	PeerRetrying = "retrying"
	// PeerFailed: the pair failed more times in a row than the daemon
	// retries quickly; it is retried slowly (see NextRetry).
	PeerFailed = "failed"
	// PeerHalted: the pair stopped until a person acts (see Advice).
	PeerHalted = "halted"
	// PeerWaiting: the pair has not synced since the daemon started.
	PeerWaiting = "waiting"
)

// PeerStatus is one peer of a [Status], and the answer to POST /v1/peers.
type PeerStatus struct {
	Name     string `json:"name"`
	Location string `json:"location"`
	// Replica is the replica ID of the peer's root, as the pair last
	// synced it; empty before.
	Replica string `json:"replica,omitempty"`
	// State is PeerConnected, PeerRetrying, PeerFailed, PeerHalted or
	// PeerWaiting.
	State string `json:"state"`
	// LastSync is when the pair last finished syncing, and LastDuration
	// how long that took, in seconds.
	LastSync     time.Time `json:"last_sync,omitzero"`
	LastDuration float64   `json:"last_duration_seconds"`
	// Conflicts is the number of conflicts with the peer waiting for a
	// person.
	Conflicts int `json:"conflicts"`
	// Error is what stopped the pair's last sync; Halted is why it is
	// halted. Advice says what a person can do about either.
	Error  string `json:"error,omitempty"`
	Halted string `json:"halted,omitempty"`
	Advice string `json:"advice,omitempty"`
	// Watched is set while a watcher reports the changes of the peer's
	// tree; otherwise it is scanned whole each cycle.
	Watched bool `json:"watched"`
	// Polled is set while the peer's watcher failed and its tree is
	// rescanned on a schedule instead.
	Polled bool `json:"polled,omitempty"`
	// Failures counts the syncs with the peer that failed in a row;
	// NextRetry is when it is tried again (while failing); LastError is
	// the last failure, kept after the peer recovered.
	Failures  int       `json:"failures"`
	NextRetry time.Time `json:"next_retry,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// Entry is a path's entry in a tree.
type Entry struct {
	// Kind is "file", "dir" or "symlink".
	Kind string `json:"kind"`
	// Mode is the permission bits in octal ("0644"); empty for a symlink.
	Mode    string    `json:"mode,omitempty"`
	Size    int64     `json:"size,omitempty"`
	ModTime time.Time `json:"mtime,omitzero"`
	// Digest is a file's content digest in hex.
	Digest string `json:"digest,omitempty"`
	// Target is a symlink's target.
	Target Path `json:"target,omitempty"`
}

// Action is a change to one path of one tree.
type Action struct {
	// Op is "create", "update" or "remove".
	Op   string `json:"op"`
	Path Path   `json:"path"`
	// Side is the tree changed: "ours" (this host's) or "theirs" (the
	// peer's).
	Side   string `json:"side"`
	Old    *Entry `json:"old,omitempty"`
	New    *Entry `json:"new,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Peer names the pair the change belongs to, when known: in a plan,
	// and in the report of a flush or of a cycle-end event.
	Peer string `json:"peer,omitempty"`
}

// Conflict is a path changed on both sides, as a plan lists it.
type Conflict struct {
	Path   Path   `json:"path"`
	Base   *Entry `json:"base,omitempty"`
	Ours   *Entry `json:"ours,omitempty"`
	Theirs *Entry `json:"theirs,omitempty"`
}

// SettledConflict is a conflict a cycle met, and how the resolver chain
// settled it.
type SettledConflict struct {
	Conflict
	// Peer names the pair the conflict was met in.
	Peer string `json:"peer,omitempty"`
	// By names the resolver; Note says what it did.
	By   string `json:"by"`
	Note string `json:"note,omitempty"`
	// Kept is "ours", "theirs" or "merged": the version both sides have
	// now.
	Kept string `json:"kept"`
	// Review is set when the other version was kept aside and the
	// conflict waits for a person; CopyPath is that copy, in this host's
	// tree.
	Review   bool `json:"review,omitempty"`
	CopyPath Path `json:"copy_path,omitempty"`
}

// Problem is a path a cycle could not sync; it is retried next cycle.
type Problem struct {
	Path  Path   `json:"path"`
	Side  string `json:"side"`
	Error string `json:"error"`
}

// Report is what one cycle did.
type Report struct {
	Start     time.Time         `json:"start"`
	End       time.Time         `json:"end"`
	Seconds   float64           `json:"seconds"`
	Applied   []Action          `json:"applied"`
	Conflicts []SettledConflict `json:"conflicts"`
	Problems  []Problem         `json:"problems"`
	// Bytes is the file content moved between the trees.
	Bytes int64 `json:"bytes"`
}

// The kinds of [Event].
const (
	EventCycleStart = "cycle-start"
	EventApplied    = "applied"
	EventConflict   = "conflict"
	EventProblem    = "problem"
	EventCycleEnd   = "cycle-end"
	EventError      = "error"
	// EventPlanned comes before a pair applies its plan: Planned holds the
	// actions about to be applied, for a progress display.
	EventPlanned = "planned"
	// EventDropped is the last event of a stream whose reader fell too far
	// behind: the daemon dropped it rather than wait. Connect again.
	EventDropped = "dropped"
)

// Event is one line of GET /v1/events, a stream of JSON objects, one a
// line (NDJSON), as the engine works.
type Event struct {
	// Kind is one of EventCycleStart ... EventDropped.
	Kind string    `json:"kind"`
	Time time.Time `json:"time"`
	// Peer names the pair the event is about, when there is one.
	Peer     string           `json:"peer,omitempty"`
	Action   *Action          `json:"action,omitempty"`
	Conflict *SettledConflict `json:"conflict,omitempty"`
	Problem  *Problem         `json:"problem,omitempty"`
	// Report is set for EventCycleEnd.
	Report *Report `json:"report,omitempty"`
	// Planned is set for EventPlanned.
	Planned []Action `json:"planned,omitempty"`
	// Error is set for EventError, and for EventCycleEnd when the cycle
	// ended with an error.
	Error string `json:"error,omitempty"`
}

// FlushResponse answers POST /v1/flush: the report of the cycle the flush
// ran, and what stopped a pair in it, if anything.
type FlushResponse struct {
	Report Report `json:"report"`
	Error  string `json:"error,omitempty"`
	Advice string `json:"advice,omitempty"`
}

// Plan answers GET /v1/plan: what a full cycle would do, changing nothing.
type Plan struct {
	Peers []PeerPlan `json:"peers"`
}

// PeerPlan is the plan of one pair.
type PeerPlan struct {
	Peer      string     `json:"peer"`
	Actions   []Action   `json:"actions"`
	Conflicts []Conflict `json:"conflicts"`
	Problems  []Problem  `json:"problems"`
	// Error is what would stop the pair before anything is applied.
	Error  string `json:"error,omitempty"`
	Advice string `json:"advice,omitempty"`
}

// ConflictItem is a conflict waiting for a person, as GET /v1/conflicts
// lists it.
type ConflictItem struct {
	// ID is PEER#N, as a person types it; Peer and Number are its parts.
	ID     string    `json:"id"`
	Peer   string    `json:"peer"`
	Number uint64    `json:"number"`
	Path   Path      `json:"path"`
	Queued time.Time `json:"queued"`
	// Kept is the version in the tree: "ours" or "theirs"; the other was
	// kept aside, as CopyPath when it is a file.
	Kept     string    `json:"kept"`
	CopyPath Path      `json:"copy_path,omitempty"`
	Hosts    [2]string `json:"hosts"`
	Note     string    `json:"note,omitempty"`
	Base     *Entry    `json:"base,omitempty"`
	Ours     *Entry    `json:"ours,omitempty"`
	Theirs   *Entry    `json:"theirs,omitempty"`
}

// ConflictDetail answers GET /v1/conflicts/{peer}/{number}: the conflict,
// the bodies of its versions, and their differences as the command line
// shows them.
type ConflictDetail struct {
	ConflictItem
	// BaseText is the common ancestor (null when none is known),
	// CurrentText the file in the tree now (null when absent), OtherText
	// the version kept aside.
	BaseText    []byte `json:"base_text"`
	CurrentText []byte `json:"current_text"`
	OtherText   []byte `json:"other_text"`
	// Diff is the unified diffs from the base to each version (or from one
	// version to the other, without a base), names escaped.
	Diff string `json:"diff"`
}

// ApplyRequest is the body of POST /v1/conflicts/{peer}/{number}/apply:
// a person's choice. Exactly one of Keep and Merged is set.
type ApplyRequest struct {
	// Keep is "ours" or "theirs".
	Keep string `json:"keep,omitempty"`
	// Merged is new content for the file.
	Merged []byte `json:"merged,omitempty"`
	// Force applies the choice even when the file changed since the
	// conflict was queued (what it replaces is kept as a version).
	Force bool `json:"force,omitempty"`
}

// ApplyResponse answers a conflict apply, or a version restore: the choice
// is in this host's tree, and a cycle carried it to the peers (Synced),
// unless the engine is paused or that cycle failed (SyncError).
type ApplyResponse struct {
	Path      Path    `json:"path"`
	Synced    *Report `json:"synced,omitempty"`
	SyncError string  `json:"sync_error,omitempty"`
	// Version is the version restored (restores only).
	Version *Version `json:"version,omitempty"`
}

// Version is an earlier version of a file that this host's archive keeps.
type Version struct {
	// ID names the version for a restore.
	ID   string    `json:"id"`
	Path Path      `json:"path"`
	Time time.Time `json:"time"`
	Size int64     `json:"size"`
	Mode string    `json:"mode,omitempty"`
	// Digest is the content digest in hex, when recorded.
	Digest string `json:"digest,omitempty"`
	// Reason is "replaced", "removed" or "conflict"; empty when unknown.
	Reason string `json:"reason,omitempty"`
}

// Versions answers GET /v1/versions[?path=PATH], newest first.
type Versions struct {
	Versions []Version `json:"versions"`
}

// RestoreRequest is the body of POST /v1/versions/restore.
type RestoreRequest struct {
	Path Path   `json:"path"`
	ID   string `json:"id"`
}

// AttachRequest is the body of POST /v1/peers: a tree to sync with, from
// now on, as NAME=LOCATION on the command line.
type AttachRequest struct {
	Name     string `json:"name"`
	Location string `json:"location"`
}

// AdoptRequest is the body of POST /v1/adopt: accept the roots of the pair
// with Peer (every pair when empty) as they are now.
type AdoptRequest struct {
	Peer string `json:"peer,omitempty"`
}

// Conflicts answers GET /v1/conflicts.
type Conflicts struct {
	Conflicts []ConflictItem `json:"conflicts"`
}

// OK answers requests that return nothing else.
type OK struct {
	OK bool `json:"ok"`
}

// StagedItem is a change from a staged peer (run with --staged) waiting
// for a person, as GET /v1/staged lists it.
type StagedItem struct {
	// ID names the item; it is never reused.
	ID   uint64    `json:"id"`
	Peer string    `json:"peer"`
	Time time.Time `json:"time"`
	Path Path      `json:"path"`
	// Base is the common entry, Ours this host's and Theirs the peer's
	// when the item was staged; null is absent (Theirs null: the peer
	// removed the path).
	Base   *Entry `json:"base,omitempty"`
	Ours   *Entry `json:"ours,omitempty"`
	Theirs *Entry `json:"theirs,omitempty"`
	// Conflict says both sides had changed the path: applying it asks the
	// resolver chain.
	Conflict bool   `json:"conflict,omitempty"`
	Note     string `json:"note,omitempty"`
}

// Staged answers GET /v1/staged, by peer then path.
type Staged struct {
	Staged []StagedItem `json:"staged"`
}

// StagedDetail answers GET /v1/staged/{id}: the item, and the content of
// its staged version and of this host's file now (null for a side that is
// not a file).
type StagedDetail struct {
	StagedItem
	StagedText []byte `json:"staged_text"`
	OursText   []byte `json:"ours_text"`
}

// StagedRequest is the body of POST /v1/staged/apply and
// /v1/staged/reject: the items, by ID; no ID applies every item (apply
// only).
type StagedRequest struct {
	IDs []uint64 `json:"ids"`
}

// StagedResponse answers POST /v1/staged/apply and /v1/staged/reject.
// Report is what applying wrote into this host's tree (apply only); Error
// says which items could not be applied (they stay staged). Then a cycle
// carried the decision to the peers (Synced), unless the engine is paused
// or that cycle failed (SyncError), as in [ApplyResponse].
type StagedResponse struct {
	Report    *Report `json:"report,omitempty"`
	Error     string  `json:"error,omitempty"`
	Synced    *Report `json:"synced,omitempty"`
	SyncError string  `json:"sync_error,omitempty"`
}
