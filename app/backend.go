package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/control"
	"github.com/zerosync/zerosync/engine"
)

// backend is what the shared subcommands read and steer: the engine's
// daemon over its control socket when one runs (a [*control.Client]), or
// the engine the command opens itself ([direct]). Both answer with the
// values of package control, so every output has one printer, fed the same
// either way.
type backend interface {
	Status(ctx context.Context) (control.Status, error)
	// Plan returns what a cycle would do; an error with a plan of some
	// peers is what would stop the pairs.
	Plan(ctx context.Context) (control.Plan, error)
	// Flush syncs now and returns the cycle's report; what stopped a pair
	// is the error, with the report still returned.
	Flush(ctx context.Context) (control.Report, error)
	ConfirmDeletions(ctx context.Context) error
	Adopt(ctx context.Context, peer string) error
	Conflicts(ctx context.Context) ([]control.ConflictItem, error)
	Conflict(ctx context.Context, peer string, number uint64) (control.ConflictDetail, error)
	ApplyConflict(ctx context.Context, peer string, number uint64, req control.ApplyRequest) (control.ApplyResponse, error)
	Versions(ctx context.Context, path control.Path) ([]control.Version, error)
	RestoreVersion(ctx context.Context, path control.Path, id string) (control.ApplyResponse, error)
	Staged(ctx context.Context) ([]control.StagedItem, error)
	StagedDetail(ctx context.Context, id uint64) (control.StagedDetail, error)
	ApplyStaged(ctx context.Context, ids []uint64) (control.StagedResponse, error)
	RejectStaged(ctx context.Context, ids []uint64) (control.StagedResponse, error)
}

var (
	_ backend = (*control.Client)(nil)
	_ backend = (*direct)(nil)
)

// dialTimeout bounds reaching a daemon that does not answer.
const dialTimeout = 10 * time.Second

// daemon returns a client of this engine's running daemon, or nil when
// none runs. A daemon of the same engine that serves another state
// database (another --state) is not this command's: nil too.
func (env *Env) daemon(ctx context.Context) (*control.Client, error) {
	path, err := control.SocketPath(env.App.Name)
	if err != nil {
		return nil, nil // a name no socket can have: no daemon either
	}
	return env.dial(ctx, path)
}

// dial returns a client of the daemon at path, or nil when none answers
// there or it is not this command's.
func (env *Env) dial(ctx context.Context, path string) (*control.Client, error) {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, err := control.Dial(dctx, path)
	if errors.Is(err, control.ErrNotRunning) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if h, err := c.Hello(dctx); err != nil || (h.State != "" && env.State != "" && h.State != env.State) {
		c.Close()
		return nil, nil
	}
	return c, nil
}

// withBackend runs f with the engine's running daemon when there is one,
// and otherwise with the engine opened by [Env.withEngine] (extra options
// after its own).
func (env *Env) withBackend(ctx context.Context, f func(backend) error, extra ...engine.Option) error {
	c, err := env.daemon(ctx)
	if err != nil {
		return err
	}
	if c != nil {
		defer c.Close()
		env.Log.Debug("through the running daemon", "engine", env.App.Name)
		return f(c)
	}
	d := &direct{env: env}
	return env.withEngine(ctx, func(e *engine.Engine) error {
		d.e = e
		return f(d)
	}, append(extra, engine.WithObserver(d.observe))...)
}

// direct is a [backend] on an engine the command opened itself: it gives
// what the daemon's API would, as the API writes it.
type direct struct {
	env *Env
	e   *engine.Engine

	mu     sync.Mutex
	events []zerosync.Event // of the current cycle, to name its changes' pairs
}

// newDirect is a backend on e, an engine opened by the caller.
func newDirect(e *engine.Engine, prog string) *direct {
	return &direct{env: &Env{App: &App{Name: prog}}, e: e}
}

// observe keeps the events of the current cycle that name pairs.
func (d *direct) observe(ev zerosync.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch ev.Kind {
	case zerosync.EventCycleStart:
		d.events = append(d.events[:0], ev)
	case zerosync.EventApplied:
		d.events = append(d.events, ev)
	}
}

// report is rep as the API writes it, its changes' pairs named.
func (d *direct) report(rep zerosync.Report) control.Report {
	out := control.ReportOf(rep)
	d.mu.Lock()
	control.NameReport(&out, d.events)
	d.mu.Unlock()
	return out
}

// advice is [Advice] for this engine.
func (d *direct) advice(err error) string {
	if err == nil {
		return ""
	}
	return Advice(d.env.App.Name, err)
}

func (d *direct) Status(ctx context.Context) (control.Status, error) {
	st := d.e.Status()
	peers, err := d.e.Peers(ctx)
	if err != nil {
		return control.Status{}, err
	}
	out := control.Status{Engine: d.env.App.Name, Root: d.env.Root, Paused: st.Paused || d.env.paused(), Running: st.Running,
		Cycles: st.Cycles, LastCycle: st.LastCycle, LastError: errText(st.LastError), Advice: d.advice(st.LastError),
		Conflicts: st.Review, Peers: []control.PeerStatus{}}
	if l, ok := zerosync.As[zerosync.Locator](d.e.Local().Endpoint); ok {
		out.Root = l.Location().String()
	}
	locs := map[string]string{}
	for _, p := range d.env.Peers {
		locs[p.Name] = p.Location
	}
	for _, p := range peers {
		ps := control.PeerStatus{Name: p.Name, Location: p.Location.String(), Replica: p.Replica, LastSync: p.LastSync,
			LastDuration: p.Duration.Seconds(), Conflicts: p.Review, Error: errText(p.Err),
			Halted: errText(p.Halted), Watched: p.Watched}
		if ps.Location == "" {
			ps.Location = locs[p.Name]
		}
		switch {
		case p.Halted != nil:
			ps.State, ps.Advice = control.PeerHalted, d.advice(p.Halted)
		case p.Err != nil:
			ps.State, ps.Advice = control.PeerFailed, d.advice(p.Err)
		case !p.LastSync.IsZero():
			ps.State = control.PeerConnected
		default:
			ps.State = control.PeerWaiting
		}
		out.Peers = append(out.Peers, ps)
	}
	out.Replica = d.e.Replica(ctx)
	out.Hosts = control.HostsOf(out)
	return out, nil
}

func (d *direct) Plan(ctx context.Context) (control.Plan, error) {
	plans, planErr := d.e.Plan(ctx)
	if plans == nil {
		return control.Plan{}, planErr
	}
	peers, err := d.e.Peers(ctx)
	if err != nil {
		return control.Plan{}, err
	}
	out := control.Plan{Peers: []control.PeerPlan{}}
	for _, p := range peers {
		pp, ok := plans[p.Name]
		if !ok {
			continue
		}
		o := control.PeerPlan{Peer: p.Name, Actions: []control.Action{}, Conflicts: []control.Conflict{}, Problems: []control.Problem{},
			Error: errText(pp.Err), Advice: d.advice(pp.Err)}
		for _, a := range pp.Actions {
			act := control.ActionOf(a)
			act.Peer = p.Name
			o.Actions = append(o.Actions, act)
		}
		for _, c := range pp.Conflicts {
			o.Conflicts = append(o.Conflicts, control.ConflictOf(c))
		}
		for _, pr := range pp.Problems {
			o.Problems = append(o.Problems, control.ProblemOf(pr))
		}
		out.Peers = append(out.Peers, o)
	}
	return out, planErr
}

func (d *direct) Flush(ctx context.Context) (control.Report, error) {
	rep, err := d.e.SyncOnce(ctx)
	return d.report(rep), err
}

func (d *direct) ConfirmDeletions(ctx context.Context) error {
	d.e.ConfirmDeletions()
	return nil
}

func (d *direct) Adopt(ctx context.Context, peer string) error { return d.e.Adopt(ctx, peer) }

func (d *direct) Conflicts(ctx context.Context) ([]control.ConflictItem, error) {
	all, err := d.e.Reviews(ctx)
	if err != nil {
		return nil, err
	}
	peers, err := d.e.Peers(ctx)
	if err != nil {
		return nil, err
	}
	out := []control.ConflictItem{}
	for _, p := range peers {
		items := slices.SortedFunc(slices.Values(all[p.Name]), func(a, b engine.ReviewItem) int { return cmp.Compare(a.ID, b.ID) })
		for _, it := range items {
			out = append(out, control.ConflictItemOf(p.Name, it))
		}
	}
	return out, nil
}

func (d *direct) Conflict(ctx context.Context, peer string, number uint64) (control.ConflictDetail, error) {
	it, err := d.review(ctx, peer, number)
	if err != nil {
		return control.ConflictDetail{}, err
	}
	base, cur, other, err := d.e.ReviewContent(ctx, peer, number)
	if err != nil {
		return control.ConflictDetail{}, err
	}
	return control.ConflictDetailOf(peer, it, base, cur, other), nil
}

// review returns the conflict waiting with peer as number, or the error
// the daemon gives when there is none.
func (d *direct) review(ctx context.Context, peer string, number uint64) (engine.ReviewItem, error) {
	all, err := d.e.Reviews(ctx)
	if err != nil {
		return engine.ReviewItem{}, err
	}
	for _, it := range all[peer] {
		if it.ID == number {
			return it, nil
		}
	}
	return engine.ReviewItem{}, &control.Error{Status: http.StatusNotFound, Code: control.CodeNotFound, Message: fmt.Sprintf("no conflict %s#%d waits for review", peer, number),
		Advice: fmt.Sprintf("list them with: %s conflicts list", d.env.App.Name)}
}

func (d *direct) ApplyConflict(ctx context.Context, peer string, number uint64, req control.ApplyRequest) (control.ApplyResponse, error) {
	it, err := d.review(ctx, peer, number)
	if err != nil {
		return control.ApplyResponse{}, err
	}
	ch := engine.Choice{Force: req.Force, Merged: req.Merged}
	switch req.Keep {
	case "ours":
		ch.Keep = zerosync.VersionOurs
	case "theirs":
		ch.Keep = zerosync.VersionTheirs
	}
	if err := d.e.SettleReview(ctx, peer, number, ch); err != nil {
		if errors.Is(err, engine.ErrReviewChanged) {
			return control.ApplyResponse{}, &control.Error{Status: http.StatusConflict, Code: control.CodeChanged, Message: err.Error(),
				Advice: fmt.Sprintf("look at it again with: %s conflicts show %s; or replace it anyway with --force", d.env.App.Name, shellQuote(fmt.Sprintf("%s#%d", peer, number)))}
		}
		return control.ApplyResponse{}, err
	}
	return d.carry(ctx, control.ApplyResponse{Path: control.Path(it.Path)}), nil
}

// carry runs the sync that takes a change made in this host's tree to the
// peers, as the daemon does.
func (d *direct) carry(ctx context.Context, out control.ApplyResponse) control.ApplyResponse {
	rep, err := d.e.SyncOnce(ctx)
	if err != nil {
		out.SyncError = err.Error()
	}
	r := d.report(rep)
	out.Synced = &r
	return out
}

func (d *direct) Versions(ctx context.Context, path control.Path) ([]control.Version, error) {
	vs, err := d.e.Versions(ctx, string(path))
	if err != nil {
		return nil, err
	}
	out := []control.Version{}
	for _, v := range vs {
		out = append(out, control.VersionOf(v))
	}
	return out, nil
}

func (d *direct) RestoreVersion(ctx context.Context, path control.Path, id string) (control.ApplyResponse, error) {
	v, err := d.e.RestoreVersion(ctx, string(path), id)
	if errors.Is(err, fs.ErrNotExist) {
		return control.ApplyResponse{}, &control.Error{Status: http.StatusNotFound, Code: control.CodeNotFound, Message: err.Error(),
			Advice: fmt.Sprintf("list the versions of %s with: %s versions list %s", Name(string(path)), d.env.App.Name, typeable(string(path)))}
	}
	if err != nil {
		return control.ApplyResponse{}, err
	}
	version := control.VersionOf(v)
	return d.carry(ctx, control.ApplyResponse{Path: path, Version: &version}), nil
}

func (d *direct) Staged(ctx context.Context) ([]control.StagedItem, error) {
	items, err := d.e.Staged(ctx)
	if err != nil {
		return nil, err
	}
	out := []control.StagedItem{}
	for _, it := range items {
		out = append(out, control.StagedItemOf(it))
	}
	return out, nil
}

func (d *direct) StagedDetail(ctx context.Context, id uint64) (control.StagedDetail, error) {
	items, err := d.e.Staged(ctx)
	if err != nil {
		return control.StagedDetail{}, err
	}
	for _, it := range items {
		if it.ID == id {
			staged, ours, err := d.e.StagedContent(ctx, id)
			if err != nil {
				return control.StagedDetail{}, err
			}
			return control.StagedDetail{StagedItem: control.StagedItemOf(it), StagedText: staged, OursText: ours}, nil
		}
	}
	return control.StagedDetail{}, &control.Error{Status: http.StatusNotFound, Code: control.CodeNotFound,
		Message: fmt.Sprintf("staged change %d: no such staged change (applied, rejected, or replaced by a newer version)", id),
		Advice:  fmt.Sprintf("list them with: %s staged list", d.env.App.Name)}
}

func (d *direct) ApplyStaged(ctx context.Context, ids []uint64) (control.StagedResponse, error) {
	if len(ids) == 0 {
		items, err := d.e.Staged(ctx)
		if err != nil {
			return control.StagedResponse{}, err
		}
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		if len(ids) == 0 {
			return control.StagedResponse{}, nil
		}
	}
	rep, err := d.e.ApplyStaged(ctx, ids...)
	if errors.Is(err, engine.ErrNotStaged) {
		return control.StagedResponse{}, err
	}
	report := control.ReportOf(rep)
	out := control.StagedResponse{Report: &report}
	if err != nil {
		out.Error = err.Error()
		return out, nil
	}
	carried := d.carry(ctx, control.ApplyResponse{})
	out.Synced, out.SyncError = carried.Synced, carried.SyncError
	return out, nil
}

func (d *direct) RejectStaged(ctx context.Context, ids []uint64) (control.StagedResponse, error) {
	if err := d.e.RejectStaged(ctx, ids...); err != nil {
		return control.StagedResponse{}, err
	}
	carried := d.carry(ctx, control.ApplyResponse{})
	return control.StagedResponse{Synced: carried.Synced, SyncError: carried.SyncError}, nil
}

// errText returns err's message, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
