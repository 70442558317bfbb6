package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/concat"
)

// maxRoots bounds the roots one connection may hold open.
const maxRoots = 64

// Serve speaks the protocol on conn, as the agent, until the client hangs
// up or ctx ends; it closes conn before it returns. open builds the
// endpoint for a root the client asks for (an agent passes a function
// calling local.New, after checking the root is one it is willing to
// serve); Serve closes every endpoint it opened before it returns.
//
// Serve trusts nothing the client sends: every frame length is checked
// before it is read, every count and length in a message before anything is
// allocated for it, every path with [zerosync.CheckPath] before the
// endpoint sees it, and content is cut off past its declared size. A
// client that breaks the protocol is told why (a goaway frame) and
// disconnected; Serve then returns an error wrapping [ErrProtocol] that says
// what was wrong. A failed request is not a broken protocol: its error goes
// back to the client and the connection carries on.
//
// Serve returns nil when the client hung up, ctx.Err() when ctx ended, a
// *[VersionError] when the two sides share no protocol version, an error
// wrapping [ErrStalled] when the client did not complete the handshake in
// time ([WithHandshakeTimeout]) or stalled afterwards ([WithKeepalive]),
// and otherwise the error that ended the connection.
func Serve(ctx context.Context, conn io.ReadWriteCloser, open func(ctx context.Context, root string) (zerosync.Endpoint, error), opts ...Option) error {
	defer conn.Close()
	cfg, err := newConfig(opts)
	if err != nil {
		return err
	}
	if open == nil {
		return errors.New("remote: Serve needs an open function")
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	timer := time.AfterFunc(cfg.handshake, func() { conn.Close() })
	h, err := serverHandshake(conn, &cfg)
	if !timer.Stop() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("remote: handshake: %w: the client did not complete the handshake within %v", ErrStalled, cfg.handshake)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("remote: handshake: %w", err)
	}
	var comp *compressor
	if h.caps&capZstd != 0 {
		if comp, err = newCompressor(cfg.maxFrame); err != nil {
			return fmt.Errorf("remote: %w", err)
		}
	}
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &server{
		m:     newMux(conn, true, &cfg, comp, h.caps),
		cfg:   cfg,
		open:  open,
		log:   cfg.log.With("client", h.version),
		ctx:   hctx,
		caps:  h.caps,
		roots: map[uint64]*served{},
		// batches bounds the batches held in memory at once.
		batches: make(chan struct{}, maxBatchesHeld),
	}
	s.log.Debug("client connected", "protocol", min(h.max, cfg.protoMax), "compression", h.caps&capZstd != 0, "delta", h.caps&capDelta != 0)
	s.m.start()
	err = s.m.readLoop(s.request)
	s.m.fail(err)
	switch {
	case errors.Is(s.m.err, ErrStalled):
		err = s.m.err // a stall closed the connection under the reader
	case peerGone(s.m.err):
		// A write found the client gone before the reader did, and closed
		// the connection under it.
		err = errHangup
	}
	cancel()
	s.wg.Wait()
	s.m.bg.Wait()
	s.closeRoots()
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, errHangup):
		s.log.Debug("client hung up")
		return nil
	}
	s.log.Warn("connection ended", "err", err)
	return fmt.Errorf("remote: %w", err)
}

// peerGone reports whether err, the first failure of a connection, says
// that the other side closed it: only this side's failure closes its own
// end, after that failure is recorded.
func peerGone(err error) bool {
	return errors.Is(err, io.ErrClosedPipe) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

type server struct {
	m    *mux
	cfg  config
	open func(context.Context, string) (zerosync.Endpoint, error)
	log  *slog.Logger
	ctx  context.Context
	caps uint64
	wg   sync.WaitGroup

	mu       sync.Mutex
	roots    map[uint64]*served
	nextRoot uint64

	batches chan struct{} // one per apply-batch held in memory
}

// served is an endpoint the client opened.
type served struct {
	ep   zerosync.Endpoint
	root string
	mu   sync.Mutex
	scan scanState
}

// close lets go of what the server keeps for the root (not its endpoint).
func (r *served) close() {
	r.mu.Lock()
	r.scan.close()
	r.mu.Unlock()
}

// request starts the work of a new stream. It runs on the reading
// goroutine: it only checks and registers the stream and starts a
// goroutine for the work.
func (s *server) request(f frame) error {
	req, err := decodeRequest(f.typ, f.payload)
	if err != nil {
		return fmt.Errorf("stream %d: %w", f.id, err)
	}
	if (f.typ == tApplyDelta || f.typ == tOpenDelta) && s.caps&capDelta == 0 {
		return protoErr("stream %d: %s request, but delta transfer was not agreed", f.id, f.typ)
	}
	if f.typ == tApplyResume && s.caps&capResume == 0 {
		return protoErr("stream %d: %s request, but resumable transfers were not agreed", f.id, f.typ)
	}
	if f.typ == tControl && s.caps&capControl == 0 {
		return protoErr("stream %d: %s request, but control requests were not agreed", f.id, f.typ)
	}
	if f.typ == tScanPaths && s.caps&capScanPaths == 0 {
		return protoErr("stream %d: %s request, but path scans were not agreed", f.id, f.typ)
	}
	if f.typ == tApplyBatch && s.caps&capBatch == 0 {
		return protoErr("stream %d: %s request, but batches were not agreed", f.id, f.typ)
	}
	if (f.typ == tRootID || f.typ == tMarkRoot) && s.caps&capIdentity == 0 {
		return protoErr("stream %d: %s request, but root identities were not agreed", f.id, f.typ)
	}
	s.m.mu.Lock()
	if _, dup := s.m.streams[f.id]; dup {
		s.m.mu.Unlock()
		return protoErr("stream %d is already in use", f.id)
	}
	if s.m.active >= maxStreams {
		s.m.mu.Unlock()
		return protoErr("more than %d streams in flight", maxStreams)
	}
	s.m.active++
	st := newStream(s.m, f.id)
	st.unacked = costOf(f.payload)
	ctx, cancel := context.WithCancel(s.ctx)
	st.cancelFunc = cancel
	s.m.streams[f.id] = st
	s.m.mu.Unlock()
	s.wg.Go(func() {
		defer cancel()
		defer s.m.remove(st)
		err := s.handle(ctx, st, req)
		if st.ended() || s.ctx.Err() != nil {
			return // answered, or the connection is going away
		}
		// Every stream ends with a terminal frame, a cancelled one too:
		// the client counts streams in flight until it sees it.
		if err == nil {
			err = errors.New("the request ended without an answer")
		}
		s.log.Debug("request failed", "stream", st.id, "request", req.typ.String(), "err", err)
		if err := st.send(s.ctx, tError, encodeError(err), false); err != nil {
			s.log.Debug("error not delivered", "stream", st.id, "err", err)
		}
	})
	return nil
}

// handle does the work of one request and sends its answer; an error it
// returns is sent as the stream's error frame.
func (s *server) handle(ctx context.Context, st *stream, req request) error {
	if req.typ == tOpenRoot {
		return s.openRoot(ctx, st, req.root)
	}
	if req.typ == tControl {
		return s.relay(ctx, st, req.engine)
	}
	s.mu.Lock()
	r := s.roots[req.handle]
	s.mu.Unlock()
	if r == nil {
		return fmt.Errorf("no open root has handle %d", req.handle)
	}
	switch req.typ {
	case tCloseRoot:
		return s.closeRoot(ctx, st, req.handle)
	case tScan:
		return s.scan(ctx, st, r, req.since)
	case tScanPaths:
		return s.scanPaths(ctx, st, r, req.paths)
	case tOpen:
		return s.openFile(ctx, st, r, req.path)
	case tApply:
		return s.apply(ctx, st, r, req.op)
	case tApplyDelta:
		return s.applyDelta(ctx, st, r, req.op, false)
	case tApplyResume:
		return s.applyDelta(ctx, st, r, req.op, true)
	case tOpenDelta:
		return s.openDelta(ctx, st, r, req.path)
	case tCopy:
		return s.copy(ctx, st, r, req.src, req.op)
	case tKeep:
		return s.keep(ctx, st, r, req)
	case tWatch:
		return s.watch(ctx, st, r)
	case tRootID, tMarkRoot:
		return s.identity(ctx, st, r, req.typ == tMarkRoot)
	case tApplyBatch:
		return s.applyBatch(ctx, st, r, req.batch)
	}
	return fmt.Errorf("%w: %s is not a request", ErrProtocol, req.typ)
}

func (s *server) openRoot(ctx context.Context, st *stream, root string) error {
	if root == "" || strings.IndexByte(root, 0) >= 0 {
		return fmt.Errorf("%w: root %q", zerosync.ErrInvalidPath, root)
	}
	s.mu.Lock()
	n := len(s.roots)
	s.mu.Unlock()
	if n >= maxRoots {
		return fmt.Errorf("%w: more than %d roots open on one connection", zerosync.ErrTooLarge, maxRoots)
	}
	ep, err := s.open(ctx, root)
	if err != nil {
		return err
	}
	if ep == nil {
		return fmt.Errorf("no endpoint for root %q", root)
	}
	var abl uint64
	if _, ok := ep.(zerosync.Copier); ok {
		abl |= ablCopier
	}
	if _, ok := ep.(zerosync.Archiver); ok {
		abl |= ablArchiver
	}
	if _, ok := ep.(zerosync.Watcher); ok {
		abl |= ablWatcher
	}
	if _, ok := ep.(zerosync.Identifier); ok {
		abl |= ablIdentity
	}
	s.mu.Lock()
	s.nextRoot++
	h := s.nextRoot
	s.roots[h] = &served{ep: ep, root: root}
	s.mu.Unlock()
	s.log.Debug("root opened", "root", root, "handle", h)
	return st.send(ctx, tResult, openRootResult{handle: h, abilities: abl}.encode(), false)
}

func (s *server) closeRoot(ctx context.Context, st *stream, h uint64) error {
	s.mu.Lock()
	r := s.roots[h]
	delete(s.roots, h)
	s.mu.Unlock()
	if r == nil {
		return fmt.Errorf("no open root has handle %d", h)
	}
	r.close()
	if err := r.ep.Close(); err != nil {
		return err
	}
	return st.send(ctx, tResult, nil, false)
}

// closeRoots closes every endpoint still open, when the connection ends.
func (s *server) closeRoots() {
	s.mu.Lock()
	roots := s.roots
	s.roots = map[uint64]*served{}
	s.mu.Unlock()
	for _, r := range roots {
		r.close()
		if err := r.ep.Close(); err != nil {
			s.log.Warn("close endpoint", "root", r.root, "err", err)
		}
	}
}

func (s *server) scan(ctx context.Context, st *stream, r *served, since uint64) error {
	snap, probs, err := r.ep.Scan(ctx)
	if err != nil {
		return err
	}
	if snap == nil {
		return errors.New("the endpoint returned no snapshot")
	}
	r.mu.Lock()
	var changes []change
	var now sums
	base := uint64(0)
	last, err := r.scan.take(since)
	if err != nil {
		s.log.Warn("a whole answer to this scan", "root", r.root, "err", err)
	}
	if last != nil {
		changes, now = diffSums(last, snap)
		base = since
	} else {
		changes, now = allChanges(snap), sumsOf(snap)
	}
	if err := r.scan.keep(now, s.cfg.spill); err != nil {
		s.log.Warn("the last scan's sums kept in memory", "root", r.root, "err", err)
	}
	r.scan.gen++
	gen := r.scan.gen
	r.mu.Unlock()

	if err := sendChanges(ctx, st, changes, base); err != nil {
		return err
	}
	end := scanEnd{gen: gen, base: base, count: uint64(len(changes)), problems: probs}
	if err := st.send(ctx, tScanEnd, end.encode(), true); err != nil {
		return err
	}
	// A full scan leaves as much garbage as the tree it read, which the
	// collector would keep for reuse: the agent between scans should be
	// the size of what it holds. A collection costs little beside the
	// scan that asked for it.
	debug.FreeOSMemory()
	return nil
}

// sizeOf returns the size of an opened file, or -1 when it cannot tell.
func sizeOf(rc io.Reader) int64 {
	if st, ok := rc.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if fi, err := st.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size()
		}
	}
	if s, ok := rc.(interface{ Size() int64 }); ok {
		return s.Size()
	}
	return -1
}

func (s *server) openFile(ctx context.Context, st *stream, r *served, p string) error {
	if err := zerosync.CheckPath(p); err != nil {
		return err
	}
	rc, err := r.ep.Open(ctx, p)
	if err != nil {
		return err
	}
	defer rc.Close()
	size := sizeOf(rc)
	if err := st.send(ctx, tOpenOK, encodeOpenOK(size), false); err != nil {
		return err
	}
	var src io.Reader = rc
	if size >= 0 {
		// A file that grew since it was measured shows as one byte too
		// many; the client refuses it.
		src = io.LimitReader(rc, size+1)
	}
	if _, err := sendContent(ctx, st, src, size); err != nil {
		return err
	}
	return st.send(ctx, tEnd, nil, false)
}

// sendContent sends everything r yields as data frames of at most
// chunkSize bytes (less under a bandwidth limit) and returns the number of
// bytes sent. size is what r should yield (-1: unknown); it sizes the
// buffer.
func sendContent(ctx context.Context, st *stream, r io.Reader, size int64) (int64, error) {
	n := int64(st.m.link.chunk)
	if size >= 0 && size < n {
		n = size + 1 // room to see one byte too many
	}
	buf := make([]byte, n)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if err := st.send(ctx, tData, buf[:n], true); err != nil {
				return total, err
			}
			total += int64(n)
		}
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return total, nil
		case err != nil:
			return total, err
		}
	}
}

// contentReader is the content of an apply or keep-conflict as the
// endpoint reads it: the data frames of the stream up to its end frame,
// cut off past limit bytes.
type contentReader struct {
	ctx   context.Context
	st    *stream
	limit int64
	n     int64
	buf   []byte
	err   error
}

func (c *contentReader) Read(p []byte) (int, error) {
	for len(c.buf) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		f, err := c.st.next(c.ctx)
		if err != nil {
			c.err = err
			continue
		}
		switch f.typ {
		case tData:
			c.buf = f.payload
			if c.n += int64(len(f.payload)); c.n > c.limit {
				c.buf, c.err = nil, fmt.Errorf("%w: the client sends more than the %d bytes it declared", zerosync.ErrDigestMismatch, c.limit)
			}
		case tEnd:
			c.err = io.EOF
		case tError:
			re, err := decodeError(f.payload)
			if err != nil {
				c.err = err
			} else {
				c.err = fmt.Errorf("the client gave up: %w", re)
			}
		default:
			c.err = protoErr("%s frame in content", f.typ)
		}
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

func (s *server) apply(ctx context.Context, st *stream, r *served, op zerosync.Op) error {
	if err := zerosync.CheckPath(op.Path); err != nil {
		return err
	}
	var content io.Reader
	if op.New != nil && op.New.Kind == zerosync.KindFile {
		content = &contentReader{ctx: ctx, st: st, limit: op.New.Size}
	}
	if err := r.ep.Apply(ctx, op, content); err != nil {
		return err
	}
	return st.send(ctx, tResult, nil, false)
}

// applyDelta applies a file whose content comes as a delta against what
// the agent holds: the agent sends the signatures of its base, the client
// answers with delta frames, and the endpoint's own Apply reads the
// content rebuilt from the base and the delta, and checks it as it checks
// any content. The base is the file the path holds, when op.Old says it is
// a file of that size (apply-delta, an update); for apply-resume it is
// preceded by what the endpoint kept of an earlier transfer of the same
// content that was cut ([zerosync.PartialKeeper]), so a transfer cut at
// 24 MiB of 32 resumes with the last 8. With no base (nothing there, a
// path that is not seekable, a base too large to sign), the signatures
// are empty and the delta is all literal.
func (s *server) applyDelta(ctx context.Context, st *stream, r *served, op zerosync.Op, resume bool) error {
	if err := zerosync.CheckPath(op.Path); err != nil {
		return err
	}
	var parts []concat.Part
	if pk, ok := zerosync.As[zerosync.PartialKeeper](r.ep); ok && resume {
		if f, n, err := pk.Partial(ctx, op.Path, *op.New); err == nil {
			defer f.Close()
			parts = append(parts, concat.Part{R: f, N: n})
		}
	}
	if op.Old != nil && op.Old.Kind == zerosync.KindFile {
		if rc, err := r.ep.Open(ctx, op.Path); err == nil {
			defer rc.Close()
			if ra, ok := rc.(io.ReaderAt); ok && sizeOf(rc) == op.Old.Size {
				parts = append(parts, concat.Part{R: ra, N: op.Old.Size})
			}
		}
	}
	// The partial first: its blocks start at 0, so all but its last match.
	for len(parts) > 0 && !deltaFits(concat.New(parts...).Size()) {
		parts = parts[1:]
	}
	sig := newSignature(0)
	var base io.ReaderAt
	if b := concat.New(parts...); b.Size() > 0 {
		base, sig = b, newSignature(b.Size())
		s.log.Debug("delta base", "path", op.Path, "parts", len(parts), "bytes", b.Size())
	}
	err := sign(ctx, base, sig, s.m.link.sigsPerFrame(), func(first int64, sums []blockSum) error {
		return st.send(ctx, tSigs, encodeSigs(sig.blockSize, sig.strongLen, sig.seed, sig.size, first, sums), false)
	})
	if err != nil {
		return err
	}
	dr := newDeltaReader(base, sig, op.New.Size, func() ([]byte, error) {
		f, err := st.next(ctx)
		if err != nil {
			return nil, err
		}
		switch f.typ {
		case tDelta:
			return f.payload, nil
		case tEnd:
			return nil, io.EOF
		case tError:
			re, err := decodeError(f.payload)
			if err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("the client gave up: %w", re)
		}
		return nil, protoErr("%s frame in a delta", f.typ)
	})
	if err := r.ep.Apply(ctx, op, dr); err != nil {
		return err
	}
	return st.send(ctx, tResult, nil, false)
}

// openDelta sends a file as a delta against content the client holds: the
// client's signatures come first, then the agent answers with the size of
// the file and the delta.
func (s *server) openDelta(ctx context.Context, st *stream, r *served, p string) error {
	if err := zerosync.CheckPath(p); err != nil {
		return err
	}
	var col sigCollector
	for done := false; !done; {
		f, err := st.next(ctx)
		if err != nil {
			return err
		}
		switch f.typ {
		case tSigs:
			if done, err = col.add(f.payload); err != nil {
				return err
			}
		case tError:
			return errors.New("the client gave up")
		default:
			return protoErr("%s frame among signatures", f.typ)
		}
	}
	rc, err := r.ep.Open(ctx, p)
	if err != nil {
		return err
	}
	defer rc.Close()
	size := sizeOf(rc)
	if err := st.send(ctx, tOpenOK, encodeOpenOK(size), false); err != nil {
		return err
	}
	var src io.Reader = rc
	if size >= 0 {
		src = io.LimitReader(rc, size+1)
	}
	sink := &deltaSink{send: func(b []byte) error { return st.send(ctx, tDelta, b, true) }, budget: s.m.link.chunk}
	if _, err := makeDelta(ctx, newIndex(&col.sig), src, sink); err != nil {
		return err
	}
	s.log.Debug("delta sent", "path", p, "literal", sink.literal, "copied", sink.copied)
	return st.send(ctx, tEnd, nil, false)
}

func (s *server) copy(ctx context.Context, st *stream, r *served, src string, op zerosync.Op) error {
	if err := zerosync.CheckPath(src); err != nil {
		return err
	}
	if err := zerosync.CheckPath(op.Path); err != nil {
		return err
	}
	cp, ok := r.ep.(zerosync.Copier)
	if !ok {
		return fmt.Errorf("copy: %w", errors.ErrUnsupported)
	}
	if err := cp.Copy(ctx, src, op); err != nil {
		return err
	}
	return st.send(ctx, tResult, nil, false)
}

func (s *server) keep(ctx context.Context, st *stream, r *served, req request) error {
	if err := zerosync.CheckPath(req.path); err != nil {
		return err
	}
	ar, ok := r.ep.(zerosync.Archiver)
	if !ok {
		return fmt.Errorf("keep a conflict copy: %w", errors.ErrUnsupported)
	}
	var content io.Reader
	if req.entry.Kind == zerosync.KindFile {
		content = &contentReader{ctx: ctx, st: st, limit: req.entry.Size}
	}
	cp, err := ar.KeepConflict(ctx, req.path, *req.entry, content, req.note)
	if err != nil {
		return err
	}
	if len(cp) > maxWirePath {
		return fmt.Errorf("the endpoint named a conflict copy of %d bytes", len(cp))
	}
	return st.send(ctx, tResult, encodeKeepResult(cp), false)
}
