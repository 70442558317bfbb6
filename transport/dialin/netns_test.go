package dialin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/agent"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/local"
	"github.com/zerosync/zerosync/transport/ssh"
	"github.com/zerosync/zerosync/transport/ssh/sshtest"
)

// The two hosts' addresses, on a link between two network namespaces the
// test makes; no other address is used.
const (
	hubIP   = "10.201.0.1"
	spokeIP = "10.201.0.2"
)

// namespaces are the hub's and the spoke's network namespaces, joined by
// a veth pair; the spoke's firewall drops every new connection coming in.
type namespaces struct {
	hub, spoke string
}

// spokeRules is the spoke's firewall: what it sent out may answer, its
// own loopback is open, every other new connection is dropped, as a host
// behind NAT or a firewall sees it.
const spokeRules = `table inet zerosync_test {
	chain input {
		type filter hook input priority 0; policy accept;
		ct state established,related accept
		iifname "lo" accept
		ct state new drop
	}
}
`

// newNamespaces makes the namespaces and removes them, and the link,
// when the test ends, after everything registered later.
func newNamespaces(t *testing.T) *namespaces {
	t.Helper()
	id := strconv.Itoa(os.Getpid())
	n := &namespaces{hub: "zs-hub-" + id, spoke: "zs-spoke-" + id}
	vhub, vspoke := "zsh"+id, "zss"+id
	t.Cleanup(func() {
		for _, args := range [][]string{{"netns", "del", n.hub}, {"netns", "del", n.spoke}, {"link", "del", vhub}} {
			exec.Command("ip", args...).Run() // what was never made is not there to remove
		}
	})
	run := func(stdin string, name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	run("", "ip", "netns", "add", n.hub)
	run("", "ip", "netns", "add", n.spoke)
	run("", "ip", "link", "add", vhub, "type", "veth", "peer", "name", vspoke)
	run("", "ip", "link", "set", vhub, "netns", n.hub)
	run("", "ip", "link", "set", vspoke, "netns", n.spoke)
	for _, h := range []struct{ ns, dev, ip string }{{n.hub, vhub, hubIP}, {n.spoke, vspoke, spokeIP}} {
		run("", "ip", "-n", h.ns, "addr", "add", h.ip+"/30", "dev", h.dev)
		run("", "ip", "-n", h.ns, "link", "set", h.dev, "up")
		run("", "ip", "-n", h.ns, "link", "set", "lo", "up")
	}
	run(spokeRules, "ip", "netns", "exec", n.spoke, "nft", "-f", "-")
	return n
}

// dialFrom connects to addr over TCP from inside the network namespace
// ns, giving up after timeout. It runs on a thread of its own that is
// moved into ns and ends with the call.
func dialFrom(ns, addr string, timeout time.Duration) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread, in the other namespace, ends with
		// this goroutine.
		runtime.LockOSThread()
		f, err := os.Open(filepath.Join("/run/netns", ns))
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		c, err := net.DialTimeout("tcp", addr, timeout)
		if err == nil {
			c.Close()
		}
		errc <- err
	}()
	return <-errc
}

// spokeEnv carries a spokeConfig, as JSON, to the test binary run as the
// spoke process.
const spokeEnv = "ZEROSYNC_DIALIN_TEST_SPOKE"

// spokeConfig is what the spoke process needs.
type spokeConfig struct {
	Hub        string // user@host:port of the hub's sshd
	Socket     string // the socket on the hub
	Root       string // the tree offered
	KnownHosts string
	Key        string
	Cache      string
	Knock      string // an address to listen on, for the hub to try
}

// runSpoke is the spoke process: it listens on the knock address, says
// so, and offers its tree to the hub until it is stopped.
func runSpoke() int {
	var c spokeConfig
	if err := json.Unmarshal([]byte(os.Getenv(spokeEnv)), &c); err != nil {
		fmt.Fprintln(os.Stderr, "spoke:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	knock, err := net.Listen("tcp", c.Knock)
	if err != nil {
		fmt.Fprintln(os.Stderr, "spoke:", err)
		return 1
	}
	defer knock.Close()
	go func() {
		for {
			conn, err := knock.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	tr, err := ssh.New(ssh.WithConfigFile("none"), ssh.WithKnownHosts(c.KnownHosts), ssh.WithIdentityFile(c.Key),
		ssh.WithAgentSocket(""), ssh.WithBackoff(50*time.Millisecond, time.Second), ssh.WithLogger(log))
	if err != nil {
		fmt.Fprintln(os.Stderr, "spoke:", err)
		return 1
	}
	defer tr.Close()
	serve, err := Server(c.Root, agent.WithCacheDir(c.Cache), agent.WithLogger(log))
	if err != nil {
		fmt.Fprintln(os.Stderr, "spoke:", err)
		return 1
	}
	fmt.Println("listening")
	if err := tr.Offer(ctx, c.Hub, c.Socket, serve); err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "spoke:", err)
		return 1
	}
	return 0
}

// spokeProc is the spoke process, run in the spoke's namespace.
type spokeProc struct {
	t   *testing.T
	ns  string
	cfg spokeConfig
	cmd *exec.Cmd
	log *lockedBuffer
}

// start runs the spoke and waits until it listens on its knock address.
func (s *spokeProc) start() {
	s.t.Helper()
	exe, err := os.Executable()
	require.NoError(s.t, err)
	b, err := json.Marshal(s.cfg)
	require.NoError(s.t, err)
	cmd := exec.Command("ip", "netns", "exec", s.ns, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), spokeEnv+"="+string(b))
	if s.log == nil {
		s.log = &lockedBuffer{}
	}
	cmd.Stderr = s.log
	out, err := cmd.StdoutPipe()
	require.NoError(s.t, err)
	require.NoError(s.t, cmd.Start())
	s.cmd = cmd
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "listening\n" {
		s.kill()
		s.t.Fatalf("the spoke process did not start: %q\n%s", line, s.log)
	}
}

// kill kills the spoke process, by its id, and waits for it.
func (s *spokeProc) kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// lockedBuffer is a buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSpokeBehindFirewall: a spoke whose firewall drops every connection
// the hub could make dials in to the hub's sshd and offers its tree; the
// hub's engine syncs with it both ways, reports it away (an error, no
// deletion) while its process is gone, and catches up when it is back.
func TestSpokeBehindFirewall(t *testing.T) {
	ns := newNamespaces(t)
	srv := sshtest.Start(t, sshtest.WithNetns(ns.hub, hubIP), sshtest.WithConfig("StreamLocalBindUnlink yes"))
	ctx := t.Context()
	tmp := t.TempDir()
	hubRoot, spokeRoot := filepath.Join(tmp, "hub"), filepath.Join(tmp, "spoke")
	for _, d := range []string{hubRoot, spokeRoot} {
		require.NoError(t, os.Mkdir(d, 0o755))
	}
	write := func(root, name, body string) {
		t.Helper()
		require.NoError(t, os.WriteFile(filepath.Join(root, name), []byte(body), 0o644))
	}
	read := func(root, name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, name))
		require.NoError(t, err, "%s in %s", name, root)
		return string(b)
	}
	write(hubRoot, "hub.txt", "from the hub\n")
	write(spokeRoot, "spoke.txt", "from the spoke\n")

	// The hub: its tree and the spoke's socket, in an engine.
	socket := filepath.Join(shortDir(t), "dialin", "laptop.sock")
	ep, err := New("laptop", socket, WithBackoff(20*time.Millisecond, 200*time.Millisecond))
	require.NoError(t, err)
	defer ep.Close()
	ours, err := local.New(hubRoot, local.WithName("hub"))
	require.NoError(t, err)
	defer ours.Close()
	e, err := engine.New(engine.Peer{Name: "hub", Endpoint: ours}, []engine.Peer{{Name: "laptop", Endpoint: ep}},
		engine.WithStatePath(filepath.Join(tmp, "state", "hub.db")))
	require.NoError(t, err)
	defer e.Close()

	spoke := &spokeProc{t: t, ns: ns.spoke, cfg: spokeConfig{
		Hub: srv.User + "@" + srv.Addr, Socket: socket, Root: spokeRoot,
		KnownHosts: srv.KnownHosts, Key: srv.KeyFile, Cache: filepath.Join(tmp, "spoke-cache"),
		Knock: net.JoinHostPort(spokeIP, "2222"),
	}}
	t.Cleanup(func() {
		spoke.kill()
		if t.Failed() {
			t.Logf("--- spoke ---\n%s", spoke.log)
		}
	})
	spoke.start()

	// The hub cannot reach the spoke: its connection is dropped, though
	// the spoke listens (as its own namespace shows).
	err = dialFrom(ns.hub, spoke.cfg.Knock, 2*time.Second)
	var nerr net.Error
	require.True(t, errors.As(err, &nerr) && nerr.Timeout(), "the hub reached the spoke, or failed otherwise: %v", err)
	require.NoError(t, dialFrom(ns.spoke, spoke.cfg.Knock, 10*time.Second), "the spoke does not listen")
	require.NoError(t, dialFrom(ns.spoke, srv.Addr, 10*time.Second), "the spoke cannot reach the hub's sshd")

	syncs := func(what string) zerosync.Report {
		t.Helper()
		var rep zerosync.Report
		var err error
		deadline := time.Now().Add(60 * time.Second)
		for {
			rep, err = e.SyncOnce(ctx)
			if err == nil {
				return rep
			}
			if !errors.Is(err, ErrAway) || time.Now().After(deadline) {
				t.Fatalf("%s: %v", what, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	syncs("the first sync with the spoke")
	require.Equal(t, "from the spoke\n", read(hubRoot, "spoke.txt"))
	require.Equal(t, "from the hub\n", read(spokeRoot, "hub.txt"))

	// The spoke goes away: the hub says so, and deletes nothing.
	spoke.kill()
	var away error
	eventually(t, "the hub reports the spoke away", func() bool {
		rep, err := e.SyncOnce(ctx)
		require.Empty(t, rep.Applied, "a sync with the spoke away applied changes")
		if err == nil {
			return false
		}
		require.ErrorIs(t, err, ErrAway)
		away = err
		return strings.Contains(err.Error(), "spoke laptop has not dialed in")
	})
	t.Logf("while the spoke is away: %v", away)
	require.Equal(t, "from the spoke\n", read(hubRoot, "spoke.txt"))
	require.Equal(t, "from the hub\n", read(hubRoot, "hub.txt"))

	// Both sides change while apart; the spoke catches up when it is back.
	write(spokeRoot, "spoke.txt", "edited on the spoke while away\n")
	write(hubRoot, "later.txt", "made on the hub while the spoke was away\n")
	spoke.start()
	rep := syncs("the sync after the spoke came back")
	require.NotEmpty(t, rep.Applied)
	require.Equal(t, "edited on the spoke while away\n", read(hubRoot, "spoke.txt"))
	require.Equal(t, "made on the hub while the spoke was away\n", read(spokeRoot, "later.txt"))
	require.Equal(t, "from the hub\n", read(spokeRoot, "hub.txt"))
}
