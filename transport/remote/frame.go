package remote

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ftype is the type of a frame: its first byte, without flagZstd.
type ftype uint8

// Frame types. The numbers are part of the protocol.
const (
	// Handshake, on stream 0.
	tHello      ftype = 0x01 // client: versions, agent version, capabilities
	tHelloReply ftype = 0x02 // server: chosen version, or 0 and its range

	// Requests: the first frame of a stream, client to server.
	tOpenRoot    ftype = 0x10
	tCloseRoot   ftype = 0x11
	tScan        ftype = 0x12
	tOpen        ftype = 0x13
	tApply       ftype = 0x14
	tApplyDelta  ftype = 0x15
	tOpenDelta   ftype = 0x16
	tCopy        ftype = 0x17
	tKeep        ftype = 0x18
	tWatch       ftype = 0x19
	tRootID      ftype = 0x1a // with capIdentity
	tMarkRoot    ftype = 0x1b // with capIdentity
	tApplyResume ftype = 0x1c // with capResume
	tControl     ftype = 0x1d // with capControl
	tScanPaths   ftype = 0x1e // with capScanPaths
	tApplyBatch  ftype = 0x1f // with capBatch

	// Stream frames, after the request.
	tData      ftype = 0x20 // content bytes
	tEnd       ftype = 0x21 // the sender's part of the stream is complete
	tError     ftype = 0x22 // the sender failed; ends the stream
	tResult    ftype = 0x23 // server: the request succeeded
	tOpenOK    ftype = 0x24 // server: content follows, of this size
	tScanChunk ftype = 0x25 // server: snapshot entries
	tScanEnd   ftype = 0x26 // server: end of a scan
	tSigs      ftype = 0x27 // block signatures
	tDelta     ftype = 0x28 // delta instructions
	tHint      ftype = 0x29 // server: a watch hint

	// Control frames.
	tWindow ftype = 0x30 // flow-control credit for a stream
	tCancel ftype = 0x31 // client: stop the work of a stream
	tGoaway ftype = 0x32 // on stream 0: the sender closes the connection, and why
	// With capKeepalive: a ping asks for a pong on the same stream. On
	// stream 0 either side pings; on a request's stream the client asks
	// whether the agent still works on it, and the agent answers only
	// while it does.
	tPing ftype = 0x33
	tPong ftype = 0x34
)

// flagZstd marks a frame whose payload is compressed: the uncompressed
// length (uvarint), then one zstd frame.
const flagZstd = 0x80

func (t ftype) String() string {
	if n, ok := ftypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type 0x%02x", uint8(t))
}

var ftypeNames = map[ftype]string{
	tHello: "hello", tHelloReply: "hello-reply",
	tOpenRoot: "open-root", tCloseRoot: "close-root", tScan: "scan", tOpen: "open",
	tApply: "apply", tApplyDelta: "apply-delta", tOpenDelta: "open-delta", tCopy: "copy",
	tKeep: "keep-conflict", tWatch: "watch", tRootID: "root-id", tMarkRoot: "mark-root", tApplyResume: "apply-resume", tControl: "control", tScanPaths: "scan-paths", tApplyBatch: "apply-batch",
	tData: "data", tEnd: "end", tError: "error", tResult: "result", tOpenOK: "open-ok",
	tScanChunk: "scan-chunk", tScanEnd: "scan-end", tSigs: "signatures", tDelta: "delta",
	tHint: "hint", tWindow: "window", tCancel: "cancel", tGoaway: "goaway",
	tPing: "ping", tPong: "pong",
}

func isRequest(t ftype) bool { return t >= tOpenRoot && t <= tApplyBatch }

// Frame layout and sizes.
const (
	// frameHeader is the length prefix: a big-endian uint32 counting the
	// bytes after it (type, stream id, payload).
	frameHeader = 4
	// chunkSize is the most content one data frame carries. Large
	// transfers are cut into chunks so that streams take turns on the wire.
	chunkSize = 128 << 10
	// sendLimit bounds every frame this side builds, whatever the peer's
	// WithMaxFrame: a chunk plus room for headers and a compression
	// overhead. It is below minMaxFrame.
	sendLimit = chunkSize + 16<<10
	// handshakeMaxFrame bounds the frames of the handshake.
	handshakeMaxFrame = 16 << 10
	// compressMin is the smallest payload worth compressing.
	compressMin = 512
)

// frame is one decoded frame. payload is owned by the frame.
type frame struct {
	typ     ftype
	id      uint64
	payload []byte
}

// appendFrame appends a frame with an uncompressed payload to dst.
func appendFrame(dst []byte, typ ftype, id uint64, payload []byte) []byte {
	return appendFrameParts(dst, uint8(typ), id, nil, payload)
}

// appendFrameParts appends a frame whose body is head then payload.
func appendFrameParts(dst []byte, typ uint8, id uint64, head, payload []byte) []byte {
	var idb [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(idb[:], id)
	n := 1 + k + len(head) + len(payload)
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = append(dst, typ)
	dst = append(dst, idb[:k]...)
	dst = append(dst, head...)
	return append(dst, payload...)
}

// errHangup is what readFrame returns when the peer closed the connection
// cleanly, between frames.
var errHangup = errors.New("the peer closed the connection")

// frameReader reads frames from a connection, checking each length against
// max before anything is allocated for it.
type frameReader struct {
	r    io.Reader
	max  int
	comp *compressor // nil: compressed frames are refused
	hdr  [frameHeader]byte
}

// read returns the next frame and the bytes it took on the wire. A clean
// end of the connection before a frame is errHangup; everything else that is
// wrong is an error wrapping ErrProtocol, or the connection's own error.
func (fr *frameReader) read() (frame, int, error) {
	if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		switch {
		case errors.Is(err, io.EOF):
			return frame{}, 0, errHangup
		case errors.Is(err, io.ErrUnexpectedEOF):
			return frame{}, 0, protoErr("truncated frame: the connection ended inside a frame header")
		}
		return frame{}, 0, err
	}
	n := binary.BigEndian.Uint32(fr.hdr[:])
	if uint64(n) > uint64(fr.max) {
		return frame{}, 0, protoErr("frame of %d bytes exceeds the limit of %d", n, fr.max)
	}
	if n < 2 {
		return frame{}, 0, protoErr("frame of %d bytes is too short for a type and a stream id", n)
	}
	buf := make([]byte, n)
	if k, err := io.ReadFull(fr.r, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return frame{}, 0, protoErr("truncated frame: the connection ended after %d of %d bytes", k, n)
		}
		return frame{}, 0, err
	}
	f, err := parseFrame(buf, fr.max, fr.comp)
	return f, frameHeader + int(n), err
}

// parseFrame decodes the body of a frame (what follows the length prefix),
// decompressing its payload when flagged.
func parseFrame(buf []byte, max int, comp *compressor) (frame, error) {
	if len(buf) < 2 {
		return frame{}, protoErr("frame of %d bytes is too short for a type and a stream id", len(buf))
	}
	typ := buf[0]
	id, k := binary.Uvarint(buf[1:])
	if k <= 0 {
		return frame{}, protoErr("frame of type 0x%02x: bad stream id", typ)
	}
	f := frame{typ: ftype(typ &^ flagZstd), id: id, payload: buf[1+k:]}
	if typ&flagZstd == 0 {
		return f, nil
	}
	if comp == nil {
		return frame{}, protoErr("compressed %s frame, but compression was not agreed", f.typ)
	}
	raw, k := binary.Uvarint(f.payload)
	if k <= 0 {
		return frame{}, protoErr("compressed %s frame: bad length", f.typ)
	}
	if raw > uint64(max) {
		return frame{}, protoErr("compressed %s frame expands to %d bytes, over the limit of %d", f.typ, raw, max)
	}
	p, err := comp.decompress(f.payload[k:], int(raw))
	if err != nil {
		return frame{}, protoErr("compressed %s frame: %v", f.typ, err)
	}
	f.payload = p
	return f, nil
}
