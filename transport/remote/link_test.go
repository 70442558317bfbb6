package remote

import (
	"bytes"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/internal/digest"
)

// meter is a connection that counts the bytes it moves each way since it
// was last reset, and notes when the last moved.
type meter struct {
	net.Conn
	mu                   sync.Mutex
	since                time.Time
	sent, recv           int64
	lastSent, lastRecvAt time.Time
}

func (m *meter) Read(p []byte) (int, error) {
	n, err := m.Conn.Read(p)
	m.mu.Lock()
	m.recv += int64(n)
	if n > 0 {
		m.lastRecvAt = time.Now()
	}
	m.mu.Unlock()
	return n, err
}

func (m *meter) Write(p []byte) (int, error) {
	n, err := m.Conn.Write(p)
	m.mu.Lock()
	m.sent += int64(n)
	if n > 0 {
		m.lastSent = time.Now()
	}
	m.mu.Unlock()
	return n, err
}

// reset starts counting afresh.
func (m *meter) reset() {
	m.mu.Lock()
	m.since, m.sent, m.recv = time.Now(), 0, 0
	m.mu.Unlock()
}

// rates returns the bytes each way since the reset, and the rate of each
// up to the last byte that moved.
func (m *meter) rates() (sent, recv int64, up, down float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rate := func(n int64, last time.Time) float64 {
		if d := last.Sub(m.since).Seconds(); d > 0 {
			return float64(n) / d
		}
		return 0
	}
	return m.sent, m.recv, rate(m.sent, m.lastSent), rate(m.recv, m.lastRecvAt)
}

// meteredConnect is connect with the client's end of the pipe metered.
func meteredConnect(t testing.TB, sopts []Option, copts ...Option) (*conn, *meter) {
	t.Helper()
	var mt *meter
	cn := connectWith(t, func(c net.Conn) net.Conn { mt = &meter{Conn: c}; return mt }, openLocal, sopts, copts...)
	return cn, mt
}

// A bandwidth limit holds within 10 % over a 32 MiB transfer, pushed
// and pulled, counted on the wire: 8 MiB/s moves it in about 4 s. A
// loaded machine may move it slower; never faster.
func TestBandwidthLimitHolds(t *testing.T) {
	const (
		limit = 8 << 20
		size  = 32 << 20
	)
	data := pattern(size, 14)
	want := fileEntry(data, 0o644)
	check := func(t *testing.T, what string, n int64, rate float64) {
		t.Helper()
		t.Logf("%s: %d bytes at %.2f MiB/s (limit %.2f MiB/s)", what, n, rate/(1<<20), float64(limit)/(1<<20))
		require.GreaterOrEqual(t, n, int64(size), "the whole file crossed")
		require.LessOrEqual(t, rate, 1.1*limit, "%s went faster than the limit allows", what)
	}
	t.Run("push", func(t *testing.T) {
		root := newRoot(t)
		cn, mt := meteredConnect(t, nil, WithBandwidthLimit(limit))
		ep := cn.endpoint(t, root)
		mt.reset()
		require.NoError(t, ep.Apply(t.Context(), zerosync.Op{Path: "big.bin", New: want}, bytes.NewReader(data)))
		sent, _, up, _ := mt.rates()
		check(t, "push", sent, up)
		expectBytes(t, filepath.Join(root, "big.bin"), data)
	})
	t.Run("pull", func(t *testing.T) {
		root := newRoot(t)
		writeFile(t, filepath.Join(root, "big.bin"), data, 0o644)
		cn, mt := meteredConnect(t, nil, WithBandwidthLimit(limit))
		ep := cn.endpoint(t, root)
		mt.reset()
		rc, err := ep.Open(t.Context(), "big.bin")
		require.NoError(t, err)
		d, n, err := digest.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		require.Equal(t, want.Digest, d)
		require.Equal(t, int64(size), n)
		_, recv, _, down := mt.rates()
		check(t, "pull", recv, down)
	})
}

// Under a bandwidth limit slower than a frame per keepalive timeout, a
// transfer still completes (in fake time): pulled, the agent's frames of
// 128 KiB take 32 s each at 4 KiB/s, beyond the client's 30 s deadline,
// which grows by the time the limit takes to let in what may be queued;
// pushed, the client cuts its frames so that the agent, which knows
// nothing of the limit, sees whole frames well within its own 30 s.
// Pings and pongs get through the saturated link either way.
func TestBandwidthLimitKeepsDeadlines(t *testing.T) {
	const limit = MinBandwidthLimit
	data := pattern(512<<10, 3)
	want := fileEntry(data, 0o644)
	run := func(t *testing.T, fn func(t *testing.T, ep *Endpoint, root string)) {
		synctest.Test(t, func(t *testing.T) {
			root := newRoot(t)
			cn := connect(t, openLocal, nil, WithBandwidthLimit(limit))
			ep := cn.endpoint(t, root)
			start := time.Now()
			fn(t, ep, root)
			took := time.Since(start)
			t.Logf("%d KiB at %d KiB/s took %v", len(data)>>10, limit>>10, took)
			require.Greater(t, took, time.Duration(len(data)/limit-1)*time.Second, "the limit held")
			require.NoError(t, cn.c.Err(), "the connection survived")
		})
	}
	t.Run("pull", func(t *testing.T) {
		run(t, func(t *testing.T, ep *Endpoint, root string) {
			writeFile(t, filepath.Join(root, "f"), data, 0o644)
			rc, err := ep.Open(t.Context(), "f")
			require.NoError(t, err)
			defer rc.Close()
			got, err := io.ReadAll(rc)
			require.NoError(t, err)
			require.Equal(t, data, got)
		})
	})
	t.Run("push", func(t *testing.T) {
		run(t, func(t *testing.T, ep *Endpoint, root string) {
			require.NoError(t, ep.Apply(t.Context(), zerosync.Op{Path: "f", New: want}, bytes.NewReader(data)))
			expectBytes(t, filepath.Join(root, "f"), data)
		})
	})
}

// The limited side's frames fit the link, and its deadlines on the peer
// allow for what the limit queues.
func TestLinkSettings(t *testing.T) {
	cfg, err := newConfig([]Option{WithBandwidthLimit(MinBandwidthLimit)})
	require.NoError(t, err)
	l := newLink(&cfg)
	require.Equal(t, 10<<10, l.chunk, "2.5 s of a 4 KiB/s link")
	require.Greater(t, l.slack, 8*time.Minute)
	cfg, err = newConfig([]Option{WithBandwidthLimit(64 << 20)})
	require.NoError(t, err)
	l = newLink(&cfg)
	require.Equal(t, chunkSize, l.chunk)
	require.Less(t, l.slack, 100*time.Millisecond)
	cfg, err = newConfig(nil)
	require.NoError(t, err)
	l = newLink(&cfg)
	require.Equal(t, link{chunk: chunkSize}, l, "no limit, no change")
	for _, bad := range []int64{-1, 1, MinBandwidthLimit - 1} {
		_, err := newConfig([]Option{WithBandwidthLimit(bad)})
		require.ErrorContains(t, err, "bandwidth limit", "rate %d", bad)
	}
}

// Under a budget, a delta sink's frames stay within about twice it, and
// content against an empty signature goes out as literals that rebuild
// it.
func TestDeltaSinkBudget(t *testing.T) {
	data := pattern(300<<10, 5)
	var frames [][]byte
	sink := &deltaSink{budget: 4 << 10, send: func(b []byte) error { frames = append(frames, bytes.Clone(b)); return nil }}
	empty := &signature{blockSize: minBlock, strongLen: strongMax}
	n, err := makeDelta(t.Context(), newIndex(empty), bytes.NewReader(data), sink)
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), n)
	i := 0
	dr := newDeltaReader(nil, empty, int64(len(data)), func() ([]byte, error) {
		if i == len(frames) {
			return nil, io.EOF
		}
		require.LessOrEqual(t, len(frames[i]), 2*4<<10+16, "frame %d", i)
		i++
		return frames[i-1], nil
	})
	got, err := io.ReadAll(dr)
	require.NoError(t, err)
	require.Equal(t, data, got)
}
