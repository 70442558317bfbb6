package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
)

// hooked is an agent-side endpoint that reports what the agent does with
// it: when an opened file is closed, and how a blocking Apply ends.
type hooked struct {
	zerosync.Endpoint
	closed chan string // paths of opened files, as they are closed
	// When block is set, Apply of a path starting with "block" waits for
	// its context to end and sends the context's error on applyEnded.
	block      bool
	started    chan struct{}
	applyEnded chan error
}

func newHooked(ep zerosync.Endpoint) *hooked {
	return &hooked{Endpoint: ep, closed: make(chan string, 16), started: make(chan struct{}, 16), applyEnded: make(chan error, 16)}
}

type trackedFile struct {
	*os.File
	path string
	h    *hooked
	once sync.Once
}

func (f *trackedFile) Close() error {
	f.once.Do(func() {
		select {
		case f.h.closed <- f.path:
		default: // nobody is listening
		}
	})
	return f.File.Close()
}

func (h *hooked) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	rc, err := h.Endpoint.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	return &trackedFile{File: rc.(*os.File), path: p, h: h}, nil
}

func (h *hooked) Apply(ctx context.Context, op zerosync.Op, content io.Reader) error {
	if h.block && len(op.Path) >= 5 && op.Path[:5] == "block" {
		h.started <- struct{}{}
		<-ctx.Done()
		h.applyEnded <- ctx.Err()
		return ctx.Err()
	}
	return h.Endpoint.Apply(ctx, op, content)
}

// serveHooked serves a fresh local root through a hooked endpoint.
func serveHooked(t *testing.T, block bool) (*Endpoint, *conn, string, *hooked) {
	t.Helper()
	root := newRoot(t)
	var h *hooked
	ready := make(chan struct{})
	cn := connect(t, func(ctx context.Context, r string) (zerosync.Endpoint, error) {
		ep, err := openLocal(ctx, r)
		if err != nil {
			return nil, err
		}
		h = newHooked(ep)
		h.block = block
		close(ready)
		return h, nil
	}, nil)
	ep := cn.endpoint(t, root)
	<-ready
	return ep, cn, root, h
}

func within(t *testing.T, d time.Duration, what string, c <-chan struct{}) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(d):
		t.Fatalf("%s did not happen within %v", what, d)
	}
}

// A large transfer that its reader does not consume holds its stream's
// window and nothing else: small requests go through meanwhile.
func TestLargeTransferDoesNotBlockSmall(t *testing.T) {
	ep, _, root, _ := serveHooked(t, false)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	big := pattern(32<<20, 1)
	writeFile(t, filepath.Join(root, "big"), big, 0o644)
	writeFile(t, filepath.Join(root, "small"), []byte("small"), 0o644)

	rc, err := ep.Open(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	first := make([]byte, 1000)
	if _, err := io.ReadFull(rc, first); err != nil {
		t.Fatal(err)
	}

	// A large apply whose content stalls after its first chunk.
	release := make(chan struct{})
	applied := make(chan error, 1)
	content := io.MultiReader(bytes.NewReader(big[:chunkSize]), &gate{release: release}, bytes.NewReader(big[chunkSize:]))
	go func() {
		applied <- ep.Apply(ctx, zerosync.Op{Path: "big-copy", New: fileEntry(big, 0o644)}, content)
	}()

	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 20 {
			r, err := ep.Open(ctx, "small")
			if err != nil {
				t.Error(err)
				return
			}
			b, err := io.ReadAll(r)
			r.Close()
			if err != nil || string(b) != "small" {
				t.Errorf("small read %q, %v", b, err)
				return
			}
			data := fmt.Appendf(nil, "file %d", i)
			if err := ep.Apply(ctx, zerosync.Op{Path: fmt.Sprintf("s%d", i), New: fileEntry(data, 0o644)}, bytes.NewReader(data)); err != nil {
				t.Error(err)
				return
			}
			if _, _, err := ep.Scan(ctx); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	within(t, 30*time.Second, "small requests beside two stalled large transfers", done)

	// Both large transfers complete once their ends move again.
	close(release)
	rest, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(append(first, rest...), big) {
		t.Fatalf("large read: %d bytes, %v", len(rest)+len(first), err)
	}
	if err := <-applied; err != nil {
		t.Fatalf("large apply: %v", err)
	}
	expectBytes(t, filepath.Join(root, "big-copy"), big)
}

// gate blocks its reader until release is closed, then reads as empty.
type gate struct{ release chan struct{} }

func (g *gate) Read(p []byte) (int, error) {
	<-g.release
	return 0, io.EOF
}

// Cancelling a read returns at once, and the agent stops sending and
// closes the file; so does closing a reader early.
func TestCancelOpen(t *testing.T) {
	ep, _, root, h := serveHooked(t, false)
	writeFile(t, filepath.Join(root, "big"), pattern(16<<20, 2), 0o644)
	for _, how := range []string{"cancel", "close"} {
		ctx, cancel := context.WithCancel(t.Context())
		rc, err := ep.Open(ctx, "big")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(rc, make([]byte, 1<<20)); err != nil {
			t.Fatal(err)
		}
		if how == "cancel" {
			cancel()
			if _, err := io.ReadAll(rc); !errors.Is(err, context.Canceled) {
				t.Fatalf("read after cancel: %v", err)
			}
		}
		rc.Close()
		cancel()
		select {
		case p := <-h.closed:
			if p != "big" {
				t.Fatalf("agent closed %q", p)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the agent did not stop reading the file", how)
		}
	}
}

// Cancelling an apply returns at once and cancels the agent's work.
func TestCancelApply(t *testing.T) {
	ep, _, _, h := serveHooked(t, true)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- ep.Apply(ctx, zerosync.Op{Path: "block", New: &zerosync.Entry{Kind: zerosync.KindDir, Mode: 0o755}}, nil)
	}()
	within(t, 30*time.Second, "the agent starting the apply", h.started)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Apply: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a cancelled Apply did not return")
	}
	select {
	case err := <-h.applyEnded:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the agent's apply ended with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the agent's apply was not cancelled")
	}
}

// More requests than the streams a connection carries at once all
// complete: the client waits for a free stream.
func TestManyRequests(t *testing.T) {
	ep, _, root := remoteLocal(t)
	writeFile(t, filepath.Join(root, "f"), []byte("content"), 0o644)
	var wg sync.WaitGroup
	errs := make(chan error, 3*maxStreams)
	for range 3 * maxStreams {
		wg.Go(func() {
			rc, err := ep.Open(t.Context(), "f")
			if err != nil {
				errs <- err
				return
			}
			defer rc.Close()
			if b, err := io.ReadAll(rc); err != nil || string(b) != "content" {
				errs <- fmt.Errorf("read %q, %v", b, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// When the agent goes away, calls in progress and later calls fail with
// ErrClosed, and Done and Err tell.
func TestConnectionEnds(t *testing.T) {
	root := newRoot(t)
	writeFile(t, filepath.Join(root, "big"), pattern(8<<20, 3), 0o644)
	a, b := netPipe()
	ctx, stop := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, b, openLocal) }()
	c, err := Dial(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ep, err := c.Endpoint(t.Context(), root)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := ep.Open(t.Context(), "big")
	if err != nil {
		t.Fatal(err)
	}
	if c.Err() != nil {
		t.Fatalf("Err before the end: %v", c.Err())
	}
	stop()
	if err := <-served; !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve after its context ended: %v", err)
	}
	within(t, 30*time.Second, "Done", c.Done())
	if _, err := io.ReadAll(rc); !errors.Is(err, ErrClosed) {
		t.Fatalf("read on a dead connection: %v", err)
	}
	if _, _, err := ep.Scan(t.Context()); !errors.Is(err, ErrClosed) {
		t.Fatalf("scan on a dead connection: %v", err)
	}
	if !errors.Is(c.Err(), ErrClosed) {
		t.Fatalf("Err: %v", c.Err())
	}
	if err := ep.Close(); err != nil {
		t.Fatalf("Close of an endpoint on a dead connection: %v", err)
	}
}

// Closing the client fails what is in progress and lets Serve return nil.
func TestClientClose(t *testing.T) {
	ep, cn, root := remoteLocal(t)
	writeFile(t, filepath.Join(root, "big"), pattern(8<<20, 3), 0o644)
	rc, err := ep.Open(t.Context(), "big")
	if err != nil {
		t.Fatal(err)
	}
	cn.c.Close()
	if _, err := io.ReadAll(rc); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after Close: %v", err)
	}
	if _, err := cn.c.Endpoint(t.Context(), root); !errors.Is(err, ErrClosed) {
		t.Fatalf("Endpoint after Close: %v", err)
	}
	cn.c.Close()
}

// A closed endpoint refuses calls on this side.
func TestEndpointClosed(t *testing.T) {
	ep, cn, _ := remoteLocal(t)
	if err := ep.Close(); err != nil {
		t.Fatal(err)
	}
	before := cn.c.Stats()
	if _, _, err := ep.Scan(t.Context()); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Scan after Close: %v", err)
	}
	if _, err := ep.Open(t.Context(), "f"); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Open after Close: %v", err)
	}
	if err := ep.Watch(t.Context(), func(zerosync.Hint) {}); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Watch after Close: %v", err)
	}
	if cn.c.Stats().FramesSent != before.FramesSent {
		t.Fatal("calls on a closed endpoint went to the agent")
	}
	if err := ep.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
