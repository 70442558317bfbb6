package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// wire returns the bytes both ways since s.
func wire(c *Client, s Stats) int64 {
	now := c.Stats()
	return now.BytesSent - s.BytesSent + now.BytesReceived - s.BytesReceived
}

// A 4 KiB change in the middle of a 256 MiB file moves well under 1 MiB,
// pushed (Apply of an update) and pulled (OpenDelta).
func TestDeltaLargeFile(t *testing.T) {
	ep, cn, root := remoteLocal(t)
	ctx := t.Context()
	const size = 256 << 20
	old := pattern(size, 42)
	p := filepath.Join(root, "big.bin")
	writeFile(t, p, old, 0o644)
	s, _, err := ep.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	updated := bytes.Clone(old)
	copy(updated[size/2-1000:], pattern(4096, 7))
	want := &zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: size, Digest: digest.Sum(updated)}

	before := cn.c.Stats()
	if err := ep.Apply(ctx, zerosync.Op{Path: "big.bin", Old: s.Get("big.bin"), New: want}, bytes.NewReader(updated)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	push := wire(cn.c, before)
	t.Logf("push: %d bytes on the wire for a 4 KiB change in %d MiB", push, size>>20)
	if push > 512<<10 {
		t.Fatalf("pushing a 4 KiB change moved %d bytes", push)
	}
	if got := cn.c.Stats(); got.DeltaFiles != before.DeltaFiles+1 || got.FilesSent != before.FilesSent+1 {
		t.Fatalf("stats %+v after a delta push", got)
	}
	expectDigest(t, p, want)

	// Pull: the agent has the new version, this side the old one.
	before = cn.c.Stats()
	rc, err := ep.OpenDelta(ctx, "big.bin", bytes.NewReader(old), size)
	if err != nil {
		t.Fatalf("OpenDelta: %v", err)
	}
	d, n, err := digest.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	pull := wire(cn.c, before)
	t.Logf("pull: %d bytes on the wire", pull)
	if d != want.Digest || n != size {
		t.Fatal("OpenDelta yields other content")
	}
	if pull > 512<<10 {
		t.Fatalf("pulling a 4 KiB change moved %d bytes", pull)
	}
	if st := cn.c.Stats(); st.DeltaFiles != before.DeltaFiles+1 || st.FilesReceived != before.FilesReceived+1 {
		t.Fatalf("stats %+v after a delta pull", st)
	}
}

// expectDigest checks that the file at p holds what want describes.
func expectDigest(t testing.TB, p string, want *zerosync.Entry) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, n, err := digest.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if d != want.Digest || n != want.Size {
		t.Fatalf("%s holds %d bytes (%s), want %d (%s)", p, n, d.Short(), want.Size, want.Digest.Short())
	}
}

// A delta whose base changed on the agent since the scan is refused like
// any update of a changed file, and one whose content lies is refused too.
func TestDeltaRefused(t *testing.T) {
	ep, _, root := remoteLocal(t, WithDeltaMinSize(1))
	ctx := t.Context()
	old := pattern(300_000, 1)
	p := filepath.Join(root, "f")
	writeFile(t, p, old, 0o644)
	s, _, err := ep.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	updated := append(bytes.Clone(old), "more"...)
	want := fileEntry(updated, 0o644)

	lying := append(bytes.Clone(updated[:1000]), updated[1001:]...)
	err = ep.Apply(ctx, zerosync.Op{Path: "f", Old: s.Get("f"), New: want}, bytes.NewReader(lying))
	if !errors.Is(err, zerosync.ErrDigestMismatch) {
		t.Fatalf("a delta of lying content: %v", err)
	}
	expectBytes(t, p, old)

	edited := pattern(300_000, 2)
	writeFile(t, p, edited, 0o644)
	err = ep.Apply(ctx, zerosync.Op{Path: "f", Old: s.Get("f"), New: want}, bytes.NewReader(updated))
	if !errors.Is(err, zerosync.ErrChanged) {
		t.Fatalf("a delta against a changed file: %v", err)
	}
	expectBytes(t, p, edited)

	// A base that is gone: still refused as changed.
	os.Remove(p)
	err = ep.Apply(ctx, zerosync.Op{Path: "f", Old: s.Get("f"), New: want}, bytes.NewReader(updated))
	if !errors.Is(err, zerosync.ErrChanged) {
		t.Fatalf("a delta against a removed file: %v", err)
	}
}

// Pulling with nothing in common, or from an agent without delta, still
// yields the content.
func TestOpenDeltaFallbacks(t *testing.T) {
	for _, delta := range []bool{true, false} {
		ep, cn, root := remoteLocal(t, WithDelta(delta))
		if cn.c.Agent().Delta != delta {
			t.Fatalf("delta agreed: %v, want %v", cn.c.Agent().Delta, delta)
		}
		data := pattern(200_000, 3)
		writeFile(t, filepath.Join(root, "f"), data, 0o644)
		for _, have := range [][]byte{nil, pattern(50_000, 4), data} {
			rc, err := ep.OpenDelta(t.Context(), "f", bytes.NewReader(have), int64(len(have)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("delta %v, have %d bytes: read %d bytes, %v", delta, len(have), len(got), err)
			}
		}
		if _, err := ep.OpenDelta(t.Context(), "missing", bytes.NewReader(nil), 0); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("OpenDelta of a missing file: %v", err)
		}
	}
}

// Text is compressed on the wire of a slow link (here one under a
// bandwidth limit of 16 MiB/s, which the agent's writes meet as a slow
// reader); random data is sent as it is, without growing; compression is
// off when either side refuses it. (Whether a link is slow is
// TestWireRate's.)
func TestCompression(t *testing.T) {
	slow := WithBandwidthLimit(16 << 20)
	text := []byte(strings.Repeat("The quick brown fox jumps over the lazy dog. 0123456789\n", 80_000)) // 4.5 MB
	random := pattern(len(text), 9)
	for _, c := range []struct {
		name         string
		sopts, copts []Option
		data         []byte
		min, max     float64 // bytes on the wire per byte of content
	}{
		{"text", nil, []Option{slow}, text, 0, 0.1},
		{"random", nil, []Option{slow}, random, 1, 1.01},
		{"text-client-refuses", nil, []Option{slow, WithCompression(false)}, text, 1, 1.01},
		{"text-agent-refuses", []Option{WithCompression(false)}, []Option{slow}, text, 1, 1.01},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := newRoot(t)
			cn := connect(t, openLocal, c.sopts, c.copts...)
			ep := cn.endpoint(t, root)
			before := cn.c.Stats()
			if err := ep.Apply(t.Context(), zerosync.Op{Path: "f", New: fileEntry(c.data, 0o644)}, bytes.NewReader(c.data)); err != nil {
				t.Fatal(err)
			}
			up := float64(wire(cn.c, before)) / float64(len(c.data))
			before = cn.c.Stats()
			rc, err := ep.Open(t.Context(), "f")
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, c.data) {
				t.Fatalf("read back %d bytes, %v", len(got), err)
			}
			down := float64(wire(cn.c, before)) / float64(len(c.data))
			t.Logf("%s: %.3f bytes on the wire per byte up, %.3f down", c.name, up, down)
			for _, r := range []float64{up, down} {
				if r < c.min || r > c.max {
					t.Fatalf("%.3f bytes on the wire per byte, want %.2f to %.2f", r, c.min, c.max)
				}
			}
		})
	}
}

// shiftyEndpoint is an agent's endpoint whose files, once read to their
// size (the signing of a delta base), yield other bytes (the rebuild):
// what a false block match does to a rebuilt file, made certain.
type shiftyEndpoint struct{ zerosync.Endpoint }

func (e shiftyEndpoint) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	rc, err := e.Endpoint.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	f, ok := rc.(*os.File)
	if !ok {
		rc.Close()
		return nil, fmt.Errorf("open %q: not a file", p)
	}
	fi, err := f.Stat()
	if err != nil {
		rc.Close()
		return nil, err
	}
	return &shiftyFile{File: f, size: fi.Size()}, nil
}

type shiftyFile struct {
	*os.File
	size int64
	read atomic.Int64
}

func (f *shiftyFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	if f.read.Add(int64(n)) > f.size {
		for i := range p[:n] {
			p[i] ^= 0xff
		}
	}
	return n, err
}

// A push whose delta the agent rebuilds into another digest (a false
// block match) never leaves a wrong file: the agent refuses it, and the
// file is sent whole, at once when the content can be read again, else on
// the next try.
func TestDeltaFalseMatchFallsBack(t *testing.T) {
	shifty := func(ctx context.Context, root string) (zerosync.Endpoint, error) {
		ep, err := openLocal(ctx, root)
		return shiftyEndpoint{ep}, err
	}
	const size = 4 << 20
	v1 := pattern(size, 1)
	v2 := bytes.Clone(v1)
	copy(v2[size/2:], pattern(4096, 2))
	v3 := bytes.Clone(v2)
	copy(v3[size/4:], pattern(4096, 3))
	e1, e2, e3 := fileEntry(v1, 0o644), fileEntry(v2, 0o644), fileEntry(v3, 0o644)

	cn := connect(t, shifty, nil)
	root := newRoot(t)
	ep := cn.endpoint(t, root)
	p := filepath.Join(root, "big")
	writeFile(t, p, v1, 0o644)
	ctx := t.Context()

	// Seekable content: sent again whole within the same Apply.
	before := cn.c.Stats()
	require.NoError(t, ep.Apply(ctx, zerosync.Op{Path: "big", Old: e1, New: e2}, bytes.NewReader(v2)))
	expectDigest(t, p, e2)
	st := cn.c.Stats()
	require.Equal(t, before.DeltaFiles, st.DeltaFiles, "the delta counted as applied")
	require.Greater(t, wire(cn.c, before), int64(size), "the file did not travel whole")

	// Content read once: the Apply fails with a digest mismatch and the
	// file keeps its old content; the next try goes whole.
	once := struct{ io.Reader }{bytes.NewReader(v3)}
	err := ep.Apply(ctx, zerosync.Op{Path: "big", Old: e2, New: e3}, once)
	require.ErrorIs(t, err, zerosync.ErrDigestMismatch)
	expectDigest(t, p, e2)
	require.NoError(t, ep.Apply(ctx, zerosync.Op{Path: "big", Old: e2, New: e3}, struct{ io.Reader }{bytes.NewReader(v3)}))
	expectDigest(t, p, e3)
}
