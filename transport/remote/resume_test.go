package remote

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zerosync/zerosync"
	"github.com/zerosync/zerosync/engine"
	"github.com/zerosync/zerosync/transport/local"
)

// cutter is a metered connection that breaks, as a pulled cable does, once
// cutSent bytes went out or cutRecv came in (0: never).
type cutter struct {
	meter
	cutSent, cutRecv int64
	once             sync.Once
}

var errCutCable = errors.New("cable pulled")

func (c *cutter) cut() { c.once.Do(func() { c.Conn.Close() }) }

func (c *cutter) Write(p []byte) (int, error) {
	c.mu.Lock()
	room := c.cutSent - c.sent
	c.mu.Unlock()
	if c.cutSent > 0 && int64(len(p)) >= room {
		n, _ := c.meter.Write(p[:max(room, 0)])
		c.cut()
		return n, errCutCable
	}
	return c.meter.Write(p)
}

func (c *cutter) Read(p []byte) (int, error) {
	c.mu.Lock()
	room := c.cutRecv - c.recv
	c.mu.Unlock()
	if c.cutRecv > 0 {
		if room <= 0 {
			c.cut()
			return 0, errCutCable
		}
		p = p[:min(int64(len(p)), room)]
	}
	return c.meter.Read(p)
}

// session is one connection to an agent serving local roots over
// net.Pipe, the client's end through c. wait waits for the agent to be
// done with the connection (so whatever it keeps of a cut transfer is
// kept) and returns Serve's error.
func session(t *testing.T, c *cutter, copts ...Option) (cl *Client, wait func() error) {
	t.Helper()
	a, b := net.Pipe()
	c.Conn = a
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, b, openLocal) }()
	cl, err := Dial(t.Context(), c, copts...)
	require.NoError(t, err)
	var once sync.Once
	var serr error
	wait = func() error {
		once.Do(func() {
			select {
			case serr = <-served:
			case <-time.After(time.Minute):
				serr = errors.New("the agent did not finish within a minute")
			}
		})
		return serr
	}
	t.Cleanup(func() {
		cl.Close()
		cancel()
		wait()
	})
	return cl, wait
}

// partialOf is where a local endpoint keeps the partial of want beside p.
func partialOf(root, p string, want *zerosync.Entry) string {
	return filepath.Join(root, filepath.Dir(p), zerosync.TempPrefix+"part-"+hex.EncodeToString(want.Digest[:]))
}

// The sizes of the resume tests: a 32 MiB file cut at 24 MiB, whose
// signature blocks are 6 KiB.
const (
	resumeSize = 32 << 20
	resumeCut  = 24 << 20
	// resumeOverhead is what a resumed transfer may send beyond the
	// content it lacks and one block: requests, frame headers, the
	// instructions that copy the kept blocks, window credits.
	resumeOverhead = 64 << 10
)

// cutPush pushes data to root/p over a connection cut after resumeCut
// bytes, waits for the agent to keep what it received, and returns how
// many bytes it kept.
func cutPush(t *testing.T, root, p string, data []byte) int64 {
	t.Helper()
	want := fileEntry(data, 0o644)
	cl, wait := session(t, &cutter{cutSent: resumeCut})
	ep, err := cl.Endpoint(t.Context(), root)
	require.NoError(t, err)
	err = ep.Apply(t.Context(), zerosync.Op{Path: p, New: want}, bytes.NewReader(data))
	require.ErrorIs(t, err, ErrClosed, "the cut ends the push")
	wait()
	require.NoFileExists(t, filepath.Join(root, p))
	fi, err := os.Stat(partialOf(root, p, want))
	require.NoError(t, err, "the agent keeps what it received")
	require.Greater(t, fi.Size(), int64(resumeCut-streamWindow-sendLimit), "all but what was in flight")
	return fi.Size()
}

// push pushes data to root/p over a fresh connection and returns the
// bytes the client sent.
func push(t *testing.T, root, p string, data []byte) int64 {
	t.Helper()
	c := &cutter{}
	cl, _ := session(t, c)
	ep, err := cl.Endpoint(t.Context(), root)
	require.NoError(t, err)
	c.reset()
	require.NoError(t, ep.Apply(t.Context(), zerosync.Op{Path: p, New: fileEntry(data, 0o644)}, bytes.NewReader(data)))
	sent, _, _, _ := c.rates()
	expectBytes(t, filepath.Join(root, p), data)
	return sent
}

// A 32 MiB push cut at 24 MiB resumes: the retry sends what the agent
// lacks and at most one block more, plus the protocol's overhead, and the
// agent drops what it kept once the file is in place.
func TestResumePush(t *testing.T) {
	root := newRoot(t)
	data := pattern(resumeSize, 21)
	kept := cutPush(t, root, "big.bin", data)
	sent := push(t, root, "big.bin", data)
	bs := int64(blockSizeFor(kept))
	t.Logf("kept %d bytes of %d; the retry sent %d bytes (the rest: %d, a block: %d)", kept, resumeSize, sent, resumeSize-kept, bs)
	require.LessOrEqual(t, sent, resumeSize-kept+bs+resumeOverhead, "the retry sends the rest, a block, and the protocol's overhead")
	require.NoFileExists(t, partialOf(root, "big.bin", fileEntry(data, 0o644)), "the partial goes once the file arrived")
	require.Empty(t, tempFilesIn(root))
}

// A partial that was tampered with is not trusted: replaced whole, the
// file is sent whole; with one byte changed, the block holding it is
// sent again; the file is right either way.
func TestResumeTamperedPartial(t *testing.T) {
	data := pattern(resumeSize, 22)
	want := fileEntry(data, 0o644)
	t.Run("replaced", func(t *testing.T) {
		root := newRoot(t)
		kept := cutPush(t, root, "big.bin", data)
		require.NoError(t, os.WriteFile(partialOf(root, "big.bin", want), pattern(int(kept), 99), 0o600))
		sent := push(t, root, "big.bin", data)
		t.Logf("the retry sent %d bytes", sent)
		require.Greater(t, sent, int64(resumeSize), "nothing of the tampered partial was used")
	})
	t.Run("one-byte", func(t *testing.T) {
		root := newRoot(t)
		kept := cutPush(t, root, "big.bin", data)
		f, err := os.OpenFile(partialOf(root, "big.bin", want), os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = f.WriteAt([]byte{^data[kept/2]}, kept/2)
		require.NoError(t, err)
		require.NoError(t, f.Close())
		sent := push(t, root, "big.bin", data)
		bs := int64(blockSizeFor(kept))
		t.Logf("the retry sent %d bytes", sent)
		require.LessOrEqual(t, sent, resumeSize-kept+2*bs+resumeOverhead, "only the tampered block is sent again")
	})
}

// A 32 MiB pull cut at 24 MiB resumes, by an engine: the engine's target
// keeps what it received, and the next cycle pulls the file as a delta
// against it, receiving the rest and at most a block more.
func TestResumePull(t *testing.T) {
	mine, theirs := newRoot(t), newRoot(t)
	data := pattern(resumeSize, 23)
	writeFile(t, filepath.Join(theirs, "big.bin"), data, 0o644)
	lep, err := local.New(mine)
	require.NoError(t, err)
	t.Cleanup(func() { lep.Close() })
	cycle := func(c *cutter) error {
		cl, _ := session(t, c)
		rep, err := cl.Endpoint(t.Context(), theirs)
		require.NoError(t, err)
		e, err := engine.New(engine.Peer{Name: "here", Endpoint: lep}, []engine.Peer{{Name: "there", Endpoint: rep}}, engine.WithVolatileState())
		require.NoError(t, err)
		defer e.Close()
		c.reset()
		_, err = e.SyncOnce(t.Context())
		return err
	}
	// The cycle fails, or reports the file's failure: either way the
	// file is not there yet.
	cycle(&cutter{cutRecv: resumeCut})
	require.NoFileExists(t, filepath.Join(mine, "big.bin"))
	want := fileEntry(data, 0o644)
	fi, err := os.Stat(partialOf(mine, "big.bin", want))
	require.NoError(t, err, "the engine's target keeps what it received")
	kept := fi.Size()
	require.Greater(t, kept, int64(resumeCut-streamWindow-sendLimit), "all but what was in flight")

	again := &cutter{}
	require.NoError(t, cycle(again))
	_, recv, _, _ := again.rates()
	bs := int64(blockSizeFor(kept))
	t.Logf("kept %d bytes of %d; the retry received %d bytes (the rest: %d, a block: %d)", kept, resumeSize, recv, resumeSize-kept, bs)
	require.LessOrEqual(t, recv, resumeSize-kept+bs+resumeOverhead, "the retry brings the rest, a block, and the protocol's overhead")
	expectBytes(t, filepath.Join(mine, "big.bin"), data)
	require.NoFileExists(t, partialOf(mine, "big.bin", want))
}

// tempFilesIn lists the temp files beneath root.
func tempFilesIn(root string) []string {
	var out []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && len(fi.Name()) > len(zerosync.TempPrefix) && fi.Name()[:len(zerosync.TempPrefix)] == zerosync.TempPrefix {
			out = append(out, p)
		}
		return nil
	})
	return out
}
