package control_test

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/control"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/memory"
)

// fleetHost is one host of TestStatusWithHosts: a daemon over the host's
// own tree, whose peers are handles on the other hosts' trees (the same
// trees, as an SSH peer is), linked to their daemons.
type fleetHost struct {
	name  string
	tree  *memory.Endpoint
	sock  string
	e     *engine.Engine
	links map[string]*hostLink
}

func newFleetHost(t *testing.T, name string) *fleetHost {
	return &fleetHost{name: name, tree: memory.New(memory.WithName(name)), sock: filepath.Join(t.TempDir(), "demo.sock"), links: map[string]*hostLink{}}
}

// start runs h's daemon with peers, and links it to their daemons.
func (h *fleetHost) start(t *testing.T, peers ...*fleetHost) {
	t.Helper()
	var ps []engine.Peer
	for _, p := range peers {
		l := &hostLink{Endpoint: p.tree.Handle(), sock: p.sock}
		h.links[p.name] = l
		ps = append(ps, engine.Peer{Name: p.name, Endpoint: l})
	}
	var err error
	h.e, err = engine.New(engine.Peer{Name: "local", Endpoint: h.tree}, ps, engine.WithName("demo"), engine.WithVolatileState())
	require.NoError(t, err)
	t.Cleanup(func() { h.e.Close() })
	srv, err := control.New(h.e)
	require.NoError(t, err)
	l, err := net.Listen("unix", h.sock)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(l) })
	wg.Go(func() { h.e.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		srv.Shutdown(context.Background())
		wg.Wait()
	})
}

func (h *fleetHost) client(t *testing.T) *control.Client {
	t.Helper()
	c, err := control.DialWith(t.Context(), h.name, func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", h.sock)
	})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// hostsOf is, for each host in st.Hosts, its name and the peer that
// told of it.
func hostsOf(st control.Status) [][2]string {
	var out [][2]string
	for _, h := range st.Hosts[1:] {
		out = append(out, [2]string{h.Name, h.Via})
	}
	return out
}

// TestStatusWithHosts: a spoke's status lists every host of the fleet,
// the other spokes as its hub's daemon tells of them, each tree once (the
// hub lists itself among its spokes' peers, and is not listed twice); a
// hub whose daemon cannot be reached is listed with why, and the hosts
// behind it are not.
func TestStatusWithHosts(t *testing.T) {
	hub, s1, s2 := newFleetHost(t, "hub"), newFleetHost(t, "s1"), newFleetHost(t, "s2")
	hub.start(t, s1, s2)
	s1.start(t, hub)
	s2.start(t, hub)
	for _, h := range []*fleetHost{hub, s1, s2} {
		waitFor(t, h.name+" synced with every peer", func() bool {
			ps, err := h.e.Peers(t.Context())
			require.NoError(t, err)
			for _, p := range ps {
				if p.Replica == "" {
					return false
				}
			}
			return true
		})
	}

	st, err := s1.client(t).StatusWithHosts(t.Context())
	require.NoError(t, err)
	require.Len(t, st.Hosts, 3, "%+v", st.Hosts)
	assert.Equal(t, control.HostState, st.Hosts[0].State)
	assert.Equal(t, st.Replica, st.Hosts[0].Replica)
	assert.NotEmpty(t, st.Replica)
	assert.Equal(t, [][2]string{{"hub", ""}, {"s2", "hub"}}, hostsOf(st))
	assert.Equal(t, "answered", st.Hosts[1].Daemon)
	require.NotNil(t, st.Hosts[1].Paused)
	assert.False(t, *st.Hosts[1].Paused)
	assert.Equal(t, control.PeerConnected, st.Hosts[2].State, "s2 as the hub sees it")
	replicas := map[string]bool{}
	for _, h := range st.Hosts {
		replicas[h.Replica] = true
	}
	assert.Len(t, replicas, 3)

	st, err = hub.client(t).StatusWithHosts(t.Context())
	require.NoError(t, err)
	assert.Equal(t, [][2]string{{"s1", ""}, {"s2", ""}}, hostsOf(st), "the hub is not listed again as a peer of its spokes")

	// A plain status asks no daemon.
	st, err = s1.client(t).Status(t.Context())
	require.NoError(t, err)
	assert.Empty(t, st.Hosts)

	s1.links["hub"].setCut(true)
	st, err = s1.client(t).StatusWithHosts(t.Context())
	require.NoError(t, err)
	assert.Equal(t, [][2]string{{"hub", ""}}, hostsOf(st))
	assert.Contains(t, st.Hosts[1].Daemon, "host unreachable")
	assert.Nil(t, st.Hosts[1].Paused)
}
