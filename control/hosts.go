package control

import (
	"cmp"
	"context"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
)

// HostState is the state of this host in [Status.Hosts]; the other hosts
// have a peer's state ([PeerConnected] and the others).
const HostState = "this host"

// HostStatus is one host of the engine's fleet in [Status.Hosts]: this
// host, its peers, and the peers of its peers, as their daemons tell. A
// spoke of a hub so lists every host, though it syncs with the hub alone.
type HostStatus struct {
	// Name is what the host is called by the host that reports it: this
	// host's name for itself, our name for a peer, a peer's name for its
	// own peers (see Via).
	Name string `json:"name"`
	// Via is the peer whose daemon reported the host; empty for this
	// host and its peers.
	Via string `json:"via,omitempty"`
	// Replica is the replica ID of the host's root, when known: a tree
	// that two hosts report is listed once.
	Replica  string `json:"replica,omitempty"`
	Location string `json:"location,omitempty"`
	// State is [HostState] for this host; otherwise the state of the
	// reporting host's pair with it ([PeerConnected] ...), and LastSync
	// when that pair last synced.
	State    string    `json:"state"`
	LastSync time.Time `json:"last_sync,omitzero"`
	// Paused is known for this host and for the peers whose daemon
	// answered.
	Paused *bool `json:"paused,omitempty"`
	// Daemon says whether the daemon of a peer answered ("answered"), or
	// why it could not be asked; empty for this host and for the hosts
	// reported by a peer.
	Daemon string `json:"daemon,omitempty"`
}

// hostsTimeout bounds how long a status with hosts waits for each peer's
// daemon: a host that does not answer in time is listed from what this
// host knows of it.
const hostsTimeout = 5 * time.Second

// daemonAnswered is [HostStatus.Daemon] for a daemon that answered.
const daemonAnswered = "answered"

// reachablePeers returns the peers of st, an engine's status, whose
// endpoints reach their host's daemon, by name.
func reachablePeers(e *engine.Engine, st Status) map[string]ControlDialer {
	out := map[string]ControlDialer{}
	for _, p := range st.Peers {
		if d, ok := controlDialer(e, p.Name); ok {
			out[p.Name] = d
		}
	}
	return out
}

// controlDialer returns what reaches the daemon on the host of e's peer
// name, when its endpoint can.
func controlDialer(e *engine.Engine, name string) (ControlDialer, bool) {
	ep, ok := e.PeerEndpoint(name)
	if !ok {
		return nil, false
	}
	return zerosync.As[ControlDialer](ep)
}

// hosts lists the hosts of st's fleet: this host (name), st's peers, and
// the peers that the daemons of reachable tell of, each asked at once and
// for at most hostsTimeout. A tree known by its replica ID is listed once,
// the first time it is met: this host, then its peers, then theirs.
func hosts(ctx context.Context, engineName, name string, st Status, reachable map[string]ControlDialer) []HostStatus {
	paused := st.Paused
	out := []HostStatus{{Name: name, Replica: st.Replica, Location: st.Root, State: HostState, Paused: &paused}}
	seen := map[string]bool{}
	if st.Replica != "" {
		seen[st.Replica] = true
	}
	answers := make([]*Status, len(st.Peers))
	errs := make([]error, len(st.Peers))
	var wg sync.WaitGroup
	for i, p := range st.Peers {
		d, ok := reachable[p.Name]
		if !ok {
			continue
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, hostsTimeout)
			defer cancel()
			c, err := DialWith(ctx, "the daemon of "+engineName+" on "+p.Name, func(ctx context.Context) (net.Conn, error) {
				return d.DialControl(ctx, engineName)
			})
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			ps, err := c.Status(ctx)
			if err != nil {
				errs[i] = err
				return
			}
			answers[i] = &ps
		})
	}
	wg.Wait()
	// Our peers first, then what their daemons told.
	for i, p := range st.Peers {
		h := HostStatus{Name: p.Name, Replica: p.Replica, Location: p.Location, State: p.State, LastSync: p.LastSync}
		switch {
		case answers[i] != nil:
			h.Daemon = daemonAnswered
			paused := answers[i].Paused
			h.Paused = &paused
			if h.Replica == "" {
				h.Replica = answers[i].Replica
			}
		case errs[i] != nil:
			h.Daemon = errs[i].Error()
		}
		if h.Replica != "" {
			seen[h.Replica] = true
		}
		out = append(out, h)
	}
	for i, p := range st.Peers {
		a := answers[i]
		if a == nil {
			continue
		}
		theirs := slices.Clone(a.Peers)
		slices.SortFunc(theirs, func(x, y PeerStatus) int { return cmp.Compare(x.Name, y.Name) })
		for _, q := range theirs {
			if q.Replica == "" || seen[q.Replica] {
				// A tree with no known replica cannot be told apart from one
				// listed already: it is left out rather than listed twice.
				continue
			}
			seen[q.Replica] = true
			out = append(out, HostStatus{Name: q.Name, Via: p.Name, Replica: q.Replica, Location: q.Location,
				State: q.State, LastSync: q.LastSync})
		}
	}
	return out
}

// hostName is this host's name for [Status.Hosts].
func hostName() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "this host"
}

// wantHosts reports whether a status request asks for the hosts.
func wantHosts(r *http.Request) bool {
	v := r.URL.Query().Get("hosts")
	return v == "1" || v == "true"
}

// StatusWithHosts returns the daemon's status with [Status.Hosts] filled:
// the daemon asks the daemons of its peers for theirs (each for at most a
// few seconds), so that every host of the fleet is listed.
func (c *Client) StatusWithHosts(ctx context.Context) (Status, error) {
	var st Status
	return st, c.call(ctx, http.MethodGet, "/v1/status?hosts=true", nil, &st)
}

// HostsOf lists the hosts of st as this host alone knows them, asking no
// daemon: this host and st's peers. A command run with no daemon uses it.
func HostsOf(st Status) []HostStatus {
	return hosts(context.Background(), st.Engine, hostName(), st, nil)
}
