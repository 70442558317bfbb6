package remote

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zerosync/zerosync"
)

func TestOptionsRefuse(t *testing.T) {
	for _, c := range []struct {
		name string
		opt  Option
		want string
	}{
		{"nil", nil, "nil option"},
		{"nil-logger", WithLogger(nil), "nil logger"},
		{"small-frame", WithMaxFrame(1024), "max frame 1024 out of range"},
		{"large-frame", WithMaxFrame(1 << 30), "out of range"},
		{"version-control", WithVersion("v1\n"), "control characters"},
		{"version-long", WithVersion(strings.Repeat("v", 300)), "longer than 256"},
		{"empty-name", WithName(""), "empty name"},
		{"delta-size", WithDeltaMinSize(0), "not positive"},
		{"max-entries", WithMaxEntries(-1), "not positive"},
		{"keepalive-order", WithKeepalive(5*time.Second, 5*time.Second), "want 0 < interval < timeout"},
		{"keepalive-half-off", WithKeepalive(0, time.Second), "want 0 < interval < timeout"},
		{"keepalive-negative", WithKeepalive(-time.Second, time.Second), "want 0 < interval < timeout"},
		{"keepalive-huge", WithKeepalive(time.Second, 48*time.Hour), "want 0 < interval < timeout"},
		{"handshake-zero", WithHandshakeTimeout(0), "handshake timeout 0s out of range"},
		{"empty-host", WithHost(""), "host \"\" is empty"},
		{"host-control", WithHost("a\nb"), "control characters"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer b.Close()
			if _, err := Dial(t.Context(), a, c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Dial: %v; want an error mentioning %q", err, c.want)
			}
			if err := Serve(t.Context(), b, openLocal, c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Serve: %v; want an error mentioning %q", err, c.want)
			}
		})
	}
	a, b := net.Pipe()
	defer a.Close()
	if err := Serve(t.Context(), b, nil); err == nil {
		t.Fatal("Serve without an open function succeeded")
	}
}

// The options take effect: the name appears in errors, the logger hears
// the connection, the smallest frame limit carries every frame, and the
// agent's version reaches the client.
func TestOptionsApply(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	root := newRoot(t)
	cn := connect(t, openLocal, []Option{WithMaxFrame(minMaxFrame), WithVersion("agent-7")},
		WithMaxFrame(minMaxFrame), WithName("host-b"), WithLogger(log))
	ep := cn.endpoint(t, root)
	if ep.Root() != root || cn.c.Agent().Version != "agent-7" {
		t.Fatalf("root %q, agent %+v", ep.Root(), cn.c.Agent())
	}
	data := pattern(3*chunkSize+5, 8)
	if err := ep.Apply(t.Context(), zerosync.Op{Path: "f", New: fileEntry(data, 0o644)}, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	_, err := ep.Open(t.Context(), "missing")
	if err == nil || !strings.HasPrefix(err.Error(), "open host-b:missing: ") {
		t.Fatalf("error %v does not name the host", err)
	}
	if !strings.Contains(logs.String(), "connected") {
		t.Fatalf("the logger heard nothing: %q", logs.String())
	}
}
