package control

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
)

// Setting is a value that the daemons of one engine share across hosts
// (pause everywhere, a mode): the last one set wins. Gen and Origin order
// the settings of a key: a higher Gen wins, and between equal Gens the
// higher Origin; a daemon applies and passes on only a setting that wins
// over the one it has, so a setting travels each link at most once each
// way and never loops.
type Setting struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Gen   uint64 `json:"generation"`
	// Origin is the daemon that set it (a random ID of its state); Host
	// its host's name, for people.
	Origin string    `json:"origin"`
	Host   string    `json:"host"`
	Time   time.Time `json:"time"`
}

// newer reports whether s wins over t.
func (s Setting) newer(t Setting) bool {
	if s.Gen != t.Gen {
		return s.Gen > t.Gen
	}
	return s.Origin > t.Origin
}

// mark is what a peer is known to have of a key.
type mark struct {
	Gen    uint64 `json:"generation"`
	Origin string `json:"origin"`
}

func (m mark) has(s Setting) bool { return !s.newer(Setting{Gen: m.Gen, Origin: m.Origin}) }

// SetRequest is the body of POST /v1/settings: a person's setting (Key
// and Value) for every host, or (Setting) one that a peer's daemon passes
// on.
type SetRequest struct {
	Key     string   `json:"key,omitempty"`
	Value   string   `json:"value,omitempty"`
	Setting *Setting `json:"setting,omitempty"`
}

// SetResponse answers POST /v1/settings: the setting the daemon has now
// for the key (the one sent, or a newer one it had), whether it applied
// the one sent, and how it stands on the hosts.
type SetResponse struct {
	Setting Setting       `json:"setting"`
	Applied bool          `json:"applied"`
	Status  SettingStatus `json:"status"`
}

// SettingStatus is how a setting stands: the hosts (this engine's peers)
// that have not acknowledged it yet. They get it when next reached.
type SettingStatus struct {
	Setting
	// Pending are the peers that have not applied it yet; Reached, those
	// that have.
	Pending []string `json:"pending"`
	Reached []string `json:"reached"`
	// LastError says why each pending peer was not reached, when it was
	// tried.
	Errors map[string]string `json:"errors,omitempty"`
}

// ControlDialer is an endpoint on another host that reaches the daemon of
// an engine there (an SSH endpoint, through its agent).
type ControlDialer interface {
	DialControl(ctx context.Context, engine string) (net.Conn, error)
}

// Everywhere keeps the settings that an engine's daemons share across its
// hosts, durably, and passes each one on to every peer whose endpoint
// reaches its daemon ([ControlDialer]), retrying those that could not be
// reached until they acknowledge it. Build it with [NewEverywhere], serve
// it with [WithEverywhere], and let [Everywhere.Run] pass settings on.
// Its methods are safe for concurrent use.
type Everywhere struct {
	e         *engine.Engine
	file      string
	host      string
	log       *slog.Logger
	appliers  map[string]func(ctx context.Context, value string) error
	transient map[string]bool
	retry     time.Duration
	wake      chan struct{}

	mu    sync.Mutex
	st    everywhereState
	fails map[string]int
	next  map[string]time.Time
	errs  map[string]string
}

// everywhereState is what the file keeps.
type everywhereState struct {
	ID       string                     `json:"id"`
	Settings map[string]Setting         `json:"settings"`
	Acked    map[string]map[string]mark `json:"acked"`
}

// EverywhereOption configures [NewEverywhere].
type EverywhereOption func(*Everywhere) error

// WithSetting lets key be set everywhere: apply makes value take effect
// on this host. A transient key (stop) is passed on to the peers that can
// be reached at once, before it is applied here, and never retried.
func WithSetting(key string, transient bool, apply func(ctx context.Context, value string) error) EverywhereOption {
	return func(ev *Everywhere) error {
		if key == "" || apply == nil {
			return errors.New("control: a setting needs a key and an apply function")
		}
		ev.appliers[key] = apply
		if transient {
			ev.transient[key] = true
		}
		return nil
	}
}

// WithHostName names this host in the settings it sets; the default is
// [os.Hostname].
func WithHostName(name string) EverywhereOption {
	return func(ev *Everywhere) error {
		if name == "" {
			return errors.New("control: empty host name")
		}
		ev.host = name
		return nil
	}
}

// WithEverywhereLogger sets the logger; the default discards everything.
func WithEverywhereLogger(l *slog.Logger) EverywhereOption {
	return func(ev *Everywhere) error {
		if l == nil {
			return errors.New("control: nil logger")
		}
		ev.log = l
		return nil
	}
}

// WithRecheck sets how often [Everywhere.Run] tries again the peers that
// have not acknowledged a setting, at most (30 s by default; a peer that
// failed waits 1 s doubling up to it).
func WithRecheck(d time.Duration) EverywhereOption {
	return func(ev *Everywhere) error {
		if d <= 0 {
			return fmt.Errorf("control: recheck %v out of range", d)
		}
		ev.retry = d
		return nil
	}
}

// NewEverywhere returns the shared settings of engine e, kept in file
// (created, mode 0600, when missing).
func NewEverywhere(e *engine.Engine, file string, opts ...EverywhereOption) (*Everywhere, error) {
	if e == nil || file == "" {
		return nil, errors.New("control: everywhere needs an engine and a file")
	}
	ev := &Everywhere{e: e, file: file, log: slog.New(slog.DiscardHandler), appliers: map[string]func(context.Context, string) error{},
		transient: map[string]bool{}, retry: 30 * time.Second, wake: make(chan struct{}, 1),
		fails: map[string]int{}, next: map[string]time.Time{}, errs: map[string]string{}}
	if h, err := os.Hostname(); err == nil {
		ev.host = h
	}
	for _, o := range opts {
		if err := o(ev); err != nil {
			return nil, err
		}
	}
	if err := ev.load(); err != nil {
		return nil, err
	}
	return ev, nil
}

// load reads the file, or starts a new state with a fresh ID.
func (ev *Everywhere) load() error {
	b, err := os.ReadFile(ev.file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		var id [8]byte
		rand.Read(id[:])
		ev.st = everywhereState{ID: hex.EncodeToString(id[:])}
	case err != nil:
		return fmt.Errorf("control: settings: %w", err)
	default:
		if err := json.Unmarshal(b, &ev.st); err != nil || ev.st.ID == "" {
			return fmt.Errorf("control: settings file %s is damaged (%v); remove it to start again", ev.file, err)
		}
	}
	if ev.st.Settings == nil {
		ev.st.Settings = map[string]Setting{}
	}
	if ev.st.Acked == nil {
		ev.st.Acked = map[string]map[string]mark{}
	}
	return ev.saveLocked()
}

// saveLocked writes the state atomically; ev.mu is held (or ev is not
// shared yet).
func (ev *Everywhere) saveLocked() error {
	b, err := json.MarshalIndent(ev.st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(ev.file), 0o700); err != nil {
		return fmt.Errorf("control: settings: %w", err)
	}
	tmp := ev.file + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("control: settings: %w", err)
	}
	if err := os.Rename(tmp, ev.file); err != nil {
		return fmt.Errorf("control: settings: %w", err)
	}
	return nil
}

// Set sets key to value on every host, as a person asks: a new
// generation, applied here, then passed on (see [Everywhere.Run]). It
// returns how the setting stands.
func (ev *Everywhere) Set(ctx context.Context, key, value string) (SettingStatus, error) {
	if ev.appliers[key] == nil {
		return SettingStatus{}, fmt.Errorf("control: %q cannot be set everywhere", key)
	}
	ev.mu.Lock()
	cur := ev.st.Settings[key]
	s := Setting{Key: key, Value: value, Gen: cur.Gen + 1, Origin: ev.st.ID, Host: ev.host, Time: time.Now().UTC()}
	ev.mu.Unlock()
	if _, err := ev.Receive(ctx, s); err != nil {
		return SettingStatus{}, err
	}
	return ev.status(key), nil
}

// Receive takes a setting a peer passes on (or Set's): when it wins over
// the one this daemon has, it is recorded, applied, and passed on to
// the peers. It returns whether it was applied; a setting that does not
// win is not, and the caller learns the winner from [Everywhere.Get].
func (ev *Everywhere) Receive(ctx context.Context, s Setting) (bool, error) {
	apply := ev.appliers[s.Key]
	if apply == nil {
		return false, fmt.Errorf("control: %q cannot be set everywhere", s.Key)
	}
	ev.mu.Lock()
	cur, ok := ev.st.Settings[s.Key]
	if ok && !s.newer(cur) {
		ev.mu.Unlock()
		return false, nil
	}
	ev.st.Settings[s.Key] = s
	err := ev.saveLocked()
	ev.mu.Unlock()
	if err != nil {
		return false, err
	}
	ev.log.InfoContext(ctx, "setting for every host", "key", s.Key, "value", s.Value, "generation", s.Gen, "from", s.Host)
	if ev.transient[s.Key] {
		// Passed on before it is applied: a stop would end this daemon.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
		ev.pushAll(pctx, true)
		cancel()
	} else {
		ev.Kick()
	}
	if err := apply(ctx, s.Value); err != nil {
		return true, fmt.Errorf("control: apply %s=%s: %w", s.Key, s.Value, err)
	}
	return true, nil
}

// Get returns the setting of key this daemon has; false when none.
func (ev *Everywhere) Get(key string) (Setting, bool) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	s, ok := ev.st.Settings[key]
	return s, ok
}

// Status returns how every setting stands, by key.
func (ev *Everywhere) Status() []SettingStatus {
	ev.mu.Lock()
	keys := slices.Sorted(maps.Keys(ev.st.Settings))
	ev.mu.Unlock()
	out := []SettingStatus{}
	for _, k := range keys {
		out = append(out, ev.status(k))
	}
	return out
}

// status returns how the setting of key stands.
func (ev *Everywhere) status(key string) SettingStatus {
	peers := ev.reachable()
	ev.mu.Lock()
	defer ev.mu.Unlock()
	s := ev.st.Settings[key]
	out := SettingStatus{Setting: s, Pending: []string{}, Reached: []string{}}
	for _, p := range peers {
		if ev.st.Acked[p.name][key].has(s) {
			out.Reached = append(out.Reached, p.name)
			continue
		}
		out.Pending = append(out.Pending, p.name)
		if e := ev.errs[p.name]; e != "" {
			if out.Errors == nil {
				out.Errors = map[string]string{}
			}
			out.Errors[p.name] = e
		}
	}
	return out
}

// remotePeer is a peer whose daemon can be reached.
type remotePeer struct {
	name string
	d    ControlDialer
}

// reachable returns the engine's peers whose endpoints reach a daemon.
func (ev *Everywhere) reachable() []remotePeer {
	ps, err := ev.e.Peers(context.Background())
	if err != nil {
		return nil
	}
	var out []remotePeer
	for _, p := range ps {
		if d, ok := controlDialer(ev.e, p.Name); ok {
			out = append(out, remotePeer{p.Name, d})
		}
	}
	return out
}

// Kick asks [Everywhere.Run] to try the pending peers now.
func (ev *Everywhere) Kick() {
	select {
	case ev.wake <- struct{}{}:
	default:
	}
}

// Run passes the settings on to the peers that have not acknowledged
// them, until ctx ends: at once when a setting changes, after each of the
// engine's cycles (to the peers that it synced with, and so reached), and
// otherwise every recheck interval, each failing peer after its own
// backoff.
func (ev *Everywhere) Run(ctx context.Context) {
	events, cancel := ev.e.Subscribe(engine.DefaultSubscribeBuffer)
	defer cancel()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ev.wake:
		case <-t.C:
		case evt, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if evt.Kind != zerosync.EventCycleEnd {
				continue
			}
			ev.reachedInCycle()
		}
		ev.pushAll(ctx, false)
		t.Reset(ev.untilNext())
	}
}

// reachedInCycle lets the peers that the last cycle synced with be tried
// at once.
func (ev *Everywhere) reachedInCycle() {
	ps, err := ev.e.Peers(context.Background())
	if err != nil {
		return
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for _, p := range ps {
		if p.Err == nil && !p.LastSync.IsZero() {
			delete(ev.next, p.Name)
		}
	}
}

// untilNext is how long Run waits before trying pending peers again.
func (ev *Everywhere) untilNext() time.Duration {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	d := ev.retry
	now := time.Now()
	for _, at := range ev.next {
		d = min(d, max(at.Sub(now), 0))
	}
	return d
}

// Push tries once every peer that has not acknowledged a setting, and
// returns what failed, by peer. A command with no daemon running uses it.
func (ev *Everywhere) Push(ctx context.Context) map[string]error {
	return ev.pushAll(ctx, true)
}

// pushAll passes the settings on to every peer missing one; all tries
// the peers that wait for their backoff too.
func (ev *Everywhere) pushAll(ctx context.Context, all bool) map[string]error {
	failed := map[string]error{}
	now := time.Now()
	for _, p := range ev.reachable() {
		ev.mu.Lock()
		var todo []Setting
		for k, s := range ev.st.Settings {
			if ev.transient[k] && !all {
				continue
			}
			if !ev.st.Acked[p.name][k].has(s) {
				todo = append(todo, s)
			}
		}
		wait := !all && now.Before(ev.next[p.name])
		ev.mu.Unlock()
		if len(todo) == 0 || wait {
			continue
		}
		slices.SortFunc(todo, func(a, b Setting) int { return strings.Compare(a.Key, b.Key) })
		if err := ev.push(ctx, p, todo); err != nil {
			failed[p.name] = err
			ev.mu.Lock()
			ev.fails[p.name]++
			ev.next[p.name] = time.Now().Add(min(time.Second<<min(ev.fails[p.name]-1, 16), ev.retry))
			ev.errs[p.name] = err.Error()
			ev.mu.Unlock()
			ev.log.DebugContext(ctx, "setting not passed on yet", "peer", p.name, "err", err)
			continue
		}
		ev.mu.Lock()
		delete(ev.fails, p.name)
		delete(ev.next, p.name)
		delete(ev.errs, p.name)
		ev.mu.Unlock()
	}
	return failed
}

// push sends settings to the daemon of peer p, records what it
// acknowledged, and takes a newer setting it had.
func (ev *Everywhere) push(ctx context.Context, p remotePeer, todo []Setting) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	name := ev.e.Name()
	c, err := DialWith(ctx, "the daemon of "+name+" on "+p.name, func(ctx context.Context) (net.Conn, error) {
		return p.d.DialControl(ctx, name)
	})
	if err != nil {
		return err
	}
	defer c.Close()
	for _, s := range todo {
		resp, err := c.SetEverywhere(ctx, SetRequest{Setting: &s})
		if err != nil {
			return err
		}
		got := resp.Setting
		if got.Key != s.Key {
			return fmt.Errorf("the daemon of %s on %s answered for %q, not %q", name, p.name, got.Key, s.Key)
		}
		ack := s
		if got.newer(s) {
			ack = got
			// The peer had a newer one: take it.
			if _, err := ev.Receive(ctx, got); err != nil {
				ev.log.WarnContext(ctx, "a newer setting from a peer", "peer", p.name, "key", got.Key, "err", err)
			}
		}
		ev.mu.Lock()
		if ev.st.Acked[p.name] == nil {
			ev.st.Acked[p.name] = map[string]mark{}
		}
		ev.st.Acked[p.name][s.Key] = mark{Gen: ack.Gen, Origin: ack.Origin}
		err = ev.saveLocked()
		ev.mu.Unlock()
		if err != nil {
			return err
		}
		ev.log.InfoContext(ctx, "setting passed on", "peer", p.name, "key", s.Key, "value", s.Value, "generation", s.Gen, "applied", resp.Applied)
	}
	return nil
}

// SetEverywhere sends a setting to the daemon: a person's (Key and Value),
// for every host, or one passed on from another daemon (Setting).
func (c *Client) SetEverywhere(ctx context.Context, req SetRequest) (SetResponse, error) {
	var out SetResponse
	return out, c.call(ctx, "POST", "/v1/settings", req, &out)
}

// Settings returns how the settings shared with every host stand.
func (c *Client) Settings(ctx context.Context) ([]SettingStatus, error) {
	var out []SettingStatus
	return out, c.call(ctx, "GET", "/v1/settings", nil, &out)
}
