package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/zerosync/zerosync/agent"
	"github.com/zerosync/zerosync/control"
	"github.com/zerosync/zerosync/transport/ssh/sshtest"
)

// mainEnv makes this test binary the project command itself (its
// arguments are the command line), so that the six daemons of
// TestSixHosts are processes of the engine, each in its host's network
// namespace.
const mainEnv = "ZEROSYNC_PROJECT_TEST_MAIN"

// TestMain lets this test binary serve as the agent it uploads to the
// test sshds, and as the project command (mainEnv).
func TestMain(m *testing.M) {
	agent.Handle()
	if os.Getenv(mainEnv) == "1" {
		newApp().Main() // it exits
	}
	os.Exit(m.Run())
}

// sixWait bounds every wait of TestSixHosts.
const sixWait = 45 * time.Second

// sixHost is one host of TestSixHosts: a network namespace with one
// address on the test's LAN, its sshd (on port 22 of that address, so a
// new one can take its place), and the daemon of the project engine, with
// a home, runtime, configuration, state and cache directory of its own.
type sixHost struct {
	name, ns, ip string
	dir          string // holds the directories below
	home, run    string
	config       string // XDG_CONFIG_HOME
	state        string // XDG_STATE_HOME
	cache        string // ZEROSYNC_CACHE_DIR, where its agent is installed
	tree         string // the engine's root
	hostKey      string

	srv    *sshtest.Server
	daemon *exec.Cmd
	log    *sixLog
	exited chan struct{}
}

// sixLAN is the six hosts: network namespaces on one bridge, in a
// namespace of its own, with no route anywhere else.
type sixLAN struct {
	hosts     []*sixHost
	lan       string
	clientKey string // the key every daemon logs in with
	known     string // known_hosts naming every host's key on port 22
}

// ip runs ip(8) with args and fails the test with its output.
func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newSixLAN makes the namespaces (removed when the test ends, after
// everything registered later: the sshds, the daemons) and the hosts'
// directories, host keys and client key.
func newSixLAN(t *testing.T, tmp string, names ...string) *sixLAN {
	t.Helper()
	id := strconv.Itoa(os.Getpid())
	l := &sixLAN{lan: "zs6-lan-" + id}
	exe, err := os.Executable()
	require.NoError(t, err)
	for i, name := range names {
		h := &sixHost{name: name, ns: "zs6-" + name + "-" + id, ip: fmt.Sprintf("10.77.0.%d", i+1), dir: filepath.Join(tmp, name)}
		h.home, h.run, h.config = filepath.Join(h.dir, "home"), filepath.Join(h.dir, "run"), filepath.Join(h.dir, "config")
		h.state, h.cache, h.tree = filepath.Join(h.dir, "state"), filepath.Join(h.dir, "cache"), filepath.Join(h.dir, "tree")
		for _, d := range []string{filepath.Join(h.home, ".ssh"), h.run, filepath.Join(h.config, "zerosync"), h.state, h.cache, h.tree} {
			require.NoError(t, os.MkdirAll(d, 0o700))
		}
		// The agent the daemons would install on first use (a copy of
		// this test binary, tens of MB under -race, once per host and
		// peer) is there already.
		require.NoError(t, linkOrCopy(exe, filepath.Join(h.cache, "agent-"+agent.Version)))
		h.hostKey = filepath.Join(h.dir, "ssh_host_ed25519_key")
		sshtest.WriteKey(t, h.hostKey, "ed25519")
		l.hosts = append(l.hosts, h)
	}
	t.Cleanup(func() {
		for _, h := range l.hosts {
			killNetns(h.ns)
			exec.Command("ip", "netns", "del", h.ns).Run() // what was never made is not there to remove
		}
		exec.Command("ip", "netns", "del", l.lan).Run()
	})
	ip(t, "netns", "add", l.lan)
	ip(t, "-n", l.lan, "link", "add", "br0", "type", "bridge")
	ip(t, "-n", l.lan, "link", "set", "br0", "up")
	for i, h := range l.hosts {
		ip(t, "netns", "add", h.ns)
		port := fmt.Sprintf("p%d", i)
		ip(t, "-n", l.lan, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", h.ns)
		ip(t, "-n", l.lan, "link", "set", port, "master", "br0")
		ip(t, "-n", l.lan, "link", "set", port, "up")
		ip(t, "-n", h.ns, "addr", "add", h.ip+"/24", "dev", "eth0")
		ip(t, "-n", h.ns, "link", "set", "eth0", "up")
		ip(t, "-n", h.ns, "link", "set", "lo", "up")
	}

	l.clientKey = filepath.Join(tmp, "id_ed25519")
	sshtest.WriteKey(t, l.clientKey, "ed25519")
	var known, config strings.Builder
	for _, h := range l.hosts {
		b, err := os.ReadFile(h.hostKey + ".pub")
		require.NoError(t, err)
		fmt.Fprintf(&known, "%s %s", knownhosts.Normalize(h.ip+":22"), b)
		fmt.Fprintf(&config, "Host %s\n  HostName %s\n  Port 22\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n", h.name, h.ip, currentUser(t), l.clientKey)
	}
	l.known = filepath.Join(tmp, "known_hosts")
	require.NoError(t, os.WriteFile(l.known, []byte(known.String()), 0o600))
	for _, h := range l.hosts {
		require.NoError(t, os.WriteFile(filepath.Join(h.home, ".ssh", "config"), []byte(config.String()), 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(h.home, ".ssh", "known_hosts"), []byte(known.String()), 0o600))
	}
	return l
}

// linkOrCopy makes to the file from: a hard link, or a copy (mode 0700)
// when from is on another file system.
func linkOrCopy(from, to string) error {
	if os.Link(from, to) == nil {
		return nil
	}
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o700)
}

// killNetns kills what still runs in network namespace ns: the processes
// the test started there (sshd, its sessions, the agents, the daemon).
func killNetns(ns string) {
	out, _ := exec.Command("ip", "netns", "pids", ns).Output()
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func currentUser(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("id", "-un").Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

// startSSHD starts h's sshd in its namespace on h.ip:22 with h's host key,
// letting the client key log in; its sessions (the agents) see h's home,
// runtime and cache directories.
func (l *sixLAN) startSSHD(t *testing.T, h *sixHost) {
	t.Helper()
	env := fmt.Sprintf("SetEnv HOME=%s XDG_RUNTIME_DIR=%s ZEROSYNC_CACHE_DIR=%s", h.home, h.run, h.cache)
	h.srv = sshtest.Start(t, sshtest.WithNetns(h.ns, h.ip), sshtest.WithHostKeyFile(h.hostKey),
		sshtest.WithConfig("ListenAddress "+h.ip+":22", env))
	b, err := os.ReadFile(l.clientKey + ".pub")
	require.NoError(t, err)
	pub, _, _, _, err := ssh.ParseAuthorizedKey(b)
	require.NoError(t, err)
	h.srv.Authorize(t, pub)
}

// killSSHD kills h's sshd and every session it serves (the agents the
// other hosts' daemons started there), as a host whose sshd died: the
// connections to it break and new ones are refused. Only h's daemon is
// left running in its namespace. (A session's processes are not all
// below the listening sshd: the privilege-separated child may be left to
// init.)
func killSSHD(t *testing.T, h *sixHost) {
	t.Helper()
	h.srv.Stop()
	poll(t, "nothing but the daemon left in the namespace of "+h.name, func() (bool, string) {
		out, err := exec.Command("ip", "netns", "pids", h.ns).Output()
		require.NoError(t, err)
		var left []string
		for _, f := range strings.Fields(string(out)) {
			pid, err := strconv.Atoi(f)
			if err != nil || pid == h.daemon.Process.Pid {
				continue
			}
			syscall.Kill(pid, syscall.SIGKILL)
			left = append(left, f)
		}
		return len(left) == 0, "killed " + strings.Join(left, " ")
	})
}

// writeConfig writes h's configuration file: its tree, its peers (over
// SSH, by the Host names of its ~/.ssh/config) and a supervision short
// enough for the test.
func (h *sixHost) writeConfig(t *testing.T, peers ...*sixHost) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "root = %q\nai_merge = false\n\n", h.tree)
	for _, p := range peers {
		fmt.Fprintf(&b, "[[peer]]\nname = %q\nlocation = %q\n\n", p.name, p.name+":"+p.tree)
	}
	b.WriteString("[deadlines]\nconnect = '5s'\n\n[retry]\nfirst = '200ms'\nattempts = 3\nslow = '1s'\n")
	require.NoError(t, os.WriteFile(filepath.Join(h.config, "zerosync", "project.toml"), []byte(b.String()), 0o600))
}

// environ is the environment of h's commands: its own directories, no
// ssh-agent, nothing of a service manager or of the AI merge.
func (h *sixHost) environ() []string {
	env := []string{mainEnv + "=1", "HOME=" + h.home, "XDG_RUNTIME_DIR=" + h.run, "XDG_CONFIG_HOME=" + h.config,
		"XDG_STATE_HOME=" + h.state, "XDG_CACHE_HOME=" + h.cache, "ZEROSYNC_CACHE_DIR=" + h.cache, "USER=" + os.Getenv("USER")}
	for _, k := range []string{"PATH", "TMPDIR", "GORACE", "GOCOVERDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// command returns the project command with args, run as h, in its
// namespace.
func (h *sixHost) command(t *testing.T, args ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		panic(err) // a test binary knows where it is
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.ns, exe}, args...)...)
	cmd.Env = h.environ()
	return cmd
}

// cli runs the project command with args as h and returns what it
// printed; a failure fails the test.
func (h *sixHost) cli(t *testing.T, args ...string) string {
	t.Helper()
	out, err := h.try(t, args...)
	require.NoError(t, err)
	return out
}

// try runs the project command with args as h and returns what it
// printed, and an error that says so when it failed. It may be called
// from any goroutine.
func (h *sixHost) try(t *testing.T, args ...string) (string, error) {
	out, err := h.command(t, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("project %s on %s: %w\n%s", strings.Join(args, " "), h.name, err, out)
	}
	return string(out), nil
}

// onEach runs args as every host of hosts at once, and returns what each
// printed, by host; a failure fails the test.
func onEach(t *testing.T, hosts []*sixHost, args ...string) map[*sixHost]string {
	t.Helper()
	outs, errs := make([]string, len(hosts)), make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() { outs[i], errs[i] = h.try(t, args...) })
	}
	wg.Wait()
	m := map[*sixHost]string{}
	for i, h := range hosts {
		require.NoError(t, errs[i])
		m[h] = outs[i]
	}
	return m
}

// startDaemons runs "project run" on every host until the test ends
// (SIGTERM to all at once, then a bounded wait for each), and waits for
// their control sockets.
func (l *sixLAN) startDaemons(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		for _, h := range l.hosts {
			if h.daemon != nil {
				h.daemon.Process.Signal(syscall.SIGTERM)
			}
		}
		for _, h := range l.hosts {
			if h.daemon == nil {
				continue
			}
			select {
			case <-h.exited:
			case <-time.After(30 * time.Second):
				t.Errorf("the daemon of %s did not stop within 30s of SIGTERM", h.name)
				h.daemon.Process.Kill()
				<-h.exited
			}
			if strings.Contains(h.log.String(), "DATA RACE") {
				t.Errorf("the daemon of %s found a data race:\n%s", h.name, h.log)
			} else if t.Failed() {
				t.Logf("--- daemon of %s ---\n%s", h.name, h.log.tail(6000))
			}
		}
	})
	for _, h := range l.hosts {
		h.log = &sixLog{}
		cmd := h.command(t, "run")
		cmd.Stdout, cmd.Stderr = h.log, h.log
		require.NoError(t, cmd.Start())
		h.daemon, h.exited = cmd, make(chan struct{})
		go func() { cmd.Wait(); close(h.exited) }()
	}
	for _, h := range l.hosts {
		poll(t, "the daemon of "+h.name+" serves its socket", func() (bool, string) {
			select {
			case <-h.exited:
				t.Fatalf("the daemon of %s ended: %s\n%s", h.name, h.daemon.ProcessState, h.log)
			default:
			}
			_, err := os.Stat(h.socket())
			return err == nil, fmt.Sprint(err)
		})
	}
}

func (h *sixHost) socket() string { return filepath.Join(h.run, "zerosync", "project.sock") }

// status asks h's daemon for its status.
func (h *sixHost) status(t *testing.T) control.Status {
	t.Helper()
	c, err := control.Dial(t.Context(), h.socket())
	require.NoError(t, err, "the daemon of %s", h.name)
	defer c.Close()
	st, err := c.Status(t.Context())
	require.NoError(t, err, "the status of %s", h.name)
	return st
}

// peerState is the state of peer in st, "" when st has no such peer.
func peerState(st control.Status, peer string) string {
	for _, p := range st.Peers {
		if p.Name == peer {
			return p.State
		}
	}
	return ""
}

// path is name in h's tree.
func (h *sixHost) path(name string) string { return filepath.Join(h.tree, filepath.FromSlash(name)) }

func (h *sixHost) write(t *testing.T, name, body string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(h.path(name)), 0o755))
	require.NoError(t, os.WriteFile(h.path(name), []byte(body), 0o644))
}

// read returns name in h's tree, and whether it is there.
func (h *sixHost) read(name string) (string, bool) {
	b, err := os.ReadFile(h.path(name))
	return string(b), err == nil
}

// poll calls cond until it holds, for at most sixWait, and fails the test
// with what it waited for and cond's last word on why not.
func poll(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(sixWait)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %s", what, sixWait, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// reaches waits until every host of hosts holds body at name, and fails
// the test naming the hosts that do not.
func reaches(t *testing.T, what, name, body string, hosts ...*sixHost) {
	t.Helper()
	poll(t, what, func() (bool, string) {
		var missing []string
		for _, h := range hosts {
			if got, _ := h.read(name); got != body {
				missing = append(missing, fmt.Sprintf("%s holds %q", h.name, got))
			}
		}
		return len(missing) == 0, fmt.Sprintf("%s not on %s", name, strings.Join(missing, "; "))
	})
}

// statusJSON is the part of status --json the test reads.
type statusJSON struct {
	Engine string `json:"engine"`
	Root   string `json:"root"`
	Paused bool   `json:"paused"`
	Peers  []struct {
		Name     string `json:"name"`
		Location string `json:"location"`
		State    string `json:"state"`
		Failures int    `json:"failures"`
	} `json:"peers"`
	Hosts []struct {
		Name     string `json:"name"`
		Via      string `json:"via"`
		Replica  string `json:"replica"`
		Location string `json:"location"`
		State    string `json:"state"`
		Paused   *bool  `json:"paused"`
		Daemon   string `json:"daemon"`
	} `json:"hosts"`
	Everywhere []struct {
		Key     string   `json:"key"`
		Value   string   `json:"value"`
		Pending []string `json:"pending"`
	} `json:"everywhere"`
}

// TestSixHosts: six hosts, each a network namespace with its own sshd and
// its own daemon of the project engine, one of them the hub (every spoke
// its peer; each spoke has the hub as its peer), each tree holding a clone
// of one repository.
//   - An edit on a spoke reaches every other host through the hub.
//   - pause --everywhere from a spoke pauses every daemon: edits of one
//     file on two spokes stay apart; resume --everywhere brings them
//     together, merged line by line (diff3 against the file at HEAD).
//   - mode git-only --everywhere from a spoke switches all six: an
//     untracked file no longer crosses, a tracked edit still does.
//   - One spoke's sshd killed (its sessions too) while its own daemon is
//     paused: the hub's status shows it failed, the other spokes keep
//     syncing, and it catches up through the hub when a new sshd (same
//     address, same host key) is back.
//   - status --json on every host lists its peers (the hub's, the five
//     spokes) and the settings for every host, applied everywhere.
func TestSixHosts(t *testing.T) {
	start, last := time.Now(), time.Now()
	phase := func(what string) {
		t.Logf("%-48s %6.1fs (at %.1fs)", what, time.Since(last).Seconds(), time.Since(start).Seconds())
		last = time.Now()
	}
	tmp := t.TempDir()
	l := newSixLAN(t, tmp, "hub", "s1", "s2", "s3", "s4", "s5")
	hub, spokes := l.hosts[0], l.hosts[1:]
	s1, s2, s3, s4, s5 := spokes[0], spokes[1], spokes[2], spokes[3], spokes[4]
	for _, h := range l.hosts {
		l.startSSHD(t, h)
	}
	phase("namespaces and sshds")

	// One repository, cloned on every host; every host syncs everything
	// (mode all) to begin with.
	origin := filepath.Join(tmp, "origin")
	require.NoError(t, os.MkdirAll(origin, 0o755))
	shared := "one\ntwo\nthree\nfour\nfive\nsix\nseven\n"
	require.NoError(t, os.WriteFile(filepath.Join(origin, "shared.txt"), []byte(shared), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(origin, "main.go"), []byte("package main\n"), 0o644))
	git(t, origin, "init", "-q")
	git(t, origin, "add", ".")
	git(t, origin, "commit", "-q", "-m", "first")
	for _, h := range l.hosts {
		git(t, h.tree, "clone", "-q", origin, "app")
		if h == hub {
			h.writeConfig(t, spokes...)
		} else {
			h.writeConfig(t, hub)
		}
	}
	for h, out := range onEach(t, l.hosts, "mode", "all") {
		assert.Contains(t, out, "mode all", "mode all on %s", h.name)
	}
	phase("clones and mode all")
	l.startDaemons(t)
	phase("daemons serving")
	poll(t, "every pair synced once", func() (bool, string) {
		var not []string
		for _, s := range spokes {
			if st := peerState(hub.status(t), s.name); st != control.PeerConnected {
				not = append(not, fmt.Sprintf("hub: %s %s", s.name, st))
			}
			if st := peerState(s.status(t), hub.name); st != control.PeerConnected {
				not = append(not, fmt.Sprintf("%s: hub %s", s.name, st))
			}
		}
		return len(not) == 0, strings.Join(not, ", ")
	})
	phase("every pair synced once")

	// An edit on a spoke reaches every other host.
	t0, cycles := time.Now(), hub.status(t).Cycles
	s1.write(t, "app/notes/s1.txt", "written on s1\n")
	reaches(t, "s1's edit reaches every host", "app/notes/s1.txt", "written on s1\n", l.hosts...)
	t.Logf("an edit on s1 reached the five other hosts in %v; the hub ran %d cycle(s) meanwhile",
		time.Since(t0).Round(time.Millisecond), hub.status(t).Cycles-cycles)
	phase("an edit on a spoke everywhere")

	// pause --everywhere from a spoke: every daemon pauses.
	out := s2.cli(t, "pause", "--everywhere")
	assert.Contains(t, out, "paused=true on every host")
	poll(t, "every host paused", func() (bool, string) {
		var not []string
		for _, h := range l.hosts {
			if !h.status(t).Paused {
				not = append(not, h.name)
			}
		}
		return len(not) == 0, "not paused: " + strings.Join(not, ", ")
	})
	// Two spokes edit shared.txt, on lines of their own: the edits stay
	// apart while paused (the daemon of s1 sees its edit pending, and
	// applies nothing).
	edit1 := strings.Replace(shared, "one\n", "one, edited on s1\n", 1)
	edit3 := strings.Replace(shared, "six\n", "six, edited on s3\n", 1)
	s1.write(t, "app/shared.txt", edit1)
	s3.write(t, "app/shared.txt", edit3)
	out = s1.cli(t, "plan")
	assert.Contains(t, out, "shared.txt", "the plan of s1 while paused")
	for _, h := range l.hosts {
		want := shared
		switch h {
		case s1:
			want = edit1
		case s3:
			want = edit3
		}
		got, _ := h.read("app/shared.txt")
		assert.Equal(t, want, got, "app/shared.txt on %s while every host is paused", h.name)
	}

	// resume --everywhere from another spoke: the edits come together,
	// merged by the chain (diff3 against the file at HEAD) on all six.
	out = s4.cli(t, "resume", "--everywhere")
	assert.Contains(t, out, "paused=false on every host")
	merged := strings.Replace(edit1, "six\n", "six, edited on s3\n", 1)
	reaches(t, "the merged shared.txt reaches every host", "app/shared.txt", merged, l.hosts...)
	for _, h := range l.hosts {
		assert.False(t, h.status(t).Paused, "%s resumed", h.name)
	}
	for _, h := range l.hosts {
		c, err := control.Dial(t.Context(), h.socket())
		require.NoError(t, err)
		items, err := c.Conflicts(t.Context())
		c.Close()
		require.NoError(t, err)
		assert.Empty(t, items, "the merge left conflicts for review on %s", h.name)
	}
	poll(t, "a daemon says the chain merged shared.txt with diff3", func() (bool, string) {
		for _, h := range l.hosts {
			if strings.Contains(h.log.String(), "path=app/shared.txt by=diff3") {
				return true, ""
			}
		}
		return false, "no daemon logged path=app/shared.txt by=diff3"
	})
	phase("pause, edits apart, resume and merge everywhere")

	// mode git-only --everywhere from a spoke: all six switch.
	out = s2.cli(t, "mode", "git-only", "--everywhere")
	assert.Contains(t, out, "mode=git-only on every host")
	poll(t, "git-only on every host", func() (bool, string) {
		var not []string
		for h, out := range onEach(t, l.hosts, "mode") {
			if m := strings.TrimSpace(out); m != "git-only" {
				not = append(not, h.name+": "+m)
			}
		}
		return len(not) == 0, strings.Join(not, ", ")
	})
	// An untracked file written before a tracked edit: the edit crosses,
	// the untracked file does not.
	s4.write(t, "app/untracked.txt", "stays on s4\n")
	s4.write(t, "app/main.go", "package main\n\n// edited on s4\n")
	reaches(t, "s4's tracked edit reaches every host in git-only mode", "app/main.go", "package main\n\n// edited on s4\n", l.hosts...)
	for _, h := range l.hosts {
		_, there := h.read("app/untracked.txt")
		assert.Equal(t, h == s4, there, "app/untracked.txt on %s in git-only mode", h.name)
	}
	for h, out := range onEach(t, l.hosts, "mode") {
		assert.Equal(t, "git-only\n", out, "the mode of %s", h.name)
	}
	phase("git-only everywhere")

	// s5's sshd dies while its own daemon is paused (so it gets nothing
	// but through the hub): the hub, told by its watcher of s5 that the
	// connection died, tries s5 and marks it failed, with nothing changed
	// anywhere. The others keep syncing: an edit on s1 reaches them.
	assert.Contains(t, s5.cli(t, "pause"), "pause")
	killSSHD(t, s5)
	poll(t, "the hub marks s5 failed", func() (bool, string) {
		st := hub.status(t)
		return peerState(st, s5.name) == control.PeerFailed, fmt.Sprintf("s5 is %q", peerState(st, s5.name))
	})
	s1.write(t, "app/main.go", "package main\n\n// edited on s1 while s5 is down\n")
	reaches(t, "s1's edit reaches the hosts that are up", "app/main.go", "package main\n\n// edited on s1 while s5 is down\n", hub, s2, s3, s4)
	var sj statusJSON
	require.NoError(t, json.Unmarshal([]byte(hub.cli(t, "status", "--json")), &sj))
	states := map[string]string{}
	for _, p := range sj.Peers {
		states[p.Name] = p.State
		if p.Name == s5.name {
			assert.GreaterOrEqual(t, p.Failures, 3, "s5's failures in the hub's status --json")
		}
	}
	assert.Equal(t, map[string]string{"s1": control.PeerConnected, "s2": control.PeerConnected, "s3": control.PeerConnected,
		"s4": control.PeerConnected, "s5": control.PeerFailed}, states, "the hub's status --json while s5's sshd is down")
	t.Logf("the hub's status while s5's sshd is down:\n%s", hub.cli(t, "status"))
	got, _ := s5.read("app/main.go")
	assert.Equal(t, "package main\n\n// edited on s4\n", got, "s5, paused and unreachable, got an edit")
	s2.write(t, "app/main.go", "package main\n\n// edited on s2 while s5 is down\n")
	reaches(t, "s2's edit reaches the hosts that are up, s5 failed", "app/main.go", "package main\n\n// edited on s2 while s5 is down\n", hub, s1, s3, s4)

	// A new sshd on s5's address, with its host key: s5 catches up
	// through the hub.
	l.startSSHD(t, s5)
	reaches(t, "s5 catches up when its sshd is back", "app/main.go", "package main\n\n// edited on s2 while s5 is down\n", s5)
	poll(t, "the hub has s5 connected again", func() (bool, string) {
		st := hub.status(t)
		return peerState(st, s5.name) == control.PeerConnected, fmt.Sprintf("s5 is %q", peerState(st, s5.name))
	})
	s5.cli(t, "resume")
	phase("s5's sshd killed, failed, back, caught up")

	// status --json on every host lists its peers: the hub all five
	// spokes, each spoke the hub; and every host lists all six hosts,
	// each tree once (a spoke learns of the other spokes from the hub's
	// daemon).
	for h, out := range onEach(t, l.hosts, "status", "--json") {
		var sj statusJSON
		require.NoError(t, json.Unmarshal([]byte(out), &sj), "status --json of %s:\n%s", h.name, out)
		assert.Equal(t, "project", sj.Engine)
		assert.Equal(t, h.tree, sj.Root)
		var names []string
		for _, p := range sj.Peers {
			names = append(names, p.Name)
		}
		if h == hub {
			assert.Equal(t, []string{"s1", "s2", "s3", "s4", "s5"}, names, "the hub's status --json")
		} else {
			assert.Equal(t, []string{"hub"}, names, "the status --json of %s", h.name)
		}
		hostNames, replicas := map[string]bool{}, map[string]bool{}
		for i, x := range sj.Hosts {
			assert.NotEmpty(t, x.Replica, "host %d in the status --json of %s", i, h.name)
			replicas[x.Replica] = true
			if i == 0 {
				assert.Equal(t, control.HostState, x.State, "the status --json of %s lists itself first", h.name)
				assert.Equal(t, h.tree, x.Location)
				continue
			}
			hostNames[x.Name] = true
			assert.Equal(t, control.PeerConnected, x.State, "host %s in the status --json of %s", x.Name, h.name)
			if x.Via == "" {
				assert.Equal(t, "answered", x.Daemon, "the daemon of %s, asked by %s", x.Name, h.name)
				if assert.NotNil(t, x.Paused) {
					assert.False(t, *x.Paused)
				}
			} else {
				assert.Equal(t, hub.name, x.Via, "host %s in the status --json of %s", x.Name, h.name)
			}
		}
		assert.Len(t, sj.Hosts, 6, "the hosts in the status --json of %s:\n%s", h.name, out)
		assert.Len(t, replicas, 6, "the trees in the status --json of %s", h.name)
		others := map[string]bool{"hub": true, "s1": true, "s2": true, "s3": true, "s4": true, "s5": true}
		delete(others, h.name)
		assert.Equal(t, others, hostNames, "the other hosts in the status --json of %s", h.name)
		settings := map[string]string{}
		for _, e := range sj.Everywhere {
			settings[e.Key] = e.Value
			assert.Empty(t, e.Pending, "hosts pending for %s in the status --json of %s", e.Key, h.name)
		}
		assert.Equal(t, map[string]string{"mode": "git-only", "paused": "false"}, settings, "the settings for every host in the status --json of %s", h.name)
		got, _ := h.read("app/notes/s1.txt")
		assert.Equal(t, "written on s1\n", got, "an untracked file synced before git-only is kept on %s", h.name)
	}
	phase("status --json on every host")
}

// sixLog is a daemon's output, safe for concurrent writers, capped at
// 4 MiB.
type sixLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *sixLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 4<<20 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *sixLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tail is the last n bytes of the log.
func (l *sixLog) tail(n int) string {
	s := l.String()
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}
