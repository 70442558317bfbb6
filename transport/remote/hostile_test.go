package remote

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
)

// rawPeer is a hand-written peer on one end of a net.Pipe: it writes
// whatever frames a test wants and reads every frame the other side
// sends, so the other side never blocks writing.
type rawPeer struct {
	t    *testing.T
	c    net.Conn
	mu   sync.Mutex
	got  []frame
	err  error // why reading stopped
	wake chan struct{}
	// pong, set before start, answers pings on stream 0.
	pong bool
	// stopped, once set, stops the reading after the frame under way;
	// ended is closed at the end of the test.
	stopped atomic.Bool
	ended   chan struct{}
}

func newRawPeer(t *testing.T, c net.Conn) *rawPeer {
	p := &rawPeer{t: t, c: c, wake: make(chan struct{}, 1), ended: make(chan struct{})}
	t.Cleanup(func() {
		close(p.ended)
		c.Close()
	})
	return p
}

// sleep waits for d; false when the test ended first.
func (p *rawPeer) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.ended:
		return false
	}
}

// stop makes the peer read nothing more, as a stalled process does.
func (p *rawPeer) stop() { p.stopped.Store(true) }

// start reads frames in the background, after the handshake.
func (p *rawPeer) start() {
	go func() {
		fr := frameReader{r: p.c, max: maxMaxFrame}
		for {
			f, _, err := fr.read()
			if p.stopped.Load() {
				<-p.ended
				return
			}
			if err == nil && p.pong && f.typ == tPing && f.id == 0 {
				if p.send(tPong, 0, nil) != nil {
					return
				}
				continue
			}
			p.mu.Lock()
			if err != nil {
				p.err = err
			} else {
				p.got = append(p.got, f)
			}
			p.mu.Unlock()
			signal(p.wake)
			if err != nil {
				return
			}
		}
	}()
}

func (p *rawPeer) send(typ ftype, id uint64, payload []byte) error {
	_, err := p.c.Write(appendFrame(nil, typ, id, payload))
	return err
}

// next returns the next frame other than a window credit, a ping or a
// pong, or fails the test after a while.
func (p *rawPeer) next() frame {
	p.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		p.mu.Lock()
		for len(p.got) > 0 {
			f := p.got[0]
			p.got = p.got[1:]
			if f.typ != tWindow && f.typ != tPing && f.typ != tPong {
				p.mu.Unlock()
				return f
			}
		}
		err := p.err
		p.mu.Unlock()
		if err != nil {
			p.t.Fatalf("the other side stopped sending: %v", err)
		}
		select {
		case <-p.wake:
		case <-deadline:
			p.t.Fatal("no frame within 30s")
		}
	}
}

// expectError reads frames up to the error frame of stream id and checks
// that it wraps want (nil: any error) and mentions text.
func (p *rawPeer) expectError(id uint64, want error, text string) {
	p.t.Helper()
	for {
		f := p.next()
		if f.id != id {
			continue
		}
		if f.typ != tError {
			p.t.Fatalf("stream %d: %s frame, want an error", id, f.typ)
		}
		re, err := decodeError(f.payload)
		if err != nil {
			p.t.Fatal(err)
		}
		if (want != nil && !errors.Is(re, want)) || !strings.Contains(re.Error(), text) {
			p.t.Fatalf("stream %d: error %q, want one wrapping %v mentioning %q", id, re, want, text)
		}
		return
	}
}

// expectGoaway reads frames up to a goaway and checks its text.
func (p *rawPeer) expectGoaway(text string) {
	p.t.Helper()
	for {
		f := p.next()
		if f.typ != tGoaway {
			continue
		}
		re, err := decodeError(f.payload)
		if err != nil {
			p.t.Fatal(err)
		}
		if !errors.Is(re, ErrProtocol) || !strings.Contains(re.Error(), text) {
			p.t.Fatalf("goaway %q, want a protocol violation mentioning %q", re, text)
		}
		return
	}
}

// ---- A hostile agent against the client ----

// fakeAgent answers the client's handshake as version 1 with every
// capability, then runs agent; it returns the client.
func fakeAgent(t *testing.T, agent func(p *rawPeer), opts ...Option) (*Client, error) {
	a, b := net.Pipe()
	p := newRawPeer(t, b)
	go func() {
		if err := readMagic(b, "client"); err != nil {
			t.Error(err)
			return
		}
		if _, err := readHandshakeFrame(b, tHello, "client"); err != nil {
			t.Error(err)
			return
		}
		b.Write(appendFrame([]byte(magic), tHelloReply, 0, helloReply{version: 1, min: 1, max: 1, agent: "fake", caps: capAll}.encode()))
		p.start()
		agent(p)
	}()
	c, err := Dial(t.Context(), a, opts...)
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// fakeEndpoint opens a root on a fake agent that grants handle 1 with
// every ability and then runs agent.
func fakeEndpoint(t *testing.T, agent func(p *rawPeer), opts ...Option) (*Client, *Endpoint) {
	t.Helper()
	c, err := fakeAgent(t, func(p *rawPeer) {
		f := p.next()
		if f.typ != tOpenRoot {
			t.Errorf("first request %s", f.typ)
			return
		}
		p.send(tResult, f.id, openRootResult{handle: 1, abilities: ablCopier | ablArchiver | ablWatcher | ablIdentity}.encode())
		agent(p)
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := c.Endpoint(t.Context(), "/srv")
	if err != nil {
		t.Fatal(err)
	}
	return c, ep
}

func expectErr(t *testing.T, what string, err, want error, text string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded, want an error wrapping %v", what, want)
	}
	if !errors.Is(err, want) || !strings.Contains(err.Error(), text) {
		t.Fatalf("%s: %v; want an error wrapping %v mentioning %q", what, err, want, text)
	}
}

func TestHostileAgentHandshake(t *testing.T) {
	t.Run("junk", func(t *testing.T) {
		a, b := net.Pipe()
		go func() {
			io.CopyN(io.Discard, b, int64(len(magic)))
			b.Write([]byte("bash: zerosync: command not found\n"))
			b.Close()
		}()
		_, err := Dial(t.Context(), a)
		expectErr(t, "Dial", err, ErrProtocol, `sent "bash: ze"`)
	})
	t.Run("hangs-up", func(t *testing.T) {
		a, b := net.Pipe()
		go func() {
			io.CopyN(io.Discard, b, int64(len(magic)))
			b.Write([]byte("zero"))
			b.Close()
		}()
		_, err := Dial(t.Context(), a)
		expectErr(t, "Dial", err, ErrProtocol, `closed the connection before greeting (it sent "zero")`)
	})
	for _, c := range []struct {
		name  string
		reply helloReply
		want  string
	}{
		{"no-common-version", helloReply{version: 0, min: 2, max: 3, agent: "v9"}, "this side speaks version 1, the other side speaks versions 2 to 3 (version v9)"},
		{"chooses-unspoken-version", helloReply{version: 7, min: 7, max: 7}, "the other side speaks version 7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := net.Pipe()
			go func() {
				io.CopyN(io.Discard, b, int64(len(magic)))
				readHandshakeFrame(b, tHello, "client")
				b.Write(appendFrame([]byte(magic), tHelloReply, 0, c.reply.encode()))
			}()
			_, err := Dial(t.Context(), a)
			var ve *VersionError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Dial: %v; want a version error saying %q", err, c.want)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		a, _ := net.Pipe()
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(10*time.Millisecond, cancel)
		_, err := Dial(ctx, a)
		expectErr(t, "Dial to a silent peer", err, context.Canceled, "handshake")
	})
}

// scanReply is a fake agent's answer to one scan: the given chunks (base
// generation 0) and an end counting count changes.
func scanReply(chunks [][]byte, gen, base, count uint64) func(p *rawPeer) {
	return func(p *rawPeer) {
		f := p.next()
		for _, c := range chunks {
			p.send(tScanChunk, f.id, c)
		}
		p.send(tScanEnd, f.id, scanEnd{gen: gen, base: base, count: count}.encode())
	}
}

func TestHostileAgentSnapshots(t *testing.T) {
	file := fileEntry([]byte("x"), 0o644)
	dir := &zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755}
	for _, c := range []struct {
		name    string
		changes []change
		want    error
		text    string
	}{
		{"dot-dot", []change{{"../x", file}}, zerosync.ErrInvalidPath, `"../x": ".." component`},
		{"absolute", []change{{"/etc/passwd", file}}, zerosync.ErrInvalidPath, `"/etc/passwd": absolute`},
		{"nul", []change{{"a\x00b", file}}, zerosync.ErrInvalidPath, "NUL"},
		{"inner-dot-dot", []change{{"a", dir}, {"a/../../b", file}}, zerosync.ErrInvalidPath, `".." component`},
		{"reserved", []change{{".zerosync", dir}, {".zerosync/state", file}}, zerosync.ErrReserved, ".zerosync"},
		{"beneath-a-file", []change{{"f", file}, {"f/x", file}}, zerosync.ErrInvalidPath, `parent "f" is a file`},
		{"missing-parent", []change{{"d/x", file}}, zerosync.ErrInvalidPath, `parent "d" is missing`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, ep := fakeEndpoint(t, scanReply(encodeChanges(0, c.changes), 1, 0, uint64(len(c.changes))))
			_, _, err := ep.Scan(t.Context())
			expectErr(t, "Scan", err, c.want, c.text)
		})
	}
	t.Run("count-lies", func(t *testing.T) {
		_, ep := fakeEndpoint(t, scanReply(encodeChanges(0, []change{{"a", file}}), 1, 0, 2))
		_, _, err := ep.Scan(t.Context())
		expectErr(t, "Scan", err, ErrProtocol, "counts 2 changes, the chunks held 1")
	})
	t.Run("unknown-base", func(t *testing.T) {
		_, ep := fakeEndpoint(t, scanReply(encodeChanges(5, []change{{"a", file}}), 6, 5, 1))
		_, _, err := ep.Scan(t.Context())
		expectErr(t, "Scan", err, ErrProtocol, "diff against generation 5, but this side holds 0")
	})
	t.Run("removal-in-a-whole-tree", func(t *testing.T) {
		_, ep := fakeEndpoint(t, scanReply(encodeChanges(0, []change{{"a", nil}}), 1, 0, 1))
		_, _, err := ep.Scan(t.Context())
		expectErr(t, "Scan", err, ErrProtocol, `removes "a"`)
	})
	t.Run("too-many-entries", func(t *testing.T) {
		var cs []change
		for i := range 10 {
			cs = append(cs, change{fmt.Sprintf("f%d", i), file})
		}
		_, ep := fakeEndpoint(t, scanReply(encodeChanges(0, cs), 1, 0, 10), WithMaxEntries(5))
		_, _, err := ep.Scan(t.Context())
		expectErr(t, "Scan", err, ErrProtocol, "more than 5 entries")
	})
	t.Run("generation-zero", func(t *testing.T) {
		_, ep := fakeEndpoint(t, scanReply(nil, 0, 0, 0))
		_, _, err := ep.Scan(t.Context())
		expectErr(t, "Scan", err, ErrProtocol, "generation 0")
	})
	t.Run("wrong-frame", func(t *testing.T) {
		_, ep := fakeEndpoint(t, func(p *rawPeer) { p.send(tOpenOK, p.next().id, encodeOpenOK(3)) })
		_, _, err := ep.Scan(t.Context())
		expectErr(t, "Scan", err, ErrProtocol, "open-ok frame in a scan")
	})
}

func TestHostileAgentContent(t *testing.T) {
	openWith := func(size int64, data []byte, end bool) func(p *rawPeer) {
		return func(p *rawPeer) {
			f := p.next()
			p.send(tOpenOK, f.id, encodeOpenOK(size))
			for len(data) > 0 {
				n := min(len(data), chunkSize)
				p.send(tData, f.id, data[:n])
				data = data[n:]
			}
			if end {
				p.send(tEnd, f.id, nil)
			}
		}
	}
	read := func(ep *Endpoint) ([]byte, error) {
		rc, err := ep.Open(t.Context(), "f")
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}
	t.Run("longer-than-declared", func(t *testing.T) {
		_, ep := fakeEndpoint(t, openWith(10, make([]byte, 20), true))
		_, err := read(ep)
		expectErr(t, "read", err, zerosync.ErrDigestMismatch, "more than the 10 bytes it declared")
	})
	t.Run("endless", func(t *testing.T) {
		// Far more than declared and never an end: the reader stops at the
		// first byte too many.
		_, ep := fakeEndpoint(t, openWith(10, make([]byte, 600<<10), false))
		_, err := read(ep)
		expectErr(t, "read", err, zerosync.ErrDigestMismatch, "more than the 10 bytes")
	})
	t.Run("shorter-than-declared", func(t *testing.T) {
		_, ep := fakeEndpoint(t, openWith(100, make([]byte, 10), true))
		_, err := read(ep)
		expectErr(t, "read", err, zerosync.ErrDigestMismatch, "sent 10 of the 100 bytes")
	})
	t.Run("negative-size", func(t *testing.T) {
		_, ep := fakeEndpoint(t, openWith(-5, nil, true))
		_, err := read(ep)
		expectErr(t, "Open", err, ErrProtocol, "size -5 out of range")
	})
	t.Run("delta-outside-the-base", func(t *testing.T) {
		_, ep := fakeEndpoint(t, func(p *rawPeer) {
			f := p.next()
			for g := p.next(); ; g = p.next() { // the client's signatures
				var col sigCollector
				if done, _ := col.add(g.payload); done {
					break
				}
			}
			p.send(tOpenOK, f.id, encodeOpenOK(5000))
			p.send(tDelta, f.id, []byte{opCopy, 2, 5}) // the client has 3 blocks
			p.send(tEnd, f.id, nil)
		}, WithDeltaMinSize(1))
		rc, err := ep.OpenDelta(t.Context(), "f", bytes.NewReader(pattern(5000, 1)), 5000)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		_, err = io.ReadAll(rc)
		expectErr(t, "read", err, ErrProtocol, "copy of blocks 2+5 from a base of 3 blocks")
	})
	t.Run("conflict-copy-outside", func(t *testing.T) {
		_, ep := fakeEndpoint(t, func(p *rawPeer) {
			f := p.next()
			for g := p.next(); g.typ != tEnd; g = p.next() {
			}
			p.send(tResult, f.id, encodeKeepResult("../../etc/cron.d/x"))
		})
		data := []byte("theirs")
		_, err := ep.KeepConflict(t.Context(), "f", *fileEntry(data, 0o644), bytes.NewReader(data), "note")
		expectErr(t, "KeepConflict", err, ErrProtocol, `invalid conflict copy: invalid path "../../etc/cron.d/x"`)
	})
	t.Run("hint-outside", func(t *testing.T) {
		_, ep := fakeEndpoint(t, func(p *rawPeer) {
			f := p.next()
			p.send(tHint, f.id, encodeHint(zerosync.Hint{Paths: []string{"ok", "../../etc"}}))
		})
		var got []zerosync.Hint
		err := ep.Watch(t.Context(), func(h zerosync.Hint) { got = append(got, h) })
		expectErr(t, "Watch", err, ErrProtocol, `hint: invalid path "../../etc"`)
		if len(got) != 0 {
			t.Fatalf("a hint with a bad path was delivered: %v", got)
		}
	})
}

func TestHostileAgentFrames(t *testing.T) {
	for _, c := range []struct {
		name string
		send func(p *rawPeer, id uint64)
		text string
	}{
		{"oversized", func(p *rawPeer, id uint64) { p.c.Write(binary.BigEndian.AppendUint32(nil, 100<<20)) }, "frame of 104857600 bytes exceeds the limit of 1048576"},
		{"truncated", func(p *rawPeer, id uint64) { p.c.Write([]byte{0, 0, 0, 100, byte(tData), byte(id), 1, 2}); p.c.Close() }, "truncated frame: the connection ended after 4 of 100 bytes"},
		{"unknown-type", func(p *rawPeer, id uint64) { p.send(0x7f, id, nil) }, "unknown frame type 0x7f from the agent"},
		{"request-from-the-agent", func(p *rawPeer, id uint64) { p.send(tScan, id, []byte{1, 0}) }, "scan request from the agent"},
		{"cancel-from-the-agent", func(p *rawPeer, id uint64) { p.send(tCancel, id, nil) }, "cancel frame from the agent"},
		{"stream-zero", func(p *rawPeer, id uint64) { p.send(tData, 0, []byte("x")) }, "data frame on stream 0"},
		{"after-the-end", func(p *rawPeer, id uint64) {
			p.send(tEnd, id, nil)
			p.send(tEnd, id, nil)
		}, "end frame on stream"},
		{"window-overrun", func(p *rawPeer, id uint64) {
			for range 10 {
				p.send(tData, id, make([]byte, 200<<10))
			}
		}, "overruns the flow-control window"},
		{"bad-credit", func(p *rawPeer, id uint64) { p.send(tWindow, id, encodeWindow(streamWindow)) }, "goes beyond its window"},
		{"bad-goaway", func(p *rawPeer, id uint64) { p.send(tGoaway, 0, []byte{0xff}) }, "error: message ends early"},
		{"ping-with-payload", func(p *rawPeer, id uint64) { p.send(tPing, 0, []byte{1}) }, "ping frame with a payload"},
		{"ping-on-a-stream", func(p *rawPeer, id uint64) { p.send(tPing, id, nil) }, "from the agent"},
	} {
		t.Run(c.name, func(t *testing.T) {
			hold := make(chan struct{})
			cl, ep := fakeEndpoint(t, func(p *rawPeer) {
				f := p.next()
				p.send(tOpenOK, f.id, encodeOpenOK(-1))
				c.send(p, f.id)
				<-hold
			})
			defer close(hold)
			// An open whose content nobody reads: the agent's frames
			// pile up in its stream.
			rc, err := ep.Open(t.Context(), "f")
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			within(t, 30*time.Second, "the end of the connection", cl.Done())
			expectErr(t, "Err", cl.Err(), ErrProtocol, c.text)
			if c.name == "after-the-end" {
				return // the content ended before the violation
			}
			if _, err := io.ReadAll(rc); !errors.Is(err, ErrClosed) {
				t.Fatalf("read on a broken connection: %v", err)
			}
		})
	}
	t.Run("goaway", func(t *testing.T) {
		cl, ep := fakeEndpoint(t, func(p *rawPeer) {
			p.next()
			p.send(tGoaway, 0, encodeError(errors.New("the agent is shutting down")))
		})
		_, _, err := ep.Scan(t.Context())
		expectErr(t, "Scan", err, ErrClosed, "the agent closed the connection: the agent is shutting down")
		within(t, 30*time.Second, "the end of the connection", cl.Done())
	})
}

// ---- A hostile client against the agent ----

// fakeClient greets an agent serving root (a local endpoint) and opens
// the root as handle 1 on stream 1. It returns the raw client and a
// channel with Serve's result.
func fakeClient(t *testing.T, root string, caps uint64) (*rawPeer, chan error) {
	t.Helper()
	return fakeClientOf(t, openLocal, root, caps)
}

// fakeClientOf is fakeClient with an agent serving open.
func fakeClientOf(t *testing.T, open func(context.Context, string) (zerosync.Endpoint, error), root string, caps uint64) (*rawPeer, chan error) {
	t.Helper()
	a, b := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- Serve(t.Context(), b, open) }()
	p := newRawPeer(t, a)
	a.Write(appendFrame([]byte(magic), tHello, 0, hello{min: 1, max: 1, version: "fake", caps: caps}.encode()))
	if err := readMagic(a, "agent"); err != nil {
		t.Fatal(err)
	}
	if _, err := readHandshakeFrame(a, tHelloReply, "agent"); err != nil {
		t.Fatal(err)
	}
	p.start()
	p.send(tOpenRoot, 1, request{typ: tOpenRoot, root: root}.encode())
	if f := p.next(); f.typ != tResult {
		t.Fatalf("open root: %s frame", f.typ)
	}
	return p, served
}

// sandbox is a root with a sentinel file beside it, outside the root.
type sandbox struct {
	root, parent, sentinel string
}

func newSandbox(t *testing.T) sandbox {
	root := newRoot(t)
	parent := filepath.Dir(root)
	s := sandbox{root: root, parent: parent, sentinel: filepath.Join(parent, "sentinel")}
	writeFile(t, s.sentinel, []byte("outside the root"), 0o644)
	writeFile(t, filepath.Join(root, "existing"), []byte("existing content"), 0o644)
	return s
}

// check verifies that nothing outside the root changed and that the root
// holds exactly paths (plus the reserved state folder).
func (s sandbox) check(t *testing.T, paths ...string) {
	t.Helper()
	expectBytes(t, s.sentinel, []byte("outside the root"))
	names, _ := os.ReadDir(s.parent)
	var got []string
	for _, n := range names {
		got = append(got, n.Name())
	}
	if !slices.Equal(got, []string{"root", "sentinel"}) {
		t.Fatalf("beside the root: %q", got)
	}
	var inside []string
	filepath.WalkDir(s.root, func(p string, d os.DirEntry, err error) error {
		if rel, _ := filepath.Rel(s.root, p); rel != "." && !strings.HasPrefix(rel, zerosync.StateDirName) {
			inside = append(inside, rel)
		}
		return nil
	})
	if !slices.Equal(inside, paths) {
		t.Fatalf("the root holds %q, want %q", inside, paths)
	}
}

func applyReq(op zerosync.Op) []byte { return request{typ: tApply, handle: 1, op: op}.encode() }

func TestHostileClientRequests(t *testing.T) {
	sb := newSandbox(t)
	p, served := fakeClient(t, sb.root, capAll)
	data := []byte("payload")
	id := uint64(10)
	// Paths that lead outside the root, or to reserved names.
	for _, c := range []struct {
		path string
		want error
		text string
	}{
		{"../sentinel", zerosync.ErrInvalidPath, `".." component`},
		{sb.sentinel, zerosync.ErrInvalidPath, "absolute"},
		{"a\x00b", zerosync.ErrInvalidPath, "NUL"},
		{"x/../../sentinel", zerosync.ErrInvalidPath, `".." component`},
		{".zerosync/archive/x", zerosync.ErrReserved, "keeps for its own files"},
		{"f.zs-conflict-1", zerosync.ErrReserved, "keeps for its own files"},
	} {
		id++
		p.send(tApply, id, applyReq(zerosync.Op{Path: c.path, New: fileEntry(data, 0o644)}))
		p.send(tData, id, data)
		p.send(tEnd, id, nil)
		p.expectError(id, c.want, c.text)
		id++
		p.send(tOpen, id, request{typ: tOpen, handle: 1, path: c.path}.encode())
		p.expectError(id, c.want, c.text)
		id++
		p.send(tCopy, id, request{typ: tCopy, handle: 1, src: "existing", op: zerosync.Op{Path: c.path, New: fileEntry([]byte("existing content"), 0o644)}}.encode())
		p.expectError(id, c.want, c.text)
	}
	// Lying sizes.
	id++
	p.send(tApply, id, applyReq(zerosync.Op{Path: "long", New: fileEntry(data[:3], 0o644)}))
	p.send(tData, id, data)
	p.send(tEnd, id, nil)
	p.expectError(id, zerosync.ErrDigestMismatch, "")
	id++
	p.send(tApply, id, applyReq(zerosync.Op{Path: "short", New: fileEntry(append(data, data...), 0o644)}))
	p.send(tData, id, data)
	p.send(tEnd, id, nil)
	p.expectError(id, zerosync.ErrDigestMismatch, "")
	id++
	huge := fileEntry(data, 0o644)
	huge.Size = 1 << 60
	p.send(tApply, id, applyReq(zerosync.Op{Path: "huge", New: huge}))
	p.send(tData, id, data)
	p.send(tEnd, id, nil)
	p.expectError(id, zerosync.ErrTooLarge, "declared") // refused before any content
	// A client that gives up halfway.
	id++
	p.send(tApply, id, applyReq(zerosync.Op{Path: "abandoned", New: fileEntry(pattern(1<<20, 1), 0o644)}))
	p.send(tData, id, pattern(1<<20, 1)[:1000])
	p.send(tError, id, encodeError(errors.New("the content failed")))
	p.expectError(id, nil, "the client gave up: the content failed")
	// A delta that copies outside the old file, or yields too much.
	old := []byte("existing content")
	for _, delta := range [][]byte{{opCopy, 0, 2}, {opLiteral, 40, 'x'}} {
		id++
		want := fileEntry(pattern(5000, 2), 0o644)
		p.send(tApplyDelta, id, request{typ: tApplyDelta, handle: 1, op: zerosync.Op{Path: "existing", Old: fileEntry(old, 0o644), New: want}}.encode())
		if f := p.next(); f.typ != tSigs {
			t.Fatalf("%s frame instead of signatures", f.typ)
		}
		p.send(tDelta, id, delta)
		p.send(tEnd, id, nil)
		p.expectError(id, ErrProtocol, "")
	}
	// Signatures out of bounds.
	id++
	p.send(tOpenDelta, id, request{typ: tOpenDelta, handle: 1, path: "existing"}.encode())
	p.send(tSigs, id, encodeSigs(16, strongMax, 0, 100, 0, nil))
	p.expectError(id, ErrProtocol, "block size 16 out of range")
	// A handle that was never opened.
	id++
	p.send(tScan, id, request{typ: tScan, handle: 99}.encode())
	p.expectError(id, nil, "no open root has handle 99")
	sb.check(t, "existing")
	p.c.Close()
	if err := <-served; err != nil {
		t.Fatalf("Serve after hostile requests and a clean hang-up: %v", err)
	}
}

func TestHostileClientFrames(t *testing.T) {
	for _, c := range []struct {
		name string
		caps uint64
		send func(p *rawPeer)
		text string
	}{
		{"oversized", capAll, func(p *rawPeer) { p.c.Write(binary.BigEndian.AppendUint32(nil, 1<<30)) }, "frame of 1073741824 bytes exceeds the limit of 1048576"},
		{"truncated", capAll, func(p *rawPeer) { p.c.Write([]byte{0, 0, 0, 50, byte(tScan), 5, 1}); p.c.Close() }, "truncated frame: the connection ended after 3 of 50 bytes"},
		{"unknown-type", capAll, func(p *rawPeer) { p.send(0x6e, 5, nil) }, "unknown frame type 0x6e from the client"},
		{"agent-frame", capAll, func(p *rawPeer) { p.send(tScanEnd, 5, nil) }, "unexpected scan-end frame from the client"},
		{"malformed-request", capAll, func(p *rawPeer) { p.send(tApply, 5, []byte{1, 1, 'f', 0x80}) }, "stream 5: protocol violation: apply request: op: unknown flags 0x80"},
		{"request-on-stream-zero", capAll, func(p *rawPeer) { p.send(tScan, 0, []byte{1, 0}) }, "scan frame on stream 0"},
		{"stream-in-use", capAll, func(p *rawPeer) {
			p.send(tWatch, 5, []byte{1})
			p.send(tWatch, 5, []byte{1})
		}, "stream 5 is already in use"},
		{"too-many-streams", capAll, func(p *rawPeer) {
			for i := range maxStreams + 1 {
				p.send(tWatch, uint64(10+i), []byte{1})
			}
		}, "more than 128 streams in flight"},
		{"window-overrun", capAll, func(p *rawPeer) {
			p.send(tWatch, 5, []byte{1}) // a watch never reads data
			for range 10 {
				p.send(tData, 5, make([]byte, 200<<10))
			}
		}, "overruns the flow-control window of stream 5"},
		{"compressed-unagreed", 0, func(p *rawPeer) {
			p.c.Write(appendFrameParts(nil, uint8(tData)|flagZstd, 5, nil, []byte{4, 1, 2, 3, 4}))
		}, "compressed data frame, but compression was not agreed"},
		{"delta-unagreed", capZstd, func(p *rawPeer) {
			p.send(tOpenDelta, 5, request{typ: tOpenDelta, handle: 1, path: "existing"}.encode())
		}, "open-delta request, but delta transfer was not agreed"},
		{"resume-unagreed", capZstd | capDelta, func(p *rawPeer) {
			p.send(tApplyResume, 5, request{typ: tApplyResume, handle: 1, op: zerosync.Op{Path: "f", New: fileEntry([]byte("x"), 0o644)}}.encode())
		}, "apply-resume request, but resumable transfers were not agreed"},
		{"identity-unagreed", capZstd, func(p *rawPeer) {
			p.send(tMarkRoot, 5, request{typ: tMarkRoot, handle: 1}.encode())
		}, "mark-root request, but root identities were not agreed"},
		{"ping-unagreed", capZstd, func(p *rawPeer) { p.send(tPing, 0, nil) }, "ping frame, but keepalives were not agreed"},
		{"pong-on-a-stream", capAll, func(p *rawPeer) { p.send(tPong, 5, nil) }, "pong on stream 5 from the client"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sb := newSandbox(t)
			p, served := fakeClient(t, sb.root, c.caps)
			c.send(p)
			var err error
			select {
			case err = <-served:
			case <-time.After(30 * time.Second):
				t.Fatal("Serve did not end the connection")
			}
			expectErr(t, "Serve", err, ErrProtocol, c.text)
			if c.name != "truncated" {
				p.expectGoaway(c.text)
			}
			sb.check(t, "existing")
		})
	}
}

func TestHostileClientHandshake(t *testing.T) {
	for _, c := range []struct {
		name  string
		greet []byte
		want  string
	}{
		{"junk", []byte("SSH-2.0-OpenSSH_9.6\r\n"), `did not greet with the zerosync magic; it sent "SSH-2.0-"`},
		{"hello-on-a-stream", appendFrame([]byte(magic), tHello, 3, hello{min: 1, max: 1}.encode()), "hello frame on stream 3 instead of hello"},
		{"bad-range", appendFrame([]byte(magic), tHello, 0, hello{min: 3, max: 1}.encode()), "versions 3 to 1 are not a range"},
		{"huge-hello", append([]byte(magic), 0, 1, 0, 0), "exceeds the limit of 16384"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			served := make(chan error, 1)
			go func() { served <- Serve(t.Context(), b, openLocal) }()
			go io.Copy(io.Discard, a)
			a.Write(c.greet)
			expectErr(t, "Serve", <-served, ErrProtocol, c.want)
		})
	}
	t.Run("version", func(t *testing.T) {
		a, b := net.Pipe()
		defer a.Close()
		served := make(chan error, 1)
		go func() { served <- Serve(t.Context(), b, openLocal, WithVersion("agent-1.0")) }()
		a.Write(appendFrame([]byte(magic), tHello, 0, hello{min: 4, max: 9, version: "client-9"}.encode()))
		if err := readMagic(a, "agent"); err != nil {
			t.Fatal(err)
		}
		b2, err := readHandshakeFrame(a, tHelloReply, "agent")
		if err != nil {
			t.Fatal(err)
		}
		r, err := decodeHelloReply(b2)
		if err != nil || r.version != 0 || r.min != 1 || r.max != 1 || r.agent != "agent-1.0" {
			t.Fatalf("reply %+v, %v; want version 0 and the agent's range 1 to 1", r, err)
		}
		var ve *VersionError
		err = <-served
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), "this side speaks version 1, the other side speaks versions 4 to 9 (version client-9)") {
			t.Fatalf("Serve: %v", err)
		}
	})
}
