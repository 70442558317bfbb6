package app

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zerosync/zerosync/control"
)

// TestCommandsThroughDaemon: with run active (it holds the state, so a
// command that opened it would fail), status --json, plan, flush, once,
// conflicts list, show and apply, versions, staged and adopt succeed
// through its socket and agree with it: an edit then flush shows it
// applied; a conflict made while paused is listed, shown and applied
// through the command line; stop ends run cleanly.
func TestCommandsThroughDaemon(t *testing.T) {
	h := newHost(t, "thru")
	h.globals = append(h.globals, "--peer", "p="+h.peer)
	write(t, h.root, "notes.txt", "one\n")
	d := h.run()
	c := h.client()
	waitUntil(t, "the first sync", func() bool { return read(h.peer, "notes.txt") == "one\n" }, d.out.String)

	// status --json: the daemon's view, per peer.
	var st statusJSON
	waitUntil(t, "the peer connected", func() bool {
		out := h.must("status", "--json")
		require.NoError(t, json.Unmarshal([]byte(out), &st), out)
		return len(st.Peers) == 1 && st.Peers[0].State == control.PeerConnected
	}, d.out.String)
	assert.True(t, st.Running)
	assert.Equal(t, "thru", st.Engine)
	assert.Equal(t, h.root, st.Root)
	assert.Equal(t, "p", st.Peers[0].Name)
	assert.Equal(t, h.peer, st.Peers[0].Location)
	assert.False(t, st.Peers[0].LastSync.IsZero())
	daemonSt, err := c.Status(context.Background())
	require.NoError(t, err)
	assert.Equal(t, daemonSt.Paused, st.Paused)
	assert.Equal(t, daemonSt.Conflicts, st.ConflictsWaiting)
	assert.Contains(t, h.must("status"), "connected, last sync ")

	// An edit, then flush: the report shows it applied, on the peer.
	write(t, h.root, "new.txt", "new\n")
	out := h.must("flush")
	if !regexp.MustCompile(`create +on p +new\.txt`).MatchString(out) {
		// The daemon's watcher synced it in a cycle that started before
		// the flush (which waits for the next cycle to start): that
		// cycle's log has it.
		assert.Regexp(t, `msg=applied op=create peer=p .*path=new\.txt`, d.out.String(), "flush printed:\n%s", out)
	}
	assert.Equal(t, "new\n", read(h.peer, "new.txt"))
	write(t, h.root, "more.txt", "more\n")
	var once onceJSON
	require.NoError(t, json.Unmarshal([]byte(h.must("once", "--json")), &once))
	if len(once.Applied) == 0 {
		// As for flush: the watcher's cycle started before once's and
		// synced it; that cycle's log has it.
		assert.Regexp(t, `msg=applied op=create peer=p .*path=more\.txt`, d.out.String(), "once reported nothing applied")
	}
	assert.Equal(t, "more\n", read(h.peer, "more.txt"))

	// Paused through the command line: edits wait, plan shows them.
	assert.Contains(t, h.must("pause"), "the running daemon of thru paused")
	write(t, h.root, "notes.txt", "ours\n")
	write(t, h.peer, "notes.txt", "theirs\n")
	write(t, h.root, "planned.txt", "planned\n")
	out = h.must("plan")
	assert.Contains(t, out, "with p: ")
	assert.Regexp(t, `create +on p +planned\.txt`, out)
	assert.Contains(t, out, "conflict notes.txt")
	var plan planJSON
	require.NoError(t, json.Unmarshal([]byte(h.must("plan", "--json")), &plan))
	require.Len(t, plan.Peers, 1)
	daemonPlan, err := c.Plan(context.Background())
	require.NoError(t, err)
	assert.Len(t, plan.Peers[0].Changes, len(daemonPlan.Peers[0].Actions))
	assert.Len(t, plan.Peers[0].Conflicts, len(daemonPlan.Peers[0].Conflicts))
	_, _, err = h.cli("flush")
	require.Error(t, err, "a paused daemon does not flush")
	assert.Contains(t, Advice("thru", err), "thru resume")
	assert.Equal(t, "<absent>", read(h.peer, "planned.txt"))

	// Resumed: the conflict is kept both ways and waits for review.
	assert.Contains(t, h.must("resume"), "the running daemon of thru resumed")
	out, _, err = h.cli("flush")
	assert.Equal(t, ExitAttention, ExitCode(err), "a conflict waits: %v\n%s", err, out)
	var list reviewsJSON
	require.NoError(t, json.Unmarshal([]byte(h.must("conflicts", "list", "--json")), &list))
	require.Len(t, list.Conflicts, 1)
	items, err := c.Conflicts(context.Background())
	require.NoError(t, err)
	require.Len(t, items, 1)
	assert.Equal(t, items[0].ID, list.Conflicts[0].ID)
	id := list.Conflicts[0].ID
	assert.Regexp(t, regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(id)+` +notes\.txt`), h.must("conflicts", "list"))
	out = h.must("conflicts", "show", id)
	assert.Contains(t, out, "conflict "+id+": notes.txt")
	assert.Contains(t, out, "+ours")
	assert.Contains(t, out, "+theirs")
	out = h.must("conflicts", "apply", "--theirs", "--non-interactive", id)
	assert.Contains(t, out, id+" notes.txt: kept theirs")
	assert.Contains(t, out, "synced: ")
	assert.Equal(t, "theirs\n", read(h.root, "notes.txt"))
	assert.Equal(t, "theirs\n", read(h.peer, "notes.txt"))
	assert.Contains(t, h.must("conflicts", "list"), "no conflicts waiting for review")
	items, err = c.Conflicts(context.Background())
	require.NoError(t, err)
	assert.Empty(t, items)

	// The other review commands answer too.
	assert.Contains(t, h.must("versions", "list"), "notes.txt")
	assert.Contains(t, h.must("staged", "list"), "no changes staged")
	assert.Contains(t, h.must("adopt", "p"), "adopted the roots of peer")

	// stop ends run, cleanly; then nothing answers.
	assert.Contains(t, h.must("stop"), "stopped the daemon of thru")
	require.NoError(t, d.wait(t))
	_, _, err = h.cli("stop")
	require.ErrorIs(t, err, ErrNoDaemon)
	assert.Contains(t, Advice("thru", err), "thru run")
	// Without the daemon, the same commands open the state themselves.
	assert.Contains(t, h.must("status"), "peer p (")
	assert.True(t, strings.HasPrefix(h.must("conflicts", "list"), "no conflicts"))
}

// TestOutputsAgreeWithoutDaemon: the outputs a command prints through the
// daemon are those it prints opening the engine itself, given the same
// state: one printer each.
func TestOutputsAgreeWithoutDaemon(t *testing.T) {
	h := newHost(t, "agree")
	h.globals = append(h.globals, "--peer", "p="+h.peer)
	write(t, h.root, "a.txt", "a\n")
	h.must("once")
	write(t, h.root, "a.txt", "ours\n")
	write(t, h.peer, "a.txt", "theirs\n")
	write(t, h.root, "b.txt", "b\n")
	h.must("pause")

	without := map[string]string{}
	cmds := [][]string{{"plan"}, {"plan", "--json"}, {"status", "--json"}, {"conflicts", "list"}, {"staged", "list"}}
	for _, args := range cmds {
		without[strings.Join(args, " ")] = h.must(args...)
	}
	d := h.run()
	for _, args := range cmds {
		got := h.must(args...)
		want := without[strings.Join(args, " ")]
		if args[0] == "status" {
			// The daemon adds how each pair runs.
			var a, b map[string]any
			require.NoError(t, json.Unmarshal([]byte(got), &a))
			require.NoError(t, json.Unmarshal([]byte(want), &b))
			for _, k := range []string{"engine", "root", "paused", "conflicts_waiting"} {
				assert.Equal(t, b[k], a[k], k)
			}
			continue
		}
		assert.Equal(t, want, got, "%v, with and without the daemon\n%s", args, d.out.String())
	}
}

// TestStagedThroughDaemon: with run active and a --staged peer, a change
// of that peer waits; staged list, show, apply and reject work through the
// daemon.
func TestStagedThroughDaemon(t *testing.T) {
	h := newHost(t, "stg")
	h.globals = append(h.globals, "--peer", "p="+h.peer, "--staged", "p")
	d := h.run()
	write(t, h.peer, "in.txt", "from p\n")
	write(t, h.peer, "out.txt", "not wanted\n")
	h.must("flush")
	var items []control.StagedItem
	waitUntil(t, "two staged changes", func() bool {
		var err error
		items, err = h.client().Staged(context.Background())
		require.NoError(t, err)
		return len(items) == 2
	}, d.out.String)
	ids := map[control.Path]string{}
	for _, it := range items {
		ids[it.Path] = strconv.FormatUint(it.ID, 10)
	}
	out := h.must("staged", "list")
	assert.Regexp(t, `(?m)^`+ids["in.txt"]+` +p +in\.txt`, out)
	assert.Contains(t, h.must("staged", "show", ids["in.txt"]), "+from p")
	out = h.must("staged", "apply", ids["in.txt"])
	assert.Regexp(t, `create +here +in\.txt`, out)
	assert.Contains(t, out, "synced: ")
	assert.Equal(t, "from p\n", read(h.root, "in.txt"))
	out = h.must("staged", "reject", ids["out.txt"])
	assert.Contains(t, out, "rejected "+ids["out.txt"]+": out.txt stays as it is here, and goes to p")
	assert.Equal(t, "<absent>", read(h.peer, "out.txt"))
	assert.Contains(t, h.must("staged", "list"), "no changes staged")
}
