package app

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPeersAttachDetachLive: a peer attached through the daemon (peers
// attach) syncs without a restart, is written to the configuration file,
// and is synced again after run restarts with no --peer; a detached one
// stops syncing and leaves the file, whose comments stay.
func TestPeersAttachDetachLive(t *testing.T) {
	h := newHost(t, "live")
	cfg := filepath.Join(h.dir, "live.toml")
	h.globals = append(h.globals, "--config", cfg)
	h.must("--peer", "p="+h.peer, "init")
	write(t, h.root, "first.txt", "1\n")
	d := h.run()
	waitUntil(t, "the first sync", func() bool { return read(h.peer, "first.txt") == "1\n" }, d.out.String)

	extra := filepath.Join(h.dir, "extra")
	require.NoError(t, os.Mkdir(extra, 0o755))
	out := h.must("peers", "attach", "x="+extra)
	assert.Contains(t, out, "attached x")
	assert.Contains(t, out, "wrote peer x to ")
	waitUntil(t, "the attached peer synced", func() bool { return read(extra, "first.txt") == "1\n" }, d.out.String)
	c, err := ReadConfig(cfg)
	require.NoError(t, err)
	assert.Equal(t, []ConfigPeer{{Name: "p", Location: h.peer}, {Name: "x", Location: extra}}, c.Peers)
	b, err := os.ReadFile(cfg)
	require.NoError(t, err)
	assert.Contains(t, string(b), "# Each [[peer]] is a tree to sync with", "the comments stay")

	// A restart reads both peers from the file.
	h.must("stop")
	require.NoError(t, d.wait(t))
	write(t, h.root, "second.txt", "2\n")
	d = h.run()
	waitUntil(t, "both peers synced after the restart", func() bool {
		return read(extra, "second.txt") == "2\n" && read(h.peer, "second.txt") == "2\n"
	}, d.out.String)

	out = h.must("peers", "detach", "x")
	assert.Contains(t, out, "detached x")
	assert.Contains(t, out, "removed peer x from ")
	c, err = ReadConfig(cfg)
	require.NoError(t, err)
	assert.Equal(t, []ConfigPeer{{Name: "p", Location: h.peer}}, c.Peers)
	write(t, h.root, "third.txt", "3\n")
	h.must("flush")
	assert.Equal(t, "3\n", read(h.peer, "third.txt"))
	assert.Equal(t, "<absent>", read(extra, "third.txt"), "a detached peer is not synced")
	out = h.must("status")
	assert.NotContains(t, out, "peer x")
}

// TestPeersAttachWritesMissingConfig: without a configuration file,
// attach writes one as init does, with the daemon's peers and the new one.
func TestPeersAttachWritesMissingConfig(t *testing.T) {
	h := newHost(t, "fresh")
	h.globals = append(h.globals, "--peer", "p="+h.peer)
	d := h.run()
	extra := filepath.Join(h.dir, "extra")
	require.NoError(t, os.Mkdir(extra, 0o755))
	write(t, h.root, "f.txt", "f\n")
	h.must("peers", "attach", "x="+extra)
	waitUntil(t, "the attached peer synced", func() bool { return read(extra, "f.txt") == "f\n" }, d.out.String)
	c, err := ReadConfig(filepath.Join(h.dir, "config", "zerosync", "fresh.toml"))
	require.NoError(t, err)
	assert.Equal(t, []ConfigPeer{{Name: "p", Location: h.peer}, {Name: "x", Location: extra}}, c.Peers)
	assert.Equal(t, h.root, c.Root)

	_, _, err = h.cli("peers", "detach", "nobody")
	require.Error(t, err)
	_, _, err = h.cli("peers", "attach", "bad")
	assert.Equal(t, ExitUsage, ExitCode(err))
}

// TestDropPeer: removing a [[peer]] table keeps the rest of the file,
// comments of the next table included.
func TestDropPeer(t *testing.T) {
	in := "root = \"/r\"\n\n[[peer]]\nname = \"a\"\nlocation = \"/a\"\n\n# the b peer\n[[peer]]\nname = \"b\"\nlocation = \"/b\"\n\n[deadlines]\nconnect = \"1s\"\n"
	assert.Equal(t, "root = \"/r\"\n\n\n# the b peer\n[[peer]]\nname = \"b\"\nlocation = \"/b\"\n\n[deadlines]\nconnect = \"1s\"\n", dropPeer(in, "a"))
	assert.Equal(t, "root = \"/r\"\n\n[[peer]]\nname = \"a\"\nlocation = \"/a\"\n\n# the b peer\n\n[deadlines]\nconnect = \"1s\"\n", dropPeer(in, "b"))
	assert.Equal(t, in, dropPeer(in, "c"))
}
