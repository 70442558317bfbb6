package app

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"log/slog"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/memory"
)

// TestNotifySystemd: under a service manager (NOTIFY_SOCKET, a unixgram
// socket the test listens on), the daemon says READY=1 after its first
// cycle, WATCHDOG=1 at half of WATCHDOG_USEC while its loop is alive,
// and STOPPING=1 at the end.
func TestNotifySystemd(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	require.NoError(t, err)
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "200000") // 200 ms: pings every 100 ms
	t.Setenv("WATCHDOG_PID", "")

	a, b := memory.New(), memory.New()
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: a}, []engine.Peer{{Name: "b", Endpoint: b}}, engine.WithVolatileState())
	require.NoError(t, err)
	defer e.Close()
	ctx, cancel := context.WithCancel(t.Context())
	stop := notifySystemd(ctx, slog.New(slog.DiscardHandler), e)
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()

	read := func() string {
		t.Helper()
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		buf := make([]byte, 256)
		n, err := conn.Read(buf)
		require.NoError(t, err, "no notification within 10 s")
		return strings.TrimSpace(string(buf[:n]))
	}
	var got []string
	for !(contains(got, "READY=1") && count(got, "WATCHDOG=1") >= 2) {
		got = append(got, read())
	}
	assert.Equal(t, "READY=1", first(got, func(s string) bool { return s != "WATCHDOG=1" }))
	cancel()
	<-done
	stop()
	for {
		s := read()
		if s == "STOPPING=1" {
			break
		}
		assert.Equal(t, "WATCHDOG=1", s)
	}
}

// TestNotifySystemdOff: without NOTIFY_SOCKET nothing is sent and stop
// returns at once.
func TestNotifySystemdOff(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	e, err := engine.New(engine.Peer{Name: "a", Endpoint: memory.New()}, []engine.Peer{{Name: "b", Endpoint: memory.New()}}, engine.WithVolatileState())
	require.NoError(t, err)
	defer e.Close()
	notifySystemd(t.Context(), slog.New(slog.DiscardHandler), e)()
}

func contains(ss []string, s string) bool { return count(ss, s) > 0 }

func count(ss []string, s string) int {
	n := 0
	for _, x := range ss {
		if x == s {
			n++
		}
	}
	return n
}

func first(ss []string, f func(string) bool) string {
	for _, s := range ss {
		if f(s) {
			return s
		}
	}
	return ""
}
