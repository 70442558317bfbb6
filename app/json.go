package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/zerosync/zerosync/control"
)

// The shapes --json prints. Field names are snake_case and stable: a field
// may be added, none is renamed or removed. Times are RFC 3339, sizes are
// bytes. The tree a change is applied to ("on") is "local" for this host's
// tree and the peer's name for a peer's. Package documentation lists them.

// statusJSON is what status --json prints.
type statusJSON struct {
	Engine           string     `json:"engine"`
	Root             string     `json:"root"`
	Paused           bool       `json:"paused"`
	ConflictsWaiting int        `json:"conflicts_waiting"`
	Peers            []peerJSON `json:"peers"`
	// The fields below are there when a daemon runs (status asked it):
	// Running is then true.
	Running   bool      `json:"running,omitempty"`
	Cycles    int       `json:"cycles,omitempty"`
	LastCycle time.Time `json:"last_cycle,omitzero"`
	LastError string    `json:"last_error,omitempty"`
	// Everywhere are the settings shared with every host (pause
	// --everywhere) and the peers that have not applied them yet.
	Everywhere []control.SettingStatus `json:"everywhere,omitempty"`
	// Hosts are every host of the fleet: this host ("state": "this
	// host"), its peers, and (with a daemon) the peers of its peers as
	// their daemons tell, each tree once.
	Hosts []hostJSON `json:"hosts"`
}

// hostJSON is one host in [statusJSON].
type hostJSON struct {
	Name string `json:"name"`
	// Via is the peer whose daemon told of the host; empty for this host
	// and its peers.
	Via      string `json:"via,omitempty"`
	Replica  string `json:"replica,omitempty"`
	Location string `json:"location,omitempty"`
	// State is "this host", or the state of the pair with it (connected,
	// retrying, failed, halted, waiting) on the host that reports it.
	State    string    `json:"state"`
	LastSync time.Time `json:"last_sync,omitzero"`
	// Paused is there for this host and the peers whose daemon answered;
	// Daemon says whether it did ("answered") or why not.
	Paused *bool  `json:"paused,omitempty"`
	Daemon string `json:"daemon,omitempty"`
}

// peerJSON is one peer in [statusJSON].
type peerJSON struct {
	Name             string `json:"name"`
	Location         string `json:"location"`
	ConflictsWaiting int    `json:"conflicts_waiting"`
	// Halted says why a running engine stopped syncing with this peer
	// until a person acts; it is left out when the pair is not halted.
	Halted string `json:"halted,omitempty"`
	// State is connected, failed, halted or waiting (not synced since
	// the daemon started); LastSync is when the pair last synced, Seconds
	// how long that took, and Error what stopped it. They are there when
	// a daemon runs.
	State    string    `json:"state,omitempty"`
	LastSync time.Time `json:"last_sync,omitzero"`
	Seconds  float64   `json:"last_sync_seconds,omitempty"`
	Error    string    `json:"error,omitempty"`
	// Failures counts the syncs that failed in a row, and NextRetry is
	// when the daemon tries the peer again (state retrying or failed).
	Failures  int       `json:"failures,omitempty"`
	NextRetry time.Time `json:"next_retry,omitzero"`
}

// newStatusJSON is st as status --json prints it.
func newStatusJSON(st control.Status) statusJSON {
	out := statusJSON{Engine: st.Engine, Root: st.Root, Paused: st.Paused, ConflictsWaiting: st.Conflicts, Peers: []peerJSON{}}
	if st.Running {
		out.Running, out.Cycles, out.LastCycle, out.LastError = true, st.Cycles, st.LastCycle, st.LastError
	}
	for _, p := range st.Peers {
		pj := peerJSON{Name: p.Name, Location: p.Location, ConflictsWaiting: p.Conflicts, Halted: p.Halted}
		if st.Running {
			pj.State, pj.LastSync, pj.Seconds, pj.Error = p.State, p.LastSync, p.LastDuration, p.Error
			pj.Failures, pj.NextRetry = p.Failures, p.NextRetry
		}
		out.Peers = append(out.Peers, pj)
	}
	out.Everywhere = st.Everywhere
	out.Hosts = []hostJSON{}
	for _, h := range st.Hosts {
		out.Hosts = append(out.Hosts, hostJSON{Name: h.Name, Via: h.Via, Replica: h.Replica, Location: h.Location,
			State: h.State, LastSync: h.LastSync, Paused: h.Paused, Daemon: h.Daemon})
	}
	return out
}

// changeJSON is one change, planned or applied.
type changeJSON struct {
	Op     string `json:"op"` // create, update or remove
	Path   string `json:"path"`
	On     string `json:"on"`
	Kind   string `json:"kind"` // file, dir or symlink (what is removed, for a removal)
	Size   int64  `json:"size"` // of the file written; 0 otherwise
	Reason string `json:"reason"`
}

// entryJSON is one side of a conflict; null is absent.
type entryJSON struct {
	Kind   string `json:"kind"`
	Size   int64  `json:"size"`
	Mode   string `json:"mode"`
	Target string `json:"target,omitempty"` // a symlink's
}

// problemJSON is a path that could not be synced.
type problemJSON struct {
	Path  string `json:"path"`
	Side  string `json:"side"` // ours (this host) or theirs (a peer)
	Error string `json:"error"`
}

// planJSON is what plan --json prints.
type planJSON struct {
	Peers []pairPlanJSON `json:"peers"`
}

// pairPlanJSON is the plan for one peer.
type pairPlanJSON struct {
	Peer      string                `json:"peer"`
	Changes   []changeJSON          `json:"changes"`
	Conflicts []plannedConflictJSON `json:"conflicts"`
	Problems  []problemJSON         `json:"problems"`
	// Error says what would stop the pair before anything is applied (a
	// changed or emptied root, a mass deletion).
	Error string `json:"error,omitempty"`
}

// plannedConflictJSON is a conflict a sync would meet.
type plannedConflictJSON struct {
	Path   string     `json:"path"`
	Ours   *entryJSON `json:"ours"`
	Theirs *entryJSON `json:"theirs"`
}

// onceJSON is what once --json prints.
type onceJSON struct {
	Start            time.Time      `json:"start"`
	End              time.Time      `json:"end"`
	Bytes            int64          `json:"bytes"`
	Applied          []changeJSON   `json:"applied"`
	Conflicts        []conflictJSON `json:"conflicts"`
	Problems         []problemJSON  `json:"problems"`
	ConflictsWaiting int            `json:"conflicts_waiting"`
	// Error is what stopped the sync, or a pair of it.
	Error string `json:"error,omitempty"`
}

// conflictJSON is a conflict a sync met and how it was settled.
type conflictJSON struct {
	Peer       string `json:"peer"`
	Path       string `json:"path"`
	ResolvedBy string `json:"resolved_by"`
	Note       string `json:"note"`
	// CopyPath is the other version, kept beside the file for review.
	CopyPath string `json:"copy_path,omitempty"`
}

// reviewsJSON is what conflicts list --json prints.
type reviewsJSON struct {
	Conflicts []reviewJSON `json:"conflicts"`
}

// reviewJSON is a conflict waiting for review.
type reviewJSON struct {
	ID       string    `json:"id"` // PEER#N, as conflicts show and apply take it
	Peer     string    `json:"peer"`
	Number   uint64    `json:"number"`
	Path     string    `json:"path"`
	Queued   time.Time `json:"queued"`
	Kept     string    `json:"kept"` // whose version is in the tree: ours or theirs
	CopyPath string    `json:"copy_path,omitempty"`
	Note     string    `json:"note"`
}

func newChangeJSON(a control.Action) changeJSON {
	c := changeJSON{Op: a.Op, Path: string(a.Path), On: "local", Reason: a.Reason}
	if a.Side == "theirs" {
		c.On = orWord(a.Peer, "peer")
	}
	switch {
	case a.New != nil:
		c.Kind = a.New.Kind
		if a.New.Kind == "file" {
			c.Size = a.New.Size
		}
	case a.Old != nil:
		c.Kind = a.Old.Kind
	}
	return c
}

func newEntryJSON(e *control.Entry) *entryJSON {
	if e == nil {
		return nil
	}
	return &entryJSON{Kind: e.Kind, Size: e.Size, Mode: e.Mode, Target: string(e.Target)}
}

func newProblemJSON(p control.Problem) problemJSON {
	return problemJSON{Path: string(p.Path), Side: p.Side, Error: p.Error}
}

// writeJSON writes v to w as indented JSON and a newline. Every character
// that is not printable is escaped (\u001b, \u0085, \u202e), not only the
// ones JSON requires, so the output is safe on a terminal too. A name that is
// not valid UTF-8 cannot be written in JSON: its invalid bytes read as
// U+FFFD.
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(escapeUnprintable(buf.Bytes()))
	return err
}

// escapeUnprintable escapes, as \uXXXX, every rune of encoded JSON that is
// not printable. Outside strings, encoded JSON is ASCII, so only strings
// change, and they keep their meaning.
func escapeUnprintable(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r < utf8.RuneSelf || strconv.IsPrint(r) {
			out = append(out, b[i:i+n]...)
		} else if r > 0xffff {
			r1, r2 := surrogates(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
		} else {
			out = fmt.Appendf(out, `\u%04x`, r)
		}
		i += n
	}
	return out
}

// surrogates returns the UTF-16 surrogate pair of r, a rune above U+FFFF.
func surrogates(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}
