package remote

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// daemonSocket serves a small HTTP API on a UNIX socket, as a daemon does,
// until the test ends, and returns its path.
func daemonSocket(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", path)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello from the daemon") })
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) { io.Copy(w, r.Body) })
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return path
}

// dialTo returns a control dialer that reaches path for the engine
// "demo" and nothing else, and records the names it was asked for.
func dialTo(path string, asked *[]string) func(context.Context, string) (io.ReadWriteCloser, error) {
	return func(ctx context.Context, engine string) (io.ReadWriteCloser, error) {
		*asked = append(*asked, engine)
		if engine != "demo" {
			return nil, errors.New("no daemon of " + engine + " is running")
		}
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}
}

// TestControlRelay: a client reaches a daemon's HTTP API through the
// agent, for several requests on one connection and bodies larger than a
// frame; no daemon of a name is the agent's error; a name that is not a
// plain name is refused before it leaves the client.
func TestControlRelay(t *testing.T) {
	var asked []string
	cn := connect(t, openLocal, []Option{WithControl(dialTo(daemonSocket(t), &asked))})
	ctx := t.Context()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return cn.c.DialControl(ctx, "demo")
	}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("http://daemon/hello")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "hello from the daemon", string(b))

	big := strings.Repeat("0123456789abcdef", 20000) // 320 kB: many frames
	resp, err = hc.Post("http://daemon/echo", "text/plain", strings.NewReader(big))
	require.NoError(t, err)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, big, string(b))

	_, err = cn.c.DialControl(ctx, "other")
	assert.ErrorContains(t, err, "no daemon of other is running")
	for _, bad := range []string{"", "../x", "a/b", ".hidden", "-x", "a\x00b", strings.Repeat("x", 65)} {
		_, err = cn.c.DialControl(ctx, bad)
		assert.Error(t, err, "%q", bad)
	}
	assert.Contains(t, asked, "demo")
	assert.Equal(t, "other", asked[len(asked)-1], "bad names never reach the agent")
	for _, a := range asked {
		assert.NoError(t, ValidEngineName(a), "the agent was asked for %q", a)
	}
}

// TestControlRelayRaw: the relay carries bytes both ways and ends when the
// daemon closes its side; closing the client's connection closes the
// daemon's.
func TestControlRelayRaw(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raw.sock")
	l, err := net.Listen("unix", path)
	require.NoError(t, err)
	defer l.Close()
	closed := make(chan struct{})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if line == "bye\n" {
					io.WriteString(c, "farewell\n")
					return // the daemon ends the connection
				}
				io.WriteString(c, "got "+line)
				r.ReadString('\n') // until the client closes
				close(closed)
			}()
		}
	}()
	var asked []string
	cn := connect(t, openLocal, []Option{WithControl(dialTo(path, &asked))})
	c, err := cn.c.DialControl(t.Context(), "demo")
	require.NoError(t, err)
	io.WriteString(c, "bye\n")
	b, err := io.ReadAll(c)
	require.NoError(t, err, "the daemon's end is EOF")
	assert.Equal(t, "farewell\n", string(b))
	c.Close()

	c, err = cn.c.DialControl(t.Context(), "demo")
	require.NoError(t, err)
	io.WriteString(c, "ping\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "got ping\n", line)
	c.Close()
	<-closed
	_, err = c.Write([]byte("x"))
	assert.ErrorIs(t, err, net.ErrClosed)
}

// TestControlNotOffered: an agent without a dialer does not offer control
// requests, and the client says so without asking.
func TestControlNotOffered(t *testing.T) {
	cn := connect(t, openLocal, nil)
	_, err := cn.c.DialControl(t.Context(), "demo")
	assert.ErrorIs(t, err, errors.ErrUnsupported)
}

func FuzzRequestControl(f *testing.F) {
	f.Add(request{typ: tControl, engine: "project"}.encode())
	f.Add(request{typ: tControl, engine: "../etc"}.encode())
	fuzzRequest(f, tControl)
}

// goneConn is a connection whose writes fail as they do once the other
// side has closed it, from when gone is set.
type goneConn struct {
	net.Conn
	gone atomic.Bool
}

func (c *goneConn) Write(p []byte) (int, error) {
	if c.gone.Load() {
		return 0, &net.OpError{Op: "write", Net: "pipe", Err: syscall.EPIPE}
	}
	return c.Conn.Write(p)
}

// TestServeHangupFoundByAWrite: a client that is gone is a hang-up, not
// an error, also when the server's write finds it before its reader does.
func TestServeHangupFoundByAWrite(t *testing.T) {
	a, b := netPipe()
	sc := &goneConn{Conn: b}
	served := make(chan error, 1)
	go func() { served <- Serve(context.Background(), sc, openLocal) }()
	c, err := Dial(t.Context(), a)
	require.NoError(t, err)
	defer c.Close()
	sc.gone.Store(true)
	_, err = c.Endpoint(t.Context(), newRoot(t)) // the server's answer cannot be written
	require.Error(t, err)
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return")
	}
}
