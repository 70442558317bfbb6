package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/engine"
)

// terminal is a pseudo-terminal for a command's output: Out is the
// terminal's side a program writes to, and what it writes is read as it
// comes.
type terminal struct {
	Out    *os.File
	ptmx   *os.File
	screen syncBuffer
	done   chan struct{}
}

func newTerminal(t *testing.T) *terminal {
	t.Helper()
	ptmx, tty, err := pty.Open()
	require.NoError(t, err)
	require.NoError(t, pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 160}))
	term := &terminal{Out: tty, ptmx: ptmx, done: make(chan struct{})}
	go func() {
		// The terminal is read as the command writes, or a full buffer
		// would stop it; the read ends when the terminal is closed.
		defer close(term.done)
		io.Copy(&term.screen, ptmx)
	}()
	t.Cleanup(func() {
		tty.Close()
		ptmx.Close()
		<-term.done
	})
	return term
}

// WaitFor waits until what was written matches re.
func (term *terminal) WaitFor(t *testing.T, re *regexp.Regexp) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !re.MatchString(term.screen.String()); time.Sleep(10 * time.Millisecond) {
		require.False(t, time.Now().After(deadline), "the terminal never showed %s:\n%s", re, term.screen.String())
	}
}

// Screen closes the program's side and returns everything written to it.
func (term *terminal) Screen(t *testing.T) string {
	t.Helper()
	require.NoError(t, term.Out.Close())
	select {
	case <-term.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the terminal was not read to its end")
	}
	return term.screen.String()
}

// manyFiles makes a root of n small files in a few directories, and an
// empty peer.
func manyFiles(t *testing.T, n int) (root, peer, stateDB string) {
	t.Helper()
	tmp := t.TempDir()
	root, peer = filepath.Join(tmp, "root"), filepath.Join(tmp, "peer")
	require.NoError(t, os.Mkdir(peer, 0o755))
	for i := range n {
		dir := filepath.Join(root, fmt.Sprintf("d%02d", i%20))
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d.txt", i)), bytes.Repeat([]byte{'x'}, 100+i), 0o644))
	}
	return root, peer, filepath.Join(tmp, "state", "test.db")
}

// barFrame matches the progress display's counters: files and bytes.
var barFrame = regexp.MustCompile(`syncing .*\d+/\d+ files +\d+(\.\d)? ?(b|KiB|MiB)/\d+(\.\d)? ?(b|KiB|MiB)`)

// TestProgressOnTerminal: the first sync of 2,000 files, with a terminal
// for standard output, draws the progress display (files, bytes and the
// time left) and leaves its last frame, every file counted.
func TestProgressOnTerminal(t *testing.T) {
	const n = 2000
	root, peer, stateDB := manyFiles(t, n)
	term := newTerminal(t)
	a := &App{Name: "test"}
	err := a.Run(context.Background(), []string{"--root", root, "--peer", "p=" + peer, "--state", stateDB, "once"},
		Streams{In: strings.NewReader(""), Out: term.Out, Err: term.Out})
	screen := term.Screen(t)
	require.NoError(t, err, screen)
	assert.Regexp(t, barFrame, screen, "no progress display drawn")
	assert.Contains(t, screen, fmt.Sprintf("%d/%d files", n, n), "the last frame counts every file")
	assert.Contains(t, screen, "done")
	assert.Contains(t, screen, fmt.Sprintf("%d change(s)", n+20), "the report follows the display")
	entries, err := os.ReadDir(filepath.Join(peer, "d07"))
	require.NoError(t, err)
	assert.Len(t, entries, n/20)

	// With --json, standard output is the JSON, even on a terminal: no
	// display is drawn over it.
	for i := range progressFiles {
		require.NoError(t, os.WriteFile(filepath.Join(root, "d00", fmt.Sprintf("more%04d", i)), []byte("more"), 0o644))
	}
	term = newTerminal(t)
	err = a.Run(context.Background(), []string{"--root", root, "--peer", "p=" + peer, "--state", stateDB, "once", "--json"},
		Streams{In: strings.NewReader(""), Out: term.Out, Err: io.Discard})
	screen = term.Screen(t)
	require.NoError(t, err, screen)
	assert.NotRegexp(t, barFrame, screen)
	assert.Len(t, decode(t, screen)["applied"], progressFiles)
}

// TestNoProgressWithoutTerminal: the same sync with standard output a
// file or a pipe draws nothing: no display, no cursor movement.
func TestNoProgressWithoutTerminal(t *testing.T) {
	const n = 2000
	root, peer, stateDB := manyFiles(t, n)
	var out, errs bytes.Buffer
	a := &App{Name: "test"}
	err := a.Run(context.Background(), []string{"--root", root, "--peer", "p=" + peer, "--state", stateDB, "once"},
		Streams{In: strings.NewReader(""), Out: &out, Err: &errs})
	require.NoError(t, err, errs.String())
	for _, s := range []string{out.String(), errs.String()} {
		assert.NotRegexp(t, barFrame, s)
		assert.NotContains(t, s, " files")
		assert.NotContains(t, s, "\r")
		assert.NotContains(t, s, "\x1b")
	}
	assert.Contains(t, out.String(), fmt.Sprintf("%d change(s)", n+20))
}

// TestRunLines: run prints a line for each applied change on a terminal;
// with standard output a pipe it prints none, and its log (at Info by
// default) has every change.
func TestRunLines(t *testing.T) {
	for _, onTerminal := range []bool{true, false} {
		t.Run(fmt.Sprintf("terminal=%v", onTerminal), func(t *testing.T) {
			tmp := t.TempDir()
			root, peer := filepath.Join(tmp, "root"), filepath.Join(tmp, "peer")
			require.NoError(t, os.MkdirAll(root, 0o755))
			require.NoError(t, os.MkdirAll(peer, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(root, "one.txt"), []byte("1"), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(peer, "two.txt"), []byte("2"), 0o644))

			var term *terminal
			var out, logs syncBuffer
			s := Streams{In: strings.NewReader(""), Out: &out, Err: &logs}
			if onTerminal {
				term = newTerminal(t)
				s.Out, s.Err = term.Out, term.Out
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- (&App{Name: "test"}).Run(ctx, []string{"run", "--root", root, "--peer", "p=" + peer, "--state", filepath.Join(tmp, "test.db")}, s)
			}()
			if onTerminal {
				term.WaitFor(t, regexp.MustCompile(`create +on p +one\.txt`))
				term.WaitFor(t, regexp.MustCompile(`create +here +two\.txt`))
			} else {
				for deadline := time.Now().Add(20 * time.Second); strings.Count(logs.String(), "msg=applied") < 2; time.Sleep(10 * time.Millisecond) {
					require.False(t, time.Now().After(deadline), "the log has not every applied change:\n%s", logs.String())
				}
			}
			cancel()
			require.NoError(t, <-done)
			if onTerminal {
				assert.Contains(t, term.Screen(t), "test: syncing")
				return
			}
			assert.Empty(t, out.String(), "run printed on a pipe")
			assert.Regexp(t, `level=INFO msg=applied op=create peer=p side=theirs path=one.txt`, logs.String())
			assert.Regexp(t, `level=INFO msg=applied op=create peer=p side=ours path=two.txt`, logs.String())
		})
	}
}

// TestProgressThroughDaemon: once and flush through a running daemon draw
// the progress display on a terminal from the daemon's events, for a sync
// of 2,000 files that the daemon runs; the report comes below the last
// frame. Not on a terminal, nothing of it is drawn.
func TestProgressThroughDaemon(t *testing.T) {
	const n = 2000
	h := newHost(t, "follow")
	h.globals = append(h.globals, "--peer", "p="+h.peer)
	// No watcher: the daemon syncs when asked, so the sync of the files
	// below is the one the command asks for.
	h.a.Options = func(*Env) ([]engine.Option, error) { return []engine.Option{engine.WithWatch(false)}, nil }
	write(t, h.root, "first", "1")
	d := h.run()
	h.must("flush")
	require.Equal(t, "1", read(h.peer, "first"), d.out.String())

	many := func(prefix string, n int) {
		for i := range n {
			dir := filepath.Join(h.root, fmt.Sprintf("%s%02d", prefix, i%20))
			require.NoError(t, os.MkdirAll(dir, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d.txt", i)), bytes.Repeat([]byte{'x'}, 100+i), 0o644))
		}
	}
	// flush takes fewer files (still a long sync), to keep the test short.
	for cmd, n := range map[string]int{"once": n, "flush": 10 * progressFiles / 4} {
		many(cmd, n)
		term := newTerminal(t)
		err := h.a.Run(context.Background(), append(slices.Clone(h.globals), cmd), Streams{In: strings.NewReader(""), Out: term.Out, Err: term.Out})
		screen := term.Screen(t)
		require.NoError(t, err, screen)
		assert.Regexp(t, barFrame, screen, "%s: no progress display drawn", cmd)
		// On a failure, the end of the screen and the daemon's warnings
		// (a reader dropped for falling behind) say what happened.
		assert.Contains(t, screen, fmt.Sprintf("%d/%d files", n, n), "%s: the last frame counts every file; the screen ends:\n%q\nthe daemon said:\n%s",
			cmd, screen[max(0, len(screen)-1500):], warnings(d.out.String()))
		assert.Contains(t, screen, "done", cmd)
		report := fmt.Sprintf("%d change(s)", n+20)
		require.Contains(t, screen, report, cmd)
		assert.Greater(t, strings.LastIndex(screen, report), strings.LastIndex(screen, "files"), "%s: the report follows the display:\n%s", cmd, screen)
		entries, err := os.ReadDir(filepath.Join(h.peer, cmd+"07"))
		require.NoError(t, err)
		assert.Len(t, entries, n/20)
	}

	// Not a terminal: the report alone.
	many("pipe", n)
	out, errs, err := h.cli("once")
	require.NoError(t, err, errs)
	for _, s := range []string{out, errs} {
		assert.NotRegexp(t, barFrame, s)
		assert.NotContains(t, s, " files")
		assert.NotContains(t, s, "\r")
		assert.NotContains(t, s, "\x1b")
	}
	assert.Contains(t, out, fmt.Sprintf("%d change(s)", n+20))
}

// warnings is the lines of a daemon's log at level WARN or ERROR.
func warnings(log string) string {
	var b strings.Builder
	for line := range strings.Lines(log) {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			b.WriteString(line)
		}
	}
	return b.String()
}
