package remote

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func newTestCompressor(t testing.TB) *compressor {
	t.Helper()
	c, err := newCompressor(DefaultMaxFrame)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	return c
}

func TestFrameRoundTrip(t *testing.T) {
	comp := newTestCompressor(t)
	text := []byte(strings.Repeat("a line of text that compresses well\n", 1000))
	var wire []byte
	wire = appendFrame(wire, tData, 1, []byte("hello"))
	wire = appendFrame(wire, tEnd, 1<<40, nil)
	z, ok := comp.compress(text)
	if !ok {
		t.Fatal("text did not compress")
	}
	wire = appendFrameParts(wire, uint8(tData)|flagZstd, 7, nil, z)
	fr := frameReader{r: bytes.NewReader(wire), max: DefaultMaxFrame, comp: comp}
	want := []frame{{tData, 1, []byte("hello")}, {tEnd, 1 << 40, nil}, {tData, 7, text}}
	total := 0
	for _, w := range want {
		f, n, err := fr.read()
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if f.typ != w.typ || f.id != w.id || !bytes.Equal(f.payload, w.payload) {
			t.Fatalf("read %s/%d (%d bytes), want %s/%d (%d bytes)", f.typ, f.id, len(f.payload), w.typ, w.id, len(w.payload))
		}
	}
	if total != len(wire) {
		t.Fatalf("frames took %d bytes, the wire held %d", total, len(wire))
	}
	if _, _, err := fr.read(); !errors.Is(err, errHangup) {
		t.Fatalf("read at the end: %v, want errHangup", err)
	}
}

func TestFrameRefuses(t *testing.T) {
	comp := newTestCompressor(t)
	bomb := binary.AppendUvarint(nil, 100<<20)
	bomb = comp.enc.EncodeAll(make([]byte, 4<<20), bomb)
	lying := binary.AppendUvarint(nil, 10)
	lying = comp.enc.EncodeAll(make([]byte, 4<<10), lying)
	short := binary.AppendUvarint(nil, 5000)
	short = comp.enc.EncodeAll(make([]byte, 4<<10), short)
	cases := []struct {
		name string
		wire []byte
		comp *compressor
		want string
	}{
		{"oversized", binary.BigEndian.AppendUint32(nil, DefaultMaxFrame+1), nil, "exceeds the limit"},
		{"huge", []byte{0xff, 0xff, 0xff, 0xff}, nil, "exceeds the limit"},
		{"too-short", []byte{0, 0, 0, 1, byte(tData)}, nil, "too short"},
		{"truncated-header", []byte{0, 0}, nil, "truncated frame"},
		{"truncated-body", []byte{0, 0, 0, 10, byte(tData), 1, 'x'}, nil, "truncated frame"},
		{"bad-id", []byte{0, 0, 0, 3, byte(tData), 0x80, 0x80}, nil, "bad stream id"},
		{"compressed-unagreed", appendFrameParts(nil, uint8(tData)|flagZstd, 1, nil, []byte{1, 2}), nil, "not agreed"},
		{"compression-bomb", appendFrameParts(nil, uint8(tData)|flagZstd, 1, nil, bomb), comp, "over the limit"},
		{"compressed-longer", appendFrameParts(nil, uint8(tData)|flagZstd, 1, nil, lying), comp, "compressed data frame"},
		{"compressed-shorter", appendFrameParts(nil, uint8(tData)|flagZstd, 1, nil, short), comp, "not the 5000"},
		{"compressed-garbage", appendFrameParts(nil, uint8(tData)|flagZstd, 1, nil, []byte{5, 1, 2, 3}), comp, "compressed data frame"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fr := frameReader{r: bytes.NewReader(c.wire), max: DefaultMaxFrame, comp: c.comp}
			_, _, err := fr.read()
			if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want a protocol error mentioning %q", err, c.want)
			}
		})
	}
}

// Incompressible payloads go out as they are, and a stream that keeps
// sending them stops trying for a while.
func TestCompressState(t *testing.T) {
	comp := newTestCompressor(t)
	if _, ok := comp.compress(pattern(chunkSize, 1)); ok {
		t.Fatal("random data compressed")
	}
	var cs compressState
	tries := 0
	for range 40 {
		if cs.should() {
			tries++
			cs.result(false)
		}
	}
	if tries > 6 {
		t.Fatalf("tried %d times out of 40 on incompressible data", tries)
	}
	cs = compressState{}
	for range 40 {
		if !cs.should() {
			t.Fatal("stopped trying on compressible data")
		}
		cs.result(true)
	}
}

// The frame reader never panics and never allocates more than its limit;
// a frame it accepts is rebuilt byte for byte from its parts.
func FuzzReadFrame(f *testing.F) {
	f.Add(appendFrame(nil, tData, 1, []byte("payload")))
	f.Add(appendFrame(appendFrame(nil, tWindow, 3, encodeWindow(100)), tEnd, 3, nil))
	f.Add([]byte{0, 0, 0, 2, byte(tEnd) | flagZstd, 1})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	comp, err := newCompressor(minMaxFrame)
	if err != nil {
		f.Fatal(err)
	}
	z, _ := comp.compress([]byte(strings.Repeat("abc", 1000)))
	f.Add(appendFrameParts(nil, uint8(tData)|flagZstd, 9, nil, z))
	f.Fuzz(func(t *testing.T, wire []byte) {
		fr := frameReader{r: bytes.NewReader(wire), max: minMaxFrame, comp: comp}
		for {
			f, n, err := fr.read()
			if err != nil {
				if !errors.Is(err, ErrProtocol) && !errors.Is(err, errHangup) {
					t.Fatalf("error wraps neither ErrProtocol nor errHangup: %v", err)
				}
				return
			}
			if n > frameHeader+minMaxFrame || len(f.payload) > minMaxFrame {
				t.Fatalf("frame of %d bytes (payload %d) past the limit", n, len(f.payload))
			}
			again := appendFrame(nil, f.typ, f.id, f.payload)
			g, _, err := (&frameReader{r: bytes.NewReader(again), max: 2 * minMaxFrame}).read()
			if err != nil || g.typ != f.typ || g.id != f.id || !bytes.Equal(g.payload, f.payload) {
				t.Fatalf("frame does not survive a round trip: %v", err)
			}
		}
	})
}
