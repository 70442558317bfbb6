package app

import (
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMonitorOnTerminal: monitor, on a pseudo-terminal, draws a live view
// of every peer (its state, last sync, pending, conflicts) in place, and
// adds the events of a sync; Ctrl-C (its context) ends it cleanly.
func TestMonitorOnTerminal(t *testing.T) {
	h := newHost(t, "mon")
	other := filepath.Join(h.dir, "other")
	write(t, other, "o.txt", "o\n")
	h.globals = append(h.globals, "--peer", "p="+h.peer, "--peer", "other="+other)
	d := h.run()
	waitUntil(t, "the first sync", func() bool { return read(h.peer, "o.txt") == "o\n" }, d.out.String)

	term := newTerminal(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- h.a.Run(ctx, append(h.globals, "monitor"), Streams{In: strings.NewReader(""), Out: term.Out, Err: term.Out})
	}()
	term.WaitFor(t, regexp.MustCompile(`PEER +STATE +LAST SYNC +LATENCY +PENDING +CONFLICTS +PROBLEM`))
	term.WaitFor(t, regexp.MustCompile(`(?m)^p +connected +\d+s ago +\S+ +0 +0 +-`))
	term.WaitFor(t, regexp.MustCompile(`(?m)^other +connected +\d+s ago`))
	write(t, h.root, "seen.txt", "seen\n")
	h.must("flush")
	term.WaitFor(t, regexp.MustCompile(`create +on (p|other) +seen\.txt`))
	cancel()
	require.NoError(t, <-done)
	screen := term.Screen(t)
	assert.Contains(t, screen, "\x1b[H\x1b[2J", "the view is redrawn in place")
}

// TestMonitorLines: elsewhere than on a terminal, monitor prints a line per
// event, and with --json each event as a JSON line; it ends when the
// daemon stops; without a daemon it is an error that says how to start
// one.
func TestMonitorLines(t *testing.T) {
	h := newHost(t, "monl")
	h.globals = append(h.globals, "--peer", "p="+h.peer)
	d := h.run()
	for _, asJSON := range []bool{true, false} {
		var out syncBuffer
		args := append(slices.Clone(h.globals), "monitor")
		name, want := "line.txt", regexp.MustCompile(`\d\d:\d\d:\d\d (create|update) +on p +line\.txt`)
		if asJSON {
			args = append(args, "--json")
			name, want = "json.txt", regexp.MustCompile(`(?m)^\{"kind":"applied",.*"path":"json\.txt"`)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- h.a.Run(ctx, args, Streams{In: strings.NewReader(""), Out: &out, Err: &out}) }()
		write(t, h.root, name, "x\n")
		// Flushed until the change shows: monitor may not have opened
		// its stream at the first flush.
		waitUntil(t, "the change in monitor's output", func() bool {
			if !want.MatchString(out.String()) {
				write(t, h.root, name, "x "+time.Now().String()+"\n")
				h.must("flush")
			}
			return want.MatchString(out.String())
		}, out.String)
		assert.NotContains(t, out.String(), "\x1b")
		if asJSON {
			cancel()
			require.NoError(t, <-done)
			continue
		}
		h.must("stop")
		require.NoError(t, d.wait(t))
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(bounded):
			t.Fatal("monitor did not end when the daemon stopped")
		}
		assert.Contains(t, out.String(), "the daemon stopped")
	}
	_, _, err := h.cli("monitor")
	require.ErrorIs(t, err, ErrNoDaemon)
	assert.Contains(t, Advice("monl", err), "monl run")
}
