package bwlimit

import (
	"bytes"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNew(t *testing.T) {
	l, err := New(0)
	require.NoError(t, err)
	require.Nil(t, l, "no limit is a nil limiter")
	require.NoError(t, l.Wait(nil, 1<<30), "a nil limiter limits nothing")
	require.Equal(t, int64(0), l.Rate())
	_, err = New(-1)
	require.Error(t, err)
	for rate, burst := range map[int64]int{100: minBurst, 64 << 10: 8 << 10, 8 << 20: maxBurst} {
		l, err := New(rate)
		require.NoError(t, err)
		require.Equal(t, burst, l.Burst(), "rate %d", rate)
	}
}

// The limiter holds a stream to its rate (in fake time): 1 MiB at 64 KiB/s
// takes 16 s, less the first bucket.
func TestWaitRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := New(64 << 10)
		require.NoError(t, err)
		start := time.Now()
		for range 1 << 20 / 1000 {
			require.NoError(t, l.Wait(nil, 1000))
		}
		took := time.Since(start)
		least := time.Duration(float64(1<<20/1000*1000-l.Burst()) / float64(64<<10) * float64(time.Second))
		require.GreaterOrEqual(t, took, least)
		require.Less(t, took, least+time.Second)
	})
}

// A wait longer than the bucket is made in pieces; closing done ends it
// with ErrAbandoned.
func TestWaitAbandoned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := New(1024)
		require.NoError(t, err)
		done := make(chan struct{})
		got := make(chan error, 1)
		go func() { got <- l.Wait(done, 1<<20) }()
		time.Sleep(time.Minute)
		synctest.Wait()
		select {
		case err := <-got:
			t.Fatalf("a wait for 1 MiB at 1 KiB/s ended after a minute: %v", err)
		default:
		}
		close(done)
		require.ErrorIs(t, <-got, ErrAbandoned)
	})
}

// The reader passes everything, in pieces of at most a bucket, at the
// rate; an abandoned wait shows as the next read's error.
func TestReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, err := New(8 << 10)
		require.NoError(t, err)
		data := bytes.Repeat([]byte("zerosync"), 8<<10) // 64 KiB
		start := time.Now()
		got, err := io.ReadAll(l.Reader(nil, bytes.NewReader(data)))
		require.NoError(t, err)
		require.Equal(t, data, got)
		require.GreaterOrEqual(t, time.Since(start), 7*time.Second, "64 KiB at 8 KiB/s, less the first bucket")

		done := make(chan struct{})
		close(done)
		r := l.Reader(done, bytes.NewReader(data))
		buf := make([]byte, 64<<10)
		n, err := r.Read(buf)
		require.NoError(t, err)
		require.Equal(t, l.Burst(), n, "one read takes at most a bucket")
		_, err = r.Read(buf)
		require.ErrorIs(t, err, ErrAbandoned)
	})
}
