package remote

import (
	"fmt"

	"github.com/zerosync/zerosync"
)

// A scan travels as scan-chunk frames and one scan-end frame. A chunk holds
// entries in strictly increasing path order, each path written as the
// length of the prefix it shares with the path before it (across chunks)
// and the rest, then the entry in binary (kind, permission bits, time,
// and size and digest or target). Kind 0 marks a path a diff removes.
const (
	// chunkBudget is the size at which a scan chunk is sent.
	chunkBudget = 64 << 10
	// maxChunkEntries bounds the entries of one chunk.
	maxChunkEntries = 1 << 16
	// maxProblems bounds the problems a scan-end carries; problemBudget
	// bounds their bytes.
	maxProblems   = 1024
	problemBudget = 96 << 10
	kindRemoved   = 0
)

// change is one path of a scan response: its entry, or nil when a diff
// removes the path.
type change struct {
	path  string
	entry *zerosync.Entry
}

// snapEncoder cuts a sorted sequence of changes into scan-chunk payloads.
type snapEncoder struct {
	prev string
	body encoder
	n    int
}

// add appends a change; paths must come in strictly increasing order and
// within limits (checkChange).
func (s *snapEncoder) add(c change) {
	shared := commonPrefix(s.prev, c.path)
	s.body.Uvarint(uint64(shared))
	s.body.Str(c.path[shared:])
	if c.entry == nil {
		s.body.U8(kindRemoved)
	} else {
		s.body.entry(c.entry)
	}
	s.prev = c.path
	s.n++
}

// full reports whether the chunk should be sent now.
func (s *snapEncoder) full() bool { return len(s.body.B) >= chunkBudget || s.n >= maxChunkEntries }

// take returns the chunk's payload and starts a new chunk; prefixes go on
// from the last path. base is the generation the response is a diff
// against (0: a whole tree); every chunk repeats it, so the client knows
// from the first chunk what to build on.
func (s *snapEncoder) take(base uint64) []byte {
	var e encoder
	e.Uvarint(base)
	e.Uvarint(uint64(s.n))
	e.Raw(s.body.B)
	s.body.B = s.body.B[:0]
	s.n = 0
	return e.B
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// checkChange reports whether a change from an endpoint's scan can be sent:
// its path and entry fit the wire's limits.
func checkChange(c change) error {
	if c.path == "" || len(c.path) > maxWirePath {
		return fmt.Errorf("%w: path of %d bytes", zerosync.ErrInvalidPath, len(c.path))
	}
	if c.entry != nil {
		if err := checkEntry(c.entry); err != nil {
			return fmt.Errorf("%q: %w", c.path, err)
		}
	}
	return nil
}

// snapDecoder decodes the scan chunks of one response, in order. It checks
// that paths increase strictly (so none repeats) and that the response holds
// at most max changes; the caller validates the resulting snapshot.
type snapDecoder struct {
	prev    string
	total   int
	max     int
	base    uint64
	started bool // a chunk was decoded; base is known
}

// header decodes the start of a chunk: the base generation (the same in
// every chunk of a response) and the number of entries.
func (s *snapDecoder) header(d *decoder) int {
	base := d.Uvarint("base generation")
	if d.Err == nil && s.started && base != s.base {
		d.Fail("chunk is based on generation %d, the previous one on %d", base, s.base)
	}
	s.base, s.started = base, d.Err == nil
	return d.Count("entries", maxChunkEntries, 3)
}

// decode decodes one chunk; start, when not nil, is called with the base
// generation before the first change of the response.
func (s *snapDecoder) decode(b []byte, start func(base uint64) error, fn func(change) error) error {
	d := newDecoder("scan chunk", b)
	first := !s.started
	n := s.header(d)
	if d.Err == nil && first && start != nil {
		if err := start(s.base); err != nil {
			return err
		}
	}
	for range n {
		shared := d.Uvarint("path prefix")
		if d.Err == nil && shared > uint64(len(s.prev)) {
			d.Fail("path shares %d bytes with a previous path of %d", shared, len(s.prev))
		}
		if d.Err != nil {
			break
		}
		suffix := d.Bytes("path", maxWirePath-int(shared))
		kind := d.U8("kind")
		if d.Err != nil {
			break
		}
		p := s.prev[:shared] + string(suffix)
		if p <= s.prev { // also refuses the empty path
			d.Fail("path %q does not sort after %q", cut(p, 256), cut(s.prev, 256))
			break
		}
		var x *zerosync.Entry
		if kind != kindRemoved {
			x = d.entryOfKind(fmt.Sprintf("entry %q", cut(p, 256)), zerosync.Kind(kind))
			if d.Err != nil {
				break
			}
		}
		if s.total++; s.total > s.max {
			d.Fail("more than %d entries", s.max)
			break
		}
		s.prev = p
		if err := fn(change{path: p, entry: x}); err != nil {
			return err
		}
	}
	return d.End()
}

// scanEnd closes a scan response. gen names the snapshot the response
// leads to; base is the generation it is a diff against, or 0 for a whole
// tree; count is the number of changes the chunks carried.
type scanEnd struct {
	gen, base, count uint64
	problems         []zerosync.Problem
}

func (m scanEnd) encode() []byte {
	var e encoder
	e.Uvarint(m.gen)
	e.Uvarint(m.base)
	e.Uvarint(m.count)
	// Problems beyond the limits are left out; a path too long for the
	// wire (a scan reports those as problems too) is cut.
	var body encoder
	n := 0
	for _, p := range m.problems {
		if n == maxProblems || len(body.B) > problemBudget {
			break
		}
		body.Str(cut(p.Path, maxWirePath))
		appendError(&body, p.Err)
		n++
	}
	e.Uvarint(uint64(n))
	e.Raw(body.B)
	return e.B
}

func decodeScanEnd(b []byte) (scanEnd, error) { return decodeEnd("scan end", b, false) }

// decodeEnd decodes the scan-end frame of a scan, or of a scan-paths
// request (paths): a path scan leads to no generation and is no diff, so
// its generation and base are 0.
func decodeEnd(what string, b []byte, paths bool) (scanEnd, error) {
	d := newDecoder(what, b)
	m := scanEnd{gen: d.Uvarint("generation"), base: d.Uvarint("base generation"), count: d.Uvarint("count")}
	n := d.Count("problems", maxProblems, 3)
	if n > 0 {
		m.problems = make([]zerosync.Problem, 0, n)
	}
	for range n {
		p := d.Str("problem path", maxWirePath)
		e := d.remoteError("problem")
		if d.Err != nil {
			break
		}
		m.problems = append(m.problems, zerosync.Problem{Path: p, Err: e})
	}
	switch {
	case d.Err != nil:
	case paths && (m.gen != 0 || m.base != 0):
		d.Fail("a path scan names generation %d and base %d, not 0", m.gen, m.base)
	case !paths && m.gen == 0:
		d.Fail("generation 0")
	}
	return m, d.End()
}
