package ssh

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/agent"
	"github.com/zerosync/zerosync/internal/digest"
	"github.com/zerosync/zerosync/transport/remote"
	"github.com/zerosync/zerosync/transport/ssh/sshtest"
)

// fakeVersionEnv, set in the environment of an agent started from the test
// binary, makes it announce that version instead of [agent.Version].
const fakeVersionEnv = "ZEROSYNC_TEST_AGENT_VERSION"

// TestMain lets the test binary serve as the agent it installs on the
// test's sshd.
func TestMain(m *testing.M) {
	if v := os.Getenv(fakeVersionEnv); v != "" && len(os.Args) > 1 && os.Args[1] == agent.Arg {
		err := agent.Serve(context.Background(), os.Stdin, os.Stdout, agent.WithRemoteOptions(remote.WithVersion(v)))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	agent.Handle()
	os.Exit(m.Run())
}

// fixture is a real sshd and the options that reach it.
type fixture struct {
	srv *sshtest.Server
	// cache is zerosync's cache directory on the "remote" side.
	cache string
	opts  []Option
}

// newFixture starts an sshd and returns options for a transport that
// reaches it with no configuration file, the server's known_hosts, its
// client key, no ssh agent, and a cache directory of the test's own.
func newFixture(t testing.TB, srvOpts ...sshtest.Option) *fixture {
	t.Helper()
	srv := sshtest.Start(t, srvOpts...)
	f := &fixture{srv: srv, cache: filepath.Join(t.TempDir(), "cache")}
	f.opts = []Option{
		WithConfigFile("none"),
		WithKnownHosts(srv.KnownHosts),
		WithIdentityFile(srv.KeyFile),
		WithAgentSocket(""),
		WithRemoteCacheDir(f.cache),
		WithBackoff(10*time.Millisecond, 200*time.Millisecond),
		WithDialTimeout(20 * time.Second),
	}
	return f
}

// target names the server directly.
func (f *fixture) target() string { return f.srv.User + "@" + f.srv.Addr }

// transport returns a transport with the fixture's options and extra,
// closed at the end of the test.
func (f *fixture) transport(t testing.TB, extra ...Option) *Transport {
	t.Helper()
	tr, err := New(append(append([]Option{WithSelfInstall()}, f.opts...), extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// trust adds the server's host key under addr (a proxy in front of it) to
// its known_hosts file.
func (f *fixture) trust(t testing.TB, addr string) {
	t.Helper()
	fh, err := os.OpenFile(f.srv.KnownHosts, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteString(knownhosts.Line([]string{knownhosts.Normalize(addr)}, f.srv.HostKey) + "\n"); err != nil {
		t.Fatal(err)
	}
}

// agentPath is where the agent is installed in the fixture's cache.
func (f *fixture) agentPath() string { return filepath.Join(f.cache, "agent-"+agent.Version) }

// agentPIDs lists the running agents started from the fixture's cache.
func (f *fixture) agentPIDs(t testing.TB) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && strings.TrimSuffix(exe, " (deleted)") == f.agentPath() {
			out = append(out, pid)
		}
	}
	return out
}

// killAgents kills, by pid, the agents started from the fixture's cache.
func (f *fixture) killAgents(t testing.TB) int {
	t.Helper()
	pids := f.agentPIDs(t)
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			t.Fatal(err)
		}
	}
	return len(pids)
}

// newDir returns an empty directory.
func newDir(t testing.TB, name string) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func writeFile(t testing.TB, root, p string, data []byte) {
	t.Helper()
	full := filepath.Join(root, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// tree describes a directory for comparisons: each synced path with its
// kind, permission bits and digest or target. Reserved names are left out.
func tree(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if zerosync.IsReserved(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out = append(out, rel+" -> "+target)
		case d.IsDir():
			out = append(out, fmt.Sprintf("%s/ %o", rel, info.Mode().Perm()))
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out = append(out, fmt.Sprintf("%s %o %s", rel, info.Mode().Perm(), digest.Sum(b).Short()))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// tempFiles lists the temp files beneath root.
func tempFiles(root string) []string {
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), zerosync.TempPrefix) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// proxy is a loopback TCP proxy in front of the sshd that the test
// controls: it counts connections, cuts them, freezes them and slows them.
type proxy struct {
	l      net.Listener
	target string

	accepted atomic.Int64
	// up and down count the bytes forwarded towards the server and back
	// since the last arm.
	up, down atomic.Int64
	// cutUp and cutDown, when positive, cut every connection once that
	// many bytes went up (or down).
	cutUp, cutDown atomic.Int64
	// rate, when positive, limits each direction to that many bytes per
	// second.
	rate   atomic.Int64
	frozen atomic.Bool

	mu    sync.Mutex
	conns []net.Conn
	cuts  int
}

func startProxy(t testing.TB, target string) *proxy {
	t.Helper()
	return startProxyAt(t, "127.0.0.1:0", target)
}

// startProxyAt is [startProxy] listening on addr.
func startProxyAt(t testing.TB, addr, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, target: target}
	go p.serve()
	t.Cleanup(func() {
		l.Close()
		p.Cut()
	})
	return p
}

func (p *proxy) Addr() string { return p.l.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go p.pipe(s, c, &p.up, &p.cutUp)
		go p.pipe(c, s, &p.down, &p.cutDown)
	}
}

func (p *proxy) pipe(dst, src net.Conn, count, cutAt *atomic.Int64) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for p.frozen.Load() {
			time.Sleep(5 * time.Millisecond)
		}
		if n > 0 {
			if r := p.rate.Load(); r > 0 {
				time.Sleep(time.Duration(int64(n) * int64(time.Second) / r))
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			total := count.Add(int64(n))
			if c := cutAt.Load(); c > 0 && total >= c {
				cutAt.Store(0)
				p.Cut()
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Cut closes every connection, as a pulled cable does.
func (p *proxy) Cut() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.cuts++
	p.mu.Unlock()
	for _, c := range conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
}

// CutAfter cuts every connection once n more bytes went towards the
// server (up) or back (down).
func (p *proxy) CutAfter(up bool, n int64) {
	p.up.Store(0)
	p.down.Store(0)
	if up {
		p.cutUp.Store(n)
	} else {
		p.cutDown.Store(n)
	}
}

// copyFile copies a file with its mode.
func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
