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
	capResume    = 1 << 4 // apply-resume requests
	capControl   = 1 << 5 // control requests (the agent relays to a daemon)
	capScanPaths = 1 << 6 // scan-paths requests
	capBatch     = 1 << 7 // apply-batch requests
	capAll       = capZstd | capDelta | capKeepalive | capIdentity | capResume | capControl | capScanPaths | capBatch
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
	e.Uvarint(uint64(m.min))
	e.Uvarint(uint64(m.max))
	e.Str(m.version)
	e.Uvarint(m.caps)
	return e.B
}

func decodeHello(b []byte) (hello, error) {
	d := newDecoder("hello", b)
	m := hello{min: d.protoVersion("lowest version"), max: d.protoVersion("highest version")}
	m.version = d.Str("version", maxVersionLen)
	m.caps = d.Uvarint("capabilities")
	if d.Err == nil && m.min > m.max {
		d.Fail("versions %d to %d are not a range", m.min, m.max)
	}
	return m, d.End()
}

// protoVersion reads a protocol version; versions are small numbers.
func (d *decoder) protoVersion(field string) int {
	v := d.Uvarint(field)
	if d.Err == nil && v > 1<<16 {
		d.Fail("%s: %d is not a protocol version", field, v)
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
	e.Uvarint(uint64(m.version))
	e.Uvarint(uint64(m.min))
	e.Uvarint(uint64(m.max))
	e.Str(m.agent)
	e.Uvarint(m.caps)
	return e.B
}

func decodeHelloReply(b []byte) (helloReply, error) {
	d := newDecoder("hello reply", b)
	m := helloReply{version: d.protoVersion("version"), min: d.protoVersion("lowest version"), max: d.protoVersion("highest version")}
	m.agent = d.Str("agent version", maxVersionLen)
	m.caps = d.Uvarint("capabilities")
	if d.Err == nil && m.min > m.max {
		d.Fail("versions %d to %d are not a range", m.min, m.max)
	}
	return m, d.End()
}

// request is the decoded first frame of a stream. Which fields are set
// depends on the type: handle for everything but open-root; path for open,
// open-delta, keep-conflict; src for copy; op for apply, apply-delta,
// apply-resume and copy; entry and note for keep-conflict; since for scan;
// paths for scan-paths; root for open-root.
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
	engine string   // control
	paths  []string // scan-paths
	batch  batchHeader
}

// Flags of an encoded op.
const (
	opArchive = 1 << 0
	opHasOld  = 1 << 1
	opHasNew  = 1 << 2
	opFlags   = opArchive | opHasOld | opHasNew
)

func (e *encoder) op(op zerosync.Op) {
	e.Str(op.Path)
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
	e.U8(fl)
	if op.Old != nil {
		e.entry(op.Old)
	}
	if op.New != nil {
		e.entry(op.New)
	}
}

func (d *decoder) op(field string) zerosync.Op {
	op := zerosync.Op{Path: d.Str(field+" path", maxWirePath)}
	fl := d.U8(field + " flags")
	if d.Err == nil && fl&^opFlags != 0 {
		d.Fail("%s: unknown flags %#x", field, fl)
	}
	op.Archive = fl&opArchive != 0
	if fl&opHasOld != 0 {
		op.Old = d.entry(field + " old entry")
	}
	if fl&opHasNew != 0 {
		op.New = d.entry(field + " new entry")
	}
	if d.Err == nil && op.Old == nil && op.New == nil {
		d.Fail("%s: neither an old nor a new entry", field)
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
		e.Str(r.root)
		return e.B
	}
	if r.typ == tControl {
		e.Str(r.engine)
		return e.B
	}
	e.Uvarint(r.handle)
	switch r.typ {
	case tScan:
		e.Uvarint(r.since)
	case tScanPaths:
		e.Uvarint(uint64(len(r.paths)))
		for _, p := range r.paths {
			e.Str(p)
		}
	case tOpen, tOpenDelta:
		e.Str(r.path)
	case tApply, tApplyDelta, tApplyResume:
		e.op(r.op)
	case tCopy:
		e.Str(r.src)
		e.op(r.op)
	case tKeep:
		e.Str(r.path)
		e.entry(r.entry)
		e.Str(r.note)
	case tApplyBatch:
		r.batch.encode(&e)
	}
	return e.B
}

// decodeRequest decodes the first frame of a stream of type typ.
func decodeRequest(typ ftype, b []byte) (request, error) {
	d := newDecoder(typ.String()+" request", b)
	r := request{typ: typ}
	if typ == tOpenRoot {
		r.root = d.Str("root", maxRootLen)
		return r, d.End()
	}
	if typ == tControl {
		r.engine = d.Str("engine", maxEngineName)
		if d.Err == nil {
			if err := ValidEngineName(r.engine); err != nil {
				d.Fail("%v", err)
			}
		}
		return r, d.End()
	}
	r.handle = d.Uvarint("handle")
	switch typ {
	case tCloseRoot, tWatch, tRootID, tMarkRoot:
	case tScan:
		r.since = d.Uvarint("generation")
	case tScanPaths:
		r.paths = d.scanPaths()
	case tOpen, tOpenDelta:
		r.path = d.Str("path", maxWirePath)
	case tApply, tApplyDelta, tApplyResume:
		r.op = d.op("op")
	case tCopy:
		r.src = d.Str("source path", maxWirePath)
		r.op = d.op("op")
	case tKeep:
		r.path = d.Str("path", maxWirePath)
		r.entry = d.entry("entry")
		r.note = d.Str("note", maxNoteLen)
	case tApplyBatch:
		r.batch = d.batchHeader()
	default:
		d.Fail("not a request")
	}
	if d.Err == nil && typ == tApplyDelta && !isFileUpdate(r.op) {
		d.Fail("a delta applies to an update of a file by a file")
	}
	if d.Err == nil && typ == tApplyResume && (r.op.New == nil || r.op.New.Kind != zerosync.KindFile) {
		d.Fail("a resumable apply makes a file")
	}
	return r, d.End()
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
	e.Uvarint(m.handle)
	e.Uvarint(m.abilities)
	return e.B
}

func decodeOpenRootResult(b []byte) (openRootResult, error) {
	d := newDecoder("open-root result", b)
	m := openRootResult{handle: d.Uvarint("handle"), abilities: d.Uvarint("abilities")}
	return m, d.End()
}

// keepResult is the result of keep-conflict: the conflict copy's path.
func encodeKeepResult(copyPath string) []byte {
	var e encoder
	e.Str(copyPath)
	return e.B
}

func decodeKeepResult(b []byte) (string, error) {
	d := newDecoder("keep-conflict result", b)
	p := d.Str("copy path", maxWirePath)
	return p, d.End()
}

// openOK announces content: its size in bytes, or -1 when the agent cannot
// tell.
func encodeOpenOK(size int64) []byte {
	var e encoder
	e.Varint(size)
	return e.B
}

func decodeOpenOK(b []byte) (int64, error) {
	d := newDecoder("open-ok", b)
	n := d.Varint("size")
	if d.Err == nil && (n < -1 || n > maxFileSize) {
		d.Fail("size %d out of range", n)
	}
	return n, d.End()
}

// window is a flow-control credit: bytes the receiver of the frame may send
// more on the stream.
func encodeWindow(n int) []byte {
	var e encoder
	e.Uvarint(uint64(n))
	return e.B
}

func decodeWindow(b []byte) (int, error) {
	d := newDecoder("window", b)
	n := d.Uvarint("credit")
	if d.Err == nil && (n == 0 || n > streamWindow) {
		d.Fail("credit %d out of range (1 to %d)", n, streamWindow)
	}
	return int(n), d.End()
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
	e.U8(fl)
	e.Str(cut(h.Reason, maxReasonLen))
	e.Uvarint(uint64(len(h.Paths)))
	for _, p := range h.Paths {
		e.Str(p)
	}
	return e.B
}

func decodeHint(b []byte) (zerosync.Hint, error) {
	d := newDecoder("hint", b)
	var h zerosync.Hint
	fl := d.U8("flags")
	if d.Err == nil && fl > 1 {
		d.Fail("unknown flags %#x", fl)
	}
	h.Full = fl == 1
	h.Reason = d.Str("reason", maxReasonLen)
	n := d.Count("paths", maxHintPaths, 1)
	if n > 0 {
		h.Paths = make([]string, 0, n)
	}
	for range n {
		h.Paths = append(h.Paths, d.Str("path", maxWirePath))
	}
	return h, d.End()
}

// maxFilesystemLen bounds the file system identity of a root on the wire.
const maxFilesystemLen = 256

// encodeRootID is the result of root-id and mark-root: the replica ID
// ("" when the root has no marker) and the file system identity.
func encodeRootID(id zerosync.RootID) []byte {
	var e encoder
	e.Str(id.Replica)
	e.Str(id.Filesystem)
	return e.B
}

func decodeRootID(b []byte) (zerosync.RootID, error) {
	d := newDecoder("root identity", b)
	id := zerosync.RootID{Replica: d.Str("replica", zerosync.MaxReplicaIDLen), Filesystem: d.Str("file system", maxFilesystemLen)}
	if d.Err == nil {
		if err := checkRootID(id); err != nil {
			d.Fail("%v", err)
		}
	}
	return id, d.End()
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
