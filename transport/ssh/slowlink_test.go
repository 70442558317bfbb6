package ssh

import (
	"bytes"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// A bandwidth limit holds each way within 10 % over a real sshd, counted
// on the TCP connection (encrypted, SSH framing included): the agent's
// copy when it is installed, a 32 MiB push and a 32 MiB pull. The host's
// own limit (8 MiB/s) wins over the transport's (64 MiB/s). A loaded
// machine may move the bytes slower; never faster.
func TestBandwidthLimit(t *testing.T) {
	ctx := testContext(t)
	const limit = 8 << 20
	f := newFixture(t)
	tr := f.transport(t, WithBandwidthLimit(64<<20), WithHostBandwidthLimit(f.srv.Host, limit))
	server := newDir(t, "server")
	check := func(what string, n int64, took time.Duration) {
		t.Helper()
		rate := float64(n) / took.Seconds()
		t.Logf("%s: %d bytes in %v, %.2f MiB/s (limit %.2f MiB/s)", what, n, took.Round(time.Millisecond), rate/(1<<20), float64(limit)/(1<<20))
		require.LessOrEqual(t, rate, 1.1*limit, "%s went faster than the limit allows", what)
	}

	start := time.Now()
	ep, err := tr.Endpoint(ctx, f.target(), server)
	require.NoError(t, err)
	st := tr.Stats()
	require.Equal(t, int64(1), st.Uploads, "the agent was installed")
	check("install", st.Sent, time.Since(start))

	data := randomBytes(t, 32<<20)
	want := &zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: int64(len(data)), Digest: digest.Sum(data)}
	before, start := tr.Stats(), time.Now()
	require.NoError(t, ep.Apply(ctx, zerosync.Op{Path: "up.bin", New: want}, bytes.NewReader(data)))
	sent := tr.Stats().Sent - before.Sent
	require.Greater(t, sent, int64(len(data)))
	check("push", sent, time.Since(start))

	writeFile(t, server, "down.bin", data)
	before, start = tr.Stats(), time.Now()
	rc, err := ep.Open(ctx, "down.bin")
	require.NoError(t, err)
	d, n, err := digest.ReadAll(rc)
	rc.Close()
	require.NoError(t, err)
	require.Equal(t, want.Digest, d)
	require.Equal(t, want.Size, n)
	recv := tr.Stats().Received - before.Received
	check("pull", recv, time.Since(start))
}

// partialFile is where the local endpoint keeps what arrived of want
// beside p.
func partialFile(root, p string, want *zerosync.Entry) string {
	return filepath.Join(root, filepath.Dir(p), zerosync.TempPrefix+"part-"+hex.EncodeToString(want.Digest[:]))
}

// A 32 MiB push cut at 24 MiB on the wire resumes over a new connection:
// the agent kept what it received, and the retry sends the rest, at most
// one block more, and the overhead of reconnecting and of the protocol.
func TestResumeOverSSH(t *testing.T) {
	ctx := testContext(t)
	f, p, tr, target := proxied(t)
	server := newDir(t, "server")
	ep, err := tr.Endpoint(ctx, target, server)
	require.NoError(t, err)
	data := randomBytes(t, 32<<20)
	want := &zerosync.Entry{Kind: zerosync.KindFile, Mode: 0o644, Size: int64(len(data)), Digest: digest.Sum(data)}
	op := zerosync.Op{Path: "big.bin", New: want}

	p.CutAfter(true, 24<<20)
	err = ep.Apply(ctx, op, bytes.NewReader(data))
	require.ErrorIs(t, err, ErrDisconnected)
	waitFor(t, "the agent of the cut connection to end", func() bool { return len(f.agentPIDs(t)) == 0 })
	fi, err := os.Stat(partialFile(server, "big.bin", want))
	require.NoError(t, err, "the agent keeps what it received")
	kept := fi.Size()

	before := p.up.Load()
	require.NoError(t, ep.Apply(ctx, op, bytes.NewReader(data)))
	sent := p.up.Load() - before
	// The block size of the agent's signature of what it kept: the
	// square root of its size, rounded up to a KiB.
	block := (int64(math.Sqrt(float64(kept))) + 1023) &^ 1023
	const overhead = 128 << 10 // a new SSH connection and agent session, SSH and protocol framing
	t.Logf("kept %d bytes of %d; the retry sent %d bytes (the rest: %d, a block: %d)", kept, len(data), sent, int64(len(data))-kept, block)
	require.LessOrEqual(t, sent, int64(len(data))-kept+block+overhead)
	got, err := os.ReadFile(filepath.Join(server, "big.bin"))
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, got), "the file arrived whole")
	require.NoFileExists(t, partialFile(server, "big.bin", want))
	require.Empty(t, tempFiles(server))
}

// The limit of a host is found by the host of the target, whatever its
// user and port; the strictest of several holds; bad values are refused.
func TestBandwidthOptions(t *testing.T) {
	cfgOf := func(opts ...Option) *config {
		t.Helper()
		var c config
		for _, o := range opts {
			require.NoError(t, o(&c))
		}
		return &c
	}
	c := cfgOf(WithBandwidthLimit(1<<20), WithHostBandwidthLimit("me@server1:2222", 64<<10), WithHostBandwidthLimit("server2", 0))
	require.Equal(t, int64(64<<10), c.bandwidth("server1"))
	require.Equal(t, int64(0), c.bandwidth("server2"), "0 lifts the limit for a host")
	require.Equal(t, int64(1<<20), c.bandwidth("server3"))
	c = cfgOf(WithHostBandwidthLimit("a", 0), WithHostBandwidthLimit("b@a", 8<<10), WithHostBandwidthLimit("a:22", 16<<10), WithHostBandwidthLimit("[::1]:22", 4<<10))
	require.Equal(t, int64(8<<10), c.bandwidth("a"), "the strictest holds")
	require.Equal(t, int64(4<<10), c.bandwidth("::1"))
	var c2 config
	require.ErrorContains(t, WithBandwidthLimit(1000)(&c2), "out of range")
	require.ErrorContains(t, WithBandwidthLimit(-1)(&c2), "out of range")
	require.ErrorContains(t, WithHostBandwidthLimit("a", 1000)(&c2), "host a: bandwidth limit")
	require.ErrorContains(t, WithHostBandwidthLimit("", 1<<20)(&c2), "target")
}
