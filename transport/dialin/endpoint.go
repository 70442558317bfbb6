package dialin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/agent"
	"github.com/zerosync/zerosync/transport/remote"
)

var (
	_ zerosync.Endpoint    = (*Endpoint)(nil)
	_ zerosync.Copier      = (*Endpoint)(nil)
	_ zerosync.Archiver    = (*Endpoint)(nil)
	_ zerosync.Watcher     = (*Endpoint)(nil)
	_ zerosync.Identifier  = (*Endpoint)(nil)
	_ zerosync.Locator     = (*Endpoint)(nil)
	_ zerosync.DeltaOpener = (*Endpoint)(nil)
)

// ErrAway is wrapped by the errors of calls made while the spoke is not
// connected ([AwayError]).
var ErrAway = errors.New("the spoke has not dialed in")

// AwayError is the error of a call made while the spoke is away: nothing
// accepts on its socket, or the connection died during the call. It wraps
// [ErrAway] and the cause.
type AwayError struct {
	// Spoke is the spoke's name; Socket the socket it dials in at.
	Spoke, Socket string
	// Lost is true when the connection died during the call.
	Lost bool
	Err  error
}

func (e *AwayError) Error() string {
	if e.Lost {
		return fmt.Sprintf("spoke %s went away: %v", e.Spoke, e.Err)
	}
	return fmt.Sprintf("spoke %s has not dialed in (%v)", e.Spoke, e.Err)
}

// Unwrap returns [ErrAway] and the cause.
func (e *AwayError) Unwrap() []error { return []error{ErrAway, e.Err} }

// Endpoint is the tree a spoke offers, reached through its socket on this
// host. Build one with [New]. Its methods are safe for concurrent use.
//
// The endpoint outlives the spoke's connections. Each call uses the
// connection it finds, and dials the socket when there is none; while the
// spoke is away calls fail with an [*AwayError], and failed attempts are
// spaced out ([WithBackoff]). A call under way when the spoke goes away
// fails the same way; the next call after the spoke dialed in again
// reconnects and opens the root again.
type Endpoint struct {
	name   string
	socket string
	cfg    config

	slot chan struct{} // held while connecting

	mu      sync.Mutex
	sess    *session
	lastErr error
	next    time.Time // no attempt before this after a failure
	backoff time.Duration
	closed  bool
}

// session is one connection to the spoke, with its root open.
type session struct {
	cl  *remote.Client
	rep *remote.Endpoint
}

func (s *session) dead() bool {
	select {
	case <-s.cl.Done():
		return true
	default:
		return false
	}
}

func (s *session) close() {
	s.rep.Close()
	s.cl.Close()
}

// New returns the tree of the spoke named name (see [CheckName]), which
// dials in at the UNIX socket socket on this host (an absolute path; see
// [SocketPath] for the convention). It makes the socket's directory,
// owner-only, when it is missing, and refuses a directory that another
// user could use. It does not connect: the spoke may dial in later.
func New(name, socket string, opts ...Option) (*Endpoint, error) {
	if err := CheckName(name); err != nil {
		return nil, fmt.Errorf("dialin: spoke %w", err)
	}
	if err := checkSocketPath(socket); err != nil {
		return nil, fmt.Errorf("dialin: %w", err)
	}
	cfg := defaults()
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("dialin: nil option")
		}
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("dialin: %w", err)
		}
	}
	if err := prepareDir(socket); err != nil {
		return nil, err
	}
	cfg.log = cfg.log.With("spoke", name)
	return &Endpoint{name: name, socket: socket, cfg: cfg, slot: make(chan struct{}, 1)}, nil
}

// Name returns the spoke's name.
func (e *Endpoint) Name() string { return e.name }

// Socket returns the path of the socket the spoke dials in at.
func (e *Endpoint) Socket() string { return e.socket }

// Location returns "dialin" as the host and the spoke's name as the path,
// which reads "dialin:NAME"; it does no I/O. See [zerosync.Locator].
func (e *Endpoint) Location() zerosync.Location {
	return zerosync.Location{Host: "dialin", Path: e.name}
}

// inner returns the spoke's root over a live connection, dialing the
// socket when there is none.
func (e *Endpoint) inner(ctx context.Context) (*remote.Endpoint, *session, error) {
	if s, err := e.live(); s != nil || err != nil {
		return rep(s), s, err
	}
	select {
	case e.slot <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	defer func() { <-e.slot }()
	// Another call may have connected, or failed, meanwhile.
	if s, err := e.live(); s != nil || err != nil {
		return rep(s), s, err
	}
	e.mu.Lock()
	if wait := time.Until(e.next); e.lastErr != nil && wait > 0 {
		err := e.lastErr
		e.mu.Unlock()
		return nil, nil, fmt.Errorf("%w (next attempt in %v)", err, wait.Round(time.Millisecond))
	}
	lost := e.sess != nil
	e.mu.Unlock()

	s, err := e.connect(ctx)

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		if s != nil {
			s.close()
		}
		return nil, nil, fs.ErrClosed
	}
	if err != nil {
		if ctx.Err() == nil {
			e.lastErr = err
			e.backoff = min(max(2*e.backoff, e.cfg.backoffMin), e.cfg.backoffMax)
			e.next = time.Now().Add(e.backoff)
		}
		return nil, nil, err
	}
	if lost || e.lastErr != nil {
		e.cfg.log.Info("spoke dialed in")
	}
	e.sess, e.lastErr, e.backoff = s, nil, 0
	return s.rep, s, nil
}

// live returns the session when it works, or fs.ErrClosed; nil and nil
// when a connection is needed.
func (e *Endpoint) live() (*session, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, fs.ErrClosed
	}
	if e.sess != nil && !e.sess.dead() {
		return e.sess, nil
	}
	return nil, nil
}

func rep(s *session) *remote.Endpoint {
	if s == nil {
		return nil
	}
	return s.rep
}

// connect dials the socket, checks who accepts on it, shakes hands and
// opens the spoke's root.
func (e *Endpoint) connect(ctx context.Context) (*session, error) {
	d := net.Dialer{Timeout: e.cfg.dialTimeout}
	nc, err := d.DialContext(ctx, "unix", e.socket)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &AwayError{Spoke: e.name, Socket: e.socket, Err: err}
	}
	if err := checkPeer(nc); err != nil {
		nc.Close()
		return nil, fmt.Errorf("dialin: spoke %s: socket %q: %w", e.name, e.socket, err)
	}
	opts := append([]remote.Option{
		remote.WithLogger(e.cfg.log),
		remote.WithVersion(remote.AgentVersion),
		remote.WithName("dialin:" + e.name),
		remote.WithHost("dialin"),
	}, e.cfg.remote...)
	cl, err := remote.Dial(ctx, nc, opts...)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if hungUp(err) {
			// sshd accepted for a forwarding that just ended, or that
			// the spoke is still setting up (its SSH library may refuse
			// a connection that comes before it noted the forwarding).
			return nil, &AwayError{Spoke: e.name, Socket: e.socket, Err: err}
		}
		return nil, fmt.Errorf("dialin: spoke %s: %w", e.name, err)
	}
	r, err := cl.Endpoint(ctx, agent.OnlyRoot)
	if err != nil {
		cl.Close()
		if ctx.Err() == nil && hungUp(err) {
			return nil, &AwayError{Spoke: e.name, Socket: e.socket, Lost: true, Err: err}
		}
		return nil, fmt.Errorf("dialin: spoke %s: %w", e.name, err)
	}
	e.cfg.log.Debug("connected", "agent", cl.Agent().Version)
	return &session{cl: cl, rep: r}, nil
}

// hungUp reports whether err says the other end hung up.
func hungUp(err error) bool {
	return errors.Is(err, remote.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// wrap marks the error of a call whose connection died under it, and
// drops that connection so the next call dials again.
func (e *Endpoint) wrap(s *session, err error) error {
	if err == nil {
		return nil
	}
	if s.dead() || errors.Is(err, remote.ErrClosed) {
		s.close()
		return &AwayError{Spoke: e.name, Socket: e.socket, Lost: true, Err: err}
	}
	return err
}

// Scan returns the spoke's tree; see [zerosync.Endpoint]. A spoke that is
// away is an [*AwayError], never an empty tree.
func (e *Endpoint) Scan(ctx context.Context) (zerosync.Snapshot, []zerosync.Problem, error) {
	r, s, err := e.inner(ctx)
	if err != nil {
		return nil, nil, err
	}
	snap, probs, err := r.Scan(ctx)
	if err != nil {
		return nil, nil, e.wrap(s, err)
	}
	return snap, probs, nil
}

// Open returns the content of a file; see [zerosync.Endpoint]. Reading it
// fails when the spoke goes away while it is read.
func (e *Endpoint) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	r, s, err := e.inner(ctx)
	if err != nil {
		return nil, err
	}
	rc, err := r.Open(ctx, path)
	if err != nil {
		return nil, e.wrap(s, err)
	}
	return &reader{ReadCloser: rc, e: e, s: s}, nil
}

// OpenDelta returns the content of a file, moving only what differs from
// have; see [zerosync.DeltaOpener].
func (e *Endpoint) OpenDelta(ctx context.Context, path string, have io.ReaderAt, haveSize int64) (io.ReadCloser, error) {
	r, s, err := e.inner(ctx)
	if err != nil {
		return nil, err
	}
	rc, err := r.OpenDelta(ctx, path, have, haveSize)
	if err != nil {
		return nil, e.wrap(s, err)
	}
	return &reader{ReadCloser: rc, e: e, s: s}, nil
}

// reader marks the errors of a content stream whose connection died.
type reader struct {
	io.ReadCloser
	e *Endpoint
	s *session
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = r.e.wrap(r.s, err)
	}
	return n, err
}

// Apply changes one path atomically on the spoke; see [zerosync.Endpoint].
func (e *Endpoint) Apply(ctx context.Context, op zerosync.Op, content io.Reader) error {
	r, s, err := e.inner(ctx)
	if err != nil {
		return err
	}
	return e.wrap(s, r.Apply(ctx, op, content))
}

// Copy makes a file from content the spoke already holds; see
// [zerosync.Copier].
func (e *Endpoint) Copy(ctx context.Context, src string, op zerosync.Op) error {
	r, s, err := e.inner(ctx)
	if err != nil {
		return err
	}
	return e.wrap(s, r.Copy(ctx, src, op))
}

// KeepConflict archives content and saves it as a conflict copy on the
// spoke; see [zerosync.Archiver].
func (e *Endpoint) KeepConflict(ctx context.Context, path string, en zerosync.Entry, content io.Reader, note string) (string, error) {
	r, s, err := e.inner(ctx)
	if err != nil {
		return "", err
	}
	p, err := r.KeepConflict(ctx, path, en, content, note)
	return p, e.wrap(s, err)
}

// RootID returns the identity of the spoke's root, as the spoke reads it;
// see [zerosync.Identifier].
func (e *Endpoint) RootID(ctx context.Context) (zerosync.RootID, error) {
	r, s, err := e.inner(ctx)
	if err != nil {
		return zerosync.RootID{}, err
	}
	id, err := r.RootID(ctx)
	return id, e.wrap(s, err)
}

// MarkRoot makes the spoke give its root a marker when it has none (the
// replica ID is made on the spoke) and returns the root's identity; see
// [zerosync.Identifier].
func (e *Endpoint) MarkRoot(ctx context.Context) (zerosync.RootID, error) {
	r, s, err := e.inner(ctx)
	if err != nil {
		return zerosync.RootID{}, err
	}
	id, err := r.MarkRoot(ctx)
	return id, e.wrap(s, err)
}

// Watch reports changes on the spoke until ctx is cancelled; see
// [zerosync.Watcher]. While the spoke is away it looks for it again as
// [WithBackoff] says, and when the spoke has dialed in (again) it asks
// for a full rescan: changes may have been made meanwhile. It returns an
// error when the endpoint is closed, the spoke's root is missing, or the
// watch fails on a working connection.
func (e *Endpoint) Watch(ctx context.Context, notify func(zerosync.Hint)) error {
	lost := false
	for {
		r, s, err := e.inner(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, fs.ErrClosed) || errors.Is(err, zerosync.ErrRootMissing) {
				return err
			}
			e.cfg.log.Debug("watch: spoke not reachable", "err", err)
			lost = true
			if err := e.pause(ctx); err != nil {
				return err
			}
			continue
		}
		if lost {
			notify(zerosync.Hint{Full: true, Reason: "reconnect"})
			lost = false
		}
		err = r.Watch(ctx, notify)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if werr := e.wrap(s, err); !errors.Is(werr, ErrAway) {
			return err
		}
		e.cfg.log.Info("watch: spoke went away")
		lost = true
		if err := e.pause(ctx); err != nil {
			return err
		}
	}
}

// pause waits until the next attempt to reach the spoke is due, and at
// least the backoff's minimum, so a connection that dies as soon as it is
// made does not spin.
func (e *Endpoint) pause(ctx context.Context) error {
	e.mu.Lock()
	d := max(time.Until(e.next), e.cfg.backoffMin)
	e.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Close releases the spoke's root and the connection. It is safe to call
// more than once.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	s := e.sess
	e.mu.Unlock()
	if s != nil {
		s.close()
	}
	return nil
}
