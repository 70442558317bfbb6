package remote

import (
	"fmt"
	"strings"

	"github.com/zerosync/zerosync"
)

// Capabilities, as bits of the handshake.
const (
	capZstd      = 1 << 0 // frames may be zstd-compressed
	capDelta     = 1 << 1 // apply-delta and open-delta requests
	capKeepalive = 1 << 2 // ping and pong frames
	capIdentity  = 1 << 3 // root-id and mark-root requests
	capAll       = capZstd | capDelta | capKeepalive | capIdentity
)

// Abilities of a served endpoint, as bits of the open-root result.
const (
	ablCopier   = 1 << 0
	ablArchiver = 1 << 1
	ablWatcher  = 1 << 2
	ablIdentity = 1 << 3 // zerosync.Identifier
)

// hello is the client's first frame.
type hello struct {
	min, max int    // protocol versions the client speaks
	version  string // the client's version string
	caps     uint64
}

func (m hello) encode() []byte {
	var e encoder
	e.uvarint(uint64(m.min))
	e.uvarint(uint64(m.max))
	e.str(m.version)
	e.uvarint(m.caps)
	return e.b
}

func decodeHello(b []byte) (hello, error) {
	d := newDecoder("hello", b)
	m := hello{min: d.protoVersion("lowest version"), max: d.protoVersion("highest version")}
	m.version = d.str("version", maxVersionLen)
	m.caps = d.uvarint("capabilities")
	if d.err == nil && m.min > m.max {
		d.fail("versions %d to %d are not a range", m.min, m.max)
	}
	return m, d.end()
}

// protoVersion reads a protocol version; versions are small numbers.
func (d *decoder) protoVersion(field string) int {
	v := d.uvarint(field)
	if d.err == nil && v > 1<<16 {
		d.fail("%s: %d is not a protocol version", field, v)
	}
	return int(v)
}

// helloReply is the server's answer to hello. version is the version both
// sides now speak, or 0 when they share none; min and max are the server's
// range either way.
type helloReply struct {
	version, min, max int
	agent             string
	caps              uint64
}

func (m helloReply) encode() []byte {
	var e encoder
	e.uvarint(uint64(m.version))
	e.uvarint(uint64(m.min))
	e.uvarint(uint64(m.max))
	e.str(m.agent)
	e.uvarint(m.caps)
	return e.b
}

func decodeHelloReply(b []byte) (helloReply, error) {
	d := newDecoder("hello reply", b)
	m := helloReply{version: d.protoVersion("version"), min: d.protoVersion("lowest version"), max: d.protoVersion("highest version")}
	m.agent = d.str("agent version", maxVersionLen)
	m.caps = d.uvarint("capabilities")
	if d.err == nil && m.min > m.max {
		d.fail("versions %d to %d are not a range", m.min, m.max)
	}
	return m, d.end()
}

// request is the decoded first frame of a stream. Which fields are set
// depends on the type: handle for everything but open-root; path for open,
// open-delta, keep-conflict; src for copy; op for apply, apply-delta and
// copy; entry and note for keep-conflict; since for scan; root for
// open-root.
type request struct {
	typ    ftype
	handle uint64
	root   string
	since  uint64
	path   string
	src    string
	op     zerosync.Op
	entry  *zerosync.Entry
	note   string
}

// Flags of an encoded op.
const (
	opArchive = 1 << 0
	opHasOld  = 1 << 1
	opHasNew  = 1 << 2
	opFlags   = opArchive | opHasOld | opHasNew
)

func (e *encoder) op(op zerosync.Op) {
	e.str(op.Path)
	var fl uint8
	if op.Archive {
		fl |= opArchive
	}
	if op.Old != nil {
		fl |= opHasOld
	}
	if op.New != nil {
		fl |= opHasNew
	}
	e.u8(fl)
	if op.Old != nil {
		e.entry(op.Old)
	}
	if op.New != nil {
		e.entry(op.New)
	}
}

func (d *decoder) op(field string) zerosync.Op {
	op := zerosync.Op{Path: d.str(field+" path", maxWirePath)}
	fl := d.u8(field + " flags")
	if d.err == nil && fl&^opFlags != 0 {
		d.fail("%s: unknown flags %#x", field, fl)
	}
	op.Archive = fl&opArchive != 0
	if fl&opHasOld != 0 {
		op.Old = d.entry(field + " old entry")
	}
	if fl&opHasNew != 0 {
		op.New = d.entry(field + " new entry")
	}
	if d.err == nil && op.Old == nil && op.New == nil {
		d.fail("%s: neither an old nor a new entry", field)
	}
	return op
}

// checkOp reports whether op can be encoded.
func checkOp(op zerosync.Op) error {
	if len(op.Path) > maxWirePath {
		return zerosync.ValidPath(op.Path)
	}
	for _, x := range []*zerosync.Entry{op.Old, op.New} {
		if x != nil {
			if err := checkEntry(x); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r request) encode() []byte {
	var e encoder
	if r.typ == tOpenRoot {
		e.str(r.root)
		return e.b
	}
	e.uvarint(r.handle)
	switch r.typ {
	case tScan:
		e.uvarint(r.since)
	case tOpen, tOpenDelta:
		e.str(r.path)
	case tApply, tApplyDelta:
		e.op(r.op)
	case tCopy:
		e.str(r.src)
		e.op(r.op)
	case tKeep:
		e.str(r.path)
		e.entry(r.entry)
		e.str(r.note)
	}
	return e.b
}

// decodeRequest decodes the first frame of a stream of type typ.
func decodeRequest(typ ftype, b []byte) (request, error) {
	d := newDecoder(typ.String()+" request", b)
	r := request{typ: typ}
	if typ == tOpenRoot {
		r.root = d.str("root", maxRootLen)
		return r, d.end()
	}
	r.handle = d.uvarint("handle")
	switch typ {
	case tCloseRoot, tWatch, tRootID, tMarkRoot:
	case tScan:
		r.since = d.uvarint("generation")
	case tOpen, tOpenDelta:
		r.path = d.str("path", maxWirePath)
	case tApply, tApplyDelta:
		r.op = d.op("op")
	case tCopy:
		r.src = d.str("source path", maxWirePath)
		r.op = d.op("op")
	case tKeep:
		r.path = d.str("path", maxWirePath)
		r.entry = d.entry("entry")
		r.note = d.str("note", maxNoteLen)
	default:
		d.fail("not a request")
	}
	if d.err == nil && typ == tApplyDelta && !isFileUpdate(r.op) {
		d.fail("a delta applies to an update of a file by a file")
	}
	return r, d.end()
}

// isFileUpdate reports whether op replaces a file by a file.
func isFileUpdate(op zerosync.Op) bool {
	return op.Old != nil && op.New != nil && op.Old.Kind == zerosync.KindFile && op.New.Kind == zerosync.KindFile
}

// openRootResult is the result of open-root: the handle naming the
// endpoint in later requests, and the optional abilities it has.
type openRootResult struct {
	handle    uint64
	abilities uint64
}

func (m openRootResult) encode() []byte {
	var e encoder
	e.uvarint(m.handle)
	e.uvarint(m.abilities)
	return e.b
}

func decodeOpenRootResult(b []byte) (openRootResult, error) {
	d := newDecoder("open-root result", b)
	m := openRootResult{handle: d.uvarint("handle"), abilities: d.uvarint("abilities")}
	return m, d.end()
}

// keepResult is the result of keep-conflict: the conflict copy's path.
func encodeKeepResult(copyPath string) []byte {
	var e encoder
	e.str(copyPath)
	return e.b
}

func decodeKeepResult(b []byte) (string, error) {
	d := newDecoder("keep-conflict result", b)
	p := d.str("copy path", maxWirePath)
	return p, d.end()
}

// openOK announces content: its size in bytes, or -1 when the agent cannot
// tell.
func encodeOpenOK(size int64) []byte {
	var e encoder
	e.varint(size)
	return e.b
}

func decodeOpenOK(b []byte) (int64, error) {
	d := newDecoder("open-ok", b)
	n := d.varint("size")
	if d.err == nil && (n < -1 || n > maxFileSize) {
		d.fail("size %d out of range", n)
	}
	return n, d.end()
}

// window is a flow-control credit: bytes the receiver of the frame may send
// more on the stream.
func encodeWindow(n int) []byte {
	var e encoder
	e.uvarint(uint64(n))
	return e.b
}

func decodeWindow(b []byte) (int, error) {
	d := newDecoder("window", b)
	n := d.uvarint("credit")
	if d.err == nil && (n == 0 || n > streamWindow) {
		d.fail("credit %d out of range (1 to %d)", n, streamWindow)
	}
	return int(n), d.end()
}

// Limits of watch hints.
const (
	maxHintPaths = 4096
	hintBudget   = 64 << 10 // bytes of paths per hint frame
)

func encodeHint(h zerosync.Hint) []byte {
	var e encoder
	var fl uint8
	if h.Full {
		fl = 1
	}
	e.u8(fl)
	e.str(cut(h.Reason, maxReasonLen))
	e.uvarint(uint64(len(h.Paths)))
	for _, p := range h.Paths {
		e.str(p)
	}
	return e.b
}

func decodeHint(b []byte) (zerosync.Hint, error) {
	d := newDecoder("hint", b)
	var h zerosync.Hint
	fl := d.u8("flags")
	if d.err == nil && fl > 1 {
		d.fail("unknown flags %#x", fl)
	}
	h.Full = fl == 1
	h.Reason = d.str("reason", maxReasonLen)
	n := d.count("paths", maxHintPaths, 1)
	if n > 0 {
		h.Paths = make([]string, 0, n)
	}
	for range n {
		h.Paths = append(h.Paths, d.str("path", maxWirePath))
	}
	return h, d.end()
}

// maxFilesystemLen bounds the file system identity of a root on the wire.
const maxFilesystemLen = 256

// encodeRootID is the result of root-id and mark-root: the replica ID
// ("" when the root has no marker) and the file system identity.
func encodeRootID(id zerosync.RootID) []byte {
	var e encoder
	e.str(id.Replica)
	e.str(id.Filesystem)
	return e.b
}

func decodeRootID(b []byte) (zerosync.RootID, error) {
	d := newDecoder("root identity", b)
	id := zerosync.RootID{Replica: d.str("replica", zerosync.MaxReplicaIDLen), Filesystem: d.str("file system", maxFilesystemLen)}
	if d.err == nil {
		if err := checkRootID(id); err != nil {
			d.fail("%v", err)
		}
	}
	return id, d.end()
}

// checkRootID reports whether id can travel: a valid replica ID or none,
// and a file system identity of printable ASCII within its limit.
func checkRootID(id zerosync.RootID) error {
	if id.Replica != "" {
		if err := zerosync.CheckReplicaID(id.Replica); err != nil {
			return err
		}
	}
	if len(id.Filesystem) > maxFilesystemLen {
		return fmt.Errorf("file system identity of %d bytes (at most %d)", len(id.Filesystem), maxFilesystemLen)
	}
	if i := strings.IndexFunc(id.Filesystem, func(r rune) bool { return r < ' ' || r > '~' }); i >= 0 {
		return fmt.Errorf("file system identity %q has a character that is not printable ASCII at byte %d", cut(id.Filesystem, 64), i)
	}
	return nil
}
