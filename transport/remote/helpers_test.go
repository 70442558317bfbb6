package remote

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
	"github.com/zerosync/zerosync/transport/local"
	"github.com/zerosync/zerosync/transport/transporttest"
)

// newRoot returns an empty directory for a root, inside a test directory
// that has room beside it for a sentinel outside the root.
func newRoot(t testing.TB) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		filepath.WalkDir(filepath.Dir(root), func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
	})
	return root
}

// openLocal is the agent's open function in tests: a local endpoint.
func openLocal(ctx context.Context, root string) (zerosync.Endpoint, error) {
	return local.New(root)
}

// conn is one client connection to an agent serving over net.Pipe.
type conn struct {
	c     *Client
	serve chan error // Serve's result
}

// connect starts an agent serving open over net.Pipe and dials it. The
// connection is closed at the end of the test, and Serve must then return
// nil.
func connect(t testing.TB, open func(context.Context, string) (zerosync.Endpoint, error), sopts []Option, copts ...Option) *conn {
	t.Helper()
	return connectWith(t, nil, open, sopts, copts...)
}

// connectWith is connect with the client's end of the pipe passed
// through wrap, when set.
func connectWith(t testing.TB, wrap func(net.Conn) net.Conn, open func(context.Context, string) (zerosync.Endpoint, error), sopts []Option, copts ...Option) *conn {
	t.Helper()
	a, b := netPipe()
	if wrap != nil {
		a = wrap(a)
	}
	ctx, cancel := context.WithCancel(context.Background())
	serve := make(chan error, 1)
	go func() { serve <- Serve(ctx, b, open, sopts...) }()
	c, err := Dial(t.Context(), a, copts...)
	if err != nil {
		cancel()
		t.Fatalf("Dial: %v", err)
	}
	cn := &conn{c: c, serve: serve}
	t.Cleanup(func() {
		defer cancel()
		c.Close()
		select {
		case err := <-serve:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			buf := make([]byte, 1<<20)
			t.Errorf("Serve did not return after the client hung up; goroutines:\n%s", buf[:runtime.Stack(buf, true)])
		}
	})
	return cn
}

// endpoint opens root through the connection; it is closed at the end of
// the test.
func (cn *conn) endpoint(t testing.TB, root string) *Endpoint {
	t.Helper()
	ep, err := cn.c.Endpoint(t.Context(), root)
	if err != nil {
		t.Fatalf("Endpoint %s: %v", root, err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep
}

// remoteLocal serves a fresh local root and returns the client's endpoint
// for it, the connection, and the root.
func remoteLocal(t testing.TB, copts ...Option) (*Endpoint, *conn, string) {
	t.Helper()
	root := newRoot(t)
	cn := connect(t, openLocal, nil, copts...)
	return cn.endpoint(t, root), cn, root
}

// harness is the conformance suite's view of an endpoint over root.
func harness(ep zerosync.Endpoint, root string) transporttest.Harness {
	return transporttest.DirHarness(ep, root)
}

func fileEntry(data []byte, mode fs.FileMode) *zerosync.Entry {
	return &zerosync.Entry{Kind: zerosync.KindFile, Mode: mode, Size: int64(len(data)), Digest: digest.Sum(data)}
}

func writeFile(t testing.TB, p string, data []byte, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
}

func expectBytes(t testing.TB, p string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s holds %d bytes (%s), want %d (%s)", p, len(got), digest.Sum(got).Short(), len(want), digest.Sum(want).Short())
	}
}

// pattern returns n deterministic bytes that differ with seed and do not
// compress.
func pattern(n int, seed uint64) []byte {
	b := make([]byte, n)
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	rand.NewChaCha8(s).Read(b)
	return b
}

func netPipe() (net.Conn, net.Conn) { return net.Pipe() }

func newBytes(b []byte) io.Reader { return bytes.NewReader(b) }
