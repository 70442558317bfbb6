package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"sync/atomic"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

var (
	_ zerosync.Endpoint    = (*Endpoint)(nil)
	_ zerosync.Copier      = (*Endpoint)(nil)
	_ zerosync.Archiver    = (*Endpoint)(nil)
	_ zerosync.Watcher     = (*Endpoint)(nil)
	_ zerosync.DeltaOpener = (*Endpoint)(nil)
)

// DeltaOpener is [zerosync.DeltaOpener], which [Endpoint] has: reading a
// file as a delta against content the caller already holds.
type DeltaOpener = zerosync.DeltaOpener

// Endpoint is a tree on the agent's host, reached over a [Client]'s
// connection. It implements [zerosync.Endpoint], [zerosync.Copier],
// [zerosync.Archiver], [zerosync.Watcher], [zerosync.Identifier],
// [zerosync.Locator] and [DeltaOpener]; the optional abilities fail with an
// error wrapping [errors.ErrUnsupported] when the agent or its endpoint
// lacks them. Build one with [Client.Endpoint]. All
// methods are safe for concurrent use; scans of one endpoint take turns.
//
// Every path is checked with [zerosync.CheckPath] before it is sent (and
// again by the agent); every snapshot received is checked with
// [zerosync.Snapshot.Validate]; content read from the agent is checked
// against the size the agent declared, and content sent is checked against
// the op's size and digest as it goes, so a lying reader is caught on this
// side.
type Endpoint struct {
	c      *Client
	root   string
	handle uint64
	abl    uint64
	closed atomic.Bool

	// scanMu is held for a scan; it guards gen and last, the client's
	// half of incremental scans.
	scanMu chan struct{}
	gen    uint64
	last   lastScan
}

// Root returns the root on the agent's host.
func (e *Endpoint) Root() string { return e.root }

// usable returns why a call cannot start: ctx is done, or the endpoint
// was closed.
func (e *Endpoint) usable(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e.closed.Load() {
		return fs.ErrClosed
	}
	return nil
}

func (e *Endpoint) perr(op, p string, err error) error {
	return &zerosync.PathError{Op: op, Host: e.c.cfg.name, Path: p, Err: err}
}

// Scan returns the agent's tree, scanned on the agent's host by its
// endpoint (with that endpoint's stat cache). After the first scan the
// agent sends only what changed since the snapshot this endpoint last
// received, so a scan that finds nothing new costs a few dozen bytes. The
// snapshot is checked with [zerosync.Snapshot.Validate]; an invalid one is
// an error naming the first bad path. The returned snapshot is the
// caller's: the endpoint keeps its own copy as the base of the next
// incremental scan.
func (e *Endpoint) Scan(ctx context.Context) (zerosync.Snapshot, []zerosync.Problem, error) {
	if err := e.usable(ctx); err != nil {
		return nil, nil, e.perr("scan", ".", err)
	}
	select {
	case e.scanMu <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, e.perr("scan", ".", ctx.Err())
	}
	defer func() { <-e.scanMu }()
	s, probs, err := e.scan(ctx)
	if err != nil {
		return nil, nil, e.perr("scan", ".", err)
	}
	return s, probs, nil
}

func (e *Endpoint) scan(ctx context.Context) (zerosync.Snapshot, []zerosync.Problem, error) {
	st, err := e.c.start(ctx, tScan, request{handle: e.handle, since: e.gen})
	if err != nil {
		return nil, nil, err
	}
	defer e.c.finish(st)
	dec := snapDecoder{max: e.c.cfg.maxEntries}
	var b *snapBuilder
	// lost is why this side could not read back its last scan (a spill
	// file that failed): not the agent's fault, and no protocol violation.
	var lost error
	begin := func(base uint64) error {
		if base != 0 && (base != e.gen || !e.last.ok) {
			return protoErr("the scan is a diff against generation %d, but this side holds %d", base, e.gen)
		}
		var last zerosync.Snapshot
		if base != 0 {
			var err error
			if last, err = e.last.unpack(); err != nil {
				e.gen = 0 // start afresh next time
				e.setLast(lastScan{})
				lost = fmt.Errorf("%w; the next scan asks for the whole tree", err)
				return lost
			}
		}
		b = newSnapBuilder(last, base != 0)
		return nil
	}
	for {
		f, err := st.next(ctx)
		if err != nil {
			return nil, nil, err
		}
		switch f.typ {
		case tScanChunk:
			if err := dec.decode(f.payload, begin, func(c change) error { return b.apply(c) }); err != nil {
				if lost != nil {
					return nil, nil, lost
				}
				return nil, nil, e.c.violation(err)
			}
			continue
		case tError:
			return nil, nil, e.c.remoteErr(f)
		case tScanEnd:
		default:
			return nil, nil, e.c.violation(protoErr("%s frame in a scan", f.typ))
		}
		end, err := decodeScanEnd(f.payload)
		switch {
		case err != nil:
		case dec.started && end.base != dec.base:
			err = protoErr("scan end is based on generation %d, its chunks on %d", end.base, dec.base)
		case end.count != uint64(dec.total):
			err = protoErr("scan end counts %d changes, the chunks held %d", end.count, dec.total)
		case !dec.started:
			err = begin(end.base)
		}
		if lost != nil {
			return nil, nil, lost
		}
		if err != nil {
			return nil, nil, e.c.violation(err)
		}
		if b.changed() {
			if err := b.out.Validate(); err != nil {
				e.gen = 0 // start afresh next time
				e.setLast(lastScan{})
				return nil, nil, fmt.Errorf("refusing the agent's snapshot: %w", err)
			}
			l, err := packScan(b.out, e.c.cfg.spill)
			if err != nil {
				e.c.cfg.log.Warn("the last scan kept in memory", "root", e.root, "err", err)
			}
			e.setLast(l)
		}
		e.gen = end.gen
		return b.out, end.problems, nil
	}
}

// setLast makes l the last scan, letting go of the one before; e.scanMu is
// held. A closed endpoint keeps nothing.
func (e *Endpoint) setLast(l lastScan) {
	e.last.spilled.close()
	if e.closed.Load() {
		l.spilled.close()
		l = lastScan{}
	}
	e.last = l
}

// Open returns the content of the file at path. The agent declares the
// size first; the reader fails when the content turns out longer or
// shorter than declared. Reading honours ctx. The caller closes the
// reader.
func (e *Endpoint) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	if err := e.usable(ctx); err != nil {
		return nil, e.perr("open", path, err)
	}
	if err := zerosync.CheckPath(path); err != nil {
		return nil, e.perr("open", path, err)
	}
	st, err := e.c.start(ctx, tOpen, request{handle: e.handle, path: path})
	if err != nil {
		return nil, e.perr("open", path, err)
	}
	size, err := e.openOK(ctx, st)
	if err != nil {
		e.c.finish(st)
		return nil, e.perr("open", path, err)
	}
	return &fileReader{e: e, st: st, ctx: ctx, path: path, size: size}, nil
}

// openOK waits for the agent's answer to an open: the size of the content
// to come, or an error.
func (e *Endpoint) openOK(ctx context.Context, st *stream) (int64, error) {
	f, err := st.next(ctx)
	if err != nil {
		return 0, err
	}
	switch f.typ {
	case tOpenOK:
		size, err := decodeOpenOK(f.payload)
		if err != nil {
			return 0, e.c.violation(err)
		}
		return size, nil
	case tError:
		return 0, e.c.remoteErr(f)
	}
	return 0, e.c.violation(protoErr("%s frame instead of open-ok", f.typ))
}

// fileReader is the content of an Open.
type fileReader struct {
	e         *Endpoint
	st        *stream
	ctx       context.Context
	path      string
	size      int64 // -1: not declared
	n         int64
	buf       []byte
	err       error
	closeOnce sync.Once
}

func (r *fileReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.err = r.fill()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// fill takes the next frame; the error it returns sticks.
func (r *fileReader) fill() error {
	f, err := r.st.next(r.ctx)
	if err != nil {
		return r.e.perr("read", r.path, err)
	}
	switch f.typ {
	case tData:
		r.n += int64(len(f.payload))
		if r.size >= 0 && r.n > r.size {
			return r.e.perr("read", r.path, fmt.Errorf("%w: the agent sends more than the %d bytes it declared", zerosync.ErrDigestMismatch, r.size))
		}
		r.buf = f.payload
		return nil
	case tEnd:
		if r.size >= 0 && r.n != r.size {
			return r.e.perr("read", r.path, fmt.Errorf("%w: the agent sent %d of the %d bytes it declared", zerosync.ErrDigestMismatch, r.n, r.size))
		}
		r.e.c.filesRecv.Add(1)
		return io.EOF
	case tError:
		return r.e.perr("read", r.path, r.e.c.remoteErr(f))
	}
	return r.e.perr("read", r.path, r.e.c.violation(protoErr("%s frame in file content", f.typ)))
}

// Close ends the stream; the agent stops sending when the content was not
// read to its end.
func (r *fileReader) Close() error {
	r.closeOnce.Do(func() { r.e.c.finish(r.st) })
	return nil
}

// Apply changes one path on the agent's host; see [zerosync.Endpoint]. The
// agent's endpoint does the work (and checks everything again). The
// content of a file is streamed in chunks, checked against op.New's size
// and digest on the way: content that lies fails here with
// [zerosync.ErrDigestMismatch], and the agent drops what it received. An
// update of a file the agent has, both versions at least the delta minimum
// size ([WithDeltaMinSize]), travels as a delta against the agent's copy.
// A file of 1 MiB or more (and at least the delta minimum size) travels as
// a delta against what the agent kept of an earlier push of the same
// content that was cut, and its old copy, if any: a push cut short
// resumes where it stopped (see "Resuming a cut transfer" in the package
// documentation); the agent may keep what it received when this push is
// cut in turn.
//
// When ctx is cancelled the agent is told to stop and Apply returns at
// once; the agent may have completed the change just before (a later scan
// tells).
func (e *Endpoint) Apply(ctx context.Context, op zerosync.Op, content io.Reader) error {
	if err := e.apply(ctx, op, content); err != nil {
		return e.perr("apply", op.Path, err)
	}
	return nil
}

func (e *Endpoint) apply(ctx context.Context, op zerosync.Op, content io.Reader) error {
	if err := e.usable(ctx); err != nil {
		return err
	}
	if err := zerosync.CheckPath(op.Path); err != nil {
		return err
	}
	if op.Old == nil && op.New == nil {
		return errors.New("an op must have an old or a new entry")
	}
	if err := checkOp(op); err != nil {
		return err
	}
	isFile := op.New != nil && op.New.Kind == zerosync.KindFile
	if isFile && content == nil {
		return fmt.Errorf("%w: no content for a file", zerosync.ErrDigestMismatch)
	}
	if isFile && !e.c.wholeOnly.has(op.New.Digest) && (e.resumable(op) || e.useDelta(op)) {
		typ := tApplyDelta
		if e.resumable(op) {
			typ = tApplyResume
		}
		err := e.applyDelta(ctx, typ, op, content)
		var rw *rebuiltWrong
		if !errors.As(err, &rw) {
			return err
		}
		// The content was right and the delta rebuilt something else:
		// never again as a delta, and now whole when content can be read
		// again from its start.
		e.c.wholeOnly.add(op.New.Digest)
		s, ok := content.(io.Seeker)
		if !ok {
			return err
		}
		if _, serr := s.Seek(0, io.SeekStart); serr != nil {
			return err
		}
		e.c.log.Debug("delta rebuilt another file; sending it whole", "path", op.Path, "err", rw.err)
	}
	req := request{handle: e.handle, op: op}
	var st *stream
	var err error
	small := isFile && op.New.Size < int64(e.c.m.link.chunk)
	if small {
		// A small file is read and checked first, and goes out with its
		// request in one write.
		data, err := readSmall(content, op.New)
		if err != nil {
			return err
		}
		st, err = e.c.start(ctx, tApply, req, contentFrames(data)...)
		if err != nil {
			return err
		}
	} else if st, err = e.c.start(ctx, tApply, req); err != nil {
		return err
	}
	defer e.c.finish(st)
	if isFile && !small {
		if err := e.sendFile(ctx, st, op.New, content); err != nil && !errors.Is(err, errPeerDone) {
			return err
		}
	}
	if _, err := e.c.result(ctx, st); err != nil {
		return err
	}
	if isFile {
		e.c.filesSent.Add(1)
	}
	return nil
}

// readSmall reads the content of a small file and checks it against want.
func readSmall(content io.Reader, want *zerosync.Entry) ([]byte, error) {
	buf := make([]byte, want.Size+1)
	n, err := io.ReadFull(content, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if err := checkContent(want, int64(n), digest.Sum(buf[:n])); err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// contentFrames are the frames of a small file's content.
func contentFrames(data []byte) []outFrame {
	if len(data) == 0 {
		return []outFrame{{typ: tEnd}}
	}
	return []outFrame{{typ: tData, payload: data}, {typ: tEnd}}
}

// resumeMin is the least size of a file that is pushed resumably.
const resumeMin = 1 << 20

// resumable reports whether op should travel as apply-resume: a file of
// at least resumeMin bytes and the delta minimum size, to an agent that
// takes it. It costs a round trip before the content, for the agent's
// signatures.
func (e *Endpoint) resumable(op zerosync.Op) bool {
	return e.c.caps&capResume != 0 && op.New.Size >= max(resumeMin, e.c.cfg.deltaMin)
}

// useDelta reports whether op should travel as a delta.
func (e *Endpoint) useDelta(op zerosync.Op) bool {
	return e.c.caps&capDelta != 0 && isFileUpdate(op) &&
		op.Old.Size >= e.c.cfg.deltaMin && op.New.Size >= e.c.cfg.deltaMin && deltaFits(op.Old.Size)
}

// sendFile streams content as data frames and an end frame, checking it
// against want: at most want.Size+1 bytes are read, and content of another
// size or digest is an error wrapping ErrDigestMismatch (no end frame is
// sent, so the agent never takes it).
func (e *Endpoint) sendFile(ctx context.Context, st *stream, want *zerosync.Entry, content io.Reader) error {
	h := digest.NewReader(io.LimitReader(content, want.Size+1))
	if _, err := sendContent(ctx, st, h, want.Size); err != nil {
		return err
	}
	if err := checkContent(want, h.N, h.H.Sum()); err != nil {
		return err
	}
	return st.send(ctx, tEnd, nil, false)
}

// checkContent compares content of n bytes and digest d with want.
func checkContent(want *zerosync.Entry, n int64, d zerosync.Digest) error {
	switch {
	case n > want.Size:
		return fmt.Errorf("%w: content is longer than the %d bytes declared", zerosync.ErrDigestMismatch, want.Size)
	case n < want.Size:
		return fmt.Errorf("%w: content ends after %d of the %d bytes declared", zerosync.ErrDigestMismatch, n, want.Size)
	case d != want.Digest:
		return fmt.Errorf("%w: content has digest %s, not %s", zerosync.ErrDigestMismatch, d.Short(), want.Digest.Short())
	}
	return nil
}

// applyDelta sends a file as a delta (typ is apply-delta or apply-resume):
// the agent sends the signatures of what it holds (the old file; for
// apply-resume also what it kept of a cut transfer of this content), this
// side answers with copy and literal instructions computed from content,
// and the agent rebuilds the file and applies it like any content.
func (e *Endpoint) applyDelta(ctx context.Context, typ ftype, op zerosync.Op, content io.Reader) error {
	st, err := e.c.start(ctx, typ, request{handle: e.handle, op: op})
	if err != nil {
		return err
	}
	defer e.c.finish(st)
	var col sigCollector
	for done := false; !done; {
		f, err := st.next(ctx)
		if err != nil {
			return err
		}
		switch f.typ {
		case tSigs:
			if done, err = col.add(f.payload); err != nil {
				return e.c.violation(err)
			}
		case tError:
			return e.c.remoteErr(f)
		default:
			return e.c.violation(protoErr("%s frame among signatures", f.typ))
		}
	}
	h := digest.NewReader(io.LimitReader(content, op.New.Size+1))
	sink := &deltaSink{send: func(b []byte) error { return st.send(ctx, tDelta, b, true) }, budget: e.c.m.link.chunk}
	_, err = makeDelta(ctx, newIndex(&col.sig), h, sink)
	checked := false // the content read had op.New's size and digest
	if err == nil {
		if err = checkContent(op.New, h.N, h.H.Sum()); err != nil {
			return err
		}
		checked = true
		err = st.send(ctx, tEnd, nil, false)
	}
	if err != nil && !errors.Is(err, errPeerDone) {
		return err
	}
	if _, err := e.c.result(ctx, st); err != nil {
		if checked && errors.Is(err, zerosync.ErrDigestMismatch) {
			return &rebuiltWrong{err: err}
		}
		return err
	}
	e.c.log.Debug("delta applied", "path", op.Path, "literal", sink.literal, "copied", sink.copied)
	e.c.filesSent.Add(1)
	if col.sig.size > 0 {
		e.c.deltaFiles.Add(1)
	}
	return nil
}

// OpenDelta returns the content of the file at path, moving only what
// differs from have (haveSize bytes of an older version held by the
// caller): this side sends block signatures of have, the agent answers with
// the size of its file and copy and literal instructions, and the returned
// reader rebuilds the new content from have and the literals. It is the
// pull direction of delta transfer; see [DeltaOpener]. The reader yields
// exactly the declared size or fails; the caller checks the digest (a
// target's Apply does). When delta transfer was not agreed, or have is
// too large to sign, it is a plain [Endpoint.Open].
func (e *Endpoint) OpenDelta(ctx context.Context, path string, have io.ReaderAt, haveSize int64) (io.ReadCloser, error) {
	if err := e.usable(ctx); err != nil {
		return nil, e.perr("open", path, err)
	}
	if err := zerosync.CheckPath(path); err != nil {
		return nil, e.perr("open", path, err)
	}
	if have == nil || haveSize < 0 {
		return nil, e.perr("open", path, errors.New("OpenDelta needs content to start from"))
	}
	if e.c.caps&capDelta == 0 || !deltaFits(haveSize) || haveSize < e.c.cfg.deltaMin {
		return e.Open(ctx, path) // a small file is cheaper sent whole
	}
	st, err := e.c.start(ctx, tOpenDelta, request{handle: e.handle, path: path})
	if err != nil {
		return nil, e.perr("open", path, err)
	}
	// The whole strong hash: a false match here would fail the target's
	// digest check with no second try, where a push is sent again whole.
	sig := newSignature(haveSize)
	sig.strongLen = strongMax
	err = sign(ctx, have, sig, e.c.m.link.sigsPerFrame(), func(first int64, sums []blockSum) error {
		return st.send(ctx, tSigs, encodeSigs(sig.blockSize, sig.strongLen, sig.seed, sig.size, first, sums), false)
	})
	if err != nil && !errors.Is(err, errPeerDone) {
		e.c.finish(st)
		return nil, e.perr("open", path, err)
	}
	size, err := e.openOK(ctx, st)
	if err != nil {
		e.c.finish(st)
		return nil, e.perr("open", path, err)
	}
	r := &deltaFile{e: e, st: st, path: path}
	r.dr = newDeltaReader(have, sig, size, func() ([]byte, error) {
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
			return nil, e.c.remoteErr(f)
		}
		return nil, e.c.violation(protoErr("%s frame in a delta", f.typ))
	})
	return r, nil
}

// deltaFile is the content of an OpenDelta.
type deltaFile struct {
	e         *Endpoint
	st        *stream
	path      string
	dr        *deltaReader
	counted   bool
	closeOnce sync.Once
}

func (r *deltaFile) Read(p []byte) (int, error) {
	n, err := r.dr.Read(p)
	switch {
	case errors.Is(err, io.EOF):
		if !r.counted {
			r.counted = true
			r.e.c.filesRecv.Add(1)
			r.e.c.deltaFiles.Add(1)
		}
	case err != nil:
		if errors.Is(err, ErrProtocol) {
			r.e.c.violation(err)
		}
		err = r.e.perr("read", r.path, err)
	}
	return n, err
}

func (r *deltaFile) Close() error {
	r.closeOnce.Do(func() { r.e.c.finish(r.st) })
	return nil
}

// Copy makes op.Path on the agent's host from the file at src there,
// without moving the bytes; see [zerosync.Copier].
func (e *Endpoint) Copy(ctx context.Context, src string, op zerosync.Op) error {
	if err := e.copy(ctx, src, op); err != nil {
		return e.perr("copy", op.Path, err)
	}
	return nil
}

func (e *Endpoint) copy(ctx context.Context, src string, op zerosync.Op) error {
	if err := e.usable(ctx); err != nil {
		return err
	}
	for _, p := range []string{src, op.Path} {
		if err := zerosync.CheckPath(p); err != nil {
			return err
		}
	}
	if op.New == nil {
		return errors.New("copy makes files only")
	}
	if err := checkOp(op); err != nil {
		return err
	}
	if e.abl&ablCopier == 0 {
		return fmt.Errorf("the agent's endpoint does not copy: %w", errors.ErrUnsupported)
	}
	st, err := e.c.start(ctx, tCopy, request{handle: e.handle, src: src, op: op})
	if err != nil {
		return err
	}
	defer e.c.finish(st)
	_, err = e.c.result(ctx, st)
	return err
}

// KeepConflict saves content as a conflict copy next to path on the
// agent's host, and in its archive; see [zerosync.Archiver]. The content is
// checked like Apply's. The returned path is checked with
// [zerosync.ValidPath].
func (e *Endpoint) KeepConflict(ctx context.Context, path string, ent zerosync.Entry, content io.Reader, note string) (string, error) {
	cp, err := e.keep(ctx, path, ent, content, note)
	if err != nil {
		return "", e.perr("keep-conflict", path, err)
	}
	return cp, nil
}

func (e *Endpoint) keep(ctx context.Context, path string, ent zerosync.Entry, content io.Reader, note string) (string, error) {
	if err := e.usable(ctx); err != nil {
		return "", err
	}
	if err := zerosync.CheckPath(path); err != nil {
		return "", err
	}
	if err := checkEntry(&ent); err != nil {
		return "", err
	}
	isFile := ent.Kind == zerosync.KindFile
	if isFile && content == nil {
		return "", fmt.Errorf("%w: no content for a file", zerosync.ErrDigestMismatch)
	}
	if e.abl&ablArchiver == 0 {
		return "", fmt.Errorf("the agent's endpoint does not keep conflict copies: %w", errors.ErrUnsupported)
	}
	req := request{handle: e.handle, path: path, entry: &ent, note: cut(note, maxNoteLen)}
	var more []outFrame
	small := isFile && ent.Size < int64(e.c.m.link.chunk)
	if small {
		data, err := readSmall(content, &ent)
		if err != nil {
			return "", err
		}
		more = contentFrames(data)
	}
	st, err := e.c.start(ctx, tKeep, req, more...)
	if err != nil {
		return "", err
	}
	defer e.c.finish(st)
	if isFile && !small {
		if err := e.sendFile(ctx, st, &ent, content); err != nil && !errors.Is(err, errPeerDone) {
			return "", err
		}
	}
	b, err := e.c.result(ctx, st)
	if err != nil {
		return "", err
	}
	cp, err := decodeKeepResult(b)
	if err == nil {
		if verr := zerosync.ValidPath(cp); verr != nil {
			err = protoErr("the agent names an invalid conflict copy: %v", verr)
		}
	}
	if err != nil {
		return "", e.c.violation(err)
	}
	if isFile {
		e.c.filesSent.Add(1)
	}
	return cp, nil
}

// Close releases the endpoint on the agent (which closes its own endpoint
// for the root). It is safe to call more than once; on a connection that
// has ended it does nothing.
func (e *Endpoint) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	// The last scan goes now unless a scan holds it: that scan lets it go
	// when it ends (see setLast).
	select {
	case e.scanMu <- struct{}{}:
		e.setLast(lastScan{})
		<-e.scanMu
	default:
	}
	if !e.c.m.alive() {
		return nil
	}
	ctx := context.Background()
	st, err := e.c.start(ctx, tCloseRoot, request{handle: e.handle})
	if err != nil {
		if errors.Is(err, ErrClosed) {
			return nil
		}
		return e.perr("close", ".", err)
	}
	defer e.c.finish(st)
	if _, err := e.c.result(ctx, st); err != nil && !errors.Is(err, ErrClosed) {
		return e.perr("close", ".", err)
	}
	return nil
}
