package remote

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// peerBytes is a connection whose peer sends b and takes everything.
type peerBytes struct {
	*bytes.Reader
	io.Writer
}

func handshakeSeeds(f *testing.F, typ ftype, payloads ...[]byte) {
	for _, p := range payloads {
		f.Add(appendFrame([]byte(magic), typ, 0, p))
	}
	f.Add([]byte{})
	f.Add([]byte("bash: zerosync: command not found\n"))
	f.Add([]byte(magic))
	f.Add(append([]byte(magic), 0xff, 0xff, 0xff, 0xff))
	f.Add(append([]byte(magic), 0, 0, 0, 1, byte(typ)))
}

// FuzzClientHandshake feeds arbitrary bytes to the client's handshake as
// the agent's greeting: it never panics, every failure wraps ErrProtocol,
// and what it accepts is a version this side speaks and capabilities it
// offered.
func FuzzClientHandshake(f *testing.F) {
	handshakeSeeds(f, tHelloReply,
		helloReply{version: 1, min: 1, max: 1, agent: "agent", caps: capAll}.encode(),
		helloReply{version: 0, min: 2, max: 5, agent: "new"}.encode(),
		helloReply{version: 1, min: 1, max: 1, caps: 1 << 40}.encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := newConfig([]Option{WithDelta(false)})
		if err != nil {
			t.Fatal(err)
		}
		r, err := clientHandshake(peerBytes{bytes.NewReader(b), io.Discard}, &cfg)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error does not wrap ErrProtocol: %v", err)
			}
			return
		}
		if r.version < cfg.protoMin || r.version > cfg.protoMax || r.caps&^cfg.clientCaps() != 0 {
			t.Fatalf("accepted version %d with capabilities %#x; this side speaks %d to %d and offered %#x", r.version, r.caps, cfg.protoMin, cfg.protoMax, cfg.clientCaps())
		}
	})
}

// FuzzServerHandshake feeds arbitrary bytes to the agent's handshake as
// the client's greeting: it never panics, every failure wraps ErrProtocol,
// it reads no more than a greeting can hold, and what it agrees to is a
// subset of what both sides offered.
func FuzzServerHandshake(f *testing.F) {
	handshakeSeeds(f, tHello,
		hello{min: 1, max: 1, version: "client", caps: capAll}.encode(),
		hello{min: 3, max: 9}.encode(),
		hello{min: 1, max: 1 << 16, caps: 1<<64 - 1}.encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := newConfig([]Option{WithCompression(false)})
		if err != nil {
			t.Fatal(err)
		}
		r := bytes.NewReader(b)
		var out bytes.Buffer
		h, err := serverHandshake(peerBytes{r, &out}, &cfg)
		if read := len(b) - r.Len(); read > len(magic)+frameHeader+handshakeMaxFrame {
			t.Fatalf("read %d bytes of a greeting", read)
		}
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error does not wrap ErrProtocol: %v", err)
			}
			return
		}
		if h.caps&^cfg.caps() != 0 {
			t.Fatalf("agreed to capabilities %#x; this side offered %#x", h.caps, cfg.caps())
		}
		if !bytes.HasPrefix(out.Bytes(), []byte(magic)) {
			t.Fatalf("answered %q", out.Bytes())
		}
	})
}
