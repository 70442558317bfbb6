package remote

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// ProtocolVersion is the version of the protocol this package speaks. The
// handshake picks the highest version both sides speak; the magic and the
// hello frames keep their layout in every version, so that two sides that
// share none still tell each other which versions they speak.
const ProtocolVersion = 1

// magic opens the byte stream in each direction, before the first frame.
// A side that reads anything else knows it is not talking to zerosync (a
// shell's greeting on an SSH channel, a missing agent's "command not
// found").
const magic = "zerosync"

// AgentInfo describes the other side of a connection, as the handshake
// found it.
type AgentInfo struct {
	// Protocol is the protocol version both sides speak.
	Protocol int
	// Version is the version string the agent announced with
	// [WithVersion].
	Version string
	// Compression and Delta report whether both sides agreed to use them.
	Compression, Delta bool
	// PathScans reports whether both sides speak path scans
	// ([Endpoint.ScanPaths]); without them a path scan is a whole-tree
	// scan cut down on this side.
	PathScans bool
}

func (c *config) caps() uint64 {
	var caps uint64
	if c.compress {
		caps |= capZstd
	}
	if c.delta {
		caps |= capDelta | capResume
	}
	if c.control != nil {
		caps |= capControl
	}
	// Every side answers pings, identity requests and path scans, and
	// takes batches; whether it sends pings itself is its own setting.
	return (caps | capKeepalive | capIdentity | capScanPaths | capBatch) &^ c.withoutCaps
}

// clientCaps are the capabilities a client offers: a client asks for
// control requests, which an agent offers only with a dialer
// (WithControl).
func (c *config) clientCaps() uint64 { return (c.caps() | capControl) &^ c.withoutCaps }

// readMagic reads the magic, explaining what came instead.
func readMagic(r io.Reader, peer string) error {
	var got [len(magic)]byte
	n, err := io.ReadFull(r, got[:])
	if err == nil && string(got[:]) == magic {
		return nil
	}
	if n > 0 && !bytes.Equal(got[:n], []byte(magic)[:n]) {
		return protoErr("the %s did not greet with the zerosync magic; it sent %s", peer, strconv.Quote(string(got[:n])))
	}
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return protoErr("the %s closed the connection before greeting (it sent %s)", peer, strconv.Quote(string(got[:n])))
		}
		return fmt.Errorf("read the %s's greeting: %w", peer, err)
	}
	return protoErr("the %s did not greet with the zerosync magic; it sent %s", peer, strconv.Quote(string(got[:n])))
}

// readHandshakeFrame reads the one frame the handshake expects.
func readHandshakeFrame(r io.Reader, want ftype, peer string) ([]byte, error) {
	fr := frameReader{r: r, max: handshakeMaxFrame}
	f, _, err := fr.read()
	if errors.Is(err, errHangup) {
		return nil, protoErr("the %s closed the connection during the handshake", peer)
	}
	if err != nil {
		return nil, err
	}
	if f.typ != want || f.id != 0 {
		return nil, protoErr("the %s sent a %s frame on stream %d instead of %s", peer, f.typ, f.id, want)
	}
	return f.payload, nil
}

// clientHandshake greets the agent and reads its answer. It returns the
// agent's reply with caps narrowed to what both sides offer, or a
// *VersionError when they share no protocol version.
func clientHandshake(rw io.ReadWriter, cfg *config) (helloReply, error) {
	h := hello{min: cfg.protoMin, max: cfg.protoMax, version: cfg.version, caps: cfg.clientCaps()}
	out := appendFrame([]byte(magic), tHello, 0, h.encode())
	// The greeting is written while the answer is read: a peer that is
	// not an agent may talk first and never read (a shell printing an
	// error), and what it says explains more than a failed write. The
	// caller closes the connection on failure, which ends the write.
	written := make(chan error, 1)
	go func() {
		_, err := rw.Write(out)
		written <- err
	}()
	if err := readMagic(rw, "agent"); err != nil {
		return helloReply{}, err
	}
	b, err := readHandshakeFrame(rw, tHelloReply, "agent")
	if err != nil {
		return helloReply{}, err
	}
	if err := <-written; err != nil {
		return helloReply{}, fmt.Errorf("send the greeting: %w", err)
	}
	r, err := decodeHelloReply(b)
	if err != nil {
		return helloReply{}, err
	}
	local := [2]int{cfg.protoMin, cfg.protoMax}
	if r.version == 0 || r.version < cfg.protoMin || r.version > cfg.protoMax || r.version < r.min || r.version > r.max {
		return r, &VersionError{Local: local, Remote: [2]int{r.min, r.max}, Agent: r.agent}
	}
	r.caps &= h.caps
	return r, nil
}

// serverHandshake reads the client's greeting and answers it. It returns
// the capabilities both sides offer, or a *VersionError (after telling the
// client which versions this side speaks) when they share no version.
func serverHandshake(rw io.ReadWriter, cfg *config) (hello, error) {
	if err := readMagic(rw, "client"); err != nil {
		return hello{}, err
	}
	b, err := readHandshakeFrame(rw, tHello, "client")
	if err != nil {
		return hello{}, err
	}
	h, err := decodeHello(b)
	if err != nil {
		return hello{}, err
	}
	reply := helloReply{min: cfg.protoMin, max: cfg.protoMax, agent: cfg.version, caps: cfg.caps() & h.caps}
	if v := min(h.max, cfg.protoMax); v >= max(h.min, cfg.protoMin) {
		reply.version = v
	}
	out := appendFrame([]byte(magic), tHelloReply, 0, reply.encode())
	if _, err := rw.Write(out); err != nil {
		return hello{}, fmt.Errorf("answer the greeting: %w", err)
	}
	if reply.version == 0 {
		return h, &VersionError{Local: [2]int{cfg.protoMin, cfg.protoMax}, Remote: [2]int{h.min, h.max}, Agent: h.version}
	}
	h.caps = reply.caps
	return h, nil
}
