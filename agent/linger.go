package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/zerosync/zerosync/internal/ctlsock"
	"github.com/zerosync/zerosync/transport/remote"
)

// Lingering: an agent started with [LingerArg] serves its session as any
// other and, when it ends, leaves behind a process of its own, out of the
// SSH session (sshd ends a session only once its process has exited),
// that serves later sessions of its user through a UNIX socket beside the
// agent in the cache directory ([SocketPath]), until no session has been
// under way for the given time. A client reaches that socket through
// sshd's stream-local forwarding, with no shell started and no new agent,
// which is most of the time a short-lived command takes to reach a host
// (as ssh's ControlPersist keeps a connection). While a session lasts
// (a daemon's, for days) no process lingers beside it. The cache directory
// is the user's and owner-only (the start script refuses to run the agent
// from any other), the socket is owner-only too, and every connection to
// it is checked to come from a process of the same user.

// LingerArg, followed by a duration, is the argument after [Arg] that
// makes the agent linger: "--linger=10m" ([remote.AgentLingerArg]).
const LingerArg = remote.AgentLingerArg

// maxSocketPath bounds a socket's path: sockaddr_un holds 108 bytes with
// the final NUL, and some systems fewer.
const maxSocketPath = 100

// SocketPath returns where the agent of this version run from the cache
// directory dir lingers, or "" when that path is too long for a socket.
func SocketPath(dir string) string {
	p := filepath.Join(dir, remote.AgentSocket)
	if !filepath.IsAbs(p) || len(p) > maxSocketPath {
		return ""
	}
	return p
}

// argDuration returns the duration after prefix among args, 0 when there
// is none or it is not a positive duration.
func argDuration(args []string, prefix string) time.Duration {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, prefix); ok {
			if d, err := time.ParseDuration(v); err == nil && d > 0 {
				return d
			}
		}
	}
	return 0
}

// listenLinger listens on the agent's socket at path, removing a socket
// left by an agent that is gone. It returns nil when another agent
// lingers there already (that one serves the later sessions) or the
// socket cannot be made, with why.
func listenLinger(path string) (*net.UnixListener, error) {
	addr := &net.UnixAddr{Name: path, Net: "unix"}
	for range 2 {
		old := syscall.Umask(0o177)
		l, err := net.ListenUnix("unix", addr)
		syscall.Umask(old)
		if err == nil {
			l.SetUnlinkOnClose(false)
			return l, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, err
		}
		c, derr := net.DialTimeout("unix", path, time.Second)
		if derr == nil {
			c.Close()
			return nil, errors.New("another agent lingers there")
		}
		if !errors.Is(derr, syscall.ECONNREFUSED) {
			return nil, derr
		}
		// Nothing accepts on it: a socket left behind. Only a socket is
		// removed.
		if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("%s is in the way", path)
		}
		os.Remove(path)
	}
	return nil, errors.New("the socket left behind could not be replaced")
}

// sessions counts the sessions under way and says when none has been for
// the lingering time.
type sessions struct {
	mu     sync.Mutex
	n      int
	linger time.Duration
	timer  *time.Timer
	idle   chan struct{} // closed when the time is up
	once   sync.Once
}

func newSessions(linger time.Duration) *sessions {
	return &sessions{linger: linger, idle: make(chan struct{})}
}

func (s *sessions) begin() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
}

func (s *sessions) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n--
	if s.n == 0 {
		// Idle, the process gives back what its sessions left: it may
		// linger for long.
		go debug.FreeOSMemory()
		s.timer = time.AfterFunc(s.linger, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.n == 0 {
				s.once.Do(func() { close(s.idle) })
			}
		})
	}
}

// lingerCheck is how often a lingering agent checks that its socket is
// still there.
const lingerCheck = 2 * time.Second

// LingererArg, followed by a duration, is the argument after [Arg] of the
// process that lingers (as a process list shows it): it takes the
// listening socket as file descriptor 3.
const LingererArg = "--lingerer="

// startLingerer starts the process that lingers on l, and closes l here.
func startLingerer(l *net.UnixListener, linger time.Duration) error {
	defer l.Close()
	lf, err := l.File()
	if err != nil {
		return err
	}
	defer lf.Close()
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, Arg, LingererArg+linger.String())
	cmd.ExtraFiles = []*os.File{lf}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}

// runLingerer serves, as the process that lingers, the sessions that come
// through the socket it was given, until linger has passed with none.
func runLingerer(ctx context.Context, linger time.Duration, log *slog.Logger) int {
	f := os.NewFile(3, "socket")
	fl, err := net.FileListener(f)
	f.Close()
	if err != nil {
		log.Error("lingering", "err", err)
		return 1
	}
	l, ok := fl.(*net.UnixListener)
	if !ok {
		fl.Close()
		log.Error("lingering: not a UNIX socket")
		return 1
	}
	l.SetUnlinkOnClose(false)
	path := l.Addr().String()
	st, _ := os.Lstat(path)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := newSessions(linger)
	var wg sync.WaitGroup
	// The time runs from the start.
	s.begin()
	s.end()
	wg.Go(func() {
		for {
			c, err := l.AcceptUnix()
			if err != nil {
				return
			}
			if uid, pid, err := ctlsock.Peer(c); err != nil || uid != os.Getuid() {
				log.Warn("refusing a connection to the agent's socket", "uid", uid, "pid", pid, "err", err)
				c.Close()
				continue
			}
			s.begin()
			wg.Go(func() {
				defer s.end()
				if err := Serve(ctx, c, c, WithLogger(log)); err != nil && ctx.Err() == nil {
					log.Warn("session ended", "err", err)
				}
			})
		}
	})
	// A socket removed (its folder with it) or taken over by another
	// agent ends this one too.
	tick := time.NewTicker(lingerCheck)
	defer tick.Stop()
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case <-s.idle:
			break wait
		case <-tick.C:
			if now, err := os.Lstat(path); err != nil || st == nil || !os.SameFile(st, now) {
				st = nil
				break wait
			}
		}
	}
	// The socket goes first, and only while it is still this agent's: a
	// client then finds none, and starts an agent of its own.
	if now, err := os.Lstat(path); err == nil && st != nil && os.SameFile(st, now) {
		os.Remove(path)
	}
	l.Close()
	cancel()
	wg.Wait()
	return 0
}
