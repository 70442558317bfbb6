package apptest

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zerosync/zerosync/app"
	"github.com/zerosync/zerosync/control"
)

// Bounded is how long a test waits for a daemon to do something before it
// fails.
const Bounded = 30 * time.Second

// Daemon is a run of an engine (its run command) in a goroutine of the
// test, serving its control socket. Start one with [Hosts.Daemon].
type Daemon struct {
	out    lockedBuffer
	cancel context.CancelFunc
	done   chan error
}

// Daemon starts "run" with the hosts' global flags and more (as
// [Hosts.Try] gives them), and waits until its daemon answers on its
// socket. It runs until [Daemon.Stop] or the end of the test. The test
// sets XDG_RUNTIME_DIR (and XDG_CONFIG_HOME) to directories of its own
// first, so the socket is the test's.
func (h *Hosts) Daemon(more ...string) *Daemon {
	h.t.Helper()
	d := &Daemon{done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	args := append(append(h.globals(), more...), "run")
	go func() {
		d.done <- h.a.Run(ctx, args, app.Streams{In: strings.NewReader(""), Out: &d.out, Err: &d.out})
	}()
	deadline := time.Now().Add(Bounded)
	for !control.Running(ctx, h.a.Name) {
		select {
		case err := <-d.done:
			cancel()
			h.t.Fatalf("%s run ended: %v\n%s", h.a.Name, err, d.out.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			h.t.Fatalf("%s run: no socket after %v\n%s", h.a.Name, Bounded, d.out.String())
		}
	}
	h.t.Cleanup(func() { d.Stop(h.t) })
	return d
}

// Stop ends the daemon and waits for it; it returns what run returned.
// Stopping one that ended already returns the same.
func (d *Daemon) Stop(t *testing.T) error {
	t.Helper()
	d.cancel()
	select {
	case err := <-d.done:
		d.done <- err
		return err
	case <-time.After(Bounded):
		t.Fatalf("run did not end within %v\n%s", Bounded, d.out.String())
		return nil
	}
}

// Output is what the daemon printed so far, standard output and error
// together.
func (d *Daemon) Output() string { return d.out.String() }

// lockedBuffer is a buffer a daemon writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
