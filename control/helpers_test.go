package control_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/control"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/local"
)

// daemon is an engine over two local directories, run by Run in a
// goroutine, with a control server on a socket in a runtime directory of
// the test's own.
type daemon struct {
	e          *engine.Engine
	dirA, dirB string
	srv        *control.Server
	c          *control.Client
	path       string
	// runDone receives Run's error when it returns.
	runDone chan error
	att     *dirAttacher
}

// startDaemon builds the engine "ctl" over two fresh directories (a, its
// own tree, and peer b), serves it and runs it until the test ends.
func startDaemon(t *testing.T, opts ...engine.Option) *daemon {
	t.Helper()
	return startDaemonWith(t, nil, opts...)
}

// startDaemonWith is startDaemon with more options of the server.
func startDaemonWith(t *testing.T, serverOpts []control.Option, opts ...engine.Option) *daemon {
	t.Helper()
	tmp := t.TempDir()
	d := &daemon{dirA: filepath.Join(tmp, "a"), dirB: filepath.Join(tmp, "b"), att: &dirAttacher{eps: map[string]*local.Endpoint{}}}
	require.NoError(t, os.Mkdir(d.dirA, 0o755))
	require.NoError(t, os.Mkdir(d.dirB, 0o755))
	a, err := local.New(d.dirA, local.WithName("a"))
	require.NoError(t, err)
	b, err := local.New(d.dirB, local.WithName("b"))
	require.NoError(t, err)
	t.Cleanup(func() { a.Close(); b.Close() })
	opts = append([]engine.Option{engine.WithName("ctl"), engine.WithStatePath(filepath.Join(tmp, "state.db"))}, opts...)
	d.e, err = engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}}, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { d.e.Close() })
	d.serve(t, append([]control.Option{control.WithAttacher(d.att)}, serverOpts...)...)
	waitFor(t, "the first cycle", func() bool { return d.e.Status().Cycles >= 1 })
	return d
}

// serve starts the server and Run; both end with the test.
func (d *daemon) serve(t testing.TB, opts ...control.Option) {
	t.Helper()
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	var err error
	d.path, err = control.SocketPath(d.e.Name())
	require.NoError(t, err)
	l, err := control.Listen(d.path)
	require.NoError(t, err)
	runCtx, stopRun := context.WithCancel(context.Background())
	d.srv, err = control.New(d.e, append([]control.Option{control.WithStop(stopRun)}, opts...)...)
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- d.srv.Serve(l) }()
	d.runDone = make(chan error, 1)
	go func() { d.runDone <- d.e.Run(runCtx) }()
	t.Cleanup(func() {
		stopRun()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, d.srv.Shutdown(ctx))
		require.ErrorIs(t, <-served, http.ErrServerClosed)
		select {
		case <-d.runDone:
		case <-ctx.Done():
			t.Error("Run did not return")
		}
		if d.att != nil {
			d.att.closeAll()
		}
	})
	d.c, err = control.Dial(context.Background(), d.path)
	require.NoError(t, err)
	t.Cleanup(func() { d.c.Close() })
}

// dirAttacher attaches directories of this host.
type dirAttacher struct {
	mu  sync.Mutex
	eps map[string]*local.Endpoint
}

func (a *dirAttacher) Attach(ctx context.Context, name, location string) (zerosync.Endpoint, error) {
	ep, err := local.New(location, local.WithName(name))
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.eps[name] = ep
	a.mu.Unlock()
	return ep, nil
}

func (a *dirAttacher) Detach(ctx context.Context, name string) error {
	a.mu.Lock()
	ep := a.eps[name]
	delete(a.eps, name)
	a.mu.Unlock()
	if ep == nil {
		return nil
	}
	return ep.Close()
}

func (a *dirAttacher) closeAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ep := range a.eps {
		ep.Close()
	}
	a.eps = nil
}

// waitFor waits up to 10 s for cond, failing with what.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func writeFile(t *testing.T, root, p, content string) {
	t.Helper()
	full := filepath.Join(root, p)
	require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
	require.NoError(t, os.WriteFile(full, []byte(content), 0o644))
}

func readFile(root, p string) string {
	b, err := os.ReadFile(filepath.Join(root, p))
	if errors.Is(err, os.ErrNotExist) {
		return "<absent>"
	}
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

// applied returns the paths a report applied, with the side changed.
func applied(r control.Report) []string {
	var out []string
	for _, a := range r.Applied {
		out = append(out, a.Side+" "+a.Op+" "+string(a.Path))
	}
	return out
}

var bg = context.Background()
