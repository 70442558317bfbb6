package remote

import (
	"encoding/binary"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// compressor compresses and expands frame payloads with zstd, one
// independent zstd frame per payload, so that frames of different streams
// can be interleaved and each stands alone. It is safe for concurrent use.
//
// The fastest level is used: on the reference machine (2-core AMD EPYC) it
// compresses Go source at 210 MB/s per core to 31% of its size, while the
// default level halves the speed to gain 2 points of ratio on 128 KiB
// chunks (see BenchmarkCompress).
type compressor struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
}

func newCompressor(maxFrame int) (*compressor, error) {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(2),
		zstd.WithWindowSize(zstd.MinWindowSize<<8), // 256 KiB: more than a chunk
		zstd.WithEncoderCRC(false))                 // the digest checks content end to end
	if err != nil {
		return nil, fmt.Errorf("zstd encoder: %w", err)
	}
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(2),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(uint64(maxFrame)),
		zstd.WithDecoderMaxWindow(uint64(maxFrame)),
		zstd.WithDecodeAllCapLimit(true))
	if err != nil {
		enc.Close()
		return nil, fmt.Errorf("zstd decoder: %w", err)
	}
	return &compressor{enc: enc, dec: dec}, nil
}

// compress returns the compressed form of p (its length as a uvarint, then
// a zstd frame) and true when it saves at least an eighth of p; otherwise
// it returns nil and false, and p goes out as it is.
func (c *compressor) compress(p []byte) ([]byte, bool) {
	out := binary.AppendUvarint(make([]byte, 0, len(p)/2+16), uint64(len(p)))
	out = c.enc.EncodeAll(p, out)
	if len(out) > len(p)-len(p)/8 {
		return nil, false
	}
	return out, true
}

// decompress expands a zstd frame that must yield exactly n bytes; it never
// produces more than n.
func (c *compressor) decompress(z []byte, n int) ([]byte, error) {
	out, err := c.dec.DecodeAll(z, make([]byte, 0, n))
	if err != nil {
		return nil, err
	}
	if len(out) != n {
		return nil, fmt.Errorf("expands to %d bytes, not the %d announced", len(out), n)
	}
	return out, nil
}

// close releases the decoder; it must not be in use. The encoder needs no
// closing: EncodeAll keeps no goroutines, and writers may still be using
// it.
func (c *compressor) close() { c.dec.Close() }

// compressState decides, for one stream, whether its next payload is worth
// trying to compress. Content that did not compress by an eighth twice in a
// row is sent as it is for the next 16 chunks (2 MiB) before trying again.
// Random-looking data (media, archives, encrypted files) costs zstd little
// to reject (4.5 GB/s on the reference machine, against 0.2 GB/s to
// compress source code), but data that compresses a little costs the full
// price for nothing; see BenchmarkCompress. Only the stream's sending
// goroutine uses it.
type compressState struct {
	misses int // tries in a row that saved nothing
	skip   int // payloads to send without trying
}

// should reports whether to try compressing the next payload.
func (s *compressState) should() bool {
	if s.skip > 0 {
		s.skip--
		return false
	}
	return true
}

// result records the outcome of a try.
func (s *compressState) result(saved bool) {
	if saved {
		s.misses = 0
		return
	}
	s.misses++
	if s.misses >= 2 {
		// Back off: try again after 16 chunks (2 MiB of data).
		s.skip = 16
		s.misses = 1
	}
}
