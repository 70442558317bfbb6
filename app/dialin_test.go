package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync/transport/ssh/sshtest"
)

// TestDialinPeer runs both ends from the command line over a real sshd on
// a loopback port: the hub names the spoke dialin:laptop and reports it
// away, with advice, until the spoke runs offer; then they sync both
// ways, and offer ends when interrupted.
func TestDialinPeer(t *testing.T) {
	tmp := t.TempDir()
	srv := sshtest.Start(t, sshtest.WithConfig("StreamLocalBindUnlink yes"))
	home := filepath.Join(tmp, "home")
	require.NoError(t, os.MkdirAll(filepath.Join(home, ".ssh"), 0o700))
	config := fmt.Sprintf("Host hubhost\n  HostName %s\n  Port %d\n  User %s\n  IdentityFile %s\n  UserKnownHostsFile %s\n",
		srv.Host, srv.Port, srv.User, srv.KeyFile, srv.KnownHosts)
	require.NoError(t, os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte(config), 0o600))
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	run, err := os.MkdirTemp("", "zs-run-") // short: socket paths are
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(run) })
	t.Setenv("XDG_RUNTIME_DIR", run)

	hubRoot, spokeRoot := filepath.Join(tmp, "hub"), filepath.Join(tmp, "spoke")
	require.NoError(t, os.MkdirAll(hubRoot, 0o755))
	require.NoError(t, os.MkdirAll(spokeRoot, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(hubRoot, "hub.txt"), []byte("from the hub\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(spokeRoot, "spoke.txt"), []byte("from the spoke\n"), 0o644))

	app := &App{Name: "dialin-test"}
	socket := filepath.Join(run, "zerosync", "dialin", "dialin-test", "laptop.sock")
	once := func() (string, error) {
		var out syncBuffer
		err := app.Run(t.Context(), []string{"--root", hubRoot, "--peer", "laptop=dialin:laptop", "--state", filepath.Join(tmp, "state", "hub.db"), "once"},
			Streams{In: strings.NewReader(""), Out: &out, Err: &out})
		return out.String(), err
	}

	_, err = once()
	require.ErrorContains(t, err, "spoke laptop has not dialed in")
	require.Equal(t, "on the spoke, run: dialin-test --root DIR offer --socket "+socket+" HUB", Advice(app.Name, err))
	fi, err := os.Stat(filepath.Dir(socket))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())

	ctx, cancel := context.WithCancel(context.Background())
	var spokeOut syncBuffer
	offered := make(chan error, 1)
	go func() {
		offered <- app.Run(ctx, []string{"--root", spokeRoot, "offer", "--socket", socket, "hubhost"},
			Streams{In: strings.NewReader(""), Out: &spokeOut, Err: &spokeOut})
	}()
	defer func() {
		cancel()
		select {
		case err := <-offered:
			require.NoError(t, err, "offer after an interrupt")
		case <-time.After(30 * time.Second):
			t.Error("offer did not end within 30s of the interrupt")
		}
	}()

	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := once()
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "has not dialed in") || time.Now().After(deadline) {
			t.Fatalf("once: %v\n%s\n--- spoke ---\n%s\n--- sshd ---\n%s", err, out, spokeOut.String(), srv.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, err := os.ReadFile(filepath.Join(hubRoot, "spoke.txt"))
	require.NoError(t, err)
	require.Equal(t, "from the spoke\n", string(b))
	b, err = os.ReadFile(filepath.Join(spokeRoot, "hub.txt"))
	require.NoError(t, err)
	require.Equal(t, "from the hub\n", string(b))
	require.Contains(t, spokeOut.String(), "offering")
}

// TestOfferUsage: offer needs the hub and the socket's path.
func TestOfferUsage(t *testing.T) {
	app := &App{Name: "dialin-test"}
	root := t.TempDir()
	for _, args := range [][]string{{}, {"hub1", "hub2"}, {"hubhost"}} {
		var out syncBuffer
		err := app.Run(t.Context(), append([]string{"--root", root, "offer"}, args...), Streams{In: strings.NewReader(""), Out: &out, Err: &out})
		require.Error(t, err, "offer %v", args)
		require.Equal(t, ExitUsage, ExitCode(err), "offer %v: %v", args, err)
	}
}
