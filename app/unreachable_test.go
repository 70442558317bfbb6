package app

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unreachableHost writes an SSH configuration, in a home of the test's
// own, that names a host on a loopback port where nothing listens, and
// returns the host's name.
func unreachableHost(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close()) // the connection is refused from now on
	home := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(home, ".ssh"), 0o700))
	cfg := fmt.Sprintf("Host gone\n  HostName 127.0.0.1\n  Port %d\n  UserKnownHostsFile %s\n", port, filepath.Join(home, ".ssh", "known_hosts"))
	require.NoError(t, os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte(cfg), 0o600))
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	return "gone"
}

// TestUnreachablePeer: one SSH peer that cannot be reached fails its own
// pair, not the command: once syncs the other peer and then fails naming
// the one it could not reach; the daemon starts, syncs the other peer,
// and says in its status why the unreachable one is not synced.
func TestUnreachablePeer(t *testing.T) {
	gone := unreachableHost(t)
	h := newHost(t, "reach")
	h.globals = append(h.globals, "--peer", "near="+h.peer, "--peer", "far="+gone+":/srv/tree")
	write(t, h.root, "one.txt", "1")

	out, errs, err := h.cli("once")
	require.Error(t, err, "%s%s", out, errs)
	assert.Contains(t, err.Error(), "peer far")
	assert.Contains(t, err.Error(), "connection refused")
	assert.NotContains(t, err.Error(), "next attempt", "once tried once: no backoff to speak of")
	assert.Equal(t, "1", read(h.peer, "one.txt"), "the reachable peer was synced:\n%s%s", out, errs)

	write(t, h.root, "two.txt", "2")
	d := h.run()
	waitUntil(t, "the daemon syncs the reachable peer", func() bool { return read(h.peer, "two.txt") == "2" }, d.out.String)
	waitUntil(t, "the status names the unreachable peer's error", func() bool {
		out, _, err := h.cli("status")
		return err == nil && containsAll(out, "peer far", "retrying, last attempt ", "connection refused")
	}, func() string { out, errs, _ := h.cli("status"); return out + errs + "\n" + d.out.String() })
}

// containsAll says whether s holds every one of subs.
func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
