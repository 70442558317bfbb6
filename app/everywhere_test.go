package app

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/control"
	"github.com/zerosync/zerosync/transport/ssh/sshtest"
)

// everyHost is one host of TestEverywhereOverSSH: its sshd (whose
// sessions, the agent's among them, see the host's own runtime
// directory), its tree and its state.
type everyHost struct {
	name, alias string
	srv         *sshtest.Server
	runtime     string
	root, state string
	// config is the host's own configuration file.
	config string

	cancel context.CancelFunc
	done   chan error
}

// newEveryHost starts the sshd of host name, reached as alias.
func newEveryHost(t *testing.T, tmp, name string) *everyHost {
	t.Helper()
	h := &everyHost{name: name, alias: name + "host", runtime: filepath.Join(tmp, name, "run"),
		root: filepath.Join(tmp, name, "tree"), state: filepath.Join(tmp, name, "state", "evtest.db"), config: filepath.Join(tmp, name, "evtest.toml")}
	require.NoError(t, os.MkdirAll(h.runtime, 0o700))
	require.NoError(t, os.WriteFile(h.config, []byte("# "+name+"\n"), 0o600))
	require.NoError(t, os.MkdirAll(h.root, 0o755))
	h.srv = sshtest.Start(t, sshtest.WithConfig(fmt.Sprintf("SetEnv XDG_RUNTIME_DIR=%s ZEROSYNC_CACHE_DIR=%s", h.runtime, filepath.Join(tmp, name, "cache"))))
	return h
}

// sshConfig is the ~/.ssh/config lines that name the host.
func (h *everyHost) sshConfig() string {
	return fmt.Sprintf("Host %s\n  HostName %s\n  Port %d\n  User %s\n  IdentityFile %s\n  UserKnownHostsFile %s\n",
		h.alias, h.srv.Host, h.srv.Port, h.srv.User, h.srv.KeyFile, h.srv.KnownHosts)
}

// everywhereApp is the engine of the test; it syncs chosen trees (with
// none chosen, the whole root).
func everywhereApp() *App { return &App{Name: "evtest", Trees: true} }

// cli runs the engine's command line as host h, with peer as its peer
// (NAME=ALIAS:TREE), in h's runtime directory.
func (h *everyHost) cli(t *testing.T, peer *everyHost, args ...string) (string, error) {
	t.Helper()
	t.Setenv("XDG_RUNTIME_DIR", h.runtime)
	all := append([]string{"--root", h.root, "--peer", peer.name + "=" + peer.alias + ":" + peer.root, "--state", h.state, "--config", h.config}, args...)
	var out bytes.Buffer
	err := everywhereApp().Run(context.Background(), all, Streams{In: strings.NewReader(""), Out: &out, Err: &out})
	return out.String(), err
}

// startDaemon runs h's daemon, syncing with peer, until stopDaemon or the
// end of the test, and waits for its socket.
func (h *everyHost) startDaemon(t *testing.T, peer *everyHost) {
	t.Helper()
	t.Setenv("XDG_RUNTIME_DIR", h.runtime)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	all := []string{"--root", h.root, "--peer", peer.name + "=" + peer.alias + ":" + peer.root, "--state", h.state, "--config", h.config, "run"}
	out := &syncBuf{}
	go func() {
		h.done <- everywhereApp().Run(ctx, all, Streams{In: strings.NewReader(""), Out: out, Err: out})
	}()
	t.Cleanup(func() { h.stopDaemon(t) })
	path := filepath.Join(h.runtime, "zerosync", "evtest.sock")
	eventually(t, "the daemon of "+h.name+" serves", func() bool {
		select {
		case err := <-h.done:
			t.Fatalf("the daemon of %s ended: %v\n%s", h.name, err, out.String())
		default:
		}
		_, err := os.Stat(path)
		return err == nil
	})
}

func (h *everyHost) stopDaemon(t *testing.T) {
	if h.cancel == nil {
		return
	}
	h.cancel()
	select {
	case err := <-h.done:
		assert.NoError(t, err, "the daemon of %s", h.name)
	case <-time.After(30 * time.Second):
		t.Errorf("the daemon of %s did not stop", h.name)
	}
	h.cancel = nil
}

// client speaks to h's daemon.
func (h *everyHost) client(t *testing.T) *control.Client {
	t.Helper()
	c, err := control.Dial(t.Context(), filepath.Join(h.runtime, "zerosync", "evtest.sock"))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func (h *everyHost) paused(t *testing.T) bool {
	t.Helper()
	st, err := h.client(t).Status(t.Context())
	require.NoError(t, err)
	return st.Paused
}

// TestEverywhereOverSSH: two hosts, each with its own sshd and its own
// daemon of one engine (a hub and a spoke, each the other's peer), over
// the real loopback sshd with the agent. pause --everywhere on the hub
// pauses the spoke's daemon through the SSH connection the hub's engine
// holds; from the spoke, resume --everywhere reaches the hub; a spoke
// whose daemon is down when the hub pauses everywhere is listed as
// pending in the hub's status, and is paused once it is back; stop
// --everywhere from the spoke stops both daemons.
func TestEverywhereOverSSH(t *testing.T) {
	tmp := t.TempDir()
	hub, spoke := newEveryHost(t, tmp, "hub"), newEveryHost(t, tmp, "spoke")
	home := filepath.Join(tmp, "home")
	require.NoError(t, os.MkdirAll(filepath.Join(home, ".ssh"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte(hub.sshConfig()+spoke.sshConfig()), 0o600))
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	require.NoError(t, os.WriteFile(filepath.Join(hub.root, "a.txt"), []byte("from the hub\n"), 0o644))

	hub.startDaemon(t, spoke)
	spoke.startDaemon(t, hub)
	eventually(t, "the first sync", func() bool {
		b, _ := os.ReadFile(filepath.Join(spoke.root, "a.txt"))
		return string(b) == "from the hub\n"
	})

	// From the hub: the spoke's daemon pauses.
	out, err := hub.cli(t, spoke, "pause", "--everywhere")
	require.NoError(t, err, out)
	assert.Contains(t, out, "paused=true on every host (setting 1)")
	assert.True(t, hub.paused(t))
	eventually(t, "the spoke paused", func() bool { return spoke.paused(t) })
	_, err = os.Stat(filepath.Join(filepath.Dir(spoke.state), "evtest.paused"))
	assert.NoError(t, err, "the spoke's pause flag holds across a restart")
	eventually(t, "nothing pending on the hub", func() bool {
		st, err := hub.client(t).Status(t.Context())
		require.NoError(t, err)
		return len(st.Everywhere) == 1 && len(st.Everywhere[0].Pending) == 0
	})

	// From the spoke: it reaches the hub.
	out, err = spoke.cli(t, hub, "resume", "--everywhere")
	require.NoError(t, err, out)
	assert.Contains(t, out, "paused=false on every host (setting 2)")
	eventually(t, "the hub resumed", func() bool { return !hub.paused(t) })
	assert.False(t, spoke.paused(t))

	// The spoke's daemon is down: the setting waits for it.
	spoke.stopDaemon(t)
	out, err = hub.cli(t, spoke, "pause", "--everywhere")
	require.NoError(t, err, out)
	assert.Contains(t, out, "pending on spoke")
	var st control.Status
	eventually(t, "the hub tried the spoke", func() bool {
		st, err = hub.client(t).Status(t.Context())
		require.NoError(t, err)
		require.Len(t, st.Everywhere, 1)
		return st.Everywhere[0].Errors["spoke"] != ""
	})
	assert.Equal(t, []string{"spoke"}, st.Everywhere[0].Pending, "status lists the host that has not applied it")
	assert.Contains(t, st.Everywhere[0].Errors["spoke"], "no daemon of evtest answers")
	out, err = hub.cli(t, spoke, "status")
	require.NoError(t, err, out)
	assert.Contains(t, out, "on every host: paused=true (setting 3, from ")
	assert.Contains(t, out, "pending on spoke: it gets it when next reached")

	// Back: the spoke's daemon gets the setting from the hub.
	_, err = os.Stat(filepath.Join(filepath.Dir(spoke.state), "evtest.paused"))
	require.Error(t, err, "the spoke was resumed before it went down")
	spoke.startDaemon(t, hub)
	eventually(t, "the spoke paused after it came back", func() bool { return spoke.paused(t) })
	eventually(t, "nothing pending on the hub", func() bool {
		st, err := hub.client(t).Status(t.Context())
		require.NoError(t, err)
		return len(st.Everywhere[0].Pending) == 0
	})
	g, err := spoke.client(t).Settings(t.Context())
	require.NoError(t, err)
	require.Len(t, g, 1)
	assert.Equal(t, uint64(3), g[0].Gen)
	assert.Equal(t, "true", g[0].Value)

	// stop --everywhere from the spoke: both daemons stop.
	out, err = spoke.cli(t, hub, "stop", "--everywhere")
	require.NoError(t, err, out)
	for _, h := range []*everyHost{hub, spoke} {
		eventually(t, "the daemon of "+h.name+" stopped", func() bool {
			_, err := os.Stat(filepath.Join(h.runtime, "zerosync", "evtest.sock"))
			return err != nil
		})
	}
}

// eventually polls cond for up to a minute, failing the test with what it
// waited for.
// TestTreesEverywhereOverSSH: trees add --everywhere on the spoke sets
// the list on the hub too, through the SSH connection its engine holds:
// both daemons follow it live (an edit in the tree crosses, one outside it
// does not) and both configuration files keep it.
func TestTreesEverywhereOverSSH(t *testing.T) {
	tmp := t.TempDir()
	hub, spoke := newEveryHost(t, tmp, "hub"), newEveryHost(t, tmp, "spoke")
	home := filepath.Join(tmp, "home")
	require.NoError(t, os.MkdirAll(filepath.Join(home, ".ssh"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte(hub.sshConfig()+spoke.sshConfig()), 0o600))
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	for _, d := range []string{"app", "lib"} {
		require.NoError(t, os.MkdirAll(filepath.Join(hub.root, d), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(hub.root, d, "first.txt"), []byte(d+"\n"), 0o644))
	}
	hub.startDaemon(t, spoke)
	spoke.startDaemon(t, hub)
	eventually(t, "the whole root synced", func() bool {
		b, _ := os.ReadFile(filepath.Join(spoke.root, "lib", "first.txt"))
		return string(b) == "lib\n"
	})

	out, err := spoke.cli(t, hub, "trees", "add", "app", "--everywhere")
	require.NoError(t, err, out)
	assert.Contains(t, out, "trees")
	for _, h := range []*everyHost{spoke, hub} {
		eventually(t, "the trees set on "+h.name, func() bool {
			cfg, err := ReadConfig(h.config)
			require.NoError(t, err)
			return slices.Equal(cfg.Trees, []string{"app"})
		})
		b, _ := os.ReadFile(h.config)
		assert.Contains(t, string(b), "# "+h.name, "the comments of %s's file kept", h.name)
		out, err := h.cli(t, map[*everyHost]*everyHost{hub: spoke, spoke: hub}[h], "trees", "list")
		require.NoError(t, err, out)
		assert.Equal(t, "app\n", out, "the trees %s's daemon follows", h.name)
	}

	// The hub's daemon follows them: an edit in app crosses, one in lib
	// does not.
	require.NoError(t, os.WriteFile(filepath.Join(hub.root, "lib", "later.txt"), []byte("outside\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(hub.root, "app", "later.txt"), []byte("inside\n"), 0o644))
	eventually(t, "the edit in app on the spoke", func() bool {
		b, _ := os.ReadFile(filepath.Join(spoke.root, "app", "later.txt"))
		return string(b) == "inside\n"
	})
	_, err = hub.client(t).Flush(t.Context())
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(spoke.root, "lib", "later.txt"))
	assert.ErrorIs(t, err, os.ErrNotExist, "lib is no longer synced")
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuf is a buffer safe for concurrent writers.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
