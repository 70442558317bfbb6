package ssh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/zerosync/zerosync/transport/remote"
)

// Lingering agents (WithAgentLinger, WithLingeringAgents): the start script asks the agent to
// stay after its session, and says where its socket is (sock); later
// connections, of this process or of another that remembers the path,
// open an SSH channel straight to that socket (OpenSSH's stream-local
// forwarding, "direct-streamlocal@openssh.com") and speak the protocol
// over it: no session, no shell and its start-up files, no start script,
// no new agent. When the socket does not answer, or answers with another
// version, the agent is started as usual.

// memoFile names the file of the socket paths in the memo folder.
const memoFile = "agent-sockets.json"

// maxMemo bounds the memo file read.
const maxMemo = 1 << 20

// validSocket reports whether p, said by a host, can be the agent's socket
// there: an absolute path, short enough, with nothing odd in it, that
// names the socket of this version.
func validSocket(p string) bool {
	return strings.HasPrefix(p, "/") && len(p) <= remote.AgentSocketMax && path.Base(p) == remote.AgentSocket &&
		!strings.ContainsAny(p, "\x00\n\r") && path.Clean(p) == p
}

// socketMemo remembers where each host's agent lingers: in memory, and in
// a file of the memo folder when there is one, for the next process.
type socketMemo struct {
	dir string
	mu  sync.Mutex
	m   map[string]string // host key → socket path
}

// load reads the memo file once; a missing or unreadable file is an empty
// memo.
func (s *socketMemo) load() {
	if s.m != nil {
		return
	}
	s.m = map[string]string{}
	if s.dir == "" {
		return
	}
	f, err := os.Open(filepath.Join(s.dir, memoFile))
	if err != nil {
		return
	}
	defer f.Close()
	var m map[string]string
	if json.NewDecoder(io.LimitReader(f, maxMemo)).Decode(&m) != nil {
		return
	}
	for k, v := range m {
		if validSocket(v) {
			s.m[k] = v
		}
	}
}

// get returns the socket path remembered for key, or "".
func (s *socketMemo) get(key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	return s.m[key]
}

// set remembers p for key ("" forgets it) and saves the memo file when p
// is new.
func (s *socketMemo) set(key, p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load()
	if s.m[key] == p {
		return
	}
	if p == "" {
		delete(s.m, key)
	} else {
		s.m[key] = p
	}
	if s.dir == "" {
		return
	}
	b, err := json.Marshal(s.m)
	if err != nil || len(b) > maxMemo {
		return
	}
	// Another process may save at the same time: the last one wins, and a
	// path lost is learned again at the next start.
	f, err := os.CreateTemp(s.dir, "."+memoFile+".*")
	if err != nil {
		return
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(s.dir, memoFile))
	}
	if err != nil {
		os.Remove(f.Name())
	}
}

// socketPath returns where the agent of h lingers, when that is known: by
// the remote cache folder given as an absolute path, or as the host said.
func (h *host) socketPath() string {
	if d := h.t.cfg.remoteCacheDir; strings.HasPrefix(d, "/") {
		if p := path.Join(d, remote.AgentSocket); validSocket(p) {
			return p
		}
		return ""
	}
	return h.t.memo.get(h.hc.key())
}

// lingerTimeout bounds reaching a lingering agent, handshake included: one
// that is alive answers at once, and one that is stopped must not delay
// every connection by the whole dial timeout before an agent is started.
const lingerTimeout = 5 * time.Second

// errNoLinger: no agent lingers where one was looked for.
var errNoLinger = errors.New("no agent lingers there")

// lingering reaches the agent that lingers on the host, over a channel to
// its socket; it fails when there is none, or it does not answer as an
// agent of this version.
func (h *host) lingering(ctx context.Context, conn *sshConn) (*agentConn, error) {
	p := h.socketPath()
	if p == "" {
		return nil, errNoLinger
	}
	dctx, cancel := context.WithTimeout(ctx, min(h.t.cfg.dialTimeout, lingerTimeout))
	defer cancel()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-conn.done:
			cancel()
		case <-stop:
		}
	}()
	ch, err := conn.client.DialContext(dctx, "unix", p)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errNoLinger, p, err)
	}
	rpc, err := remote.Dial(dctx, ch, h.t.remoteOptions(h)...)
	if err != nil {
		ch.Close()
		return nil, fmt.Errorf("the agent at %s: %w", p, err)
	}
	if v := rpc.Agent().Version; v != remote.AgentVersion {
		rpc.Close()
		return nil, fmt.Errorf("the agent at %s is version %q, not %q", p, v, remote.AgentVersion)
	}
	ag := &agentConn{conn: conn, stream: ch, rpc: rpc, stderr: newTailWriter(h.log), done: make(chan struct{})}
	h.watchAgent(ag)
	h.t.stats.lingering.Add(1)
	return ag, nil
}

// lingerArgs returns the agent's arguments after remote.AgentArg that ask
// it to linger, or "".
func lingerArgs(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return " " + remote.AgentLingerArg + d.String()
}
