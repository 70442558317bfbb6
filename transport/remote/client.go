package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
)

// Client is the client side of a connection to an agent: it opens
// endpoints ([Client.Endpoint]) whose calls travel over the connection,
// many at once. Build one with [Dial]. All methods are safe for concurrent
// use.
type Client struct {
	m     *mux
	cfg   config
	log   *slog.Logger
	agent AgentInfo
	caps  uint64

	nextID atomic.Uint64
	slots  chan struct{} // one per stream in flight
	loop   chan struct{} // closed when the reading goroutine is done

	filesSent, filesRecv, deltaFiles atomic.Int64
	// wholeOnly holds the digests that travel whole: their delta
	// rebuilt something else.
	wholeOnly wholeOnly
}

// Dial runs the handshake on conn (protocol versions, version strings,
// capabilities such as compression and delta transfer) and returns a client
// speaking over it. The client owns conn from then on and closes it in
// [Client.Close]; Dial closes it when it fails.
//
// Two sides that share no protocol version fail with a *[VersionError]
// saying which versions each speaks. A peer that does not greet as a
// zerosync agent (a shell's banner, "command not found") fails with an
// error wrapping [ErrProtocol] quoting what it sent instead. ctx bounds the
// handshake only, and so does [WithHandshakeTimeout]: a peer that has not
// answered by then fails with an error wrapping [ErrStalled]. Afterwards
// the keepalive deadlines apply ([WithKeepalive]).
func Dial(ctx context.Context, conn io.ReadWriteCloser, opts ...Option) (*Client, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		conn.Close()
		return nil, err
	}
	type result struct {
		r   helloReply
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := clientHandshake(conn, &cfg)
		done <- result{r, err}
	}()
	timer := time.NewTimer(cfg.handshake)
	defer timer.Stop()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		conn.Close()
		<-done
		return nil, fmt.Errorf("remote: handshake: %w", ctx.Err())
	case <-timer.C:
		conn.Close()
		<-done
		return nil, fmt.Errorf("remote: handshake: %w: the agent did not complete the handshake within %v", ErrStalled, cfg.handshake)
	}
	if res.err != nil {
		conn.Close()
		return nil, fmt.Errorf("remote: handshake: %w", res.err)
	}
	var comp *compressor
	if res.r.caps&capZstd != 0 {
		if comp, err = newCompressor(cfg.maxFrame); err != nil {
			conn.Close()
			return nil, fmt.Errorf("remote: %w", err)
		}
	}
	c := &Client{
		m:   newMux(conn, false, &cfg, comp, res.r.caps),
		cfg: cfg,
		log: cfg.log.With("agent", cfg.name),
		agent: AgentInfo{
			Protocol:    res.r.version,
			Version:     res.r.agent,
			Compression: res.r.caps&capZstd != 0,
			Delta:       res.r.caps&capDelta != 0,
			PathScans:   res.r.caps&capScanPaths != 0,
		},
		caps:  res.r.caps,
		slots: make(chan struct{}, maxStreams),
		loop:  make(chan struct{}),
	}
	c.log.Debug("connected", "protocol", c.agent.Protocol, "version", c.agent.Version, "compression", c.agent.Compression, "delta", c.agent.Delta)
	c.m.start()
	go func() {
		defer close(c.loop)
		err := c.m.readLoop(func(frame) error { return nil })
		if errors.Is(err, errHangup) {
			err = errors.New("the agent closed the connection")
		}
		c.m.fail(err)
		c.m.bg.Wait()
		c.log.Debug("connection ended", "err", err)
	}()
	return c, nil
}

// Agent describes the agent as the handshake found it.
func (c *Client) Agent() AgentInfo { return c.agent }

// Done returns a channel that is closed when the connection ends, whoever
// ended it; [Client.Err] then says why. A transport watches it to
// reconnect.
func (c *Client) Done() <-chan struct{} { return c.m.done }

// Err returns nil while the connection works, and why it ended afterwards.
func (c *Client) Err() error {
	if c.m.alive() {
		return nil
	}
	return c.m.deadErr()
}

// Close ends the connection: calls in progress fail with an error wrapping
// [ErrClosed], and the agent sees the client hang up. It is safe to call
// more than once.
func (c *Client) Close() error {
	c.m.close(fmt.Errorf("%w by this side", ErrClosed))
	<-c.loop
	return nil
}

// Stats are the traffic counters of a connection.
type Stats struct {
	// BytesSent and BytesReceived count what crossed the connection, after
	// compression, frame headers and handshake included.
	BytesSent, BytesReceived int64
	// FramesSent and FramesReceived count frames.
	FramesSent, FramesReceived int64
	// FilesSent counts file contents delivered to the agent (Apply of a
	// file, KeepConflict), whole or as a delta; FilesReceived those read
	// from it (Open, OpenDelta) to their end.
	FilesSent, FilesReceived int64
	// DeltaFiles counts the files among those that travelled as a delta.
	DeltaFiles int64
}

// Stats returns the connection's traffic counters so far.
func (c *Client) Stats() Stats {
	s, r, fs, fr := c.m.stats()
	return Stats{
		BytesSent: s, BytesReceived: r, FramesSent: fs, FramesReceived: fr,
		FilesSent: c.filesSent.Load(), FilesReceived: c.filesRecv.Load(), DeltaFiles: c.deltaFiles.Load(),
	}
}

// Endpoint opens root on the agent's host and returns it as an endpoint.
// root is a path on that host; the agent decides whether to serve it (its
// open function). The endpoint's calls travel over this connection and
// fail once it ends. Close the endpoint to release it on the agent.
func (c *Client) Endpoint(ctx context.Context, root string) (*Endpoint, error) {
	if root == "" || len(root) > maxRootLen || strings.IndexByte(root, 0) >= 0 {
		return nil, fmt.Errorf("remote: root %q is empty, too long or holds a NUL byte", cut(root, 64))
	}
	st, err := c.start(ctx, tOpenRoot, request{root: root})
	if err != nil {
		return nil, fmt.Errorf("remote: open root %s: %w", root, err)
	}
	defer c.finish(st)
	b, err := c.result(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("remote: open root %s: %w", root, err)
	}
	r, err := decodeOpenRootResult(b)
	if err != nil {
		return nil, fmt.Errorf("remote: open root %s: %w", root, c.violation(err))
	}
	return &Endpoint{c: c, root: root, handle: r.handle, abl: r.abilities, scanMu: make(chan struct{}, 1)}, nil
}

// start opens a stream and sends its request, and more frames in the same
// write. The caller ends it with finish.
func (c *Client) start(ctx context.Context, typ ftype, req request, more ...outFrame) (*stream, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.m.done:
		return nil, c.m.deadErr()
	}
	st := newStream(c.m, c.nextID.Add(1))
	st.release = func() { <-c.slots }
	c.m.mu.Lock()
	c.m.streams[st.id] = st
	c.m.mu.Unlock()
	req.typ = typ
	if err := st.sendFrames(ctx, append([]outFrame{{typ: typ, payload: req.encode()}}, more...), len(more) > 0); err != nil {
		c.finish(st)
		return nil, err
	}
	return st, nil
}

// finish ends a stream: when the agent has not finished with it, it is
// told to stop, and the stream keeps its slot until the agent's last frame
// for it arrives, so that the agent never sees more streams in flight than
// the client allows itself.
func (c *Client) finish(st *stream) { st.abandon() }

// result waits for the agent's answer to a request: the payload of its
// result frame, or its error.
func (c *Client) result(ctx context.Context, st *stream) ([]byte, error) {
	f, err := st.next(ctx)
	if err != nil {
		return nil, err
	}
	switch f.typ {
	case tResult:
		return f.payload, nil
	case tError:
		return nil, c.remoteErr(f)
	}
	return nil, c.violation(protoErr("%s frame instead of a result", f.typ))
}

// remoteErr decodes an error frame.
func (c *Client) remoteErr(f frame) error {
	re, err := decodeError(f.payload)
	if err != nil {
		return c.violation(err)
	}
	return re
}

// violation ends the connection because the agent broke the protocol, and
// returns err.
func (c *Client) violation(err error) error {
	c.log.Warn("protocol violation", "err", err)
	go c.m.goaway(err)
	return err
}
