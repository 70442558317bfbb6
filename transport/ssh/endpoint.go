package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/transport/remote"
)

var (
	_ zerosync.Endpoint    = (*Endpoint)(nil)
	_ zerosync.Copier      = (*Endpoint)(nil)
	_ zerosync.Archiver    = (*Endpoint)(nil)
	_ zerosync.Watcher     = (*Endpoint)(nil)
	_ zerosync.Identifier  = (*Endpoint)(nil)
	_ zerosync.Locator     = (*Endpoint)(nil)
	_ zerosync.PathScanner = (*Endpoint)(nil)
	_ remote.DeltaOpener   = (*Endpoint)(nil)
)

// Endpoint is a tree on another host, served by the agent there. Build one
// with [Transport.Endpoint]. Its methods are safe for concurrent use.
//
// The endpoint outlives its connection. A call under way when the
// connection or the agent dies fails with an error wrapping
// [ErrDisconnected]; the next call reconnects (subject to the transport's
// backoff) and opens the root again. Watch carries on across a reconnect
// and then asks for a full rescan, since changes may have been missed.
type Endpoint struct {
	h     *host
	root  string
	where string // the target as given: [user@]host[:port]

	mu     sync.Mutex
	ag     *agentConn // the agent rep belongs to
	rep    *remote.Endpoint
	closed bool

	// stopConnect ends the connection made in the background
	// ([WithConnectLater]), which closes connected when it is over and
	// leaves its error in connectErr for the first call.
	stopConnect context.CancelFunc
	connected   chan struct{}
	connectErr  error
}

// Target returns the host the endpoint reaches, as user@host:port.
func (e *Endpoint) Target() string { return e.h.hc.String() }

// Root returns the root as it was given.
func (e *Endpoint) Root() string { return e.root }

// connectInBackground connects to the host and opens the root, for the
// endpoint's first call to find ready or on its way: every call waits for
// it, and the first gets its error (later ones try again, after the
// backoff).
func (e *Endpoint) connectInBackground() {
	ctx, cancel := context.WithCancel(context.Background())
	e.stopConnect, e.connected = cancel, make(chan struct{})
	go func() {
		defer close(e.connected)
		_, _, err := e.open(ctx)
		if err != nil && ctx.Err() == nil {
			e.mu.Lock()
			e.connectErr = err
			e.mu.Unlock()
		}
	}()
}

// inner returns the remote endpoint over a live agent, reconnecting and
// opening the root again when the agent it had is gone; it waits for a
// connection made in the background first.
func (e *Endpoint) inner(ctx context.Context) (*remote.Endpoint, *agentConn, error) {
	if e.connected != nil {
		select {
		case <-e.connected:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	return e.open(ctx)
}

// open is inner without the wait; the first call after a connection
// made in the background failed returns its error.
func (e *Endpoint) open(ctx context.Context) (*remote.Endpoint, *agentConn, error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, nil, fs.ErrClosed
	}
	if err := e.connectErr; err != nil {
		e.connectErr = nil
		e.mu.Unlock()
		return nil, nil, err
	}
	if e.ag != nil && !e.ag.dead() {
		rep, ag := e.rep, e.ag
		e.mu.Unlock()
		return rep, ag, nil
	}
	e.mu.Unlock()

	ag, err := e.h.agent(ctx)
	if err != nil {
		return nil, nil, err
	}
	rep, err := ag.rpc.Endpoint(ctx, e.root)
	if err != nil {
		if werr := e.wrap(ag, err); werr != err {
			return nil, nil, werr
		}
		return nil, nil, fmt.Errorf("ssh %s: %w", e.h.hc.alias, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		rep.Close()
		return nil, nil, fs.ErrClosed
	case e.ag != nil && !e.ag.dead():
		// Another call reopened the root meanwhile.
		rep.Close()
		return e.rep, e.ag, nil
	}
	e.ag, e.rep = ag, rep
	return rep, ag, nil
}

// wrap marks the error of a call whose connection died under it, and makes
// sure the next call does not use that connection.
func (e *Endpoint) wrap(ag *agentConn, err error) error {
	if err == nil {
		return nil
	}
	if ag.dead() || errors.Is(err, remote.ErrClosed) {
		ag.kill()
		return fmt.Errorf("ssh %s: %w: %w", e.h.hc.alias, ErrDisconnected, err)
	}
	return err
}

// Scan returns the tree; see [zerosync.Endpoint].
func (e *Endpoint) Scan(ctx context.Context) (zerosync.Snapshot, []zerosync.Problem, error) {
	rep, ag, err := e.inner(ctx)
	if err != nil {
		return nil, nil, err
	}
	s, p, err := rep.Scan(ctx)
	if err != nil {
		return nil, nil, e.wrap(ag, err)
	}
	return s, p, nil
}

// ScanPaths rescans only the given paths, and what lies beneath them, on
// the agent's host; see [zerosync.PathScanner] and
// [remote.Endpoint.ScanPaths]. An agent too old to scan paths sends its
// whole tree, cut down to the paths on this side.
func (e *Endpoint) ScanPaths(ctx context.Context, paths []string) (zerosync.Snapshot, []zerosync.Problem, error) {
	rep, ag, err := e.inner(ctx)
	if err != nil {
		return nil, nil, err
	}
	s, p, err := rep.ScanPaths(ctx, paths)
	if err != nil {
		return nil, nil, e.wrap(ag, err)
	}
	return s, p, nil
}

// Open returns the content of a file; see [zerosync.Endpoint]. Reading it
// fails when the connection dies while it is read.
func (e *Endpoint) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	rep, ag, err := e.inner(ctx)
	if err != nil {
		return nil, err
	}
	rc, err := rep.Open(ctx, path)
	if err != nil {
		return nil, e.wrap(ag, err)
	}
	return &reader{ReadCloser: rc, e: e, ag: ag}, nil
}

// reader marks the errors of a content stream whose connection died.
type reader struct {
	io.ReadCloser
	e  *Endpoint
	ag *agentConn
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = r.e.wrap(r.ag, err)
	}
	return n, err
}

// OpenDelta returns the content of a file, moving only what differs from
// have; see [remote.DeltaOpener].
func (e *Endpoint) OpenDelta(ctx context.Context, path string, have io.ReaderAt, haveSize int64) (io.ReadCloser, error) {
	rep, ag, err := e.inner(ctx)
	if err != nil {
		return nil, err
	}
	rc, err := rep.OpenDelta(ctx, path, have, haveSize)
	if err != nil {
		return nil, e.wrap(ag, err)
	}
	return &reader{ReadCloser: rc, e: e, ag: ag}, nil
}

// Apply changes one path atomically on the host; see [zerosync.Endpoint].
func (e *Endpoint) Apply(ctx context.Context, op zerosync.Op, content io.Reader) error {
	rep, ag, err := e.inner(ctx)
	if err != nil {
		return err
	}
	return e.wrap(ag, rep.Apply(ctx, op, content))
}

// Copy makes a file from content the host already holds; see
// [zerosync.Copier].
func (e *Endpoint) Copy(ctx context.Context, src string, op zerosync.Op) error {
	rep, ag, err := e.inner(ctx)
	if err != nil {
		return err
	}
	return e.wrap(ag, rep.Copy(ctx, src, op))
}

// KeepConflict archives content and saves it as a conflict copy on the
// host; see [zerosync.Archiver].
func (e *Endpoint) KeepConflict(ctx context.Context, path string, en zerosync.Entry, content io.Reader, note string) (string, error) {
	rep, ag, err := e.inner(ctx)
	if err != nil {
		return "", err
	}
	p, err := rep.KeepConflict(ctx, path, en, content, note)
	return p, e.wrap(ag, err)
}

// Location returns where the root is: the host as the target named it
// ([user@]host[:port], as given to [Transport.Endpoint]) and the root as
// given. It does no I/O; see [zerosync.Locator].
func (e *Endpoint) Location() zerosync.Location {
	return zerosync.Location{Host: e.where, Path: e.root}
}

// RootID returns the identity of the root on the host, as the agent reads
// it there; see [zerosync.Identifier]. An agent that cannot tell fails
// with an error wrapping [errors.ErrUnsupported].
func (e *Endpoint) RootID(ctx context.Context) (zerosync.RootID, error) {
	rep, ag, err := e.inner(ctx)
	if err != nil {
		return zerosync.RootID{}, err
	}
	id, err := rep.RootID(ctx)
	return id, e.wrap(ag, err)
}

// MarkRoot makes the agent give the root a marker when it has none (the
// replica ID is made on the host) and returns the root's identity; see
// [zerosync.Identifier].
func (e *Endpoint) MarkRoot(ctx context.Context) (zerosync.RootID, error) {
	rep, ag, err := e.inner(ctx)
	if err != nil {
		return zerosync.RootID{}, err
	}
	id, err := rep.MarkRoot(ctx)
	return id, e.wrap(ag, err)
}

// Watch reports changes on the host until ctx is cancelled; see
// [zerosync.Watcher]. When the connection dies it says so at once with a
// full-rescan hint (Reason "disconnected"), so that the engine tries the
// host and its status shows it unreachable instead of the last sync that
// worked; it reconnects, retrying while the host cannot be reached, and
// then asks for a full rescan (Reason "reconnect"). It returns an error
// when the root is gone or the watch fails on a working connection.
func (e *Endpoint) Watch(ctx context.Context, notify func(zerosync.Hint)) error {
	lost := false
	for {
		rep, ag, err := e.inner(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, fs.ErrClosed) || errors.Is(err, errClosed) || errors.Is(err, zerosync.ErrRootMissing) {
				return err
			}
			// Still unreachable: try again later.
			e.h.log.Debug("watch: reconnect failed", "err", err)
			t := time.NewTimer(e.h.t.cfg.backoffMin)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			lost = true
			continue
		}
		if lost {
			notify(zerosync.Hint{Full: true, Reason: "reconnect"})
			lost = false
		}
		err = rep.Watch(ctx, notify)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if werr := e.wrap(ag, err); !errors.Is(werr, ErrDisconnected) {
			return err
		}
		e.h.log.Info("watch: connection lost; reconnecting")
		notify(zerosync.Hint{Full: true, Reason: "disconnected"})
		lost = true
		// A connection that dies as soon as it is made must not spin.
		t := time.NewTimer(e.h.t.cfg.backoffMin)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Close releases the root on the host. The connection stays open for
// other endpoints until [Transport.Close]. It is safe to call more than
// once.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	if e.stopConnect != nil {
		// A connection made after closed was set closes its root itself
		// (open); one under way gives up.
		e.stopConnect()
		<-e.connected
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rep != nil && !e.ag.dead() {
		return e.rep.Close()
	}
	return nil
}
