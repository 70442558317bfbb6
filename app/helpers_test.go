package app

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/control"
)

// bounded is how long a test waits for a daemon to do something before it
// fails.
const bounded = 30 * time.Second

// waitUntil waits up to [bounded] for cond, failing with what and more().
func waitUntil(t *testing.T, what string, cond func() bool, more func() string) {
	t.Helper()
	for deadline := time.Now().Add(bounded); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s\n%s", what, more())
		}
	}
}

// host is one engine's trees and files for a test: this host's root, a
// peer, the state and the configuration file, in a temporary directory
// that also holds the runtime directory of its daemon.
type host struct {
	t          *testing.T
	a          *App
	dir        string
	root, peer string
	globals    []string
}

// newHost makes an engine called name over two fresh directories, with its
// runtime, configuration and state directories in the test's own.
func newHost(t *testing.T, name string) *host {
	t.Helper()
	t.Setenv("ANTHROPIC_API_KEY", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	h := &host{t: t, a: &App{Name: name}, dir: dir, root: filepath.Join(dir, "root"), peer: filepath.Join(dir, "peer")}
	require.NoError(t, os.Mkdir(h.root, 0o755))
	require.NoError(t, os.Mkdir(h.peer, 0o755))
	h.globals = []string{"--root", h.root, "--state", filepath.Join(dir, "state", name+".db")}
	return h
}

// cli runs the command line args with the host's global flags (and
// peers, given as --peer NAME=WHERE in peers).
func (h *host) cli(args ...string) (string, string, error) {
	return cli(h.a, append(slices.Clone(h.globals), args...)...)
}

// must runs args and fails the test on an error.
func (h *host) must(args ...string) string {
	h.t.Helper()
	out, errs, err := h.cli(args...)
	require.NoError(h.t, err, "%v\n%s%s", args, out, errs)
	return out
}

// daemon is a run of the engine in a goroutine.
type daemon struct {
	out    syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// run starts "run" with the host's flags and more, and waits until its
// daemon answers on its socket; the daemon is ended with the test.
func (h *host) run(more ...string) *daemon {
	h.t.Helper()
	d := &daemon{done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	args := append(append(slices.Clone(h.globals), more...), "run")
	go func() { d.done <- h.a.Run(ctx, args, Streams{In: strings.NewReader(""), Out: &d.out, Err: &d.out}) }()
	waitUntil(h.t, "the daemon's socket", func() bool {
		select {
		case err := <-d.done:
			d.done <- err
			h.t.Fatalf("run ended: %v\n%s", err, d.out.String())
		default:
		}
		return control.Running(ctx, h.a.Name)
	}, d.out.String)
	h.t.Cleanup(func() {
		cancel()
		select {
		case <-d.done:
		case <-time.After(bounded):
			h.t.Error("run did not end")
		}
	})
	return d
}

// wait waits for run to end, and returns its error.
func (d *daemon) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-d.done:
		d.done <- err
		return err
	case <-time.After(bounded):
		t.Fatalf("run did not end\n%s", d.out.String())
		return nil
	}
}

// client is a client of the host's daemon.
func (h *host) client() *control.Client {
	h.t.Helper()
	path, err := control.SocketPath(h.a.Name)
	require.NoError(h.t, err)
	c, err := control.Dial(context.Background(), path)
	require.NoError(h.t, err)
	h.t.Cleanup(func() { c.Close() })
	return c
}

// read returns the content of a file, or "<absent>".
func read(dir, p string) string {
	b, err := os.ReadFile(filepath.Join(dir, p))
	if err != nil {
		return "<absent>"
	}
	return string(b)
}

// write writes a file.
func write(t *testing.T, dir, p, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644))
}
