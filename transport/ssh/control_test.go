package ssh

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/transport/ssh/sshtest"
)

// TestDialControl: over a real sshd, the agent relays a connection to the
// daemon of the named engine in the session's own runtime directory
// (XDG_RUNTIME_DIR, set by sshd), and to nothing else.
func TestDialControl(t *testing.T) {
	tmp := t.TempDir()
	rt := filepath.Join(tmp, "run")
	require.NoError(t, os.MkdirAll(filepath.Join(rt, "zerosync"), 0o700))
	l, err := net.Listen("unix", filepath.Join(rt, "zerosync", "demo.sock"))
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "demo daemon: "+r.URL.Path)
	})}
	go srv.Serve(l)
	defer srv.Close()

	f := newFixture(t, sshtest.WithConfig("SetEnv XDG_RUNTIME_DIR="+rt))
	tr := f.transport(t)
	root := filepath.Join(tmp, "root")
	require.NoError(t, os.MkdirAll(root, 0o755))
	ep, err := tr.Endpoint(t.Context(), f.target(), root)
	require.NoError(t, err)
	defer ep.Close()

	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return ep.DialControl(ctx, "demo")
	}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("http://daemon/v1/hello")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "demo daemon: /v1/hello", string(b))

	_, err = ep.DialControl(t.Context(), "absent")
	assert.ErrorContains(t, err, "no daemon of absent answers on this host")
	_, err = ep.DialControl(t.Context(), "../demo")
	assert.Error(t, err)
}
