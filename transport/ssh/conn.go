package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/zerosync/zerosync/transport/remote"
)

// ErrDisconnected is wrapped by the error of a call that was under way when
// the connection to its host died. The next call reconnects.
var ErrDisconnected = errors.New("connection to the host was lost")

// errClosed is the error of calls after [Transport.Close].
var errClosed = errors.New("ssh: transport closed")

// host is one SSH connection, and one agent on it, shared by every
// endpoint of the same target. It reconnects on demand.
type host struct {
	t   *Transport
	hc  *hostConfig
	log *slog.Logger

	mu      sync.Mutex
	conn    *sshConn
	ag      *agentConn
	busy    chan struct{} // closed when the connect under way ends
	lastErr error
	next    time.Time // no attempt before this after a failure
	backoff time.Duration
	closed  bool
}

// sshConn is one SSH client connection.
type sshConn struct {
	client *ssh.Client
	done   chan struct{} // closed when the connection ended
}

func (c *sshConn) dead() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// errSessionLost is newSession's error when the connection ended while a
// session was being opened.
var errSessionLost = errors.New("the connection ended while a session was being opened")

// newSession opens a session on c, giving up when ctx ends or the
// connection does. A server that never answers the request must not hang
// us, and x/crypto/ssh itself waits forever for the answer to a request
// sent as the connection closes (seen in CI: a cycle waited ten minutes
// after a cut connection). A request given up on keeps one goroutine
// waiting, which closes the session should it come after all.
func (c *sshConn) newSession(ctx context.Context) (*ssh.Session, error) {
	ch := make(chan openedSession, 1)
	go func() {
		s, err := c.client.NewSession()
		ch <- openedSession{s, err}
	}()
	select {
	case o := <-ch:
		return o.s, o.err
	case <-ctx.Done():
		go closeLate(ch)
		return nil, ctx.Err()
	case <-c.done:
		go closeLate(ch)
		return nil, errSessionLost
	}
}

// openedSession is what opening a session gave.
type openedSession struct {
	s   *ssh.Session
	err error
}

// closeLate closes the session a request given up on opened after all.
func closeLate(ch <-chan openedSession) {
	if o := <-ch; o.s != nil {
		o.s.Close()
	}
}

// agentConn is one agent session on an SSH connection.
type agentConn struct {
	conn *sshConn
	// sess is the session the agent was started in; stream, for an agent
	// that lingered, the channel to its socket.
	sess   *ssh.Session
	stream io.Closer
	rpc    *remote.Client
	stderr *tailWriter
	done   chan struct{} // closed when the agent or the connection ended
	once   sync.Once
	// closing: this side ends it (the transport closes), which is no news
	// to log, least of all after Close returned.
	closing atomic.Bool
}

func (a *agentConn) dead() bool {
	select {
	case <-a.done:
		return true
	case <-a.rpc.Done():
		return true
	case <-a.conn.done:
		return true
	default:
		return false
	}
}

// kill ends the agent session. An agent that stalled (the agent protocol's
// deadlines: remote.ErrStalled) takes its SSH connection with it: a
// stopped or hung process keeps its output open, and its channel with it,
// so closing the session alone may never end it, while closing the
// connection ends everything on it at once (nothing else uses it: every
// endpoint of the host goes through this agent). sshd is asked to kill
// the agent first, which it does for users other than root. The next call
// dials again.
func (a *agentConn) kill() {
	a.once.Do(func() {
		if errors.Is(a.rpc.Err(), remote.ErrStalled) {
			if a.sess != nil {
				a.sess.Signal(ssh.SIGKILL)
			}
			a.conn.client.Close()
		}
		a.rpc.Close()
		if a.sess != nil {
			a.sess.Close()
		} else {
			a.stream.Close()
		}
		close(a.done)
	})
}

// agent returns a live agent, connecting (and installing the agent) when
// there is none. A host whose last attempt failed is not tried again
// before its backoff ends: until then the call fails at once with the last
// error.
func (h *host) agent(ctx context.Context) (*agentConn, error) {
	for {
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return nil, errClosed
		}
		if h.ag != nil && !h.ag.dead() {
			ag := h.ag
			h.mu.Unlock()
			return ag, nil
		}
		if h.busy != nil {
			busy := h.busy
			h.mu.Unlock()
			select {
			case <-busy:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if wait := time.Until(h.next); h.lastErr != nil && wait > 0 {
			err := h.lastErr
			h.mu.Unlock()
			return nil, fmt.Errorf("%w (next attempt in %v)", err, wait.Round(time.Millisecond))
		}
		busy := make(chan struct{})
		h.busy = busy
		conn := h.conn
		lost := h.ag != nil
		h.mu.Unlock()

		ag, conn, err := h.connect(ctx, conn)

		h.mu.Lock()
		h.busy = nil
		close(busy)
		h.conn = conn
		if h.closed && ag != nil {
			ag.kill()
			ag, err = nil, errClosed
		}
		if h.closed && conn != nil {
			conn.client.Close()
		}
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, errClosed) {
				h.lastErr = err
				h.backoff = min(max(2*h.backoff, h.t.cfg.backoffMin), h.t.cfg.backoffMax)
				h.next = time.Now().Add(h.backoff)
			}
			h.mu.Unlock()
			return nil, err
		}
		h.ag, h.lastErr, h.backoff = ag, nil, 0
		h.mu.Unlock()
		if lost {
			h.t.stats.reconnects.Add(1)
			h.log.Info("reconnected")
		}
		return ag, nil
	}
}

// connect starts an agent over conn, dialing a new connection when conn
// is nil or dead. It returns the connection it used, if any. A connection
// that outlived its agent may be dying too (the agent's end is often
// noticed first): when the agent cannot be started over it, it is closed
// and a new one is dialed.
func (h *host) connect(ctx context.Context, conn *sshConn) (*agentConn, *sshConn, error) {
	reused := conn != nil && !conn.dead()
	if !reused {
		var err error
		if conn, err = h.newConn(ctx); err != nil {
			return nil, nil, err
		}
	}
	ag, err := h.startAgent(ctx, conn)
	var aerr *AgentError
	if err != nil && reused && ctx.Err() == nil && !errors.As(err, &aerr) {
		h.log.Info("connection unusable; dialing again", "err", err)
		conn.client.Close()
		if conn, err = h.newConn(ctx); err != nil {
			return nil, nil, err
		}
		ag, err = h.startAgent(ctx, conn)
	}
	if err != nil && conn.dead() {
		return nil, nil, err
	}
	return ag, conn, err
}

// newConn dials the host and starts watching the connection.
func (h *host) newConn(ctx context.Context) (*sshConn, error) {
	c, tcp, err := h.t.dial(ctx, h.hc)
	if err != nil {
		return nil, err
	}
	conn := &sshConn{client: c, done: make(chan struct{})}
	go func() {
		c.Wait()
		close(conn.done)
	}()
	if h.t.cfg.keepalive > 0 {
		go keepalive(c, h.t.cfg.keepalive, h.t.cfg.keepaliveMax, conn.done, tcp.moved.Load, func() { h.t.stats.keepalives.Add(1) }, func(why string) {
			h.log.Warn("connection dead", "why", why)
		})
	}
	return conn, nil
}

// startAgent starts the agent over conn, installing it first when it is
// missing or another version.
func (h *host) startAgent(ctx context.Context, conn *sshConn) (*agentConn, error) {
	if h.t.cfg.reach {
		ag, err := h.lingering(ctx, conn)
		if err == nil {
			return ag, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		h.log.Debug("no lingering agent", "err", err)
	}
	ag, reinstall, err := h.execAgent(ctx, conn)
	if err == nil || !reinstall {
		return ag, err
	}
	h.log.Info("agent needs installing", "why", err)
	if err := h.install(ctx, conn); err != nil {
		return nil, err
	}
	ag, _, err = h.execAgent(ctx, conn)
	if err != nil {
		err = fmt.Errorf("the agent just installed does not work: %w", err)
		if h.t.linkedLibc() {
			err = fmt.Errorf("%w; %w", err, errLinkedToLibc)
		}
		return nil, &AgentError{Host: h.hc.String(), Platform: h.t.platform(), Err: err}
	}
	return ag, nil
}

// maxPreamble bounds what may come before the start script's answer:
// what the shell's start-up files print.
const maxPreamble = 64 << 10

// execAgent runs the start script and shakes hands with the agent. When
// the agent is missing, does not speak the protocol, or is another
// version, it reports that installing would help.
func (h *host) execAgent(ctx context.Context, conn *sshConn) (ag *agentConn, reinstall bool, err error) {
	sess, err := conn.newSession(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("ssh: %s: new session: %w", h.hc, err)
	}
	fail := func(reinstall bool, err error) (*agentConn, bool, error) {
		sess.Close()
		return nil, reinstall, err
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		return fail(false, err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return fail(false, err)
	}
	stderr := newTailWriter(h.log)
	sess.Stderr = stderr
	g := newTag()
	if err := sess.Start(startCommand(g, h.t.cfg.remoteCacheDir, h.t.cfg.linger)); err != nil {
		return fail(false, fmt.Errorf("ssh: %s: start agent: %w", h.hc, err))
	}
	exited := make(chan error, 1)
	go func() { exited <- sess.Wait() }()
	stop := context.AfterFunc(ctx, func() { sess.Close() })
	defer stop()

	// Read the answer line by line, byte by byte: what follows the exec
	// line belongs to the protocol. Lines without the run's tag come from
	// the shell's start-up files and are kept for error messages only.
	seen := &answer{tag: g}
	var line []byte
	var dir string
read:
	for n := 0; ; n++ {
		if n > maxPreamble {
			return fail(false, fmt.Errorf("ssh: %s: starting the agent: the shell printed more than %d bytes before the start script answered%s",
				h.hc, maxPreamble, printed(seen.other, seen.dropped, nil)))
		}
		var b [1]byte
		if _, err := io.ReadFull(stdout, b[:]); err != nil {
			if ctx.Err() != nil {
				return fail(false, ctx.Err())
			}
			seen.keep(line)
			return fail(false, fmt.Errorf("ssh: %s: starting the agent: the start script ended without an answer (%v)%s",
				h.hc, err, printed(seen.other, seen.dropped, []byte(stderr.lastLines()))))
		}
		if b[0] != '\n' {
			line = append(line, b[0])
			continue
		}
		s := string(line)
		line = line[:0]
		word, value, ok := g.parse(s)
		if !ok {
			if strings.TrimSpace(s) != "" {
				h.log.Debug("ignoring output of the shell's start-up files", "line", s)
				seen.keep([]byte(s + "\n"))
			}
			continue
		}
		switch word {
		case wordMissing:
			return fail(true, fmt.Errorf("no agent at %q", value))
		case wordExec:
			h.log.Debug("starting agent", "path", value)
			break read
		case wordNote:
			h.log.Info("the installed agent is not used", "why", value)
		case wordDir:
			dir = value
		case wordSock:
			if validSocket(value) {
				h.t.memo.set(h.hc.key(), value)
			}
		case wordUnsafe:
			return fail(false, &AgentError{Host: h.hc.String(), Platform: h.t.platform(), Path: dir + "/agent-" + remote.AgentVersion,
				Err: fmt.Errorf("refusing to run the agent from the directory %q: %s; make it yours and owner-only (chown \"$USER\" %s && chmod 700 %s), or choose another",
					dir, plainText(value), shellWord(dir), shellWord(dir))})
		default:
			h.log.Debug("ignoring an answer of the start script", "word", word)
		}
	}

	stream := &agentStream{r: stdout, w: stdin, sess: sess}
	rpc, err := remote.Dial(ctx, stream, h.t.remoteOptions(h)...)
	if err != nil {
		if ctx.Err() != nil {
			return fail(false, ctx.Err())
		}
		// An agent that cannot run here, or does not speak the protocol,
		// is replaced.
		var xerr *ssh.ExitError
		select {
		case werr := <-exited:
			if errors.As(werr, &xerr) && (xerr.ExitStatus() == 126 || xerr.ExitStatus() == 127) {
				return fail(true, fmt.Errorf("the installed agent cannot run: %s", stderr.String()))
			}
		case <-time.After(100 * time.Millisecond):
		}
		return fail(errors.Is(err, remote.ErrProtocol), fmt.Errorf("ssh: %s: agent handshake: %w %s", h.hc, err, stderr.String()))
	}
	if v := rpc.Agent().Version; v != remote.AgentVersion {
		rpc.Close()
		return fail(true, fmt.Errorf("the installed agent is version %q, not %q", v, remote.AgentVersion))
	}
	ag = &agentConn{conn: conn, sess: sess, rpc: rpc, stderr: stderr, done: make(chan struct{})}
	h.watchAgent(ag)
	h.t.stats.agents.Add(1)
	return ag, false, nil
}

// watchAgent ends ag when its protocol session or its connection ends.
func (h *host) watchAgent(ag *agentConn) {
	go func() {
		select {
		case <-ag.rpc.Done():
			if !ag.closing.Load() {
				h.log.Warn("agent session ended", "err", ag.rpc.Err(), "stderr", ag.stderr.String())
			}
		case <-ag.conn.done:
			if !ag.closing.Load() {
				h.log.Warn("connection ended")
			}
		}
		ag.kill()
	}()
}

// run runs a script on the connection with stdin as its input and its
// answer read from its output, and returns the first bytes of its
// standard error.
func (c *sshConn) run(ctx context.Context, cmd string, stdin io.Reader, out *answer) (stderr []byte, err error) {
	sess, err := c.newSession(ctx)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	var errOut limitedBuffer
	sess.Stdout, sess.Stderr, sess.Stdin = out, &errOut, stdin
	stop := context.AfterFunc(ctx, func() { sess.Close() })
	defer stop()
	err = sess.Run(cmd)
	out.end()
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return errOut.Bytes(), err
}

// agentStream is the agent's standard input and output as one stream.
type agentStream struct {
	r    io.Reader
	w    io.WriteCloser
	sess *ssh.Session
}

func (s *agentStream) Read(p []byte) (int, error)  { return s.r.Read(p) }
func (s *agentStream) Write(p []byte) (int, error) { return s.w.Write(p) }

// Close closes the session, which ends the agent's input too. It does not
// half-close the input first: the SSH library does not guard a half-close
// against a concurrent Write.
func (s *agentStream) Close() error {
	return s.sess.Close()
}

// limitedBuffer keeps the first 64 KiB written to it.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := 64<<10 - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// tailWriter keeps the last lines an agent wrote on its standard error and
// logs each line.
type tailWriter struct {
	log     *slog.Logger
	mu      sync.Mutex
	partial []byte
	lines   []string
}

func newTailWriter(log *slog.Logger) *tailWriter { return &tailWriter{log: log} }

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			if len(w.partial) > 4096 {
				i = len(w.partial)
			} else {
				break
			}
		}
		line := string(w.partial[:i])
		w.partial = w.partial[min(i+1, len(w.partial)):]
		w.log.Warn("agent", "stderr", line)
		w.lines = append(w.lines, line)
		if len(w.lines) > 20 {
			w.lines = w.lines[1:]
		}
	}
	if cap(w.partial) > 64<<10 {
		w.partial = append([]byte(nil), w.partial...)
	}
	return len(p), nil
}

// lastLines returns the last lines.
func (w *tailWriter) lastLines() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(append(append([]string(nil), w.lines...), string(w.partial)), "\n")
}

// String returns the last lines for error messages, cut short and
// Go-quoted.
func (w *tailWriter) String() string {
	s := quoteOutput([]byte(w.lastLines()), false)
	if s == "" {
		return ""
	}
	return "(agent said: " + s + ")"
}
