package control_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/control"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/memory"
)

// hostLink is a peer's tree that also reaches the daemon on the peer's
// "host": the socket of another server of this test, unless cut.
type hostLink struct {
	*memory.Endpoint
	mu   sync.Mutex
	sock string
	cut  bool
}

func (h *hostLink) DialControl(ctx context.Context, engine string) (net.Conn, error) {
	h.mu.Lock()
	sock, cut := h.sock, h.cut
	h.mu.Unlock()
	if cut || sock == "" {
		return nil, errors.New("host unreachable")
	}
	var d net.Dialer
	return d.DialContext(ctx, "unix", sock)
}

func (h *hostLink) setCut(on bool) {
	h.mu.Lock()
	h.cut = on
	h.mu.Unlock()
}

// everyHost is one host's daemon of the engine "demo": an engine over
// memory trees, its shared settings and its control server.
type everyHost struct {
	name  string
	e     *engine.Engine
	ev    *control.Everywhere
	sock  string
	links map[string]*hostLink
	mode  string
	stops int
	mu    sync.Mutex
}

func (h *everyHost) stopped() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stops
}

func (h *everyHost) getMode() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mode
}

// startHost runs the daemon of host name, whose peers are the hosts
// named in peers (linked later with link).
func startHost(t *testing.T, name string, peers ...string) *everyHost {
	t.Helper()
	dir := t.TempDir()
	h := &everyHost{name: name, links: map[string]*hostLink{}, sock: filepath.Join(dir, "demo.sock")}
	var ps []engine.Peer
	for _, p := range peers {
		l := &hostLink{Endpoint: memory.New(memory.WithName(p))}
		h.links[p] = l
		ps = append(ps, engine.Peer{Name: p, Endpoint: l})
	}
	var err error
	h.e, err = engine.New(engine.Peer{Name: "local", Endpoint: memory.New()}, ps, engine.WithName("demo"), engine.WithVolatileState())
	require.NoError(t, err)
	t.Cleanup(func() { h.e.Close() })
	h.ev, err = control.NewEverywhere(h.e, filepath.Join(dir, "settings.json"), control.WithHostName(name), control.WithRecheck(100*time.Millisecond),
		control.WithSetting("paused", false, func(ctx context.Context, v string) error {
			if v == "true" {
				h.e.Pause()
			} else {
				h.e.Resume()
			}
			return nil
		}),
		control.WithSetting("stop", true, func(ctx context.Context, v string) error {
			h.mu.Lock()
			h.stops++
			h.mu.Unlock()
			return nil
		}),
		control.WithSetting("mode", false, func(ctx context.Context, v string) error {
			h.mu.Lock()
			h.mode = v
			h.mu.Unlock()
			return nil
		}))
	require.NoError(t, err)
	srv, err := control.New(h.e, control.WithEverywhere(h.ev))
	require.NoError(t, err)
	l, err := net.Listen("unix", h.sock)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(l) })
	wg.Go(func() { h.e.Run(ctx) })
	wg.Go(func() { h.ev.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		srv.Shutdown(context.Background())
		wg.Wait()
	})
	return h
}

// link lets host a reach the daemon of its peer b.
func link(a, b *everyHost) {
	a.links[b.name].mu.Lock()
	a.links[b.name].sock = b.sock
	a.links[b.name].mu.Unlock()
}

func pending(t *testing.T, h *everyHost, key string) []string {
	t.Helper()
	for _, s := range h.ev.Status() {
		if s.Key == key {
			return s.Pending
		}
	}
	return nil
}

// TestEverywhere: a setting made on a spoke reaches its hub and, through
// it, the other spoke; a spoke that cannot be reached is listed as pending
// and gets the setting when it can be reached again; the latest setting
// wins everywhere, and nothing loops.
func TestEverywhere(t *testing.T) {
	hub := startHost(t, "hub", "s1", "s2")
	s1 := startHost(t, "s1", "hub")
	s2 := startHost(t, "s2", "hub")
	link(hub, s1)
	link(hub, s2)
	link(s1, hub)
	link(s2, hub)

	// From a spoke: it reaches the hub, and the hub the other spoke.
	st, err := s1.ev.Set(t.Context(), "paused", "true")
	require.NoError(t, err)
	assert.Equal(t, uint64(1), st.Gen)
	waitFor(t, "every host paused", func() bool {
		return hub.e.Status().Paused && s1.e.Status().Paused && s2.e.Status().Paused
	})
	waitFor(t, "nothing pending", func() bool {
		return len(pending(t, hub, "paused")) == 0 && len(pending(t, s1, "paused")) == 0 && len(pending(t, s2, "paused")) == 0
	})

	// s2 is cut off: the hub lists it as pending, the others apply.
	hub.links["s2"].setCut(true)
	c, err := control.DialWith(t.Context(), "hub", func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", hub.sock)
	})
	require.NoError(t, err)
	defer c.Close()
	resp, err := c.SetEverywhere(t.Context(), control.SetRequest{Key: "paused", Value: "false"})
	require.NoError(t, err)
	assert.True(t, resp.Applied)
	assert.Equal(t, uint64(2), resp.Setting.Gen)
	waitFor(t, "s1 resumed", func() bool { return !s1.e.Status().Paused && !hub.e.Status().Paused })
	assert.True(t, s2.e.Status().Paused, "s2 cannot be reached")
	// The hub tries its peers one after the other: s2's failure is
	// recorded after s1 got the setting.
	var status control.Status
	waitFor(t, "the hub's failure to reach s2 recorded", func() bool {
		var err error
		status, err = c.Status(t.Context())
		require.NoError(t, err)
		require.Len(t, status.Everywhere, 1)
		return status.Everywhere[0].Errors["s2"] != ""
	})
	assert.Equal(t, []string{"s2"}, status.Everywhere[0].Pending)
	assert.Equal(t, []string{"s1"}, status.Everywhere[0].Reached)
	assert.Contains(t, status.Everywhere[0].Errors["s2"], "host unreachable")

	// Back: s2 gets it.
	hub.links["s2"].setCut(false)
	waitFor(t, "s2 resumed", func() bool { return !s2.e.Status().Paused })
	waitFor(t, "nothing pending on the hub", func() bool { return len(pending(t, hub, "paused")) == 0 })
	g, _ := s2.ev.Get("paused")
	assert.Equal(t, "hub", g.Host)

	// Two settings of another key: the later generation wins on all.
	_, err = s2.ev.Set(t.Context(), "mode", "git-only")
	require.NoError(t, err)
	waitFor(t, "git-only everywhere", func() bool {
		return hub.getMode() == "git-only" && s1.getMode() == "git-only" && s2.getMode() == "git-only"
	})
	_, err = s1.ev.Set(t.Context(), "mode", "all")
	require.NoError(t, err)
	waitFor(t, "all everywhere", func() bool {
		return hub.getMode() == "all" && s1.getMode() == "all" && s2.getMode() == "all"
	})
	for _, h := range []*everyHost{hub, s1, s2} {
		s, _ := h.ev.Get("mode")
		assert.Equal(t, uint64(2), s.Gen, h.name)
	}

	// A key nobody may set is refused.
	_, err = c.SetEverywhere(t.Context(), control.SetRequest{Key: "root", Value: "/"})
	var ce *control.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, http.StatusBadRequest, ce.Status)
}

// TestEverywhereStop: a transient setting (stop) is passed on to the
// hosts that can be reached before it is applied, and never kept pending.
func TestEverywhereStop(t *testing.T) {
	hub := startHost(t, "hub", "s1", "s2")
	s1 := startHost(t, "s1", "hub")
	s2 := startHost(t, "s2", "hub")
	link(hub, s1)
	link(hub, s2)
	link(s1, hub)
	link(s2, hub)
	hub.links["s2"].setCut(true)
	_, err := s1.ev.Set(t.Context(), "stop", "now")
	require.NoError(t, err)
	// Passed on synchronously: the hub had it (and applied it) before s1
	// applied it.
	assert.Equal(t, 1, s1.stopped())
	assert.Equal(t, 1, hub.stopped())
	assert.Equal(t, 0, s2.stopped(), "s2 cannot be reached")
	st := pending(t, hub, "stop")
	assert.Equal(t, []string{"s2"}, st, "listed, but not retried")
}

// TestEverywhereDurable: settings and what each peer acknowledged outlive
// the daemon: a new one on the same file still knows what is pending,
// under the same ID, and passes it on.
func TestEverywhereDurable(t *testing.T) {
	hub := startHost(t, "hub", "s1")
	s1 := startHost(t, "s1", "hub")
	hub.links["s1"].setCut(true)
	link(hub, s1)
	file := filepath.Join(t.TempDir(), "settings.json")
	ev1, err := control.NewEverywhere(hub.e, file, control.WithSetting("mode", false, func(context.Context, string) error { return nil }))
	require.NoError(t, err)
	_, err = ev1.Set(t.Context(), "mode", "all")
	require.NoError(t, err)
	assert.NotEmpty(t, ev1.Push(t.Context())["s1"], "s1 cannot be reached")

	ev2, err := control.NewEverywhere(hub.e, file, control.WithSetting("mode", false, func(context.Context, string) error { return nil }))
	require.NoError(t, err)
	got, ok := ev2.Get("mode")
	require.True(t, ok)
	assert.Equal(t, "all", got.Value)
	s, _ := ev1.Get("mode")
	assert.Equal(t, s.Origin, got.Origin, "the same ID")
	require.Len(t, ev2.Status(), 1)
	assert.Equal(t, []string{"s1"}, ev2.Status()[0].Pending)

	hub.links["s1"].setCut(false)
	assert.Empty(t, ev2.Push(t.Context()))
	assert.Empty(t, ev2.Status()[0].Pending)
	assert.Equal(t, "all", s1.getMode())
}
