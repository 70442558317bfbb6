package zerosync

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"time"
)

// Kind is the type of a tree entry.
type Kind uint8

// The kinds of entry a tree holds. Sockets, devices and named pipes are
// never synced; a scan reports them as problems.
const (
	KindFile    Kind = 1
	KindDir     Kind = 2
	KindSymlink Kind = 3
)

// String returns "file", "dir" or "symlink".
func (k Kind) String() string {
	switch k {
	case KindFile:
		return "file"
	case KindDir:
		return "dir"
	case KindSymlink:
		return "symlink"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Digest is the content digest of a file: BLAKE3-256 of its bytes. Digests,
// never modification times, decide whether a file changed.
type Digest [32]byte

// IsZero reports whether d is the zero digest (no content known).
func (d Digest) IsZero() bool { return d == Digest{} }

// String returns the digest in lower-case hex.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// Short returns the first 12 hex digits, for logs and file names.
func (d Digest) Short() string { return hex.EncodeToString(d[:6]) }

// Entry describes one path of a tree. The zero Entry is invalid; an absent
// path is a nil *Entry or a missing map key, never a zero Entry.
type Entry struct {
	Kind Kind
	// Mode holds the permission bits (fs.ModePerm) of files and
	// directories; it is zero for symlinks.
	Mode fs.FileMode
	// Size is the length of a file's content in bytes; zero otherwise.
	Size int64
	// ModTime is informational only: it is never used to decide a change.
	ModTime time.Time
	// Digest is the content digest of a file; zero otherwise.
	Digest Digest
	// Target is a symlink's target, stored verbatim and never followed.
	Target string
}

// Same reports whether e and o have the same content and metadata as far as
// syncing is concerned: kind, permission bits, and digest or target.
// ModTime and Size are not compared (Size follows from Digest).
func (e *Entry) Same(o *Entry) bool {
	if e == nil || o == nil {
		return e == nil && o == nil
	}
	if e.Kind != o.Kind {
		return false
	}
	switch e.Kind {
	case KindFile:
		return e.Digest == o.Digest && e.Mode.Perm() == o.Mode.Perm()
	case KindDir:
		return e.Mode.Perm() == o.Mode.Perm()
	case KindSymlink:
		return e.Target == o.Target
	}
	return false
}

// SameContent reports whether e and o hold the same data regardless of
// permission bits: the same directory, the same file bytes or the same link.
func (e *Entry) SameContent(o *Entry) bool {
	if e == nil || o == nil {
		return e == nil && o == nil
	}
	if e.Kind != o.Kind {
		return false
	}
	switch e.Kind {
	case KindFile:
		return e.Digest == o.Digest
	case KindSymlink:
		return e.Target == o.Target
	}
	return true
}

// String describes the entry briefly, for logs and test failures.
func (e *Entry) String() string {
	if e == nil {
		return "absent"
	}
	switch e.Kind {
	case KindFile:
		return fmt.Sprintf("file %o %d %s", e.Mode.Perm(), e.Size, e.Digest.Short())
	case KindDir:
		return fmt.Sprintf("dir %o", e.Mode.Perm())
	case KindSymlink:
		return "symlink -> " + e.Target
	}
	return e.Kind.String()
}

// Snapshot is a whole tree: clean, relative, slash-separated paths (see
// [ValidPath]) mapped to their entries. The root itself is not in it. A
// Snapshot an [Endpoint] returns belongs to the caller, who may change it;
// one handed to a [Differ] or a [View] is only read.
type Snapshot map[string]Entry

// Get returns the entry at path, or nil when the path is absent.
func (s Snapshot) Get(path string) *Entry {
	e, ok := s[path]
	if !ok {
		return nil
	}
	return &e
}

// Paths returns the paths of s in sorted order; a directory sorts before
// everything beneath it.
func (s Snapshot) Paths() []string {
	ps := make([]string, 0, len(s))
	for p := range s {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// Endpoint is one replica of a tree, reached through some transport: a
// directory on this host, an in-memory tree, a folder behind an SSH agent.
//
// Paths are relative to the endpoint's root and satisfy [ValidPath]. An
// endpoint keeps every operation beneath its root and never follows a
// symlink while writing, whatever the path says.
//
// Methods may be called concurrently from several goroutines. Each method
// honours ctx promptly.
type Endpoint interface {
	// Scan returns the current tree, in a map the endpoint keeps no
	// reference to. A root that is missing, or not a
	// directory, is an error wrapping [ErrRootMissing]; a scan never
	// reports a missing root as an empty tree. Entries that cannot be synced
	// (sockets, devices, unreadable files) are left out and described in the
	// returned problems.
	Scan(ctx context.Context) (Snapshot, []Problem, error)

	// Open returns the content of the file at path. The caller closes it.
	Open(ctx context.Context, path string) (io.ReadCloser, error)

	// Apply changes one path atomically, provided the path still matches
	// op.Old (nil: must be absent). When it does not, Apply changes nothing
	// and returns an error wrapping [ErrChanged]. For a file, content supplies
	// op.New's bytes; they are checked against op.New.Size and op.New.Digest
	// before they become visible, and a mismatch is an error wrapping
	// [ErrDigestMismatch]. Readers of the path see the old entry or the new
	// one, never a partial file. When op.Archive is set and the path holds a
	// file, its current content is archived on the endpoint's own host
	// before it is replaced or removed. Removing a directory requires it to
	// be empty of everything but conflict copies (which [Archiver] archived
	// when it made them, so they go with the directory); anything else in it,
	// synced or excluded, makes the removal fail.
	Apply(ctx context.Context, op Op, content io.Reader) error

	// Close releases the endpoint's resources.
	Close() error
}

// Op is one change to one path of an [Endpoint].
type Op struct {
	Path string
	// Old is the entry the path must hold before the change; nil means the
	// path must be absent.
	Old *Entry
	// New is the entry the path must hold after the change; nil removes it.
	New *Entry
	// Archive asks the endpoint to keep the current content of a file that
	// is replaced or removed: because the other side never knew it, or
	// to keep every version (the engine sets it for every replacement and
	// removal of a file unless versioning is off).
	Archive bool
}

// String describes the op for logs.
func (op Op) String() string {
	switch {
	case op.Old == nil:
		return fmt.Sprintf("create %s (%s)", op.Path, op.New)
	case op.New == nil:
		return fmt.Sprintf("remove %s (%s)", op.Path, op.Old)
	}
	return fmt.Sprintf("update %s (%s -> %s)", op.Path, op.Old, op.New)
}

// PathScanner is an optional ability of an [Endpoint]: rescanning only some
// paths, so a cycle driven by a watcher costs what changed, not the size of
// the tree. The result holds, for each path, its entry when present and, for
// a directory, everything beneath it; absent paths are absent from it, and
// so are the paths' parents. Problems are as for Scan.
type PathScanner interface {
	ScanPaths(ctx context.Context, paths []string) (Snapshot, []Problem, error)
}

// DeltaOpener is an optional ability of an [Endpoint] across a network:
// reading a file as its difference from a version the caller already holds,
// so that only the changed regions cross the wire. have is the caller's old
// content, haveSize bytes long; the returned reader yields the new content
// whole, which the caller checks against the file's digest as it would
// any content.
type DeltaOpener interface {
	OpenDelta(ctx context.Context, path string, have io.ReaderAt, haveSize int64) (io.ReadCloser, error)
}

// Copier is an optional ability of an [Endpoint]: making a file from content
// it already holds at another path (a rename seen as delete + create), so the
// bytes need not cross the wire. Copy follows the rules of Apply; op.New must
// be a file whose digest equals the file at src.
type Copier interface {
	Copy(ctx context.Context, src string, op Op) error
}

// Watcher is an optional ability of an [Endpoint]: telling when its tree may
// have changed by something other than the endpoint's own Apply. A Watcher is
// a [Source]. Once its watch is in place it sends Hint{Full: true, Reason:
// "ready"}; from then on it names every path that changes (a new directory
// with what it holds), or asks for a full rescan when it may have missed
// something. The engine then rescans only the paths named.
type Watcher interface {
	Source
}

// Archiver is an optional ability of an [Endpoint]: storing a copy of content
// that would otherwise be lost, and saving it as a visible conflict copy next
// to path. It returns the name of the conflict copy it wrote.
type Archiver interface {
	KeepConflict(ctx context.Context, path string, e Entry, content io.Reader, note string) (copyPath string, err error)
}

// ConflictStore is an optional ability of an [Endpoint] that is an
// [Archiver]: reading back and removing the conflict copies it made, so a
// person's decision on a queued conflict can be applied. copyPath is a path
// KeepConflict returned; any other path is refused.
type ConflictStore interface {
	// OpenConflict returns the content of a conflict copy that is a file.
	OpenConflict(ctx context.Context, copyPath string) (io.ReadCloser, error)
	// RemoveConflict removes a conflict copy; its content stays in the
	// archive. A copy already gone is not an error.
	RemoveConflict(ctx context.Context, copyPath string) error
}

// Source tells the engine that a tree may have changed. The engine starts
// Watch once, in a goroutine it owns, and cancels ctx to stop it. Watch
// calls notify from one goroutine at a time, as often as it likes; notify
// never blocks for long. Watch returns ctx.Err() after cancellation, or an
// error when it can no longer watch.
type Source interface {
	Watch(ctx context.Context, notify func(Hint)) error
}

// Hint is what a [Source] reports.
type Hint struct {
	// Paths that may have changed; empty together with Full means anything
	// may have changed.
	Paths []string
	// Full asks for a full rescan (a schedule tick, or a watcher that lost
	// events).
	Full bool
	// Reason is a short word for logs: "watch", "schedule", "overflow".
	Reason string
}

// Side names one of the two replicas of a pair: the engine's own tree
// ([Ours]) or the peer's ([Theirs]).
type Side uint8

// The two sides of a pair.
const (
	Ours   Side = 0
	Theirs Side = 1
)

// Other returns the opposite side.
func (s Side) Other() Side { return 1 - s }

// String returns "ours" or "theirs".
func (s Side) String() string {
	if s == Ours {
		return "ours"
	}
	return "theirs"
}

// Action is one step of a [Plan]: an op for one side, with the reason it is
// needed.
type Action struct {
	Side Side
	Op
	// From tells which side's entry the op copies (for creates and
	// updates), so the engine knows where to read content.
	From Side
	// Reason is a short phrase for the report: "modified on theirs",
	// "deleted on ours", "kept: modified on theirs, deleted on ours".
	Reason string
}

// Conflict is a path changed on both sides of a pair since the last sync,
// in ways that do not agree. Base is the ancestor entry (nil: the path is new
// on both sides); Ours and Theirs are the current entries (nil: deleted).
type Conflict struct {
	Path   string
	Base   *Entry
	Ours   *Entry
	Theirs *Entry
	// Hosts names the two sides for people and for resolvers that prefer a
	// host ([Ours] first).
	Hosts [2]string
	// Content reads the bodies of the versions; it is set by the engine.
	Content ContentReader
}

// Version selects one body of a conflict.
type Version uint8

// The versions a [ContentReader] returns.
const (
	VersionBase Version = iota
	VersionOurs
	VersionTheirs
)

// ContentReader returns the bytes of a version of a conflicted file, reading
// at most limit bytes: a body longer than limit is an error wrapping
// [ErrTooLarge]. An unavailable base (no ancestor body was kept) is an error
// wrapping [ErrNoBase].
type ContentReader interface {
	ReadVersion(ctx context.Context, v Version, limit int64) ([]byte, error)
}

// Plan is what a [Differ] decides for a pair: actions that need no judgement,
// and conflicts for the [Resolver] chain. Actions are ordered so that
// applying them in sequence is valid: removals deepest first, then creations
// and updates shallowest first.
type Plan struct {
	Actions   []Action
	Conflicts []Conflict
}

// Differ reconciles two trees against their last common state. It is pure:
// it reads the snapshots and touches nothing.
type Differ interface {
	Reconcile(base, ours, theirs Snapshot) Plan
}

// Resolver settles a [Conflict]. It returns [ErrPass] (possibly wrapped) when
// the conflict is not one it decides, so the next resolver in the chain is
// asked; any other error is a failure reported for that path. Resolve may be
// called concurrently for different paths.
type Resolver interface {
	Resolve(ctx context.Context, c Conflict) (Resolution, error)
}

// ResolverFunc adapts a function to a [Resolver].
type ResolverFunc func(ctx context.Context, c Conflict) (Resolution, error)

// Resolve calls f.
func (f ResolverFunc) Resolve(ctx context.Context, c Conflict) (Resolution, error) { return f(ctx, c) }

// Resolution is a resolver's answer.
type Resolution struct {
	// Keep is the version both sides end with: VersionOurs or
	// VersionTheirs. It is ignored when Merged is set.
	Keep Version
	// Merged, when not nil, is new file content for both sides.
	Merged []byte
	// Mode is the permission bits of a merged file; zero takes ours.
	Mode fs.FileMode
	// KeepOther keeps the version not chosen as a conflict copy and in the
	// archive, and enters the conflict in the review queue.
	KeepOther bool
	// By names the resolver, for the journal and the report.
	By string
	// Note says what was done, for people.
	Note string
}

// Problem is a per-path failure that does not stop a cycle: it is data in the
// [Report], not an error.
type Problem struct {
	Path string
	Side Side
	Err  error
}

// Error returns the problem as text.
func (p Problem) Error() string { return fmt.Sprintf("%s (%s): %v", p.Path, p.Side, p.Err) }

// Unwrap returns the underlying error.
func (p Problem) Unwrap() error { return p.Err }

// Report says what one sync cycle did.
type Report struct {
	Start, End time.Time
	// Applied are the actions that took effect, in order.
	Applied []Action
	// Conflicts are the conflicts met and how each was settled.
	Conflicts []ConflictReport
	// Problems are per-path failures; the paths are retried next cycle.
	Problems []Problem
	// Bytes is the file content moved between the sides.
	Bytes int64
}

// ConflictReport records how one conflict was settled.
type ConflictReport struct {
	Conflict
	Resolution Resolution
	// CopyPath is the conflict copy kept on our side, if any.
	CopyPath string
}

// Changed reports whether the cycle changed anything.
func (r Report) Changed() bool { return len(r.Applied) > 0 || len(r.Conflicts) > 0 }

// EventKind tells what an [Event] is about.
type EventKind uint8

// The kinds of event an engine emits.
const (
	EventCycleStart EventKind = iota + 1
	EventApplied
	EventConflict
	EventProblem
	EventCycleEnd
	EventError
	// EventPlanned comes before a pair applies its plan, once its
	// conflicts are settled: Planned holds the actions about to be applied,
	// so an observer can show progress against a total.
	EventPlanned
)

// Event is a step of the engine's work, delivered to an observer as it
// happens.
type Event struct {
	Kind   EventKind
	Time   time.Time
	Peer   string
	Action *Action
	// Conflict is set for EventConflict.
	Conflict *ConflictReport
	// Problem is set for EventProblem.
	Problem *Problem
	// Report is set for EventCycleEnd.
	Report *Report
	// Err is set for EventError, and for EventCycleEnd when the cycle
	// ended with an error (the one an EventError just reported).
	Err error
	// Planned is set for EventPlanned; the observer must not change it.
	Planned []Action
}

// Status is an engine's state as people see it.
type Status struct {
	Paused    bool
	Running   bool
	LastCycle time.Time
	LastError error
	// Cycles counts completed cycles since the engine started.
	Cycles int
	// Review is the number of conflicts waiting for a person.
	Review int
	// Halted are the pairs a running engine stopped until a person acts
	// (a root missing, replaced or emptied; a mass deletion), by peer
	// name, with the reason.
	Halted map[string]error
}

// Engine keeps trees in sync. Build one with engine.New.
type Engine interface {
	// SyncOnce runs one full cycle over every pair and returns what it did.
	SyncOnce(ctx context.Context) (Report, error)
	// Run syncs whenever a source says so, until ctx is cancelled.
	Run(ctx context.Context) error
	// Pause stops syncing until Resume; a cycle under way finishes first.
	Pause()
	// Resume undoes Pause.
	Resume()
	// Status returns the engine's current state.
	Status() Status
}

// Sentinel errors to branch on with [errors.Is].
var (
	// ErrRootMissing: the root of a tree is missing or not a directory
	// (an unmounted disk looks like this). It is never read as "everything
	// was deleted".
	ErrRootMissing = errors.New("sync root is missing")
	// ErrRootEmpty: a root that held files after the last sync is now empty.
	ErrRootEmpty = errors.New("sync root is empty but was not before")
	// ErrMassDeletion: a plan would delete more of a tree than allowed.
	ErrMassDeletion = errors.New("plan deletes too much of a tree")
	// ErrChanged: the target changed since it was scanned.
	ErrChanged = errors.New("changed since scan")
	// ErrDigestMismatch: content does not match its declared size or digest.
	ErrDigestMismatch = errors.New("content does not match its digest")
	// ErrInvalidPath: a path is not clean, relative and safe.
	ErrInvalidPath = errors.New("invalid path")
	// ErrReserved: a path uses a name the library keeps for itself.
	ErrReserved = errors.New("reserved name")
	// ErrPass: a resolver does not decide this conflict.
	ErrPass = errors.New("resolver passes")
	// ErrTooLarge: content is over a size limit.
	ErrTooLarge = errors.New("content too large")
	// ErrNoBase: no ancestor body is known for a conflict.
	ErrNoBase = errors.New("no base version")
	// ErrPaused: the engine is paused.
	ErrPaused = errors.New("engine is paused")
)

// PathError records a failed operation on a path of a tree.
type PathError struct {
	Op   string // "scan", "open", "apply", "validate", ...
	Host string // the endpoint, if known
	Path string
	Err  error
}

func (e *PathError) Error() string {
	s := e.Op + " " + e.Path
	if e.Host != "" {
		s = e.Op + " " + e.Host + ":" + e.Path
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *PathError) Unwrap() error { return e.Err }
