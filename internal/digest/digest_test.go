package digest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"
)

func TestHasherMatchesSum(t *testing.T) {
	data := bytes.Repeat([]byte("zerosync "), 100_000)
	h := New()
	for i := 0; i < len(data); i += 4093 {
		h.Write(data[i:min(len(data), i+4093)])
	}
	if h.Sum() != Sum(data) {
		t.Fatal("streaming and one-shot digests differ")
	}
	d, n, err := ReadAll(bytes.NewReader(data))
	if err != nil || n != int64(len(data)) || d != Sum(data) {
		t.Fatalf("ReadAll = %v %d %v", d, n, err)
	}
	r := NewReader(bytes.NewReader(data))
	var sink bytes.Buffer
	sink.ReadFrom(r)
	if r.H.Sum() != Sum(data) || r.N != int64(len(data)) {
		t.Fatal("Reader digest differs")
	}
	if Sum(nil) == Sum([]byte{0}) {
		t.Fatal("empty and one-byte digests collide")
	}
}

// BenchmarkDigest measures throughput in MB/s of the BLAKE3 digest used for
// content, beside SHA-256 for comparison, on small and large blocks.
func BenchmarkDigest(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10, 1 << 20, 16 << 20} {
		data := bytes.Repeat([]byte{0x5a}, size)
		b.Run(fmt.Sprintf("blake3/%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				Sum(data)
			}
		})
		b.Run(fmt.Sprintf("sha256/%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				sha256.Sum256(data)
			}
		})
	}
}
