package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
// it is checked to come from a process of the same user (or root), as on
// the daemon's control socket: both are made by [ctlsock.Listen].

// LingerArg, followed by a duration, is the argument after [Arg] that
// makes the agent linger: "--linger=10m" ([remote.AgentLingerArg]).
const LingerArg = remote.AgentLingerArg

// SocketPath returns where the agent of this version run from the cache
// directory dir lingers, or "" when that path is too long for a socket.
func SocketPath(dir string) string {
	p := filepath.Join(dir, remote.AgentSocket)
	if !filepath.IsAbs(p) || len(p) > remote.AgentSocketMax {
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

// lingerListen listens on the agent's socket in its cache directory.
func lingerListen() (*ctlsock.Listener, error) {
	dir, err := CacheDir()
	if err != nil {
		return nil, err
	}
	path := SocketPath(dir)
	if path == "" {
		return nil, fmt.Errorf("the socket's path in %q would be too long", dir)
	}
	return ctlsock.Listen(path, owner)
}

// owner is the lingering agent, in the socket's messages.
var owner = ctlsock.Owner{Who: "an agent of this version", Elsewhere: "set " + CacheDirEnv + " to a directory of your own"}

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
// process that lingers (as a process list shows it). It says on file
// descriptor 3 why it does not linger, or nothing, and closes it, once it
// listens or knows it will not.
const LingererArg = "--lingerer="

// lingerStart bounds the wait for the lingering process to listen.
const lingerStart = 5 * time.Second

// startLingerer starts the process that lingers for linger, out of this
// agent's SSH session, and returns once it listens: a client that comes
// right after this session finds it. An agent lingering there already is
// no error.
func startLingerer(linger time.Duration) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := exec.Command(exe, Arg, LingererArg+linger.String())
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return err
	}
	cmd.Process.Release()
	r.SetReadDeadline(time.Now().Add(lingerStart))
	why, err := io.ReadAll(io.LimitReader(r, 4<<10))
	if err != nil {
		return fmt.Errorf("the lingering process did not say it listens: %w", err)
	}
	if len(why) > 0 {
		return errors.New(string(why))
	}
	return nil
}

// runLingerer serves, as the process that lingers, the sessions that come
// through the agent's socket ([SocketPath]), until linger has passed with
// none. Another agent lingering there already is no error: it serves them.
func runLingerer(ctx context.Context, linger time.Duration, log *slog.Logger) int {
	ready := os.NewFile(3, "ready")
	l, err := lingerListen()
	if err != nil && !errors.Is(err, ctlsock.ErrRunning) {
		fmt.Fprint(ready, err)
	}
	ready.Close()
	if err != nil {
		return 0
	}
	ctx, cancel := context.WithCancel(ctx)
	s := newSessions(linger)
	var wg sync.WaitGroup
	// The socket goes first (while it is still this agent's): a client then
	// finds none, and starts an agent of its own; then the sessions end.
	defer func() {
		l.Close()
		cancel()
		wg.Wait()
	}()
	// The time runs from the start.
	s.begin()
	s.end()
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
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
	// A socket removed (its folder with it) or made again by another
	// agent ends this one too.
	tick := time.NewTicker(lingerCheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return 0
		case <-s.idle:
			return 0
		case <-tick.C:
			if l.Lost() {
				return 0
			}
		}
	}
}
